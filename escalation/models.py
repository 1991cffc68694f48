"""The core Peewee models. Every tenant-owned table carries an ``organisation`` foreign key.

Query-building classmethods live here; anything that changes state lives in a service.
Areas that add tables of their own (the escalation form, work sessions, SLA) keep them in
``escalation/<area>/models.py`` and re-export nothing from here.
"""
import json

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from peewee import (
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    JOIN,
    IntegerField,
    TextField,
    fn,
)

from .clock import utcnow
from .db import BaseModel

# ---------------------------------------------------------------------------------------------
# Vocabulary (stored codes -> translated labels)

ROLES = ("agent", "supervisor", "admin", "owner")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES, start=1)}
ROLE_LABELS = {
    "owner": _l("Owner"),
    "admin": _l("Admin"),
    "supervisor": _l("Supervisor"),
    "agent": _l("Agent"),
}

TIERS = (1, 2, 3, 4)
TIER_LABELS = {
    1: _l("L1 front line"),
    2: _l("L2 specialists"),
    3: _l("L3 engineers"),
    4: _l("L4 external vendor"),
}

CASE_STATUSES = ("open", "waiting", "resolved", "closed")
CASE_STATUS_LABELS = {
    "open": _l("Open"),
    "waiting": _l("Waiting"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
}
REPLY_STATUSES = ("needs_response", "responded", "closed")
REPLY_STATUS_LABELS = {
    "needs_response": _l("Needs response"),
    "responded": _l("Responded"),
    "closed": _l("Closed"),
}
PRIORITIES = (1, 2, 3, 4)
PRIORITY_LABELS = {1: _l("Low"), 2: _l("Normal"), 3: _l("High"), 4: _l("Critical")}

LOCALES = ("sv", "en")
LOCALE_LABELS = {"sv": "Svenska", "en": "English"}


def utc_field(**kwargs):
    return DateTimeField(**kwargs)


# ---------------------------------------------------------------------------------------------
# Organisations, people and sign-in


class Organisation(BaseModel):
    name = CharField(max_length=200)
    slug = CharField(max_length=80, unique=True)
    default_locale = CharField(max_length=5, default="sv")
    timezone = CharField(max_length=64, default="Europe/Stockholm")
    created_at = utc_field(default=utcnow)

    class Meta:
        table_name = "organisation"

    def __str__(self):
        return self.name


class User(BaseModel):
    """A person who can sign in. Their roles live on their memberships (``Member``)."""

    email = CharField(max_length=254, unique=True)
    name = CharField(max_length=200)
    password_hash = CharField(max_length=255)
    locale = CharField(max_length=5, null=True)
    timezone = CharField(max_length=64, null=True)
    # Bumped to end every session of this person at once (deactivation, password change).
    session_epoch = IntegerField(default=0)
    created_at = utc_field(default=utcnow)

    class Meta:
        table_name = "user_account"

    def __str__(self):
        return self.name


class Member(UserMixin, BaseModel):
    """A user's membership of one organisation, with a role. ``current_user`` is a Member."""

    organisation = ForeignKeyField(Organisation, backref="members", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="memberships", on_delete="CASCADE")
    role = CharField(max_length=20, default="agent")
    active = BooleanField(default=True)
    created_at = utc_field(default=utcnow)
    last_active_org_at = utc_field(null=True)

    class Meta:
        table_name = "member"
        indexes = ((("organisation", "user"), True),)

    # Flask-Login: the id carries the user's session epoch, so bumping it ends every session.
    def get_id(self):
        return f"{self.id}.{self.user.session_epoch}"

    @property
    def is_active(self):
        return bool(self.active)

    @property
    def name(self):
        return self.user.name

    @property
    def email(self):
        return self.user.email

    @property
    def rank(self):
        return ROLE_RANK.get(self.role, 0)

    def role_label(self):
        return ROLE_LABELS[self.role]

    def __str__(self):
        return self.user.name

    @classmethod
    def for_org(cls, org):
        return (cls.select(cls, User).join(User).where(cls.organisation == org)
                .order_by(fn.LOWER(User.name)))

    @classmethod
    def active_in(cls, org):
        return cls.for_org(org).where(cls.active == True)  # noqa: E712


class LoginThrottle(BaseModel):
    """Failed sign-ins per account key (the typed email), shared by every worker and host."""

    key = CharField(max_length=254, primary_key=True)
    failures = IntegerField(default=0)
    window_started_at = utc_field(default=utcnow)
    locked_until = utc_field(null=True)

    class Meta:
        table_name = "login_throttle"


# ---------------------------------------------------------------------------------------------
# Queues, contacts and cases


class Queue(BaseModel):
    organisation = ForeignKeyField(Organisation, backref="queues", on_delete="CASCADE")
    name = CharField(max_length=200)
    tier = IntegerField(default=1)
    archived_at = utc_field(null=True)
    created_at = utc_field(default=utcnow)

    class Meta:
        table_name = "queue"

    def __str__(self):
        return self.name

    def tier_label(self):
        return TIER_LABELS.get(self.tier, "")

    @classmethod
    def for_org(cls, org, *, include_archived=False):
        query = cls.select().where(cls.organisation == org)
        if not include_archived:
            query = query.where(cls.archived_at.is_null())
        return query.order_by(fn.LOWER(cls.name))


class QueueMember(BaseModel):
    queue = ForeignKeyField(Queue, backref="memberships", on_delete="CASCADE")
    member = ForeignKeyField(Member, backref="queue_memberships", on_delete="CASCADE")

    class Meta:
        table_name = "queue_member"
        indexes = ((("queue", "member"), True),)


class Contact(BaseModel):
    """A person outside the organisation who contacts support (or on whose behalf it is asked)."""

    organisation = ForeignKeyField(Organisation, backref="contacts", on_delete="CASCADE")
    name = CharField(max_length=200)
    email = CharField(max_length=254, null=True)
    phone = CharField(max_length=50, null=True)
    locale = CharField(max_length=5, null=True)
    # A contact may be one of the organisation's own members (an employee asking the desk).
    member = ForeignKeyField(Member, null=True, on_delete="SET NULL")
    created_at = utc_field(default=utcnow)

    class Meta:
        table_name = "contact"

    def __str__(self):
        return self.name

    @classmethod
    def for_org(cls, org):
        return cls.select().where(cls.organisation == org).order_by(fn.LOWER(cls.name))


class Inbox(BaseModel):
    """An escalation inbox: a named place for one kind of escalation, with owners."""

    organisation = ForeignKeyField(Organisation, backref="inboxes", on_delete="CASCADE")
    name = CharField(max_length=200)
    description = TextField(default="")
    tier = IntegerField(default=2)
    batch_size = IntegerField(default=5)
    assignment_minutes = IntegerField(default=60)
    deleted_at = utc_field(null=True)
    created_at = utc_field(default=utcnow)

    class Meta:
        table_name = "inbox"

    def __str__(self):
        return self.name

    def tier_label(self):
        return TIER_LABELS.get(self.tier, "")

    @classmethod
    def for_org(cls, org):
        return (cls.select().where((cls.organisation == org) & cls.deleted_at.is_null())
                .order_by(fn.LOWER(cls.name)))


class InboxOwner(BaseModel):
    inbox = ForeignKeyField(Inbox, backref="owners", on_delete="CASCADE")
    member = ForeignKeyField(Member, backref="owned_inboxes", on_delete="CASCADE")

    class Meta:
        table_name = "inbox_owner"
        indexes = ((("inbox", "member"), True),)


class Case(BaseModel):
    """One piece of support work. Its route is one source of truth:

    - ``inbox`` set: escalated into that inbox; claimed by ``claimed_by`` while
      ``claim_expires_at`` is in the future (a lapsed claim counts as unclaimed, no job needed);
    - else ``assignee`` set: with that agent;
    - else: in ``queue``'s pool.
    """

    organisation = ForeignKeyField(Organisation, backref="cases", on_delete="CASCADE")
    subject = CharField(max_length=200)
    requester = ForeignKeyField(Contact, null=True, backref="requested_cases", on_delete="SET NULL")
    requested_for = ForeignKeyField(Contact, null=True, backref="cases_for", on_delete="SET NULL")
    queue = ForeignKeyField(Queue, backref="cases", on_delete="RESTRICT")
    assignee = ForeignKeyField(Member, null=True, backref="assigned_cases", on_delete="SET NULL")
    status = CharField(max_length=20, default="open")
    reply_status = CharField(max_length=20, default="needs_response")
    priority = IntegerField(default=2)
    # Escalation route (see the class docstring).
    inbox = ForeignKeyField(Inbox, null=True, backref="cases", on_delete="SET NULL")
    escalation_id = IntegerField(null=True)  # the open Escalation record, if escalated
    claimed_by = ForeignKeyField(Member, null=True, backref="claimed_cases", on_delete="SET NULL")
    claim_expires_at = utc_field(null=True)
    # When the contact started waiting for us (the reply queue is oldest-first on this).
    waiting_since = utc_field(null=True)
    created_at = utc_field(default=utcnow)
    updated_at = utc_field(default=utcnow)
    # Optimistic-locking counter: every state change bumps it in a conditional UPDATE.
    version = IntegerField(default=1)

    class Meta:
        table_name = "support_case"
        indexes = (
            (("organisation", "status", "id"), False),
            (("organisation", "queue", "id"), False),
            (("organisation", "assignee", "reply_status", "waiting_since"), False),
            (("queue", "assignee", "status", "inbox"), False),
            (("organisation", "inbox", "id"), False),
        )

    def __str__(self):
        return f"#{self.id} {self.subject}"

    @property
    def number(self):
        return self.id

    def status_label(self):
        return CASE_STATUS_LABELS.get(self.status, self.status)

    def reply_status_label(self):
        return REPLY_STATUS_LABELS.get(self.reply_status, self.reply_status)

    def priority_label(self):
        return PRIORITY_LABELS.get(self.priority, self.priority)

    @property
    def is_escalated(self):
        return self.inbox_id is not None

    def is_claimed(self, now):
        return self.claimed_by_id is not None and self.claim_expires_at is not None \
            and self.claim_expires_at > now

    @classmethod
    def for_org(cls, org):
        return cls.select().where(cls.organisation == org)

    # -- The escalation predicates. Counts, the claimable list and the claim query all use these,
    # -- so they cannot drift apart.

    @classmethod
    def is_open_expr(cls):
        return cls.status.in_(("open", "waiting"))

    @classmethod
    def claim_live_expr(cls, now):
        """Escalated and held by a claim that has not lapsed."""
        return cls.claimed_by.is_null(False) & (cls.claim_expires_at > now)

    @classmethod
    def claimable_expr(cls, now, inbox=None):
        """Escalated (into ``inbox``, when given), open, and unclaimed or with a lapsed claim.
        With the inbox the term is ``inbox_id = ?`` alone: a redundant ``IS NOT NULL`` beside it
        makes PostgreSQL misjudge the rows and pick a worse index at a million cases."""
        escalated = cls.inbox.is_null(False) if inbox is None else (cls.inbox == inbox)
        return (escalated & cls.is_open_expr()
                & (cls.claimed_by.is_null() | (cls.claim_expires_at <= now)))

    @classmethod
    def waiting_in(cls, inbox, now):
        """The claimable cases of an inbox, in claim order: needs-response first, then priority,
        then oldest."""
        return (cls.select().where(cls.claimable_expr(now, inbox))
                .order_by((cls.reply_status != "needs_response"), cls.priority.desc(),
                          cls.waiting_since, cls.id))

    def route(self, now):
        """Where the case lives and who holds it: ("inbox_claimed", member), ("inbox", inbox),
        ("agent", member) or ("pool", queue)."""
        if self.inbox_id is not None:
            if self.is_claimed(now):
                return ("inbox_claimed", self.claimed_by)
            return ("inbox", self.inbox)
        if self.assignee_id is not None:
            return ("agent", self.assignee)
        return ("pool", self.queue)

    @classmethod
    def reply_queue_of(cls, member):
        """Cases with this agent, not escalated, whose contact waits for a reply: oldest first."""
        return (cls.select(cls, Contact, Queue)
                .join(Contact, on=(cls.requester == Contact.id), join_type=JOIN.LEFT_OUTER)
                .switch(cls).join(Queue)
                .where((cls.organisation == member.organisation_id)
                       & (cls.assignee == member.id)
                       & cls.inbox.is_null()
                       & (cls.reply_status == "needs_response")
                       & (cls.status.in_(("open", "waiting"))))
                .order_by(cls.waiting_since, cls.id))

    @classmethod
    def pool_of(cls, queue_ids):
        """Unassigned, unescalated, open cases in these queues: the ones "request more" may take."""
        return (cls.select(cls.id)
                .where(cls.queue.in_(queue_ids) & cls.assignee.is_null() & cls.inbox.is_null()
                       & cls.status.in_(("open", "waiting")))
                .order_by(cls.waiting_since, cls.id))


class Message(BaseModel):
    """A message on a case: in from the contact, out to the contact, or an internal note."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    case = ForeignKeyField(Case, backref="messages", on_delete="CASCADE")
    kind = CharField(max_length=10)  # "in", "out", "note"
    body = TextField()
    author = ForeignKeyField(Member, null=True, on_delete="SET NULL")
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    created_at = utc_field(default=utcnow)

    class Meta:
        table_name = "message"
        indexes = ((("case", "created_at"), False),)


class AuditEvent(BaseModel):
    """The append-only audit trail. Rows are never updated or deleted (a trigger enforces it)."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    case = ForeignKeyField(Case, null=True, backref="events", on_delete="CASCADE")
    actor = ForeignKeyField(Member, null=True, on_delete="SET NULL")
    action = CharField(max_length=60)
    subject_type = CharField(max_length=40, default="")
    subject_id = IntegerField(null=True)
    data_json = TextField(default="{}")
    created_at = utc_field(default=utcnow)

    class Meta:
        table_name = "audit_event"
        indexes = ((("case", "created_at"), False), (("organisation", "created_at"), False))

    @property
    def data(self):
        return json.loads(self.data_json or "{}")


class Escalation(BaseModel):
    """One stay of a case in an escalation inbox, from escalation until it ends. Immutable history
    except for its ending (``ended_at``/``end_reason``), written once."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    case = ForeignKeyField(Case, backref="escalations", on_delete="CASCADE")
    inbox = ForeignKeyField(Inbox, backref="escalations", on_delete="CASCADE")
    origin_queue = ForeignKeyField(Queue, null=True, on_delete="SET NULL")
    origin_agent = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="+")
    from_inbox = ForeignKeyField(Inbox, null=True, on_delete="SET NULL", backref="+")
    escalated_by = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="+")
    reason = TextField(default="")
    escalated_at = utc_field(default=utcnow)
    ended_at = utc_field(null=True)
    end_reason = CharField(max_length=30, null=True)  # de_escalated, moved, resolved, inbox_deleted
    ended_by = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="+")

    class Meta:
        table_name = "escalation"
        indexes = ((("inbox", "ended_at"), False), (("case", "escalated_at"), False))


class Claim(BaseModel):
    """One claim (lease) of an escalated case by an inbox owner."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    escalation = ForeignKeyField(Escalation, backref="claims", on_delete="CASCADE")
    case = ForeignKeyField(Case, on_delete="CASCADE")
    member = ForeignKeyField(Member, on_delete="CASCADE")
    claimed_at = utc_field(default=utcnow)
    expires_at = utc_field()
    ended_at = utc_field(null=True)
    end_reason = CharField(max_length=30, null=True)

    class Meta:
        table_name = "claim"
        indexes = ((("escalation", "claimed_at"), False),)


CORE_MODELS = [Organisation, User, Member, LoginThrottle, Queue, QueueMember, Contact, Inbox,
               InboxOwner, Case, Message, AuditEvent, Escalation, Claim]
