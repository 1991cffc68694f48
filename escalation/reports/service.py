"""Escalation reports: what came in, what happened to it, how fast, and what was avoided.

Every figure is an aggregate query over one organisation and one period (``GROUP BY`` in the
database, on the indexes of migration 0060), so a report costs about the same at 100 000 cases as
at 1 000. Medians and 90th percentiles are worked out in Python from the durations of the period
only (one integer per clock, at most ``SAMPLE_LIMIT`` of them per figure, newest first).

Durations are business time as the SLA clocks count it (``escalation.sla.clocks``): the
organisation's working hours, time zone, public holidays and closed days, with the time the case
waited on the requester left out.

The words the pages use, defined once here and in the page's help text:

- **Escalations in**: stays that began in an inbox in the period (escalated from a queue, moved
  in from another inbox, or started again when a resolved case was reopened there).
- **De-escalated / moved / resolved**: stays that ended that way in the period (an inbox deleted
  with the case in it counts as de-escalated).
- **Bounce**: an escalation up into an inbox of a case that had been sent back down before:
  de-escalated to its queue, or moved to an inbox of a lower tier. It counts each time the case
  goes up again.
- **Claim lapsed**: a claim whose assignment time ran out in the period before its holder
  resolved, released or moved the case.
- **Avoided escalation**: "solved with this article" on a case in the period.
- **Escalation rate per agent**: cases the member escalated from a queue in the period, out of
  the cases they handled (created in the period and with them now, or escalated by them).
- **Escalation rate per catalog item**: escalation forms sent for the item, out of those plus
  the cases solved with one of the item's articles.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from peewee import JOIN, SQL, fn

from ..escalations.models import CatalogCategory, CatalogItem, EscalationPacket
from ..models import TIERS, Case, Claim, Escalation, Inbox, Member, Message, Organisation, User
from ..sla.models import Article, ArticleCase, Clock

DEFAULT_DAYS = 30
MAX_DAYS = 366
SAMPLE_LIMIT = 50_000
DONE = ("met", "breached", "stopped")  # a clock that stopped and counted
REPORTS = ("inboxes", "times", "sla", "breaches", "agents", "items")


# ---------------------------------------------------------------------------------------------
# What a report is about


@dataclass(frozen=True)
class Period:
    """Whole local days ``first``..``last`` in the organisation's time zone, and the UTC instants
    [start, end) they span (naive UTC, as stored)."""

    first: date
    last: date
    start: datetime
    end: datetime

    @property
    def days(self):
        return (self.last - self.first).days + 1


def local_today(org_timezone: str, now: datetime) -> date:
    return now.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(org_timezone)).date()


def period_of(first: date, last: date, org_timezone: str) -> Period:
    zone = ZoneInfo(org_timezone)

    def utc(day):
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(ZoneInfo("UTC")) \
            .replace(tzinfo=None)

    return Period(first, last, utc(first), utc(last + timedelta(days=1)))


def default_period(org_timezone: str, now: datetime) -> Period:
    """The last 30 days, today included."""
    today = local_today(org_timezone, now)
    return period_of(today - timedelta(days=DEFAULT_DAYS - 1), today, org_timezone)


@dataclass(frozen=True)
class Scope:
    org_id: int
    period: Period
    now: datetime
    inbox_id: int | None = None
    tier: int | None = None

    @property
    def filtered(self):
        return self.inbox_id is not None or self.tier is not None


def _in(column, period):
    return (column >= period.start) & (column < period.end)


def _inbox_ids_of(scope):
    """The organisation's inboxes the filter keeps (a subquery), or None without a filter."""
    if not scope.filtered:
        return None
    query = Inbox.select(Inbox.id).where(Inbox.organisation == scope.org_id)
    if scope.inbox_id is not None:
        query = query.where(Inbox.id == scope.inbox_id)
    if scope.tier is not None:
        query = query.where(Inbox.tier == scope.tier)
    return query


def every(*conditions):
    """The conditions joined with AND, leaving out the ones that are None (no filter)."""
    kept = [c for c in conditions if c is not None]
    joined = kept[0]
    for condition in kept[1:]:
        joined &= condition
    return joined


def _escalation_scope(scope):
    kept = _inbox_ids_of(scope)
    return None if kept is None else Escalation.inbox.in_(kept)


def _tier_clock_scope(scope, model=Clock):
    return every(model.inbox == scope.inbox_id if scope.inbox_id is not None else None,
                 model.tier == scope.tier if scope.tier is not None else None) \
        if scope.filtered else None


def _case_scope(scope, column):
    """Cases that had a stay in a kept inbox (for the clocks of the whole case)."""
    kept = _inbox_ids_of(scope)
    if kept is None:
        return None
    return column.in_(Escalation.select(Escalation.case)
                      .where((Escalation.organisation == scope.org_id)
                             & Escalation.inbox.in_(kept)))


# ---------------------------------------------------------------------------------------------
# Small numbers


def ratio(part, whole):
    return part / whole if whole else None


def percentile(values, fraction):
    """Linear interpolation between the closest ranks (as PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


@dataclass
class Spread:
    """How many durations, their median and 90th percentile (business seconds)."""

    count: int = 0
    median: float | None = None
    p90: float | None = None

    @classmethod
    def of(cls, values):
        values = list(values)
        return cls(len(values), percentile(values, 0.5), percentile(values, 0.9))


# ---------------------------------------------------------------------------------------------
# Escalations by inbox: in, de-escalated, moved, resolved, bounces, claims lapsed, tier breaches


@dataclass
class InboxRow:
    inbox_id: int | None
    name: str
    tier: int | None
    deleted: bool = False
    arrived: int = 0
    de_escalated: int = 0
    moved: int = 0
    resolved: int = 0
    bounces: int = 0
    lapsed: int = 0
    breaches: int = 0

    COUNTS = ("arrived", "de_escalated", "moved", "resolved", "bounces", "lapsed", "breaches")

    def add(self, other):
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _inboxes_by_id(org_id, ids):
    ids = [i for i in set(ids) if i is not None]
    if not ids:
        return {}
    return {inbox.id: inbox for inbox in
            Inbox.select().where((Inbox.organisation == org_id) & Inbox.id.in_(ids))}


def bounces_by_inbox(scope):
    """Escalations up (from a queue, or moved from a lower tier) in the period of cases that had
    gone down before (de-escalated, or moved to a lower tier)."""
    Target, Source = Inbox.alias(), Inbox.alias()
    Earlier, EarlierTarget, EarlierSource = Escalation.alias(), Inbox.alias(), Inbox.alias()
    went_down = (Earlier.select(SQL("1"))
                 .join(EarlierTarget, on=(Earlier.inbox == EarlierTarget.id))
                 .switch(Earlier)
                 .join(EarlierSource, JOIN.LEFT_OUTER, on=(Earlier.from_inbox == EarlierSource.id))
                 .where((Earlier.case == Escalation.case) & (Earlier.id != Escalation.id)
                        & (Earlier.escalated_at <= Escalation.escalated_at)
                        & (((Earlier.end_reason == "de_escalated")
                            & (Earlier.ended_at <= Escalation.escalated_at))
                           | (EarlierSource.tier > EarlierTarget.tier))))
    query = (Escalation.select(Escalation.inbox, fn.COUNT(Escalation.id))
             .join(Target, on=(Escalation.inbox == Target.id))
             .switch(Escalation)
             .join(Source, JOIN.LEFT_OUTER, on=(Escalation.from_inbox == Source.id))
             .where(every((Escalation.organisation == scope.org_id),
                          _in(Escalation.escalated_at, scope.period),
                          _escalation_scope(scope),
                          (Source.id.is_null() | (Source.tier < Target.tier)),
                          fn.EXISTS(went_down)))
             .group_by(Escalation.inbox))
    return dict(query.tuples())


def inbox_table(scope) -> tuple[list[InboxRow], InboxRow]:
    """One row per inbox with anything in the period (deleted inboxes too), and the total."""
    org, period = scope.org_id, scope.period
    arrived = dict(Escalation.select(Escalation.inbox, fn.COUNT(Escalation.id))
                   .where(every(Escalation.organisation == org,
                                _in(Escalation.escalated_at, period), _escalation_scope(scope)))
                   .group_by(Escalation.inbox).tuples())
    endings = list(Escalation.select(Escalation.inbox, Escalation.end_reason,
                                     fn.COUNT(Escalation.id))
                   .where(every(Escalation.organisation == org, _in(Escalation.ended_at, period),
                                _escalation_scope(scope)))
                   .group_by(Escalation.inbox, Escalation.end_reason).tuples())
    lapsed = dict(Claim.select(Escalation.inbox, fn.COUNT(Claim.id))
                  .join(Escalation, on=(Claim.escalation == Escalation.id))
                  .where(every(Claim.organisation == org, _in(Claim.expires_at, period),
                               Claim.expires_at <= scope.now,
                               (Claim.end_reason == "lapsed") | Claim.ended_at.is_null(),
                               _escalation_scope(scope)))
                  .group_by(Escalation.inbox).tuples())
    breaches = dict(Clock.select(Clock.inbox, fn.COUNT(Clock.id))
                    .where(every(Clock.organisation == org, Clock.kind == "tier",
                                 _in(Clock.breached_at, period), _tier_clock_scope(scope)))
                    .group_by(Clock.inbox).tuples())
    bounces = bounces_by_inbox(scope)
    ids = set(arrived) | {row[0] for row in endings} | set(lapsed) | set(breaches) | set(bounces)
    inboxes = _inboxes_by_id(org, ids)
    rows = {}
    for inbox_id in ids:
        inbox = inboxes.get(inbox_id)
        if inbox is None:  # an inbox of no organisation we show (should not happen)
            continue
        rows[inbox_id] = InboxRow(inbox_id, inbox.name, inbox.tier,
                                  deleted=inbox.deleted_at is not None,
                                  arrived=arrived.get(inbox_id, 0), lapsed=lapsed.get(inbox_id, 0),
                                  breaches=breaches.get(inbox_id, 0),
                                  bounces=bounces.get(inbox_id, 0))
    for inbox_id, reason, count in endings:
        row = rows.get(inbox_id)
        if row is None:
            continue
        if reason in ("de_escalated", "inbox_deleted"):
            row.de_escalated += count
        elif reason == "moved":
            row.moved += count
        elif reason == "resolved":
            row.resolved += count
    ordered = sorted(rows.values(), key=lambda r: (r.tier or 0, r.name.lower(), r.inbox_id))
    total = InboxRow(None, "", None)
    for row in ordered:
        total.add(row)
    return ordered, total


# ---------------------------------------------------------------------------------------------
# How fast: time to claim, to first response, to resolution (business time)


@dataclass
class TimeRow:
    key: str  # "all", "tier-2", "inbox-7"
    tier: int | None
    inbox_id: int | None
    name: str
    claim: Spread = field(default_factory=Spread)
    first_response: Spread = field(default_factory=Spread)
    resolution: Spread = field(default_factory=Spread)


def _claim_durations(scope):
    """(inbox, tier, business seconds from the hop's start to its claim) for hops that began in
    the period and were claimed."""
    return list(Clock.select(Clock.inbox, Clock.tier, Clock.claim_seconds)
                .where(every(Clock.organisation == scope.org_id, Clock.kind == "tier",
                             _in(Clock.started_at, scope.period),
                             Clock.claim_seconds.is_null(False), _tier_clock_scope(scope)))
                .order_by(Clock.started_at.desc())
                .limit(SAMPLE_LIMIT).tuples())


def _case_clock_durations(scope, kind):
    """(clock id, business seconds, inbox, tier) for the case clocks of ``kind`` that stopped in
    the period, once per inbox the case was escalated to (inbox and tier None when it never was).
    A first-response clock counts only when a reply really was sent (not when the case was
    resolved or closed without one)."""
    Hop = Clock.alias()
    where = ((Clock.organisation == scope.org_id) & (Clock.kind == kind)
             & _in(Clock.stopped_at, scope.period) & Clock.outcome.in_(DONE))
    if kind == "first_response":
        where &= fn.EXISTS(Message.select(SQL("1"))
                           .where((Message.case == Clock.case) & (Message.kind == "out")
                                  & (Message.created_at <= Clock.stopped_at)))
    query = (Clock.select(Clock.id, Clock.elapsed_seconds, Hop.inbox, Hop.tier)
             .join(Hop, JOIN.LEFT_OUTER, on=((Hop.case == Clock.case) & (Hop.kind == "tier")))
             .where(where))
    if scope.filtered:
        query = query.where(_tier_clock_scope(scope, Hop) & Hop.id.is_null(False))
    return list(query.order_by(Clock.stopped_at.desc()).limit(SAMPLE_LIMIT).tuples())


def time_tables(scope) -> tuple[list[TimeRow], list[TimeRow]]:
    """Time to claim, first response and resolution: (rows by tier with "all" first, rows by
    inbox). A case escalated to several inboxes counts once in each of them, once in "all"."""
    claims = _claim_durations(scope)
    by_kind = {kind: _case_clock_durations(scope, kind)
               for kind in ("first_response", "resolution")}
    inbox_ids = {row[0] for row in claims} | {row[2] for rows in by_kind.values() for row in rows}
    inboxes = _inboxes_by_id(scope.org_id, inbox_ids)

    def key_of(inbox_id, tier):
        return [("all", None, None), (f"tier-{tier}", tier, None) if tier else None,
                (f"inbox-{inbox_id}", tier, inbox_id) if inbox_id in inboxes else None]

    groups: dict[str, tuple] = {}
    values: dict[str, dict[str, dict]] = {}

    def put(kind, keys, ident, seconds):
        for found in keys:
            if found is None:
                continue
            groups.setdefault(found[0], found)
            values.setdefault(found[0], {}).setdefault(kind, {})[ident] = seconds

    for index, (inbox_id, tier, seconds) in enumerate(claims):
        put("claim", key_of(inbox_id, tier), index, seconds)
    for kind, rows in by_kind.items():
        for clock_id, seconds, inbox_id, tier in rows:
            put(kind, key_of(inbox_id, tier), clock_id, seconds)
    groups.setdefault("all", ("all", None, None))

    def row_of(key):
        _key, tier, inbox_id = groups[key]
        inbox = inboxes.get(inbox_id)
        found = values.get(key, {})
        return TimeRow(key, tier, inbox_id, inbox.name if inbox else "",
                       claim=Spread.of(found.get("claim", {}).values()),
                       first_response=Spread.of(found.get("first_response", {}).values()),
                       resolution=Spread.of(found.get("resolution", {}).values()))

    tiers = [row_of("all")] + [row_of(f"tier-{t}") for t in TIERS if f"tier-{t}" in groups]
    by_inbox = sorted((row_of(k) for k in groups if k.startswith("inbox-")),
                      key=lambda r: (r.tier or 0, r.name.lower(), r.inbox_id))
    return tiers, by_inbox


# ---------------------------------------------------------------------------------------------
# SLA met and breaches by tier


@dataclass
class SlaRow:
    kind: str  # first_response, next_response, resolution, tier
    tier: int | None
    met: int = 0
    breached: int = 0

    @property
    def total(self):
        return self.met + self.breached

    @property
    def met_ratio(self):
        return ratio(self.met, self.total)


def sla_table(scope) -> list[SlaRow]:
    """Clocks with a target that stopped in the period: met or breached, per clock kind (tier
    clocks per tier)."""
    where = ((Clock.organisation == scope.org_id) & _in(Clock.stopped_at, scope.period)
             & Clock.outcome.in_(("met", "breached")))
    if scope.filtered:
        where &= (((Clock.kind == "tier") & _tier_clock_scope(scope))
                  | ((Clock.kind != "tier") & _case_scope(scope, Clock.case)))
    found = {}
    for kind, tier, outcome, count in (Clock.select(Clock.kind, Clock.tier, Clock.outcome,
                                                    fn.COUNT(Clock.id))
                                       .where(where)
                                       .group_by(Clock.kind, Clock.tier, Clock.outcome).tuples()):
        key = (kind, tier if kind == "tier" else None)
        row = found.setdefault(key, SlaRow(*key))
        setattr(row, outcome, getattr(row, outcome) + count)
    order = {"first_response": 0, "next_response": 1, "resolution": 2, "tier": 3}
    return sorted(found.values(), key=lambda r: (order.get(r.kind, 9), r.tier or 0))


def breaches_by_tier(scope) -> list[tuple[int, int]]:
    """(tier, tier clocks breached in the period): a breach belongs to the tier that spent it."""
    rows = dict(Clock.select(Clock.tier, fn.COUNT(Clock.id))
                .where(every(Clock.organisation == scope.org_id, Clock.kind == "tier",
                             _in(Clock.breached_at, scope.period), _tier_clock_scope(scope)))
                .group_by(Clock.tier).tuples())
    tiers = [t for t in TIERS if t > 1] if scope.tier is None else [scope.tier]
    return [(tier, rows.get(tier, 0)) for tier in sorted(set(tiers) | {t for t in rows if t})]


# ---------------------------------------------------------------------------------------------
# Escalation rate per agent and per catalog item; avoided escalations


@dataclass
class AgentRow:
    member_id: int
    name: str
    handled: int = 0
    escalated: int = 0
    avoided: int = 0

    @property
    def rate(self):
        return ratio(self.escalated, self.handled)


def _first_hops(scope):
    """Escalations from a queue (not moves) made in the period, in kept inboxes."""
    return every(Escalation.organisation == scope.org_id,
                 _in(Escalation.escalated_at, scope.period), Escalation.from_inbox.is_null(),
                 Escalation.escalated_by.is_null(False), _escalation_scope(scope))


def avoided_by_member(scope):
    return dict(ArticleCase.select(ArticleCase.member, fn.COUNT(ArticleCase.id))
                .where((ArticleCase.organisation == scope.org_id)
                       & (ArticleCase.kind == "solved_with")
                       & _in(ArticleCase.created_at, scope.period)
                       & ArticleCase.member.is_null(False))
                .group_by(ArticleCase.member).tuples())


def agent_table(scope) -> list[AgentRow]:
    escalated = dict(Escalation.select(Escalation.escalated_by,
                                       fn.COUNT(fn.DISTINCT(Escalation.case)))
                     .where(_first_hops(scope))
                     .group_by(Escalation.escalated_by).tuples())
    held = (Case.select(Case.assignee.alias("member_id"), Case.id.alias("case_id"))
            .where((Case.organisation == scope.org_id) & _in(Case.created_at, scope.period)
                   & Case.assignee.is_null(False)))
    made = (Escalation.select(Escalation.escalated_by.alias("member_id"),
                              Escalation.case.alias("case_id"))
            .where(_first_hops(scope)))
    handled_cases = (held | made).alias("handled")  # UNION: each (member, case) once
    handled = dict(Case.select(handled_cases.c.member_id, fn.COUNT(SQL("*")))
                   .from_(handled_cases).group_by(handled_cases.c.member_id).tuples())
    avoided = avoided_by_member(scope)
    ids = set(escalated) | set(handled) | set(avoided)
    names = dict(Member.select(Member.id, User.name).join(User)
                 .where((Member.organisation == scope.org_id) & Member.id.in_(list(ids) or [0]))
                 .tuples())
    rows = [AgentRow(member_id, names[member_id], handled=handled.get(member_id, 0),
                     escalated=escalated.get(member_id, 0), avoided=avoided.get(member_id, 0))
            for member_id in ids if member_id in names]
    return sorted(rows, key=lambda r: (-r.escalated, -r.handled, r.name.lower(), r.member_id))


@dataclass
class ItemRow:
    item_id: int | None
    name: str
    escalated: int = 0
    avoided: int = 0

    @property
    def rate(self):
        return ratio(self.escalated, self.escalated + self.avoided)


def item_table(scope) -> list[ItemRow]:
    packets = dict(EscalationPacket.select(EscalationPacket.item, fn.COUNT(EscalationPacket.id))
                   .join(Escalation, on=(EscalationPacket.escalation == Escalation.id))
                   .where(every(EscalationPacket.organisation == scope.org_id,
                                _in(EscalationPacket.submitted_at, scope.period),
                                _escalation_scope(scope)))
                   .group_by(EscalationPacket.item).tuples())
    avoided = dict(ArticleCase.select(Article.catalog_item_id, fn.COUNT(ArticleCase.id))
                   .join(Article, on=(ArticleCase.article == Article.id))
                   .where((ArticleCase.organisation == scope.org_id)
                          & (ArticleCase.kind == "solved_with")
                          & _in(ArticleCase.created_at, scope.period))
                   .group_by(Article.catalog_item_id).tuples())
    ids = [i for i in set(packets) | set(avoided) if i is not None]
    items = {item.id: item for item in
             CatalogItem.select(CatalogItem, CatalogCategory).join(CatalogCategory)
             .where((CatalogItem.organisation == scope.org_id) & CatalogItem.id.in_(ids or [0]))}
    rows = [ItemRow(item_id, f"{items[item_id].category.label()} → {items[item_id].label()}",
                    escalated=packets.get(item_id, 0), avoided=avoided.get(item_id, 0))
            for item_id in ids if item_id in items]
    rows.sort(key=lambda r: (-r.escalated, r.name.lower()))
    if packets.get(None) or avoided.get(None):
        rows.append(ItemRow(None, "", escalated=packets.get(None, 0),
                            avoided=avoided.get(None, 0)))
    return rows


def avoided_total(scope) -> int:
    return (ArticleCase.select()
            .where((ArticleCase.organisation == scope.org_id)
                   & (ArticleCase.kind == "solved_with")
                   & _in(ArticleCase.created_at, scope.period))
            .count())


# ---------------------------------------------------------------------------------------------
# The whole report


@dataclass
class Report:
    scope: Scope
    inboxes: list
    total: InboxRow
    times_by_tier: list
    times_by_inbox: list
    sla: list
    breaches: list
    agents: list
    items: list
    avoided: int


def build(scope) -> Report:
    rows, total = inbox_table(scope)
    by_tier, by_inbox = time_tables(scope)
    return Report(scope=scope, inboxes=rows, total=total, times_by_tier=by_tier,
                  times_by_inbox=by_inbox, sla=sla_table(scope), breaches=breaches_by_tier(scope),
                  agents=agent_table(scope), items=item_table(scope),
                  avoided=avoided_total(scope))


def build_one(name, scope) -> Report:
    """Only what one table (one CSV download) needs."""
    report = Report(scope=scope, inboxes=[], total=InboxRow(None, "", None), times_by_tier=[],
                    times_by_inbox=[], sla=[], breaches=[], agents=[], items=[], avoided=0)
    if name == "inboxes":
        report.inboxes, report.total = inbox_table(scope)
    elif name == "times":
        report.times_by_tier, report.times_by_inbox = time_tables(scope)
    elif name == "sla":
        report.sla = sla_table(scope)
    elif name == "breaches":
        report.breaches = breaches_by_tier(scope)
    elif name == "agents":
        report.agents = agent_table(scope)
    elif name == "items":
        report.items = item_table(scope)
    else:
        raise ValueError(name)
    return report


def organisation_timezone(org_id) -> str:
    return (Organisation.select(Organisation.timezone).where(Organisation.id == org_id).scalar()
            or "Europe/Stockholm")
