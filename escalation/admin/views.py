"""The admin area (owners and admins): members, queues and the organisation's settings.

Each page has one region partial; its forms post with htmx into that region. A plain POST
answers 303 with a flash; an htmx POST answers the region with a status line and an HX-Trigger
event; invalid input answers 422 with the form as typed.
"""
from flask import Blueprint, abort, flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from peewee import JOIN, fn

from .. import nav
from ..clock import utcnow
from ..errors import Invalid
from ..extensions import login_manager
from ..models import LOCALE_LABELS, Member, Organisation, Queue, QueueMember
from ..web import member_or_404, queue_or_404, render_page_or_partial, see_other, wants_partial
from . import service
from .forms import (AddMemberForm, ConfirmForm, MemberForm, OrganisationForm, QueueAgentsForm,
                    QueueForm)
from .rules import can_administer, can_manage_member, grantable_roles

bp = Blueprint("admin", __name__, url_prefix="/admin")

nav.register_nav("admin.index", _l("Admin"), visible=can_administer, order=80)


@bp.before_request
def _only_admins():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not can_administer(current_user):
        abort(403)
    return None


def _done(message, endpoint, trigger, region, **values):
    """After a successful change: 303 and a flash, or (htmx) the region with the message."""
    if wants_partial():
        return region(message=message, trigger=trigger)
    flash(message, "success")
    return see_other(endpoint, **values)


def _attempt(form, action):
    """Run ``action`` if the form is valid; a service's ``Invalid`` lands on the form's fields.
    Returns the action's result, or None when the input was refused."""
    if not form.validate_on_submit():
        return None
    try:
        return action()
    except Invalid as exc:
        form.populate_errors(exc)
        return None


@bp.get("/")
def index():
    return render_page_or_partial("admin/index.html", "admin/_sections.html",
                                  panels=nav.panels_for("admin", current_user, None, now=utcnow()))


# ---------------------------------------------------------------------------------------------
# Members


def _add_member_form(**kwargs):
    form = AddMemberForm(**kwargs)
    form.set_roles(grantable_roles(current_user))
    return form


def _members_region(form=None, *, status=200, message=None, trigger=None):
    return render_page_or_partial(
        "admin/members.html", "admin/_members.html", status=status, trigger=trigger,
        form=form or _add_member_form(formdata=None), message=message, languages=LOCALE_LABELS,
        members=list(Member.for_org(current_user.organisation_id)))


@bp.get("/members")
def members():
    return _members_region()


@bp.post("/members")
def add_member():
    form = _add_member_form()
    added = _attempt(form, lambda: service.add_member(
        current_user.organisation_id, current_user, now=utcnow(), name=form.name.data,
        email=form.email.data, role=form.role.data, locale=form.locale.data,
        password=form.password.data))
    if added is None:
        return _members_region(form, status=422)
    member, had_account = added
    message = (_("%(name)s already had an account and is now a member.", name=member.name)
               if had_account else _("%(name)s is added.", name=member.name))
    return _done(message, "admin.members", {"member-added": {"id": member.id}}, _members_region)


def _member_form(member, **kwargs):
    form = MemberForm(**kwargs)
    form.set_roles(grantable_roles(current_user))
    return form


def _member_region(member, form=None, confirm=None, *, status=200, message=None, trigger=None):
    if form is None:
        form = _member_form(member, formdata=None,
                            data={"role": member.role, "locale": member.user.locale or ""})
    return render_page_or_partial(
        "admin/member.html", "admin/_member.html", status=status, trigger=trigger,
        member=member, form=form, confirm=confirm or ConfirmForm(formdata=None),
        manageable=can_manage_member(current_user, member), message=message)


def _manageable_member(member_id):
    member = member_or_404(member_id)
    if not can_manage_member(current_user, member):
        abort(403)
    return member


@bp.get("/members/<int:member_id>")
def member(member_id):
    return _member_region(member_or_404(member_id))


@bp.post("/members/<int:member_id>")
def update_member(member_id):
    member = _manageable_member(member_id)
    form = _member_form(member)
    updated = _attempt(form, lambda: service.update_member(
        member, current_user, now=utcnow(), role=form.role.data, locale=form.locale.data))
    if updated is None:
        return _member_region(member, form, status=422)
    return _member_changed(updated, _("The changes to %(name)s are saved.", name=updated.name))


def _member_changed(member, message):
    return _done(message, "admin.member", {"member-changed": {"id": member.id}},
                 lambda **kw: _member_region(member, **kw), member_id=member.id)


def _confirmed(obj, change, *, region, changed, message):
    """A button that changes state (deactivate, archive...): the service's refusal shows in
    the region's summary (422); success answers as ``changed`` does."""
    confirm = ConfirmForm()
    result = _attempt(confirm, lambda: change(obj, current_user, now=utcnow()))
    if result is None:
        return region(obj, confirm=confirm, status=422)
    return changed(result, message(result))


@bp.post("/members/<int:member_id>/deactivate")
def deactivate_member(member_id):
    return _confirmed(_manageable_member(member_id), service.deactivate_member,
                      region=_member_region, changed=_member_changed,
                      message=lambda m: _("%(name)s is deactivated and signed out.", name=m.name))


@bp.post("/members/<int:member_id>/reactivate")
def reactivate_member(member_id):
    return _confirmed(_manageable_member(member_id), service.reactivate_member,
                      region=_member_region, changed=_member_changed,
                      message=lambda m: _("%(name)s is active again.", name=m.name))


# ---------------------------------------------------------------------------------------------
# Queues


def _queue_rows(organisation_id):
    """Every queue with its number of active agents, archived ones last."""
    agent = (QueueMember.member == Member.id) & (Member.active == True)  # noqa: E712
    return list(Queue.select(Queue, fn.COUNT(Member.id).alias("agent_count"))
                .join(QueueMember, JOIN.LEFT_OUTER)
                .join(Member, JOIN.LEFT_OUTER, on=agent)
                .where(Queue.organisation == organisation_id)
                .group_by(Queue.id)
                .order_by(Queue.archived_at.is_null(False), fn.LOWER(Queue.name)))


def _queues_region(form=None, *, status=200, message=None, trigger=None):
    return render_page_or_partial(
        "admin/queues.html", "admin/_queues.html", status=status, trigger=trigger,
        form=form or QueueForm(formdata=None), message=message,
        queues=_queue_rows(current_user.organisation_id))


@bp.get("/queues")
def queues():
    return _queues_region()


@bp.post("/queues")
def create_queue():
    form = QueueForm()
    queue = _attempt(form, lambda: service.create_queue(
        current_user.organisation_id, current_user, now=utcnow(), name=form.name.data,
        tier=form.tier.data))
    if queue is None:
        return _queues_region(form, status=422)
    return _done(_("The queue %(name)s is created.", name=queue.name), "admin.queues",
                 {"queue-added": {"id": queue.id}}, _queues_region)


def _agents_form(queue, **kwargs):
    form = QueueAgentsForm(**kwargs)
    form.set_members(Member.active_in(current_user.organisation_id))
    return form


def _queue_region(queue, form=None, agents=None, confirm=None, *, status=200, message=None,
                  trigger=None):
    if form is None:
        form = QueueForm(formdata=None, data={"name": queue.name, "tier": queue.tier})
    if agents is None:
        agents = _agents_form(queue, formdata=None,
                              data={"agents": sorted(service.queue_agent_ids(queue))})
    return render_page_or_partial(
        "admin/queue.html", "admin/_queue.html", status=status, trigger=trigger, queue=queue,
        form=form, agents=agents, confirm=confirm or ConfirmForm(formdata=None), message=message)


def _queue_changed(queue, message):
    return _done(message, "admin.queue", {"queue-changed": {"id": queue.id}},
                 lambda **kw: _queue_region(queue, **kw), queue_id=queue.id)


@bp.get("/queues/<int:queue_id>")
def queue(queue_id):
    return _queue_region(queue_or_404(queue_id))


@bp.post("/queues/<int:queue_id>")
def update_queue(queue_id):
    queue = queue_or_404(queue_id)
    form = QueueForm()
    updated = _attempt(form, lambda: service.update_queue(
        queue, current_user, now=utcnow(), name=form.name.data, tier=form.tier.data))
    if updated is None:
        return _queue_region(queue, form=form, status=422)
    return _queue_changed(updated, _("The queue %(name)s is saved.", name=updated.name))


@bp.post("/queues/<int:queue_id>/agents")
def set_queue_agents(queue_id):
    queue = queue_or_404(queue_id)
    agents = _agents_form(queue)
    changed = _attempt(agents, lambda: service.set_queue_agents(
        queue, current_user, now=utcnow(), member_ids=agents.agents.data or []))
    if changed is None:
        return _queue_region(queue, agents=agents, status=422)
    return _queue_changed(queue, _("The agents of %(name)s are saved.", name=queue.name))


@bp.post("/queues/<int:queue_id>/archive")
def archive_queue(queue_id):
    return _confirmed(queue_or_404(queue_id), service.archive_queue,
                      region=_queue_region, changed=_queue_changed,
                      message=lambda q: _("The queue %(name)s is archived.", name=q.name))


@bp.post("/queues/<int:queue_id>/unarchive")
def unarchive_queue(queue_id):
    return _confirmed(queue_or_404(queue_id), service.unarchive_queue,
                      region=_queue_region, changed=_queue_changed,
                      message=lambda q: _("The queue %(name)s is in use again.", name=q.name))


# ---------------------------------------------------------------------------------------------
# The organisation


def _organisation_form(**kwargs):
    form = OrganisationForm(**kwargs)
    form.set_time_zones(service.time_zones())
    return form


def _organisation_region(form=None, *, status=200, message=None, trigger=None):
    organisation = Organisation.get_by_id(current_user.organisation_id)
    if form is None:
        form = _organisation_form(formdata=None, obj=organisation)
    return render_page_or_partial(
        "admin/organisation.html", "admin/_organisation.html", status=status, trigger=trigger,
        organisation=organisation, form=form, message=message)


@bp.get("/organisation")
def organisation():
    return _organisation_region()


@bp.post("/organisation")
def update_organisation():
    form = _organisation_form()
    updated = _attempt(form, lambda: service.update_organisation(
        current_user.organisation, current_user, now=utcnow(), name=form.name.data,
        default_locale=form.default_locale.data, timezone=form.timezone.data))
    if updated is None:
        return _organisation_region(form, status=422)
    return _done(_("The organisation's settings are saved."), "admin.organisation",
                 {"organisation-changed": {"id": updated.id}}, _organisation_region)
