"""Organisation administration: members and their roles, queues and their agents, settings.

Plain functions taking the actor and ``now``; each is one transaction that writes its audit
events. Rules that involve other rows (the last owner, a queue name in use) hold the
organisation's row lock on PostgreSQL; on SQLite every write transaction already begins
IMMEDIATE, which serialises them.
"""
import zoneinfo
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError, fn

from .. import audit
from ..auth.service import hash_password, normalise_email
from ..db import database, is_postgres
from ..errors import Conflict, Forbidden, Invalid
from ..models import LOCALES, ROLES, TIERS, Member, Organisation, Queue, QueueMember, User
from .rules import can_administer, can_manage_member, grantable_roles

MIN_PASSWORD = 10


# ---------------------------------------------------------------------------------------------
# Shared checks


def _require_admin(actor, organisation_id):
    if not can_administer(actor) or actor.organisation_id != organisation_id:
        raise Forbidden()


def _require_manages(actor, member):
    if not can_manage_member(actor, member):
        raise Forbidden()


def _lock_organisation(organisation_id):
    """Serialise the changes that check other rows of this organisation (see the module doc)."""
    if is_postgres():
        (Organisation.select(Organisation.id).where(Organisation.id == organisation_id)
         .for_update().execute())


def _text(value, field, *, maximum, required=True):
    value = (value or "").strip()
    if required and not value:
        raise Invalid([(field, _l("This field is required."))])
    if len(value) > maximum:
        raise Invalid([(field, _l("Use at most %(num)d characters.", num=maximum))])
    return value


def _locale(value, field="locale"):
    if value in (None, ""):
        return None
    if value not in LOCALES:
        raise Invalid([(field, _l("Choose a language from the list."))])
    return value


def _role(actor, role):
    if role not in ROLES:
        raise Invalid([("role", _l("Choose a role from the list."))])
    if role not in grantable_roles(actor):
        raise Invalid([("role", _l("You cannot give a role above your own."))])
    return role


def _changed(member_id, expected, **values):
    """A conditional UPDATE of one member: 0 rows means someone else changed it first."""
    query = Member.update(**values).where(Member.id == member_id)
    for name, value in expected.items():
        query = query.where(getattr(Member, name) == value)
    if query.execute() != 1:
        raise Conflict(_l("Someone else changed this member first. Reload and try again."))


# ---------------------------------------------------------------------------------------------
# Members


def _other_active_owners(organisation_id, member_id) -> int:
    return (Member.select().where((Member.organisation == organisation_id)
                                  & (Member.role == "owner") & (Member.active == True)  # noqa: E712
                                  & (Member.id != member_id)).count())


def _keep_an_owner(member, field):
    """The organisation always keeps at least one active owner."""
    if member.role == "owner" and member.active \
            and not _other_active_owners(member.organisation_id, member.id):
        raise Invalid([(field, _l("%(name)s is the last active owner. Make someone else an "
                                  "owner first.", name=member.name))])


def _fresh(member):
    """The member as stored now (with its user), inside the caller's transaction."""
    return (Member.select(Member, User).join(User)
            .where(Member.id == member.id).get())


def add_member(organisation, actor, *, now, name, email, role, locale=None, password=None):
    """Add a person to the organisation. If the email already has an account, only the
    membership is added: the account's name, password and language stay the person's own.
    Returns ``(member, had_account)``."""
    organisation_id = getattr(organisation, "id", organisation)
    _require_admin(actor, organisation_id)
    email = normalise_email(email)
    if not email or "@" not in email:
        raise Invalid([("email", _l("Enter an email address."))])
    role = _role(actor, role)
    locale = _locale(locale)
    new_account = None
    if User.get_or_none(User.email == email) is None:
        new_account = _new_account(email, name, locale, password)  # hashed outside
    with database.atomic():
        user, had_account = _account_for(email, new_account)
        try:
            with database.atomic():
                member = Member.create(organisation=organisation_id, user=user, role=role,
                                       created_at=now)
        except IntegrityError:
            raise Invalid([("email", _already_member(organisation_id, user))]) from None
        audit.record(actor, "member.added", organisation=organisation_id, subject=member, now=now,
                     role=role, email=email, had_account=had_account)
    member.user = user
    return member, had_account


def _already_member(organisation_id, user):
    member = Member.get((Member.organisation == organisation_id) & (Member.user == user))
    if member.active:
        return _l("%(email)s is already a member.", email=user.email)
    return _l("%(email)s is a deactivated member: reactivate them instead.", email=user.email)


def _new_account(email, name, locale, password) -> dict:
    """The fields of a new account, validated, its password hashed (slow: done before the
    transaction)."""
    name = _text(name, "name", maximum=200)
    if not password or len(password) < MIN_PASSWORD:
        raise Invalid([("password", _l("This person has no account yet: give an initial "
                                       "password of at least %(num)d characters.",
                                       num=MIN_PASSWORD))])
    return {"email": email, "name": name, "locale": locale,
            "password_hash": hash_password(password)}


def _account_for(email, new_account):
    """``(user, had_account)``: the account for this email, created from ``new_account`` if
    there is none (insert first, then look up on a duplicate, so two admins adding the same
    person at once both succeed)."""
    if new_account is not None:
        try:
            with database.atomic():
                return User.create(**new_account), False
        except IntegrityError:
            pass
    return User.get(User.email == email), True


def update_member(member, actor, *, now, role, locale):
    """Change a member's role (never above the actor's own; the last active owner stays an
    owner) and their preferred language."""
    _require_manages(actor, member)
    role = _role(actor, role)
    locale = _locale(locale)
    with database.atomic():
        _lock_organisation(member.organisation_id)
        current = _fresh(member)
        _require_manages(actor, current)
        if role != current.role:
            if current.role == "owner":
                _keep_an_owner(current, "role")
            _changed(current.id, {"role": current.role}, role=role)
            audit.record(actor, "member.role_changed", organisation=current.organisation_id,
                         subject=current, now=now, before=current.role, after=role)
        if locale != current.user.locale:
            User.update(locale=locale).where(User.id == current.user_id).execute()
            audit.record(actor, "member.language_changed", organisation=current.organisation_id,
                         subject=current, now=now, before=current.user.locale, after=locale)
    return _fresh(member)


def deactivate_member(member, actor, *, now):
    """The member can no longer sign in to this organisation, and their sessions here end at
    once (the user loader refuses inactive memberships). Memberships in other organisations
    are untouched; a person left with none also has every session ended for good (the
    session epoch), so a later reactivation does not revive an old session."""
    _require_manages(actor, member)
    if member.id == actor.id:
        raise Invalid([(None, _l("You cannot deactivate yourself."))])
    with database.atomic():
        _lock_organisation(member.organisation_id)
        current = _fresh(member)
        _require_manages(actor, current)
        if not current.active:
            raise Conflict(_l("%(name)s is already deactivated.", name=current.name))
        _keep_an_owner(current, None)
        _changed(current.id, {"active": True}, active=False)
        if not _has_other_active_membership(current):
            (User.update(session_epoch=User.session_epoch + 1)
             .where(User.id == current.user_id).execute())
        audit.record(actor, "member.deactivated", organisation=current.organisation_id,
                     subject=current, now=now)
    return _fresh(member)


def _has_other_active_membership(member) -> bool:
    return (Member.select().where((Member.user == member.user_id) & (Member.id != member.id)
                                  & (Member.active == True)).exists())  # noqa: E712


def reactivate_member(member, actor, *, now):
    _require_manages(actor, member)
    with database.atomic():
        current = _fresh(member)
        if current.active:
            raise Conflict(_l("%(name)s is already active.", name=current.name))
        _changed(current.id, {"active": False}, active=True)
        audit.record(actor, "member.reactivated", organisation=current.organisation_id,
                     subject=current, now=now)
    return _fresh(member)


# ---------------------------------------------------------------------------------------------
# Queues


def _tier(value):
    if value not in TIERS:
        raise Invalid([("tier", _l("Choose a tier from the list."))])
    return value


def _unique_queue_name(organisation_id, name, *, except_id=None):
    query = Queue.select().where((Queue.organisation == organisation_id)
                                 & (fn.LOWER(Queue.name) == name.lower()))
    if except_id is not None:
        query = query.where(Queue.id != except_id)
    if query.exists():
        raise Invalid([("name", _l("There is already a queue called %(name)s.", name=name))])


def create_queue(organisation, actor, *, now, name, tier=1) -> Queue:
    organisation_id = getattr(organisation, "id", organisation)
    _require_admin(actor, organisation_id)
    name = _text(name, "name", maximum=200)
    tier = _tier(tier)
    with database.atomic():
        _lock_organisation(organisation_id)
        _unique_queue_name(organisation_id, name)
        queue = Queue.create(organisation=organisation_id, name=name, tier=tier, created_at=now)
        audit.record(actor, "queue.created", organisation=organisation_id, subject=queue, now=now,
                     name=name, tier=tier)
    return queue


def update_queue(queue, actor, *, now, name, tier) -> Queue:
    """Rename a queue and set its tier."""
    _require_admin(actor, queue.organisation_id)
    name = _text(name, "name", maximum=200)
    tier = _tier(tier)
    with database.atomic():
        _lock_organisation(queue.organisation_id)
        current = Queue.get_by_id(queue.id)
        _unique_queue_name(queue.organisation_id, name, except_id=queue.id)
        Queue.update(name=name, tier=tier).where(Queue.id == queue.id).execute()
        if name != current.name:
            audit.record(actor, "queue.renamed", organisation=queue.organisation_id,
                         subject=current, now=now, before=current.name, after=name)
        if tier != current.tier:
            audit.record(actor, "queue.tier_changed", organisation=queue.organisation_id,
                         subject=current, now=now, before=current.tier, after=tier)
    return Queue.get_by_id(queue.id)


def archive_queue(queue, actor, *, now) -> Queue:
    """The queue leaves every choice; its cases stay where they are."""
    _require_admin(actor, queue.organisation_id)
    with database.atomic():
        changed = (Queue.update(archived_at=now)
                   .where((Queue.id == queue.id) & Queue.archived_at.is_null()).execute())
        if not changed:
            raise Conflict(_l("%(name)s is already archived.", name=queue.name))
        audit.record(actor, "queue.archived", organisation=queue.organisation_id, subject=queue,
                     now=now)
    return Queue.get_by_id(queue.id)


def unarchive_queue(queue, actor, *, now) -> Queue:
    _require_admin(actor, queue.organisation_id)
    with database.atomic():
        changed = (Queue.update(archived_at=None)
                   .where((Queue.id == queue.id) & Queue.archived_at.is_null(False)).execute())
        if not changed:
            raise Conflict(_l("%(name)s is not archived.", name=queue.name))
        audit.record(actor, "queue.unarchived", organisation=queue.organisation_id,
                     subject=queue, now=now)
    return Queue.get_by_id(queue.id)


def queue_agent_ids(queue) -> set[int]:
    """The active members of the queue."""
    return {row.member_id for row in QueueMember.select(QueueMember.member).join(Member)
            .where((QueueMember.queue == queue.id) & (Member.active == True))}  # noqa: E712


def set_queue_agents(queue, actor, *, now, member_ids) -> tuple[list, list]:
    """Make exactly these active members the queue's agents. Memberships of deactivated
    members are left alone. Returns ``(added, removed)`` member ids."""
    _require_admin(actor, queue.organisation_id)
    wanted = set(member_ids)
    active = {m.id for m in Member.select(Member.id).where(
        (Member.organisation == queue.organisation_id) & (Member.active == True))}  # noqa: E712
    if not wanted <= active:
        raise Invalid([("agents", _l("Choose agents among the active members."))])
    with database.atomic():
        current = queue_agent_ids(queue)
        added, removed = sorted(wanted - current), sorted(current - wanted)
        for member_id in added:
            try:
                with database.atomic():
                    QueueMember.create(queue=queue.id, member=member_id)
            except IntegrityError:
                pass  # added by someone else meanwhile: the result is the same
        if removed:
            (QueueMember.delete().where((QueueMember.queue == queue.id)
                                        & QueueMember.member.in_(removed)).execute())
        if added or removed:
            audit.record(actor, "queue.agents_changed", organisation=queue.organisation_id,
                         subject=queue, now=now, added=added, removed=removed)
    return added, removed


# ---------------------------------------------------------------------------------------------
# The organisation


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    """Area/City time zones (and UTC), sorted."""
    zones = {tz for tz in zoneinfo.available_timezones()
             if "/" in tz and not tz.startswith(("Etc/", "SystemV/", "posix/", "right/"))}
    return tuple(sorted(zones | {"UTC"}))


def update_organisation(organisation, actor, *, now, name, default_locale, timezone):
    _require_admin(actor, organisation.id)
    name = _text(name, "name", maximum=200)
    if default_locale not in LOCALES:
        raise Invalid([("default_locale", _l("Choose a language from the list."))])
    if timezone not in time_zones():
        raise Invalid([("timezone", _l("Choose a time zone from the list."))])
    with database.atomic():
        current = Organisation.get_by_id(organisation.id)
        changes = {key: {"before": getattr(current, key), "after": value}
                   for key, value in (("name", name), ("default_locale", default_locale),
                                      ("timezone", timezone))
                   if getattr(current, key) != value}
        if changes:
            (Organisation.update(name=name, default_locale=default_locale, timezone=timezone)
             .where(Organisation.id == organisation.id).execute())
            audit.record(actor, "organisation.updated", organisation=organisation.id,
                         subject=current, now=now, changes=changes)
    return Organisation.get_by_id(organisation.id)
