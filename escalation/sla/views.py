"""The SLA area's pages. Registered at import: the audit subscriptions, the panels on the case and
landing pages, the header link and the threads row badges, and ``flask sla sweep``."""
from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import force_locale, ngettext
from htmx_flask import make_response
from markupsafe import escape
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .. import nav
from ..clock import utcnow
from ..errors import Invalid, NotFound
from ..models import LOCALE_LABELS, PRIORITIES, PRIORITY_LABELS, Inbox
from ..permissions import can_manage_org
from ..web import (case_or_404, fragment, inbox_or_404, render_page_or_partial, require,
                   see_other, wants_partial)
from . import access, cli, events, forms, notifications, panels, policies

SETTINGS_CHANGED = "sla-settings-changed"
LADDER_CHANGED = "sla-ladder-changed"
NOTIFICATIONS_CHANGED = "notifications-changed"
CANNED_CHANGED = "canned-responses-changed"

bp = Blueprint("sla", __name__, url_prefix="/sla")

events.register()
cli.register(bp.cli)
nav.register_panel("case", "sla_clocks", "sla/_clocks_panel.html", context=panels.clock_panel,
                   order=20)
nav.register_annotator("threads", "sla", panels.badges_for)
nav.register_annotator("landing", "sla", panels.badges_for)
nav.register_nav("sla.settings", _l("SLA"), visible=can_manage_org, order=80)


def _viewable(case_id):
    case = case_or_404(case_id)
    require(access.may_view(current_user, case))
    return case


# ---------------------------------------------------------------------------------------------
# Clocks


@bp.get("/cases/<int:case_id>/clocks")
@login_required
def case_clocks(case_id):
    case = _viewable(case_id)
    context = panels.clock_panel(current_user, case, utcnow())
    if context is None:
        abort(404)
    return render_page_or_partial("sla/case_clocks.html", "sla/_clocks_panel.html", case=case,
                                  **context)


# ---------------------------------------------------------------------------------------------
# Settings: business hours, closed days, policies, tier targets (owners and admins)


def _configurer():
    require(access.may_configure(current_user))
    return current_user.organisation


def _settings_context(org, **bound):
    from .calendar import settings_for
    from .models import ClosedDay
    settings = settings_for(org.id)
    hours = settings.hours
    hours_form = bound.get("hours") or forms.HoursForm(formdata=None, data={
        **{f"day{n}": forms.format_spans(hours.get(n)) for n in range(7)},
        "holiday_country": settings.holiday_country or "",
        "auto_close_days": settings.auto_close_days,
        "confirm_link_days": settings.confirm_link_days,
        "notify_requested_for": settings.notify_requested_for})
    existing = policies.policies_of(org)
    policy_forms = {}
    for priority in PRIORITIES:
        policy = existing.get(priority)
        policy_forms[priority] = bound.get(f"policy{priority}") or forms.PolicyForm(
            formdata=None, prefix=f"p{priority}", data=dict(
                first_response=policy.first_response_minutes if policy else None,
                next_response=policy.next_response_minutes if policy else None,
                resolution=policy.resolution_minutes if policy else None,
                active=policy.active if policy else True))
    targets = policies.tier_targets_of(org)
    inboxes = list(Inbox.for_org(org.id))
    target_forms = {inbox.id: bound.get(f"target{inbox.id}") or forms.TierTargetForm(
        formdata=None, prefix=f"t{inbox.id}", data={"target_minutes": targets.get(inbox.id)})
        for inbox in inboxes}
    return dict(org=org, hours_form=hours_form,
                closed_days=list(ClosedDay.select().where(ClosedDay.organisation == org.id)
                                 .order_by(ClosedDay.day)),
                closed_form=bound.get("closed") or forms.ClosedDayForm(formdata=None),
                priorities=PRIORITY_LABELS, policies=existing, policy_forms=policy_forms,
                inboxes=inboxes, target_forms=target_forms)


def _settings_response(org, partial, *, status=200, notice=None, **bound):
    return render_page_or_partial("sla/settings.html", partial, status=status,
                                  trigger={SETTINGS_CHANGED: True} if status == 200 else None,
                                  notice=notice, **_settings_context(org, **bound))


def _saved(partial, message, org):
    if wants_partial():
        return _settings_response(org, partial, notice=message)
    flash(message, "success")
    return see_other("sla.settings")


@bp.get("/settings")
@login_required
def settings():
    org = _configurer()
    return render_template("sla/settings.html", **_settings_context(org))


def _settings_post(org, form, partial, bound, save, message):
    """Validate, call one service, answer: the shape every settings form shares."""
    if form.validate_on_submit():
        try:
            save(form)
        except Invalid as exc:
            form.populate_errors(exc)
        else:
            return _saved(partial, message, org)
    return _settings_response(org, partial, status=422, **{bound: form})


@bp.post("/settings/hours")
@login_required
def save_hours():
    org = _configurer()
    return _settings_post(
        org, forms.HoursForm(), "sla/_hours.html", "hours",
        lambda form: policies.save_settings(
            org, current_user, hours=form.hours(), holiday_country=form.holiday_country.data,
            auto_close_days=form.auto_close_days.data,
            confirm_link_days=form.confirm_link_days.data,
            notify_requested_for=form.notify_requested_for.data, now=utcnow()),
        _("Business hours saved."))


@bp.post("/settings/closed-days")
@login_required
def add_closed_day():
    org = _configurer()
    return _settings_post(
        org, forms.ClosedDayForm(), "sla/_closed_days.html", "closed",
        lambda form: policies.add_closed_day(org, current_user, day=form.day.data,
                                             name=form.name.data, now=utcnow()),
        _("Closed day added."))


@bp.post("/settings/closed-days/<int:day_id>/delete")
@login_required
def remove_closed_day(day_id):
    org = _configurer()
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        policies.remove_closed_day(org, current_user, day_id, now=utcnow())
    except NotFound:
        abort(404)
    return _saved("sla/_closed_days.html", _("Closed day removed."), org)


@bp.post("/settings/policies/<int:priority>")
@login_required
def save_policy(priority):
    org = _configurer()
    if priority not in PRIORITIES:
        abort(404)
    return _settings_post(
        org, forms.PolicyForm(prefix=f"p{priority}"), "sla/_policies.html", f"policy{priority}",
        lambda form: policies.save_policy(
            org, current_user, priority=priority, first_response=form.first_response.data,
            next_response=form.next_response.data, resolution=form.resolution.data,
            active=form.active.data, now=utcnow()),
        _("SLA policy saved."))


@bp.post("/settings/inboxes/<int:inbox_id>/target")
@login_required
def save_tier_target(inbox_id):
    org = _configurer()
    inbox = inbox_or_404(inbox_id)
    return _settings_post(
        org, forms.TierTargetForm(prefix=f"t{inbox.id}"), "sla/_tier_targets.html",
        f"target{inbox.id}",
        lambda form: policies.save_tier_target(inbox, current_user,
                                               minutes=form.target_minutes.data, now=utcnow()),
        _("Tier target saved."))


# ---------------------------------------------------------------------------------------------
# Breach ladders


def _ladder_owner(kind, owner_id):
    org = _configurer()
    try:
        if kind == "policy":
            return org, policies.step_owner_or_404(org, policy_id=owner_id), None
        if kind == "inbox":
            return org, None, policies.step_owner_or_404(org, inbox_id=owner_id)
    except NotFound:
        pass
    abort(404)


def _ladder_context(policy, inbox, form=None):
    from .ladder import ladder_of
    steps = ladder_of(policy=policy, inbox=inbox)
    return dict(policy=policy, inbox=inbox, steps=steps, form=form or forms.StepForm(formdata=None),
                priorities=PRIORITY_LABELS, action_labels=forms.ACTION_LABELS,
                clock_labels=dict(forms.CLOCK_KIND_LABELS), kind="policy" if policy else "inbox",
                owner_id=(policy or inbox).id)


@bp.get("/ladders/<any(policy, inbox):kind>/<int:owner_id>")
@login_required
def ladder(kind, owner_id):
    org, policy, inbox = _ladder_owner(kind, owner_id)
    return render_template("sla/ladder.html", **_ladder_context(policy, inbox))


@bp.post("/ladders/<any(policy, inbox):kind>/<int:owner_id>/steps")
@login_required
def add_step(kind, owner_id):
    org, policy, inbox = _ladder_owner(kind, owner_id)
    form = forms.StepForm()
    if form.validate_on_submit():
        try:
            policies.add_step(org, current_user, policy=policy, inbox=inbox,
                              clock_kind=form.clock_kind.data, trigger=form.trigger.data,
                              percent=form.percent.data, offset_minutes=form.offset_minutes.data,
                              action=form.action.data, now=utcnow())
        except Invalid as exc:
            form.populate_errors(exc)
        else:
            return _ladder_saved(policy, inbox, _("Step added to the ladder."))
    return render_page_or_partial("sla/ladder.html", "sla/_ladder.html", status=422,
                                  **_ladder_context(policy, inbox, form))


@bp.post("/ladders/<any(policy, inbox):kind>/<int:owner_id>/steps/<int:step_id>/delete")
@login_required
def remove_step(kind, owner_id, step_id):
    org, policy, inbox = _ladder_owner(kind, owner_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        policies.remove_step(org, current_user, step_id, now=utcnow())
    except NotFound:
        abort(404)
    return _ladder_saved(policy, inbox, _("Step removed from the ladder."))


def _ladder_saved(policy, inbox, message):
    if wants_partial():
        return fragment("sla/_ladder.html", trigger={LADDER_CHANGED: True}, notice=message,
                        **_ladder_context(policy, inbox))
    flash(message, "success")
    return see_other("sla.ladder", kind="policy" if policy else "inbox",
                     owner_id=(policy or inbox).id)


# ---------------------------------------------------------------------------------------------
# Notifications


class UnreadLabel:
    """The header link's label: "Notifications" and, when there are any, the unread count in a
    badge that refreshes itself every minute (one indexed COUNT per page)."""

    def __str__(self):
        return _("Notifications")

    def __html__(self):
        count = notifications.unread_count(current_user)
        return str(escape(_("Notifications"))) + render_template("sla/_unread.html", count=count)


def _notifications_context(notice=None):
    rows = notifications.recent_for(current_user)
    return dict(rows=rows, text_of=notifications.text_of, notice=notice,
                unread=sum(1 for row in rows if row.read_at is None))


@bp.get("/notifications")
@login_required
def notification_list():
    return render_page_or_partial("sla/notifications.html", "sla/_notification_list.html",
                                  **_notifications_context())


@bp.get("/notifications/count")
@login_required
def notification_count():
    count = notifications.unread_count(current_user)
    if wants_partial():
        return fragment("sla/_unread.html", count=count)
    return see_other("sla.notification_list")


@bp.post("/notifications/read")
@login_required
def mark_all_read():
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    changed = notifications.mark_read(current_user, now=utcnow())
    message = ngettext("%(num)d notification marked as read.",
                       "%(num)d notifications marked as read.", changed)
    if wants_partial():
        return fragment("sla/_notification_list.html", trigger={NOTIFICATIONS_CHANGED: True},
                        **_notifications_context(notice=message))
    flash(message, "success")
    return see_other("sla.notification_list")


@bp.post("/notifications/<int:notification_id>/open")
@login_required
def open_notification(notification_id):
    from .models import Notification
    row = Notification.get_or_none((Notification.id == notification_id)
                                   & (Notification.member == current_user.id))
    if row is None:
        abort(404)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    notifications.mark_read(current_user, now=utcnow(), notification_id=row.id)
    if row.case_id is not None:
        return see_other("cases.show", case_id=row.case_id)
    return see_other("sla.notification_list")


nav.register_nav("sla.notification_list", UnreadLabel(), order=90)


# ---------------------------------------------------------------------------------------------
# Canned responses (owners and admins keep them; whoever works a case uses them)


def _canned_context(form=None, notice=None):
    from . import canned
    return dict(rows=list(canned.for_org(current_user.organisation_id)),
                form=form or forms.CannedForm(formdata=None,
                                              language=current_user.organisation.default_locale),
                notice=notice, languages=LOCALE_LABELS, placeholders=canned.PLACEHOLDERS)


@bp.get("/canned")
@login_required
def canned_list():
    _configurer()
    return render_template("sla/canned_list.html", **_canned_context())


@bp.post("/canned")
@login_required
def canned_create():
    from . import canned
    org = _configurer()
    form = forms.CannedForm()
    if form.validate_on_submit():
        try:
            canned.save(org, current_user, title=form.title.data, language=form.language.data,
                        body=form.body.data, now=utcnow())
        except Invalid as exc:
            form.populate_errors(exc)
        else:
            message = _("Canned response saved.")
            if wants_partial():
                return fragment("sla/_canned.html", trigger={CANNED_CHANGED: True},
                                **_canned_context(notice=message))
            flash(message, "success")
            return see_other("sla.canned_list")
    return render_page_or_partial("sla/canned_list.html", "sla/_canned.html", status=422,
                                  **_canned_context(form))


def _own_or_404(model, row_id):
    """A row of one of this area's tenant tables, of the member's organisation, or 404."""
    row = model.get_or_none((model.id == row_id)
                            & (model.organisation == current_user.organisation_id))
    if row is None:
        abort(404)
    return row


def _canned_or_404(canned_id):
    from .models import CannedResponse
    return _own_or_404(CannedResponse, canned_id)


@bp.route("/canned/<int:canned_id>", methods=["GET", "POST"])
@login_required
def canned_edit(canned_id):
    from . import canned
    org = _configurer()
    row = _canned_or_404(canned_id)
    form = forms.CannedForm(obj=row)
    if form.validate_on_submit():
        try:
            canned.save(org, current_user, title=form.title.data, language=form.language.data,
                        body=form.body.data, now=utcnow(), canned=row)
        except Invalid as exc:
            form.populate_errors(exc)
        else:
            flash(_("Canned response saved."), "success")
            return see_other("sla.canned_list")
    status = 422 if form.is_submitted() else 200
    return render_template("sla/canned_edit.html", form=form, canned=row), status


@bp.post("/canned/<int:canned_id>/delete")
@login_required
def canned_delete(canned_id):
    from . import canned
    org = _configurer()
    row = _canned_or_404(canned_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    canned.delete(org, current_user, row.id, now=utcnow())
    message = _("Canned response deleted.")
    if wants_partial():
        return fragment("sla/_canned.html", trigger={CANNED_CHANGED: True},
                        **_canned_context(notice=message))
    flash(message, "success")
    return see_other("sla.canned_list")


# ---------------------------------------------------------------------------------------------
# Resolving with a note, and the requester's confirmation


@bp.post("/cases/<int:case_id>/resolve")
@login_required
def resolve(case_id):
    from .resolution import resolve_with_note
    case = _viewable(case_id)
    now = utcnow()
    require(access.may_work(current_user, case, now))
    form = forms.ResolveForm()
    if form.validate_on_submit():
        try:
            resolve_with_note(case, current_user, note=form.note.data, now=now)
        except Invalid as exc:
            form.populate_errors(exc)
        else:
            message = _("The case is resolved. The requester is asked to confirm.")
            if wants_partial():
                context = panels.resolve_panel(current_user, case_or_404(case_id), now)
                return fragment("sla/_resolve_panel.html", trigger={"case-changed": True},
                                notice=message, **context)
            flash(message, "success")
            return see_other("cases.show", case_id=case.id)
    context = {"sla_resolve": {"case": case, "resolution": None, "form": form}}
    return render_page_or_partial("sla/resolve.html", "sla/_resolve_panel.html", status=422,
                                  case=case, **context)


@bp.get("/cases/<int:case_id>/resolve")
@login_required
def resolve_page(case_id):
    case = _viewable(case_id)
    context = panels.resolve_panel(current_user, case, utcnow())
    if context is None:
        abort(404)
    return render_template("sla/resolve.html", case=case, **context)


def _answer_context(token):
    """The resolution a link is for, and the case and requester, in the requester's language."""
    from ..models import Case, Contact
    from .resolution import resolution_from_token
    resolution = resolution_from_token(token, now=utcnow())
    case = Case.get_by_id(resolution.case_id)
    requester = Contact.get_or_none(Contact.id == case.requester_id) if case.requester_id else None
    locale = (requester.locale if requester and requester.locale else None) \
        or case.organisation.default_locale
    return resolution, case, locale


def _answer_page(token, *, reject_form=None, status=200):
    from ..errors import Expired
    try:
        resolution, case, locale = _answer_context(token)
    except Expired:
        return render_template("sla/confirm_gone.html", reason="expired"), 410
    if resolution.answered_at is not None:
        return render_template("sla/confirm_gone.html", reason="used"), 409
    with force_locale(locale):
        body = render_template("sla/confirm.html", token=token, resolution=resolution, case=case,
                               reject_form=reject_form or forms.RejectForm(formdata=None),
                               confirm_form=forms.ConfirmForm(formdata=None))
    return body, status


@bp.get("/confirm/<token>")
def confirm(token):
    return _answer_page(token)


@bp.post("/confirm/<token>/yes")
def confirm_yes(token):
    from ..errors import Conflict, Expired
    from .resolution import confirm_solved
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        resolution, case, locale = _answer_context(token)
        confirm_solved(resolution, now=utcnow())
    except Expired:
        return render_template("sla/confirm_gone.html", reason="expired"), 410
    except Conflict:
        return render_template("sla/confirm_gone.html", reason="used"), 409
    with force_locale(locale):
        return render_template("sla/confirm_done.html", answer="yes", case=case)


@bp.post("/confirm/<token>/no")
def confirm_no(token):
    from ..errors import Conflict, Expired
    from .resolution import report_unsolved
    form = forms.RejectForm()
    try:
        resolution, case, locale = _answer_context(token)
    except Expired:
        return render_template("sla/confirm_gone.html", reason="expired"), 410
    if not form.validate_on_submit():
        return _answer_page(token, reject_form=form, status=422)
    try:
        report_unsolved(resolution, comment=form.comment.data, now=utcnow())
    except Conflict:
        return render_template("sla/confirm_gone.html", reason="used"), 409
    with force_locale(locale):
        return render_template("sla/confirm_done.html", answer="no", case=case)


nav.register_panel("case", "sla_resolve", "sla/_resolve_panel.html", context=panels.resolve_panel,
                   order=25)
nav.register_panel("case", "sla_canned", "sla/_canned_panel.html", context=panels.canned_panel,
                   order=40)


# ---------------------------------------------------------------------------------------------
# Knowledge articles


def _catalog_choices():
    pairs = [("", _("None"))]
    try:
        from ..escalations.models import CatalogItem
    except ImportError:
        return forms.choices(pairs)
    pairs += [(str(item.id), f"{item.category.label()} → {item.label()}")
              for item in CatalogItem.for_org(current_user.organisation_id)]
    return forms.choices(pairs)


def _article_or_404(article_id):
    from .models import Article
    row = _own_or_404(Article, article_id)
    if row.status != "published" and row.created_by_id != current_user.id \
            and not access.may_configure(current_user):
        abort(404)
    return row


@bp.get("/articles")
@login_required
def articles():
    from . import articles as kb
    text = request.args.get("q", "")
    rows = kb.search(current_user.organisation_id, text, include_drafts_of=current_user.id)
    return render_page_or_partial("sla/articles.html", "sla/_article_results.html", q=text,
                                  rows=rows)


@bp.get("/articles/suggest")
@login_required
def article_suggestions():
    """Articles matching a subject as it is typed (the escalation form asks with htmx)."""
    from . import articles as kb
    subject = request.args.get("subject", "")
    rows = kb.suggest(current_user.organisation_id, subject)
    if wants_partial():
        return fragment("sla/_suggestions.html", rows=rows, subject=subject)
    return render_template("sla/articles.html", q=subject, rows=rows)


@bp.get("/articles/<int:article_id>")
@login_required
def article(article_id):
    from . import articles as kb
    row = _article_or_404(article_id)
    return render_template("sla/article.html", article=row, html=kb.render(row.body),
                           cases=kb.cases_of(row))


def _article_form_page(form, *, article=None, case=None, similar=(), status=200):
    return render_page_or_partial("sla/article_form.html", "sla/_article_form.html",
                                  status=status, form=form, article=article, case=case,
                                  similar=similar)


@bp.get("/articles/new")
@login_required
def article_new():
    from . import articles as kb
    case = None
    data = {"language": current_user.organisation.default_locale}
    if request.args.get("case", "").isdigit():
        case = _viewable(int(request.args["case"]))
        draft = kb.draft_from_case(case)
        data.update(title=draft["title"], body=draft["body"], from_case=str(case.id),
                    catalog_item=str(draft["catalog_item"] or ""))
    form = forms.ArticleForm(formdata=None, data=data)
    form.catalog_item.choices = _catalog_choices()
    return _article_form_page(form, case=case)


@bp.post("/articles")
@login_required
def article_create():
    return _save_article(None)


@bp.route("/articles/<int:article_id>/edit", methods=["GET", "POST"])
@login_required
def article_edit(article_id):
    row = _article_or_404(article_id)
    require(row.created_by_id == current_user.id or access.may_configure(current_user))
    if request.method == "GET":
        form = forms.ArticleForm(formdata=None, obj=row, data={
            "catalog_item": str(row.catalog_item_id or ""), "publish": row.status == "published"})
        form.catalog_item.choices = _catalog_choices()
        return _article_form_page(form, article=row)
    return _save_article(row)


def _save_article(row):
    from . import articles as kb
    form = forms.ArticleForm()
    form.catalog_item.choices = _catalog_choices()
    case = _viewable(int(form.from_case.data)) if (form.from_case.data or "").isdigit() else None
    if not form.validate_on_submit():
        return _article_form_page(form, article=row, case=case, status=422)
    item = int(form.catalog_item.data) if (form.catalog_item.data or "").isdigit() else None
    similar = [] if form.confirm_similar.data else kb.similar(
        current_user.organisation_id, form.title.data, item,
        exclude_id=row.id if row else None)
    if similar:
        form.confirm_similar.data = "1"
        return _article_form_page(form, article=row, case=case, similar=similar)
    try:
        saved = kb.save(current_user.organisation, current_user, title=form.title.data,
                        body=form.body.data, language=form.language.data,
                        catalog_item_id=item, publish=form.publish.data, now=utcnow(),
                        from_case=case, article=row)
    except Invalid as exc:
        form.populate_errors(exc)
        return _article_form_page(form, article=row, case=case, status=422)
    flash(_("Article saved."), "success")
    if wants_partial():
        return make_response("", 200, redirect=url_for("sla.article", article_id=saved.id))
    return see_other("sla.article", article_id=saved.id)


@bp.post("/cases/<int:case_id>/solved-with")
@login_required
def solved_with(case_id):
    from . import articles as kb
    case = _viewable(case_id)
    now = utcnow()
    require(access.may_work(current_user, case, now))
    form = forms.SolvedWithForm()
    if not form.validate_on_submit() or not (form.article.data or "").isdigit():
        abort(400)
    row = _article_or_404(int(form.article.data))
    kb.solved_with(case, row, current_user, now=now)
    message = _("Noted: solved with “%(title)s”.", title=row.title)
    if wants_partial():
        context = panels.article_panel(current_user, case, now) or {}
        return fragment("sla/_articles_panel.html", trigger={"case-changed": True},
                        notice=message, **context)
    flash(message, "success")
    return see_other("cases.show", case_id=case.id)


nav.register_panel("case", "sla_articles", "sla/_articles_panel.html",
                   context=panels.article_panel, order=45)
nav.register_nav("sla.articles", _l("Knowledge"), order=85)
