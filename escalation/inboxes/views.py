"""Escalation inboxes (issue 3): escalate, claim, release, move, de-escalate, resolve; the inbox
owners' overview (a landing panel that refreshes itself); the threads view's "Escalate selected";
the agent view switch; Admin → Inboxes.

Every action: load org-scoped (404), check permission (403), validate (422 with the form as typed),
call one service, then a 303 with a flash, or for htmx the region's partial with the
``escalations-changed`` event. A ``Conflict`` from a service becomes 409 (in #flash for htmx).
"""
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from htmx_flask import make_response

from .. import audit, nav, sqlcache
from ..clock import utcnow
from ..errors import Conflict, Invalid
from ..models import Case, Inbox, Member
from ..permissions import is_staff_lead
from ..web import (case_or_404, fragment, in_agent_view, inbox_or_404, render_page_or_partial,
                   require, safe_next, wants_partial)
from . import overview as summaries
from . import permissions as may
from . import service
from .forms import (ActionForm, BulkEscalateForm, DeEscalateForm, DeleteInboxForm, EscalateForm,
                    InboxForm, MoveForm, ResolveForm, inbox_choices)

bp = Blueprint("inboxes", __name__, url_prefix="/inboxes")

CHANGED = "escalations-changed"
CASE_CHANGED = {CHANGED: True, "case-changed": True}


def _lead_here(member) -> bool:
    """A lead acting as one: in the agent view, leads see what an agent sees."""
    return is_staff_lead(member) and not in_agent_view()


# ---------------------------------------------------------------------------------------------
# Extension points: header link, landing and case panels, the threads view's bulk panel,
# and the audit subscriptions.

def _overview_panel(member, obj, now):
    if in_agent_view():
        return None
    data = summaries.for_member(member, now)
    return {"ov": data} if data is not None else None


def _agent_view_panel(member, obj, now):
    if not may.can_use_agent_view(member):
        return None
    return {"agent_view": in_agent_view(), "toggle_form": ActionForm(formdata=None)}


def _case_panel(member, case, now):
    if case is None:
        return None
    data = summaries.case_panel(member, case, now, lead=_lead_here(member))
    return {"esc": data} if data is not None else None


def _bulk_panel(member, obj, now):
    if not _lead_here(member) or not may.can_escalate_selected(member):
        return None
    # Compiled once (sqlcache): the threads view renders this panel on every full page.
    inboxes = sqlcache.models(Inbox, ("inboxes.live",), Inbox.for_org, member.organisation_id)
    if not inboxes:
        return None
    form = BulkEscalateForm(formdata=None, prefix="bulk")
    form.inbox.choices = inbox_choices(inboxes)
    return {"bulk": {"form": form}}


nav.register_nav("inboxes.manage", _l("Inboxes"), visible=lambda m: may.can_manage_inboxes(m)
                 and not in_agent_view(), order=80)
nav.register_panel("landing", "agent_view", "inboxes/_agent_view_panel.html",
                   context=_agent_view_panel, order=1)
nav.register_panel("landing", "escalation_inboxes", "inboxes/_landing_panel.html",
                   context=_overview_panel, order=5)
nav.register_panel("case", "escalation", "inboxes/_case_panel.html", context=_case_panel,
                   order=20)
nav.register_panel("threads_bulk", "escalate", "inboxes/_bulk_escalate.html",
                   context=_bulk_panel, order=10)
audit.subscribe("case.replied", service.extend_claim_on_reply)
audit.subscribe("case.resolved", service.end_escalation_on_case_closing)
audit.subscribe("case.closed", service.end_escalation_on_case_closing)
audit.subscribe("case.status_changed", service.reopen_in_inbox)
audit.subscribe("member.deactivated", service.release_claims_of_deactivated)


@bp.app_template_filter("from_iso")
def from_iso(value):
    """A time stored in an event's data (ISO text) as a datetime, for ``|when``."""
    return datetime.fromisoformat(value) if value else None


@bp.app_template_filter("duration")
def duration(minutes):
    """An assignment duration: "7 days", "2 hours", "90 minutes"."""
    minutes = int(minutes or 0)
    if minutes and minutes % (24 * 60) == 0:
        return ngettext("%(num)d day", "%(num)d days", minutes // (24 * 60))
    if minutes and minutes % 60 == 0:
        return ngettext("%(num)d hour", "%(num)d hours", minutes // 60)
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


# ---------------------------------------------------------------------------------------------
# Shared steps

def _back(default_endpoint="cases.landing", **values):
    return safe_next(request.values.get("next"), url_for(default_endpoint, **values))


def _go(url):
    """After a successful POST that lands on another page: 303, or HX-Redirect for htmx."""
    if wants_partial():
        return make_response("", 200, redirect=url, trigger={CHANGED: True})
    return redirect(url, 303)


def _require_button():
    """A button posts nothing but its CSRF token (the app's CSRF protection checked it)."""
    if not ActionForm().validate_on_submit():
        abort(400)


def _escalated_case_or_409(case_id):
    case = case_or_404(case_id)
    if case.inbox_id is None:
        raise Conflict(service.NOT_ESCALATED)
    return case


def _case_done(case, message, now):
    """Success of an action on an escalated case: the case panel for htmx, else flash + 303 to
    the case (or the landing when the member can no longer see it)."""
    if wants_partial():
        return fragment("inboxes/_case_panel.html", trigger=CASE_CHANGED, notice=message,
                        esc=summaries.case_panel(current_user, Case.get_by_id(case.id), now,
                                                 lead=_lead_here(current_user)))
    flash(message, "success")
    if summaries.can_view(current_user, Case.get_by_id(case.id)):
        return _go(url_for("cases.show", case_id=case.id))
    return _go(url_for("cases.landing"))


def _case_form(case_id, form_class, template, partial, *, allowed, prepare, perform, done):
    """GET: the action's own page. POST: validate, perform, done; or 422 with the form as typed.
    The case panel shows several of these forms on one page: their prefixes keep ids apart."""
    now = utcnow()
    case = _escalated_case_or_409(case_id)
    is_owner = may.owns_case_inbox(current_user, case)
    require(allowed(case, is_owner, now))
    form = form_class(prefix=form_class.PREFIX)
    context = prepare(case, form) or {}
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                result = perform(case, form, now, context)
            except Invalid as exc:
                form.populate_errors(exc)
            else:
                return done(case, form, result, now)
        return render_page_or_partial(template, partial, status=422, case=case, form=form,
                                      now=now, **context)
    return render_page_or_partial(template, partial, case=case, form=form, now=now, **context)


# ---------------------------------------------------------------------------------------------
# The owners' overview (and the landing panel's refresh URL)

@bp.get("/")
@login_required
def overview():
    now = utcnow()
    data = summaries.for_member(current_user, now)
    if wants_partial() and data is not None and request.if_none_match.contains(data.etag):
        response = make_response("", 304)
        response.set_etag(data.etag)
        return response
    response = render_page_or_partial("inboxes/overview.html", "inboxes/_overview.html", ov=data,
                                      now=now)
    if wants_partial() and data is not None:
        response.set_etag(data.etag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.post("/<int:inbox_id>/claim")
@login_required
def claim_next(inbox_id):
    now = utcnow()
    inbox = inbox_or_404(inbox_id)
    require(may.can_claim(current_user, inbox))
    _require_button()
    claimed = service.claim_batch(inbox, current_user, now=now)
    if claimed:
        message = ngettext("You claimed %(num)d case from %(inbox)s.",
                           "You claimed %(num)d cases from %(inbox)s.", len(claimed),
                           inbox=inbox.name)
    elif service.held_by(inbox, current_user, now).count() >= inbox.batch_size:
        message = ngettext("You already hold %(num)d case from %(inbox)s, its batch size.",
                           "You already hold %(num)d cases from %(inbox)s, its batch size.",
                           inbox.batch_size, inbox=inbox.name)
    else:
        message = _("There are no unclaimed cases in %(inbox)s right now.", inbox=inbox.name)
    if wants_partial():
        return fragment("inboxes/_overview.html", trigger={CHANGED: True}, notice=message,
                        ov=summaries.for_member(current_user, now), now=now)
    flash(message, "success" if claimed else "info")
    return _go(_back())


# ---------------------------------------------------------------------------------------------
# Escalate (the case page's panel, its own page, and the threads view's selection)

def _escalate_choices(form):
    inboxes = list(Inbox.for_org(current_user.organisation_id))
    form.inbox.choices = inbox_choices(inboxes)
    return {str(i.id): i for i in inboxes}


def _picked(form, inboxes):
    inbox = inboxes.get(form.inbox.data)
    if inbox is None:
        raise Invalid([("inbox", _l("Choose an inbox."))])
    return inbox


@bp.route("/cases/<int:case_id>/escalate", methods=["GET", "POST"])
@login_required
def escalate(case_id):
    now = utcnow()
    case = case_or_404(case_id)
    if case.inbox_id is not None and (may.has_history(current_user, case)
                                      or is_staff_lead(current_user)):
        raise Conflict(_l("This case is already escalated."))
    require(may.can_escalate(current_user, case))
    form = EscalateForm()
    inboxes = _escalate_choices(form)
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                inbox = _picked(form, inboxes)
                service.escalate(case, inbox, current_user, reason=form.reason.data,
                                 message=form.message.data, now=now)
            except Invalid as exc:
                form.populate_errors(exc)
            else:
                return _escalated(case, inbox)
        return render_page_or_partial("inboxes/escalate.html", "inboxes/_escalate_form.html",
                                      status=422, case=case, form=form)
    return render_page_or_partial("inboxes/escalate.html", "inboxes/_escalate_form.html",
                                  case=case, form=form)


def _escalated(case, inbox):
    """The agent lands on the next case of their reply queue (or their landing)."""
    from ..cases.service import next_case_for
    following = next_case_for(current_user, after_case=case)
    if following is not None:
        flash(_("Case #%(id)s is escalated to %(inbox)s. Here is your next case.", id=case.id,
                inbox=inbox.name), "success")
        return _go(url_for("cases.show", case_id=following.id, **{"from": "queue"}))
    flash(_("Case #%(id)s is escalated to %(inbox)s.", id=case.id, inbox=inbox.name), "success")
    return _go(url_for("cases.landing"))


@bp.post("/escalate-selected")
@login_required
def escalate_selected():
    now = utcnow()
    require(may.can_escalate_selected(current_user))
    form = BulkEscalateForm(prefix="bulk")
    inboxes = _escalate_choices(form)
    ids = sorted({int(v) for v in request.form.getlist("case_id") if v.isdigit()})
    cases = list(Case.select().where(Case.id.in_(ids)
                                     & (Case.organisation == current_user.organisation_id))
                 .order_by(Case.id)) if ids else []
    if form.validate_on_submit():
        try:
            if not cases:
                raise Invalid([(None, _l("Select at least one case."))])
            inbox = _picked(form, inboxes)
            done, skipped = service.escalate_selected(cases, inbox, current_user,
                                                      reason=form.reason.data, now=now)
        except Invalid as exc:
            form.populate_errors(exc)
        else:
            message = ngettext("%(num)d case escalated to %(inbox)s.",
                               "%(num)d cases escalated to %(inbox)s.", len(done), inbox=inbox.name)
            if skipped:
                message += " " + ngettext(
                    "%(num)d case was skipped: it is already escalated or closed.",
                    "%(num)d cases were skipped: they are already escalated or closed.",
                    len(skipped))
            if wants_partial():
                return fragment("inboxes/_bulk_result.html", trigger={CHANGED: True},
                                message=message, done=done, skipped=skipped)
            flash(message, "success" if done else "info")
            return _go(_back("threads.index"))
    return render_page_or_partial("inboxes/escalate_selected.html",
                                  "inboxes/_bulk_escalate_form.html", status=422, form=form,
                                  cases=cases, back=_back("threads.index"))


# ---------------------------------------------------------------------------------------------
# Claim, release, move, de-escalate, resolve one escalated case

@bp.get("/cases/<int:case_id>/panel")
@login_required
def case_panel(case_id):
    """The case page's escalation panel alone (it reloads when the case or escalations change)."""
    now = utcnow()
    case = case_or_404(case_id)
    require(summaries.can_view(current_user, case))
    if not wants_partial():
        return redirect(url_for("cases.show", case_id=case.id), 303)
    return fragment("inboxes/_case_panel.html",
                    esc=summaries.case_panel(current_user, case, now,
                                             lead=_lead_here(current_user)))


@bp.post("/cases/<int:case_id>/claim")
@login_required
def claim(case_id):
    now = utcnow()
    case = _escalated_case_or_409(case_id)
    require(may.owns_case_inbox(current_user, case))
    _require_button()
    service.claim_case(case, current_user, now=now)
    return _case_done(case, _("You claimed case #%(id)s.", id=case.id), now)


@bp.post("/cases/<int:case_id>/release")
@login_required
def release(case_id):
    now = utcnow()
    case = _escalated_case_or_409(case_id)
    if not case.is_claimed(now):
        raise Conflict(_l("This case is not claimed (any more)."))
    require(may.can_release(current_user, case, now))
    _require_button()
    service.release(case, current_user, now=now)
    return _case_done(case, _("Case #%(id)s is back in its inbox, unclaimed.", id=case.id), now)


def _move_choices(case, form):
    others = [i for i in Inbox.for_org(current_user.organisation_id) if i.id != case.inbox_id]
    form.inbox.choices = inbox_choices(others)
    return {"targets": {str(i.id): i for i in others}}


@bp.route("/cases/<int:case_id>/move", methods=["GET", "POST"])
@login_required
def move(case_id):
    def perform(case, form, now, context):
        target = context["targets"].get(form.inbox.data)
        if target is None and form.inbox.data == str(case.inbox_id):
            target = Inbox.get_by_id(case.inbox_id)  # the service refuses it with its reason
        if target is None:
            raise Invalid([("inbox", _l("Choose an inbox."))])
        service.move(case, target, current_user, reason=form.reason.data, now=now)
        return target

    def done(case, form, target, now):
        return _case_done(case, _("Case #%(id)s is moved to %(inbox)s.", id=case.id,
                                  inbox=target.name), now)

    return _case_form(case_id, MoveForm, "inboxes/move.html", "inboxes/_move_form.html",
                      allowed=lambda case, owner, now: may.can_move(current_user, case,
                                                                    is_owner=owner),
                      prepare=_move_choices, perform=perform, done=done)


def _de_escalate_choices(case, form):
    queue, agent = service.de_escalation_target(case)
    form.offer(queue, agent)
    return {"queue": queue, "agent": agent}


@bp.route("/cases/<int:case_id>/de-escalate", methods=["GET", "POST"])
@login_required
def de_escalate(case_id):
    def perform(case, form, now, context):
        service.de_escalate(case, current_user, now=now, to=form.to.data, reason=form.reason.data)

    def done(case, form, result, now):
        return _case_done(case, _("Case #%(id)s is de-escalated.", id=case.id), now)

    return _case_form(case_id, DeEscalateForm, "inboxes/de_escalate.html",
                      "inboxes/_de_escalate_form.html",
                      allowed=lambda case, owner, now: may.can_de_escalate(current_user, case,
                                                                           is_owner=owner),
                      prepare=_de_escalate_choices, perform=perform, done=done)


@bp.route("/cases/<int:case_id>/resolve", methods=["GET", "POST"])
@login_required
def resolve(case_id):
    def perform(case, form, now, context):
        # The confirmed resolution: the note is kept, the requester is asked to confirm.
        from ..sla.resolution import resolve_with_note
        return resolve_with_note(case, current_user, note=form.note.data, now=now)

    def done(case, form, result, now):
        return _case_done(case, _("Case #%(id)s is resolved. The requester is asked to "
                                  "confirm.", id=case.id), now)

    return _case_form(case_id, ResolveForm, "inboxes/resolve.html", "inboxes/_resolve_form.html",
                      allowed=lambda case, owner, now: may.can_resolve(current_user, case, now),
                      prepare=lambda case, form: None, perform=perform, done=done)


# ---------------------------------------------------------------------------------------------
# Agent view

@bp.post("/agent-view")
@login_required
def agent_view():
    require(may.can_use_agent_view(current_user))
    _require_button()
    session["agent_view"] = not in_agent_view()
    message = (_("You see Eskalera as an agent does. Switch back at any time.")
               if session["agent_view"] else _("You are back in your own view."))
    flash(message, "info")
    return _go(_back())


# ---------------------------------------------------------------------------------------------
# Admin → Inboxes

def _require_manager():
    require(may.can_manage_inboxes(current_user))


def _inbox_form(inbox=None):
    form = InboxForm()
    form.set_owner_choices(Member.active_in(current_user.organisation_id))
    if request.method == "GET" and inbox is not None:
        form.fill_from(inbox)
    return form


@bp.get("/manage")
@login_required
def manage():
    _require_manager()
    return render_page_or_partial("inboxes/manage.html", "inboxes/_manage_list.html",
                                  rows=summaries.admin_rows(current_user.organisation_id))


def _save_inbox(form, inbox, template, partial, save):
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                saved = save(**form.service_fields())
            except Invalid as exc:
                form.populate_errors(exc)
            else:
                flash(_("The inbox %(name)s is saved.", name=saved.name), "success")
                return _go(url_for("inboxes.manage"))
        return render_page_or_partial(template, partial, status=422, form=form, inbox=inbox)
    return render_page_or_partial(template, partial, form=form, inbox=inbox)


@bp.route("/manage/new", methods=["GET", "POST"])
@login_required
def create():
    _require_manager()
    form = _inbox_form()
    return _save_inbox(form, None, "inboxes/create.html", "inboxes/_inbox_form.html",
                       lambda **fields: service.create_inbox(
                           current_user.organisation_id, current_user, now=utcnow(), **fields))


@bp.route("/manage/<int:inbox_id>/edit", methods=["GET", "POST"])
@login_required
def edit(inbox_id):
    inbox = inbox_or_404(inbox_id)
    _require_manager()
    form = _inbox_form(inbox)
    return _save_inbox(form, inbox, "inboxes/edit.html", "inboxes/_inbox_form.html",
                       lambda **fields: service.update_inbox(inbox, current_user, now=utcnow(),
                                                             **fields))


@bp.route("/manage/<int:inbox_id>/delete", methods=["GET", "POST"])
@login_required
def delete(inbox_id):
    inbox = inbox_or_404(inbox_id)
    _require_manager()
    form = DeleteInboxForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        count = service.delete_inbox(inbox, current_user, now=utcnow(),
                                     expected=form.token.data or None)
        flash(ngettext("The inbox %(name)s is deleted; %(num)d case was de-escalated.",
                       "The inbox %(name)s is deleted; %(num)d cases were de-escalated.",
                       count, name=inbox.name), "success")
        return _go(url_for("inboxes.manage"))
    cases = list(service.cases_in(inbox))
    form.token.data = service.deletion_token(cases)
    return render_page_or_partial("inboxes/delete.html", "inboxes/_delete_confirm.html",
                                  form=form, inbox=inbox, count=len(cases))
