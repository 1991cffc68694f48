"""Tables of the handoff area: checklists, work sessions and their photos, handoff codes and
their failed attempts, the organisation's handoff settings, in-app notices and the routing
directory. Every table carries an ``organisation`` foreign key; times are naive UTC.

Query-building classmethods live here; anything that changes state lives in the services
(``checklists``, ``worksession``, ``routing``, ``service``).
"""
from flask_babel import lazy_gettext as _l
from peewee import (
    BlobField,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    JOIN,
    IntegerField,
    TextField,
    fn,
)

from ..clock import utcnow
from ..db import BaseModel
from ..models import Case, Inbox, Member, Organisation

VALUE_KINDS = ("none", "text", "number", "choice", "yesno")
VALUE_KIND_LABELS = {
    "none": _l("No value"),
    "text": _l("Text"),
    "number": _l("Number"),
    "choice": _l("Choice"),
    "yesno": _l("Yes or no"),
}


# ---------------------------------------------------------------------------------------------
# Checklists (admin-defined procedures)


class Checklist(BaseModel):
    """A procedure for one catalog item or category, or a general one (linked to neither).
    ``catalog_item_id``/``catalog_category_id`` (at most one set) are plain integers, no foreign
    key, so this table does not depend on the catalog's; ``catalog_links`` checks them against
    the organisation's own catalog. ``applies_to`` is free text shown with the name."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    name = CharField(max_length=200)
    applies_to = CharField(max_length=200, default="")
    description = TextField(default="")
    catalog_category_id = IntegerField(null=True)
    catalog_item_id = IntegerField(null=True)
    archived_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "handoff_checklist"
        indexes = ((("organisation", "archived_at"), False),)

    def __str__(self):
        return self.name

    @classmethod
    def for_org(cls, org, *, include_archived=False):
        query = cls.select().where(cls.organisation == org)
        if not include_archived:
            query = query.where(cls.archived_at.is_null())
        return query.order_by(fn.LOWER(cls.name), cls.id)


class ChecklistStep(BaseModel):
    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    checklist = ForeignKeyField(Checklist, backref="steps", on_delete="CASCADE")
    position = IntegerField(default=1)
    title = CharField(max_length=200)
    help = TextField(default="")
    value_kind = CharField(max_length=10, default="none")
    choices_text = TextField(default="")  # one choice per line, for value_kind "choice"
    photo_required = BooleanField(default=False)

    class Meta:
        table_name = "handoff_checklist_step"
        indexes = ((("checklist", "position"), False),)

    def kind_label(self):
        return VALUE_KIND_LABELS.get(self.value_kind, self.value_kind)

    @property
    def choices(self):
        return [line.strip() for line in self.choices_text.splitlines() if line.strip()]

    @classmethod
    def of(cls, checklist):
        return cls.select().where(cls.checklist == checklist).order_by(cls.position, cls.id)


# ---------------------------------------------------------------------------------------------
# Work sessions


class WorkSession(BaseModel):
    """The work in progress on a case: a checklist run (its steps copied in at the start, so
    later edits of the checklist do not change it), photos and free notes.

    ``live_case_id`` equals ``case_id`` while the session is open and is NULL once finished; its
    unique index keeps one open session per case on every backend."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    case = ForeignKeyField(Case, backref="work_sessions", on_delete="CASCADE")
    live_case_id = IntegerField(null=True, unique=True)
    checklist = ForeignKeyField(Checklist, null=True, on_delete="SET NULL")
    title = CharField(max_length=200, default="")
    notes = TextField(default="")
    started_by = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="+")
    worker = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="+")
    started_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)

    class Meta:
        table_name = "handoff_work_session"
        indexes = ((("case", "started_at"), False),)

    @property
    def is_open(self):
        return self.finished_at is None

    @classmethod
    def of_case(cls, case):
        return cls.select().where(cls.case == case).order_by(cls.started_at, cls.id)

    @classmethod
    def open_of(cls, case):
        return cls.select().where((cls.case == case) & cls.finished_at.is_null()).first()


class SessionStep(BaseModel):
    """One step of a session's checklist, as it was when the session started, with its result."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    session = ForeignKeyField(WorkSession, backref="steps", on_delete="CASCADE")
    position = IntegerField(default=1)
    title = CharField(max_length=200)
    help = TextField(default="")
    value_kind = CharField(max_length=10, default="none")
    choices_text = TextField(default="")
    photo_required = BooleanField(default=False)
    done = BooleanField(default=False)
    value = TextField(null=True)
    done_at = DateTimeField(null=True)
    done_by = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="+")
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "handoff_session_step"
        indexes = ((("session", "position"), False),)

    @property
    def choices(self):
        return [line.strip() for line in self.choices_text.splitlines() if line.strip()]

    @classmethod
    def of(cls, session):
        return cls.select().where(cls.session == session).order_by(cls.position, cls.id)


class SessionPhoto(BaseModel):
    """A photo taken during a session, stored in the database so every app server sees it."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    session = ForeignKeyField(WorkSession, backref="photos", on_delete="CASCADE")
    step = ForeignKeyField(SessionStep, null=True, backref="photos", on_delete="SET NULL")
    filename = CharField(max_length=200)
    content_type = CharField(max_length=40)
    size = IntegerField()
    data = BlobField()
    taken_by = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "handoff_session_photo"
        indexes = ((("session", "created_at"), False),)

    @classmethod
    def listing(cls, session):
        """Every column but the bytes (of one session's photos; None: not narrowed)."""
        query = (cls.select(cls.id, cls.organisation, cls.session, cls.step, cls.filename,
                            cls.content_type, cls.size, cls.taken_by, cls.created_at)
                 .order_by(cls.created_at, cls.id))
        return query if session is None else query.where(cls.session == session)


# ---------------------------------------------------------------------------------------------
# Handoff codes


class HandoffSettings(BaseModel):
    """Per-organisation settings of handoff codes (the core Organisation table is frozen).
    The row is also what redemptions and issues lock on PostgreSQL to count attempts and live
    codes of one organisation without races."""

    organisation = ForeignKeyField(Organisation, unique=True, on_delete="CASCADE")
    code_minutes = IntegerField(default=10)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "handoff_settings"


class HandoffCode(BaseModel):
    """A one-time code. Only its keyed hash is stored. ``live_case_id`` is the case's id while
    the code is neither redeemed nor revoked (its unique index: one such code per case)."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    case = ForeignKeyField(Case, backref="handoff_codes", on_delete="CASCADE")
    session = ForeignKeyField(WorkSession, null=True, on_delete="SET NULL")
    code_hash = CharField(max_length=64, unique=True)
    live_case_id = IntegerField(null=True, unique=True)
    issued_by = ForeignKeyField(Member, on_delete="CASCADE", backref="+")
    # Who held the case when the code was made: redeeming needs the same holder still.
    issued_holder = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="+")
    issued_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    redeemed_at = DateTimeField(null=True)
    redeemed_by = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="+")
    revoked_at = DateTimeField(null=True)
    revoked_reason = CharField(max_length=40, null=True)

    class Meta:
        table_name = "handoff_code"
        indexes = ((("organisation", "expires_at"), False),)

    def state(self, now):
        if self.redeemed_at is not None:
            return "redeemed"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "live"

    @classmethod
    def live_expr(cls, now):
        return cls.redeemed_at.is_null() & cls.revoked_at.is_null() & (cls.expires_at > now)


class HandoffAttempt(BaseModel):
    """One failed redemption attempt (shared by every worker and host: the limits count these)."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    member = ForeignKeyField(Member, on_delete="CASCADE", backref="+")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "handoff_attempt"
        indexes = ((("organisation", "created_at"), False), (("member", "created_at"), False))


class HandoffNotice(BaseModel):
    """An in-app notice on a member's landing page: a code of theirs was taken over, or (for
    admins) redemption paused after too many failed attempts."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    member = ForeignKeyField(Member, on_delete="CASCADE", backref="+")
    kind = CharField(max_length=30)  # "taken_over", "paused"
    case = ForeignKeyField(Case, null=True, on_delete="CASCADE")
    other = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="+")
    until = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    dismissed_at = DateTimeField(null=True)

    class Meta:
        table_name = "handoff_notice"
        indexes = ((("member", "dismissed_at"), False),)

    @classmethod
    def unread_for(cls, member):
        return (cls.select().where((cls.member == member) & cls.dismissed_at.is_null())
                .order_by(cls.created_at.desc(), cls.id.desc()))


# ---------------------------------------------------------------------------------------------
# Routing directory


class RoutingEntry(BaseModel):
    """For this machine or issue: which person, address, phone or help site, or which inbox."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    asset_type = CharField(max_length=200, default="")
    issue = CharField(max_length=200, default="")
    keywords = CharField(max_length=500, default="")
    contact_name = CharField(max_length=200, default="")
    department = CharField(max_length=200, default="")
    email = CharField(max_length=254, default="")
    phone = CharField(max_length=50, default="")
    help_url = CharField(max_length=500, default="")
    notes = TextField(default="")
    inbox = ForeignKeyField(Inbox, null=True, on_delete="SET NULL")
    # The catalog item or category the entry is for (at most one; as on Checklist): offered
    # first from a case that came in through it. Added by migration 0031.
    catalog_category_id = IntegerField(null=True)
    catalog_item_id = IntegerField(null=True)
    search_text = TextField(default="")  # the searched fields, case-folded (see routing.search)
    archived_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "handoff_routing_entry"
        indexes = ((("organisation", "archived_at"), False),)

    def __str__(self):
        parts = [p for p in (self.asset_type, self.issue) if p]
        return " · ".join(parts) or self.contact_name or self.department or f"#{self.id}"

    @property
    def who(self):
        return self.contact_name or self.department or (str(self.inbox) if self.inbox_id else "")

    @classmethod
    def for_org(cls, org, *, include_archived=False):
        query = (cls.select(cls, Inbox).join(Inbox, JOIN.LEFT_OUTER)
                 .where(cls.organisation == org))
        if not include_archived:
            query = query.where(cls.archived_at.is_null())
        return query.order_by(fn.LOWER(cls.asset_type), fn.LOWER(cls.issue), cls.id)


class RoutingUse(BaseModel):
    """One use of an entry from a case: "routed" (to a person or address) or "escalated" (into
    the entry's inbox). ``outcome`` becomes "solved" when the case is resolved or closed with no
    escalation since, or "escalated" when it is escalated first."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    entry = ForeignKeyField(RoutingEntry, backref="uses", on_delete="CASCADE")
    case = ForeignKeyField(Case, null=True, on_delete="CASCADE")
    member = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="+")
    action = CharField(max_length=20)  # "routed", "escalated"
    outcome = CharField(max_length=20, null=True)  # None (pending), "solved", "escalated"
    created_at = DateTimeField(default=utcnow)
    settled_at = DateTimeField(null=True)

    class Meta:
        table_name = "handoff_routing_use"
        indexes = ((("entry", "created_at"), False), (("case", "outcome"), False))


HANDOFF_MODELS = [Checklist, ChecklistStep, WorkSession, SessionStep, SessionPhoto,
                  HandoffSettings, HandoffCode, HandoffAttempt, HandoffNotice, RoutingEntry,
                  RoutingUse]
