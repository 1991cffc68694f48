"""Tables of the SLA area: calendars, policies, tier targets, clocks, the breach ladder,
notifications, canned responses, confirmed resolutions and knowledge articles.

Clock state lives here, never on ``Case``: the audit subscriptions in ``clocks`` keep it in step
with what happens to a case.
"""
import json

from peewee import (BooleanField, CharField, DateField, ForeignKeyField, IntegerField,
                    TextField)

from ..clock import utcnow
from ..db import BaseModel
from ..models import Case, Contact, Inbox, Member, Organisation, utc_field

CLOCK_KINDS = ("first_response", "next_response", "resolution", "tier")
POLICY_CLOCK_KINDS = ("first_response", "next_response", "resolution")
STEP_TRIGGERS = ("percent", "after_breach")
STEP_ACTIONS = ("notify_claimant", "notify_owners", "release_claim", "escalate_next",
                "raise_priority")


class SlaSettings(BaseModel):
    """One row per organisation: its working week, holidays and resolution settings."""

    organisation = ForeignKeyField(Organisation, unique=True, on_delete="CASCADE")
    # {"0": [["08:00", "17:00"]], ...}: Monday is "0"; "24:00" ends at midnight.
    hours_json = TextField(default='{"0": [["08:00", "17:00"]], "1": [["08:00", "17:00"]], '
                                  '"2": [["08:00", "17:00"]], "3": [["08:00", "17:00"]], '
                                  '"4": [["08:00", "17:00"]]}')
    holiday_country = CharField(max_length=8, null=True, default="SE")
    auto_close_days = IntegerField(default=5)
    confirm_link_days = IntegerField(default=14)
    notify_requested_for = BooleanField(default=False)
    updated_at = utc_field(default=utcnow)

    class Meta:
        table_name = "sla_settings"

    @property
    def hours(self):
        return {int(day): [tuple(span) for span in spans]
                for day, spans in json.loads(self.hours_json or "{}").items()}


class ClosedDay(BaseModel):
    """A day the organisation is closed besides public holidays (e.g. Midsummer Eve)."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    day = DateField()
    name = CharField(max_length=200, default="")

    class Meta:
        table_name = "sla_closed_day"
        indexes = ((("organisation", "day"), True),)


class SlaPolicy(BaseModel):
    """Targets for one priority, in business minutes (empty: no target for that clock)."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    priority = IntegerField()
    first_response_minutes = IntegerField(null=True)
    next_response_minutes = IntegerField(null=True)
    resolution_minutes = IntegerField(null=True)
    active = BooleanField(default=True)
    updated_at = utc_field(default=utcnow)

    class Meta:
        table_name = "sla_policy"
        indexes = ((("organisation", "priority"), True),)

    def target_seconds(self, kind):
        minutes = getattr(self, f"{kind}_minutes", None)
        return minutes * 60 if minutes else None


class TierTarget(BaseModel):
    """How long one hop in this inbox may take (business minutes), until it is resolved or moves on."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    inbox = ForeignKeyField(Inbox, unique=True, on_delete="CASCADE")
    target_minutes = IntegerField()
    updated_at = utc_field(default=utcnow)

    class Meta:
        table_name = "sla_tier_target"


class CaseTrack(BaseModel):
    """What the SLA area last saw of a case, so each event is compared with the previous state."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    case = ForeignKeyField(Case, unique=True, on_delete="CASCADE")
    status = CharField(max_length=20)
    priority = IntegerField()
    case_version = IntegerField(default=0)
    escalation_id = IntegerField(null=True)
    waiting_started_at = utc_field(null=True)
    last_inbound_at = utc_field(null=True)
    last_reply_at = utc_field(null=True)
    last_holder = ForeignKeyField(Member, null=True, on_delete="SET NULL")
    updated_at = utc_field(default=utcnow)

    class Meta:
        table_name = "sla_case_track"


class Clock(BaseModel):
    """One SLA clock of a case. Elapsed business time = ``elapsed_seconds`` plus, while running,
    the business time since ``segment_started_at``. Paused and stopped clocks have no segment."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    case = ForeignKeyField(Case, backref="sla_clocks", on_delete="CASCADE")
    kind = CharField(max_length=20)
    policy = ForeignKeyField(SlaPolicy, null=True, on_delete="SET NULL")
    inbox = ForeignKeyField(Inbox, null=True, on_delete="SET NULL")
    escalation_id = IntegerField(null=True)
    tier = IntegerField(null=True)
    target_seconds = IntegerField(null=True)
    started_at = utc_field()
    segment_started_at = utc_field(null=True)
    elapsed_seconds = IntegerField(default=0)
    paused_at = utc_field(null=True)
    paused_seconds = IntegerField(default=0)
    due_at = utc_field(null=True)
    next_check_at = utc_field(null=True)
    warning_at = utc_field(null=True)
    breached_at = utc_field(null=True)
    claim_seconds = IntegerField(null=True)
    stopped_at = utc_field(null=True)
    outcome = CharField(max_length=12, null=True)  # met, breached, cancelled

    class Meta:
        table_name = "sla_clock"
        indexes = (
            (("case", "kind", "stopped_at"), False),
            (("next_check_at",), False),
            (("organisation", "kind", "stopped_at"), False),
            (("organisation", "inbox", "started_at"), False),
        )

    @property
    def running(self):
        return self.stopped_at is None and self.segment_started_at is not None

    @property
    def paused(self):
        return self.stopped_at is None and self.paused_at is not None


class LadderStep(BaseModel):
    """One rung of a breach ladder, for a policy's clocks or an inbox's tier clocks."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    policy = ForeignKeyField(SlaPolicy, null=True, backref="steps", on_delete="CASCADE")
    inbox = ForeignKeyField(Inbox, null=True, backref="sla_steps", on_delete="CASCADE")
    clock_kind = CharField(max_length=20, default="resolution")
    position = IntegerField(default=0)
    trigger = CharField(max_length=20, default="percent")
    percent = IntegerField(null=True)
    offset_minutes = IntegerField(null=True)
    action = CharField(max_length=20)
    created_at = utc_field(default=utcnow)

    class Meta:
        table_name = "sla_ladder_step"
        indexes = ((("organisation", "policy"), False), (("organisation", "inbox"), False))

    def goal_seconds(self, target_seconds):
        """The elapsed business time at which this step fires for a clock with this target."""
        if self.trigger == "percent":
            return target_seconds * (self.percent or 0) // 100
        return target_seconds + (self.offset_minutes or 0) * 60


class StepFiring(BaseModel):
    """A ladder step that fired for a clock. The unique pair makes every step fire once, even
    when several sweeps run at the same moment (insert, and on IntegrityError let it be)."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    clock = ForeignKeyField(Clock, backref="firings", on_delete="CASCADE")
    step = ForeignKeyField(LadderStep, on_delete="CASCADE")
    case = ForeignKeyField(Case, on_delete="CASCADE")
    fired_at = utc_field()
    result = CharField(max_length=20, default="done")

    class Meta:
        table_name = "sla_step_firing"
        indexes = ((("clock", "step"), True),)


class Notification(BaseModel):
    """A message for one member (in the app, and by email) or one contact (email only).
    The text is rendered at display/sending time in the recipient's language from ``kind`` and
    ``data``. ``dedupe_key`` is unique: the same notice is never created twice."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    member = ForeignKeyField(Member, null=True, backref="notifications", on_delete="CASCADE")
    contact = ForeignKeyField(Contact, null=True, on_delete="CASCADE")
    case = ForeignKeyField(Case, null=True, on_delete="CASCADE")
    kind = CharField(max_length=40)
    data_json = TextField(default="{}")
    dedupe_key = CharField(max_length=200, null=True, unique=True)
    created_at = utc_field(default=utcnow)
    read_at = utc_field(null=True)
    email_to = CharField(max_length=254, null=True)
    email_status = CharField(max_length=10, default="none")  # none, pending, sending, sent, failed
    email_attempts = IntegerField(default=0)
    email_claimed_at = utc_field(null=True)
    emailed_at = utc_field(null=True)

    class Meta:
        table_name = "notification"
        indexes = ((("member", "read_at"), False), (("member", "created_at"), False),
                   (("email_status", "created_at"), False))

    @property
    def data(self):
        return json.loads(self.data_json or "{}")


class CannedResponse(BaseModel):
    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    language = CharField(max_length=5)
    title = CharField(max_length=200)
    body = TextField()
    created_at = utc_field(default=utcnow)
    updated_at = utc_field(default=utcnow)

    class Meta:
        table_name = "canned_response"
        indexes = ((("organisation", "language"), False),)


class Resolution(BaseModel):
    """A resolution of a case, with its note, waiting for the requester's confirmation."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    case = ForeignKeyField(Case, backref="resolutions", on_delete="CASCADE")
    note = TextField(default="")
    resolved_by = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="+")
    resolved_at = utc_field()
    last_holder = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="+")
    nonce = CharField(max_length=32)
    answered_at = utc_field(null=True)
    answer = CharField(max_length=10, null=True)  # yes, no, auto, staff
    comment = TextField(default="")
    close_after = utc_field(null=True)

    class Meta:
        table_name = "case_resolution"
        indexes = ((("case", "resolved_at"), False), (("answered_at", "close_after"), False))


class Article(BaseModel):
    """A knowledge article, in Markdown (rendered through nh3)."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    title = CharField(max_length=200)
    body = TextField(default="")
    language = CharField(max_length=5, default="sv")
    catalog_item_id = IntegerField(null=True)
    status = CharField(max_length=12, default="draft")  # draft, published
    search_text = TextField(default="")
    created_by = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="+")
    created_at = utc_field(default=utcnow)
    updated_at = utc_field(default=utcnow)

    class Meta:
        table_name = "kb_article"
        indexes = ((("organisation", "status", "language"), False),
                   (("organisation", "catalog_item_id"), False))


class ArticleCase(BaseModel):
    """An article linked to a case: written from it (``source``) or it solved it (``solved_with``,
    an avoided escalation)."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    article = ForeignKeyField(Article, backref="case_links", on_delete="CASCADE")
    case = ForeignKeyField(Case, on_delete="CASCADE")
    kind = CharField(max_length=12)
    member = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="+")
    created_at = utc_field(default=utcnow)

    class Meta:
        table_name = "kb_article_case"
        indexes = ((("article", "case", "kind"), True), (("organisation", "kind", "created_at"), False))


CLOCK_MODELS = [SlaSettings, ClosedDay, SlaPolicy, TierTarget, CaseTrack, Clock]
LADDER_MODELS = [LadderStep, StepFiring]
NOTIFICATION_MODELS = [Notification]
RESOLUTION_MODELS = [CannedResponse, Resolution]
ARTICLE_MODELS = [Article, ArticleCase]
