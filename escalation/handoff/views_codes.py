"""Handoff codes: make one (the escalate choices of a work session), the code page (large code,
countdown, copy, revoke, QR), entering a code (preview, then Take over), notices and settings.

The plain code exists only in the issuer's signed session cookie (to show it on the code page
after the redirect); the database keeps its keyed hash alone.
"""
import segno
from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from ..clock import utcnow
from ..errors import Invalid
from ..models import Inbox, Member
from ..web import case_or_404, fragment, render_page_or_partial, require, see_other, wants_partial
from . import bp, permissions, routing, service, worksession
from .forms import ActionForm, CodeForm, EscalateForm, IssueCodeForm, SettingsForm, TakeOverForm
from .loaders import checked_action, code_or_404, notice_or_404
from .models import HandoffCode, WorkSession
from .panels import landing_context
from .views_sessions import session_views

SHOWN_CODES = "handoff_codes"  # session key: {code id: plain code}, the issuer's latest few
CODE_CHANGED = "handoff-code-changed"


def _secret():
    return current_app.config["SECRET_KEY"]


def _remember(code, plain):
    shown = {k: v for k, v in (session.get(SHOWN_CODES) or {}).items()}
    shown[str(code.id)] = plain
    session[SHOWN_CODES] = dict(list(shown.items())[-3:])


def _shown(code):
    return (session.get(SHOWN_CODES) or {}).get(str(code.id))


def _forget(code):
    shown = dict(session.get(SHOWN_CODES) or {})
    if shown.pop(str(code.id), None) is not None:
        session[SHOWN_CODES] = shown


# ---------------------------------------------------------------------------------------------
# The escalate choices of a work session


def _escalate_context(case, now, *, form=None):
    inboxes = list(Inbox.for_org(case.organisation_id))
    may_escalate = permissions.may_escalate(current_user, case) and routing.inbox_service() is not None
    if form is None and may_escalate:
        form = EscalateForm(formdata=None)
    if form is not None:
        form.set_inboxes(inboxes)
    live = (HandoffCode.select().where((HandoffCode.case == case.id) & HandoffCode.live_expr(now))
            .first())
    return dict(case=case, now=now, escalate_form=form, may_escalate=may_escalate,
                may_issue=permissions.may_issue_code(current_user, case, now),
                issue_form=IssueCodeForm(formdata=None), live=live,
                session=WorkSession.open_of(case),
                troubleshooting=worksession.troubleshooting_text(case))


@bp.get("/cases/<int:case_id>/escalate")
@login_required
def escalate_choices(case_id):
    case = case_or_404(case_id)
    require(permissions.may_work_case(current_user, case))
    return render_template("handoff/escalate.html", **_escalate_context(case, utcnow()))


@bp.post("/cases/<int:case_id>/escalate")
@login_required
def escalate(case_id):
    """Escalate into an inbox with the session attached (it belongs to the case)."""
    case = case_or_404(case_id)
    require(permissions.may_escalate(current_user, case))
    inbox_service = routing.inbox_service()
    if inbox_service is None:
        abort(404)
    form = EscalateForm()
    form.set_inboxes(Inbox.for_org(case.organisation_id))
    now = utcnow()
    if form.validate_on_submit():
        inbox = Inbox.get_or_none((Inbox.id == form.inbox.data)
                                  & (Inbox.organisation == case.organisation_id)
                                  & Inbox.deleted_at.is_null())
        try:
            if inbox is None:
                raise Invalid([("inbox", _("Choose an inbox."))])
            inbox_service.escalate(case, inbox, current_user, reason=form.reason.data, now=now)
        except Invalid as invalid:
            form.populate_errors(invalid)
        else:
            flash(_("The case is escalated into %(inbox)s, with its work session.", inbox=inbox.name),
                  "success")
            return redirect(case_url(case.id), 303)
    return render_template("handoff/escalate.html", **_escalate_context(case, now, form=form)), 422


def case_url(case_id):
    """The case page where the cases area has one, else the work session page."""
    if "cases.show" in current_app.view_functions:
        return url_for("cases.show", case_id=case_id)
    return url_for("handoff.session", case_id=case_id)


# ---------------------------------------------------------------------------------------------
# Issuing, the code page, revoking


@bp.post("/cases/<int:case_id>/codes")
@login_required
def issue_code(case_id):
    case = case_or_404(case_id)
    require(permissions.may_issue_code(current_user, case, utcnow()))
    checked_action(IssueCodeForm)
    code, plain = service.issue_code(case, current_user, secret_key=_secret(), now=utcnow())
    _remember(code, plain)
    return see_other("handoff.code", code_id=code.id)


def _issuer_code(code_id):
    code = code_or_404(code_id)
    if code.issued_by_id != current_user.id:
        abort(404)
    return code


def qr_svg(url) -> Markup:
    """An inline SVG QR code (segno writes it; nothing user-typed goes into the markup)."""
    qr = segno.make(url, error="m")
    return Markup(qr.svg_inline(scale=5, dark="#000", light="#fff", title=_("QR code")))


def _code_context(code, now):
    plain = _shown(code)
    summary = service.code_summary(code, now)
    redeem_url = url_for("handoff.redeem_form", code=service.format_code(plain), _external=True) \
        if plain else None
    return dict(code=code, case=code.case, now=now, plain=service.format_code(plain) if plain else None,
                summary=summary, qr=qr_svg(redeem_url) if redeem_url and summary["state"] == "live" else None,
                redeem_url=redeem_url, action_form=ActionForm(formdata=None),
                issue_form=IssueCodeForm(formdata=None),
                may_issue=permissions.may_issue_code(current_user, code.case, now))


@bp.get("/codes/<int:code_id>")
@login_required
def code(code_id):
    code = _issuer_code(code_id)
    return render_template("handoff/code.html", **_code_context(code, utcnow()))


@bp.get("/codes/<int:code_id>/status")
@login_required
def code_status(code_id):
    """The code's state and time left (polled by the code page while the code is live)."""
    code = _issuer_code(code_id)
    context = _code_context(code, utcnow())
    return render_page_or_partial("handoff/code.html", "handoff/_code_status.html", **context)


@bp.post("/codes/<int:code_id>/revoke")
@login_required
def revoke_code(code_id):
    code = _issuer_code(code_id)
    checked_action()
    service.revoke_code(code, current_user, now=utcnow())
    _forget(code)
    flash(_("The code is withdrawn. Nobody can use it now."), "success")
    return see_other("handoff.code", code_id=code.id)


# ---------------------------------------------------------------------------------------------
# Entering a code: form, preview, take over


@bp.get("/redeem")
@login_required
def redeem_form():
    form = CodeForm(formdata=None, code=request.args.get("code", "")[:40])
    return render_template("handoff/redeem.html", form=form)


def _failed(form, error):
    form.populate_errors(error)
    return render_page_or_partial("handoff/redeem.html", "handoff/_redeem_form.html", form=form,
                                  status=422)


@bp.post("/redeem")
@login_required
def preview():
    """Check the code and show what would be taken over. Counts as an attempt; changes nothing
    else."""
    form = CodeForm()
    if not form.validate_on_submit():
        return render_page_or_partial("handoff/redeem.html", "handoff/_redeem_form.html", form=form,
                                      status=422)
    now = utcnow()
    try:
        code = service.check_code(form.code.data, current_user, secret_key=_secret(), now=now)
    except Invalid as invalid:
        return _failed(form, invalid)
    case = code.case
    every = session_views(case)
    views = [v for v in every if v.session.is_open] or every[-1:]
    return render_template("handoff/preview.html", case=case, code=code, now=now,
                           issuer=Member.get_by_id(code.issued_by_id), views=views,
                           form=TakeOverForm(formdata=None, code=service.format_code(form.code.data)))


@bp.post("/redeem/take-over")
@login_required
def take_over():
    form = TakeOverForm()
    if not form.validate_on_submit():
        return _failed(CodeForm(formdata=None), Invalid([("code", service.INVALID_CODE)]))
    try:
        case = service.redeem_code(form.code.data, current_user, secret_key=_secret(), now=utcnow())
    except Invalid as invalid:
        return _failed(CodeForm(formdata=None, code=form.code.data), invalid)
    flash(_("You have taken over case #%(number)d with its whole work session.", number=case.id),
          "success")
    return see_other("handoff.session", case_id=case.id)


# ---------------------------------------------------------------------------------------------
# Notices and settings


@bp.post("/notices/<int:notice_id>/dismiss")
@login_required
def dismiss_notice(notice_id):
    notice = notice_or_404(notice_id)
    checked_action()
    service.dismiss_notice(notice, current_user, now=utcnow())
    if wants_partial():
        return fragment("handoff/_landing_panel.html", trigger={"handoff-notice-dismissed": {"notice": notice.id}},
                        handoff_panel=landing_context(current_user, None, utcnow())["handoff_panel"])
    return redirect(url_for("cases.landing") if "cases.landing" in current_app.view_functions
                    else url_for("handoff.redeem_form"), 303)


@bp.route("/admin/settings", methods=["GET", "POST"])
@login_required
def settings():
    require(permissions.may_curate(current_user))
    current = service.settings_of(current_user.organisation_id)
    if request.method == "GET":
        form = SettingsForm(formdata=None, code_minutes=current.code_minutes)
        return render_template("handoff/settings.html", form=form)
    form = SettingsForm()
    if form.validate_on_submit():
        try:
            service.set_code_minutes(current_user.organisation_id, current_user,
                                     minutes=form.code_minutes.data, now=utcnow())
        except Invalid as invalid:
            form.populate_errors(invalid)
        else:
            flash(_("Handoff codes now last %(minutes)d minutes.", minutes=form.code_minutes.data),
                  "success")
            return see_other("handoff.settings")
    return render_page_or_partial("handoff/settings.html", "handoff/_settings_form.html", form=form,
                                  status=422)
