"""The routing directory for every member: search as you type, and from a case pick an entry to
escalate into its inbox or to record "routed to …" with a mail link prefilled with the case."""
from urllib.parse import quote

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..clock import utcnow
from ..errors import Invalid
from ..models import Case, Contact
from ..web import get_or_404, render_page_or_partial, require, wants_partial
from . import bp, permissions, routing, worksession
from .forms import EntryEscalateForm, UseEntryForm
from .loaders import entry_or_404, use_or_404
from .models import RoutingEntry
from .views_codes import case_url


def _case_from(value):
    """The case a lookup is made for (``case`` in the query or form), if the member may work it."""
    try:
        case_id = int(value or 0)
    except ValueError:
        abort(404)
    if not case_id:
        return None
    case = get_or_404(Case.select().where((Case.id == case_id)
                                          & (Case.organisation == current_user.organisation_id)))
    require(permissions.may_work_case(current_user, case))
    return case


def _reason(entry):
    return _("Routed through the directory: %(entry)s", entry=str(entry))


@bp.get("/directory")
@login_required
def directory():
    require(permissions.may_use_directory(current_user))
    text = request.args.get("q", "")[:200]
    case = _case_from(request.args.get("case"))
    entries = list(routing.search(current_user.organisation_id, text))
    context = dict(q=text, case=case, entries=entries, use_form=UseEntryForm(formdata=None),
                   suggested=routing.suggested_for_case(case) if case and not wants_partial()
                   else [],
                   may_escalate=bool(case) and permissions.may_escalate(current_user, case)
                   and routing.inbox_service() is not None,
                   may_curate=permissions.may_curate(current_user), reason=_reason)
    return render_page_or_partial("handoff/directory.html", "handoff/_directory_results.html",
                                  **context)


def _entry_and_case(entry_id, form):
    entry = entry_or_404(entry_id)
    if not form.validate_on_submit():
        abort(400)
    case = _case_from(form.case_id.data)
    if case is None:
        abort(404)
    return entry, case


@bp.post("/directory/<int:entry_id>/route")
@login_required
def route(entry_id):
    entry, case = _entry_and_case(entry_id, UseEntryForm())
    use = routing.route_case(entry, case, current_user, now=utcnow())
    flash(_("Case #%(number)d is routed to %(who)s.", number=case.id, who=entry.who or str(entry)),
          "success")
    return redirect(url_for("handoff.routed", use_id=use.id), 303)


@bp.post("/directory/<int:entry_id>/escalate")
@login_required
def escalate_via_entry(entry_id):
    form = EntryEscalateForm()
    entry = entry_or_404(entry_id)
    case = _case_from(form.case_id.data)
    if case is None or entry.inbox_id is None:
        abort(404)
    require(permissions.may_escalate(current_user, case))
    if form.validate_on_submit():
        try:
            routing.escalate_via_entry(entry, case, current_user, reason=form.reason.data,
                                       now=utcnow())
        except Invalid as invalid:
            form.populate_errors(invalid)
        else:
            flash(_("The case is escalated into %(inbox)s, with its work session.",
                    inbox=entry.inbox.name), "success")
            return redirect(case_url(case.id), 303)
    return render_template("handoff/directory.html", q="", case=case, entries=[entry],
                           use_form=form, may_escalate=True, failed_entry=entry.id,
                           may_curate=permissions.may_curate(current_user), reason=_reason), 422


def mailto(entry, case) -> str | None:
    """A mail link to the entry's address with the case summary as subject and body."""
    if not entry.email:
        return None
    requester = Contact.get_or_none(Contact.id == case.requester_id) if case.requester_id else None
    lines = [_("Case #%(number)d: %(subject)s", number=case.id, subject=case.subject)]
    if requester is not None:
        lines.append(_("Requester: %(name)s", name=requester.name))
    lines.append(url_for("handoff.session", case_id=case.id, _external=True))
    done = worksession.troubleshooting_text(case)
    if done:
        lines += ["", _("Troubleshooting done:"), done]
    subject = _("Case #%(number)d: %(subject)s", number=case.id, subject=case.subject)
    return (f"mailto:{quote(entry.email, safe='@')}?subject={quote(subject)}"
            f"&body={quote(chr(10).join(lines))}")


@bp.get("/directory/uses/<int:use_id>")
@login_required
def routed(use_id):
    use = use_or_404(use_id)
    entry = RoutingEntry.get_by_id(use.entry_id)
    case = Case.get_by_id(use.case_id)
    require(permissions.may_view_case(current_user, case))
    return render_template("handoff/routed.html", use=use, entry=entry, case=case,
                           mailto=mailto(entry, case), case_url=case_url(case.id))
