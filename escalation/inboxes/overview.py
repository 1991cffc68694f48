"""What the inboxes pages show: the owners' overview (counts, cases by origin queue, what is next,
"my claimed"), the case page's escalation panel and the admin list.

Every count and list uses the ``Case`` predicates (``is_open_expr``, ``claimable_expr``,
``claim_live_expr``, ``waiting_in``): the same ones the claim query uses, so they cannot drift.
The overview costs four queries whatever the number of inboxes and cases: owned inboxes, one
aggregate, the "next up" lists of every owned inbox and "my claimed"; a refresh that finds nothing
changed (same ETag) stops after the aggregate. Their SQL is compiled once per process
(``sqlcache``), and the partial index of migration 0051 answers the aggregate and the claim order
without reading the cases' rows.
"""
import hashlib
import operator
from dataclasses import dataclass, field
from functools import cached_property, reduce

from flask import url_for
from flask_babel import get_locale
from peewee import SQL, Select, fn
from peewee import Case as When

from .. import sqlcache
from ..models import (PRIORITY_LABELS, REPLY_STATUS_LABELS, Case, Escalation, Inbox, InboxOwner,
                      Member, Queue, User)
from ..permissions import can_view_case
from . import permissions as may
from . import service
from .forms import DeEscalateForm, EscalateForm, MoveForm, ResolveForm, inbox_choices

WAITING_SHOWN = 5


def _count_if(expr):
    return fn.SUM(When(None, [(expr, 1)], 0))


@dataclass
class OriginGroup:
    queue_id: int
    queue_name: str
    total: int = 0
    needs_response: int = 0
    unclaimed: int = 0


@dataclass
class InboxSummary:
    inbox: Inbox
    total: int = 0
    needs_response: int = 0
    unclaimed: int = 0
    mine: int = 0
    groups: list = field(default_factory=list)
    waiting: list = field(default_factory=list)


def _owned_query(member_id, organisation_id):
    return (Inbox.select().join(InboxOwner)
            .where((InboxOwner.member == member_id) & Inbox.deleted_at.is_null()
                   & (Inbox.organisation == organisation_id))
            .order_by(fn.LOWER(Inbox.name), Inbox.id))


def owned_inboxes(member):
    if not member or not member.active:
        return []
    return sqlcache.models(Inbox, ("overview.owned",), _owned_query, member.id,
                           member.organisation_id)


def _aggregate_query(inbox_ids, member_id, now):
    """Per inbox, status and origin queue: open, needing a response, unclaimed, mine, lapsed,
    versions. Counted over ``support_case`` alone, in the order of the partial index
    ``support_case_escalated`` (which holds every column it reads), then the groups get their
    queue's name."""
    groups = (Case.select(Case.inbox.alias("inbox_id"), Case.queue.alias("queue_id"),
                          fn.COUNT(SQL("*")).alias("total"),
                          _count_if(Case.reply_status == "needs_response").alias("needs"),
                          _count_if(Case.claimable_expr(now)).alias("unclaimed"),
                          _count_if((Case.claimed_by == member_id)
                                    & Case.claim_live_expr(now)).alias("mine"),
                          _count_if(Case.claimed_by.is_null(False)
                                    & (Case.claim_expires_at <= now)).alias("lapsed"),
                          fn.SUM(Case.version).alias("versions"))
              .where(Case.inbox.in_(inbox_ids) & Case.is_open_expr())
              .group_by(Case.inbox, Case.status, Case.queue)
              .alias("groups"))
    return (Queue.select(groups.c.inbox_id, groups.c.queue_id, Queue.name, groups.c.total,
                         groups.c.needs, groups.c.unclaimed, groups.c.mine, groups.c.lapsed,
                         groups.c.versions)
            .join(groups, on=(groups.c.queue_id == Queue.id))
            .order_by(groups.c.inbox_id, fn.LOWER(Queue.name)))


AGGREGATE = ("inbox_id", "queue_id", "queue_name", "total", "needs", "unclaimed", "mine",
             "lapsed", "versions")
COUNTED = AGGREGATE[3:]


def _aggregate(inbox_ids, member, now):
    """Rows per inbox and origin queue (its open and waiting cases added up), by inbox and
    queue name."""
    ids = sqlcache.padded(inbox_ids)
    by_group = {}
    for row in sqlcache.rows(("overview.aggregate", len(ids)), _aggregate_query, ids, member.id,
                             now):
        row = dict(zip(AGGREGATE, row))
        seen = by_group.get((row["inbox_id"], row["queue_id"]))
        if seen is None:
            by_group[row["inbox_id"], row["queue_id"]] = row
        else:
            for name in COUNTED:
                seen[name] = int(seen[name] or 0) + int(row[name] or 0)
    return list(by_group.values())


def _waiting_query(inbox_ids, now, shown):
    """The first ``shown`` claimable cases of each inbox, in claim order: per inbox, the ids
    from ``Case.waiting_in`` (the claim's own query; the index answers it without reading the
    cases), then those few cases, in the same order (``waiting_in`` again, for every inbox)."""
    arms = []
    for number, inbox_id in enumerate(inbox_ids):
        first = Case.waiting_in(inbox_id, now).select(Case.id).limit(shown).alias(f"w{number}")
        arms.append(Select([first], [first.c.id]))
    return (Case.waiting_in(Case.inbox, now).select(*SHOWN)
            .where(Case.id.in_(reduce(operator.add, arms))))


# What the lists show of a case: these columns as a ``Listed`` (a model instance per case cost
# more than its query: defaults and a conversion for every field).
SHOWN = (Case.id, Case.inbox, Case.queue, Case.subject, Case.reply_status, Case.priority,
         Case.waiting_since, Case.claim_expires_at)


@dataclass(slots=True)
class Listed:
    """A case as the overview's lists show it."""

    id: int
    inbox_id: int
    queue_id: int
    subject: str
    reply_status: str
    priority: int
    waiting_since: object
    claim_expires_at: object
    queue_name: str = ""
    inbox_name: str = ""

    def reply_status_label(self):
        return REPLY_STATUS_LABELS.get(self.reply_status, self.reply_status)

    def priority_label(self):
        return PRIORITY_LABELS.get(self.priority, self.priority)


def _listed(key, build, *args) -> list[Listed]:
    """``build(*args)`` (a select of ``SHOWN``) as ``Listed`` rows, its SQL compiled once."""
    since, expires = Case.waiting_since.python_value, Case.claim_expires_at.python_value
    return [Listed(r[0], r[1], r[2], r[3], r[4], r[5], since(r[6]), expires(r[7]))
            for r in sqlcache.rows(key, build, *args)]


def _mine_query(member_id, now, inbox_ids):
    return (Case.select(*SHOWN)
            .where((Case.claimed_by == member_id) & Case.claim_live_expr(now)
                   & Case.is_open_expr() & Case.inbox.in_(inbox_ids))
            .order_by(Case.claim_expires_at, Case.id))


class Overview:
    """The overview of one inbox owner. Lists load only when a template reads them."""

    def __init__(self, member, inboxes, rows, now):
        self.member, self.now, self.rows = member, now, rows
        self.by_id = {i.id: InboxSummary(i) for i in inboxes}
        for row in rows:
            summary = self.by_id[row["inbox_id"]]
            group = OriginGroup(row["queue_id"], row["queue_name"], int(row["total"] or 0),
                                int(row["needs"] or 0), int(row["unclaimed"] or 0))
            summary.groups.append(group)
            summary.total += group.total
            summary.needs_response += group.needs_response
            summary.unclaimed += group.unclaimed
            summary.mine += int(row["mine"] or 0)
        self.lapsed = sum(int(row["lapsed"] or 0) for row in rows)
        state = repr([(r["inbox_id"], r["queue_id"], r["total"], r["needs"], r["unclaimed"],
                       r["mine"], r["versions"]) for r in rows])
        state += f"|{sorted(self.by_id)}|{member.id}|{get_locale()}|{now:%Y%m%d%H%M}"
        self.etag = hashlib.sha256(state.encode()).hexdigest()[:32]

    @cached_property
    def inboxes(self):
        """The summaries, each with its first waiting cases (one query for every inbox)."""
        names = {g.queue_id: g.queue_name for s in self.by_id.values() for g in s.groups}
        ids = [s.inbox.id for s in self.by_id.values() if s.unclaimed]
        if ids:
            for case in _listed(("overview.waiting", len(ids), WAITING_SHOWN), _waiting_query,
                                tuple(ids), self.now, WAITING_SHOWN):
                case.queue_name = names.get(case.queue_id, "")
                self.by_id[case.inbox_id].waiting.append(case)
        return list(self.by_id.values())

    @cached_property
    def mine(self):
        """My live claims in these inboxes, the soonest to lapse first."""
        ids = sqlcache.padded(self.by_id)
        mine = _listed(("overview.mine", len(ids)), _mine_query, self.member.id, self.now, ids)
        for case in mine:
            case.inbox_name = self.by_id[case.inbox_id].inbox.name
        return mine

    def case_url(self, case_id) -> str:
        """The case page's URL (``url_for`` once per overview, not once per case listed)."""
        if not hasattr(self, "_case_url"):
            sample = "987654321"
            self._case_url = url_for("cases.show", case_id=int(sample)).partition(sample)
        head, _sample, tail = self._case_url
        return f"{head}{case_id}{tail}"

    @property
    def mine_total(self):
        return sum(s.mine for s in self.by_id.values())


def for_member(member, now):
    """The overview of the inboxes ``member`` owns, or None when they own none. Lapsed claims
    seen on the way are observed (recorded once)."""
    inboxes = owned_inboxes(member)
    if not inboxes:
        return None
    ids = [i.id for i in inboxes]
    overview = Overview(member, inboxes, _aggregate(ids, member, now), now)
    if overview.lapsed:
        service.observe_lapses_in(ids, now=now)
    return overview


# ---------------------------------------------------------------------------------------------
# The case page's panel

def can_view(member, case) -> bool:
    return can_view_case(member, case, is_inbox_owner=may.owns_case_inbox(member, case),
                         has_history=may.has_history(member, case))


def _escalate_panel(member, case, lead):
    if not may.can_escalate(member, case) or not (lead or case.assignee_id == member.id):
        return None
    inboxes = list(Inbox.for_org(member.organisation_id))
    if not inboxes:
        return None
    form = EscalateForm(formdata=None)
    form.inbox.choices = inbox_choices(inboxes)
    return {"mode": "escalate", "case": case, "form": form}


def _names(*member_ids):
    ids = [i for i in member_ids if i is not None]
    if not ids:
        return {}
    return {m.id: m for m in Member.select(Member, User).join(User).where(Member.id.in_(ids))}


def case_panel(member, case, now, *, lead):
    """The escalation panel of a case page: the Escalate form for a case that is not escalated;
    for an escalated one, where it is and who holds it, with the controls this member may use."""
    if case.inbox_id is None:
        return _escalate_panel(member, case, lead)
    if case.claimed_by_id is not None and not case.is_claimed(now):
        service.observe_lapses([Case.get_by_id(case.id)], now=now)
    row = Case.get_by_id(case.id)
    inbox = Inbox.get_by_id(row.inbox_id)
    escalation = Escalation.get_or_none(Escalation.id == row.escalation_id) \
        if row.escalation_id else None
    is_owner = may.owns_case_inbox(member, row)
    people = _names(row.claimed_by_id, getattr(escalation, "origin_agent_id", None),
                    getattr(escalation, "escalated_by_id", None))
    powers = lead or is_owner
    claimed = row.is_claimed(now)
    open_case = row.status in service.OPEN_STATUSES
    panel = {
        "mode": "escalated", "case": row, "inbox": inbox, "escalation": escalation,
        "origin_queue": Queue.get_or_none(Queue.id == escalation.origin_queue_id)
        if escalation and escalation.origin_queue_id else None,
        "origin_agent": people.get(getattr(escalation, "origin_agent_id", None)),
        "escalated_by": people.get(getattr(escalation, "escalated_by_id", None)),
        "claimant": people.get(row.claimed_by_id) if claimed else None,
        "expires_at": row.claim_expires_at if claimed else None,
        "open": open_case, "now": now,
        "can_claim": is_owner and open_case and not claimed and not inbox.deleted_at,
        "can_release": claimed and (lead or may.holds_claim(member, row, now)),
        "can_resolve": open_case and (lead or may.holds_claim(member, row, now)),
        "can_move": powers, "can_de_escalate": powers,
    }
    if not powers and not may.holds_claim(member, row, now) and not may.has_history(member, row):
        return None
    forms = {"resolve": ResolveForm(formdata=None, prefix=ResolveForm.PREFIX),
             "move": MoveForm(formdata=None, prefix=MoveForm.PREFIX),
             "de_escalate": DeEscalateForm(formdata=None, prefix=DeEscalateForm.PREFIX)}
    forms["move"].inbox.choices = inbox_choices(
        [i for i in Inbox.for_org(member.organisation_id) if i.id != row.inbox_id])
    forms["de_escalate"].offer(*service.de_escalation_target(row))
    panel["forms"] = forms
    return panel


# ---------------------------------------------------------------------------------------------
# Admin → Inboxes

@dataclass
class AdminRow:
    inbox: Inbox
    owners: list
    total: int
    needs_response: int


def admin_rows(organisation_id):
    """Every live inbox with its owners and open cases: three queries."""
    inboxes = list(Inbox.for_org(organisation_id))
    ids = [i.id for i in inboxes]
    owners = {}
    counts = {}
    if ids:
        for link in (InboxOwner.select(InboxOwner, Member, User).join(Member).join(User)
                     .where(InboxOwner.inbox.in_(ids)).order_by(fn.LOWER(User.name))):
            owners.setdefault(link.inbox_id, []).append(link.member)
        for row in (Case.select(Case.inbox.alias("inbox_id"), fn.COUNT(Case.id).alias("total"),
                                _count_if(Case.reply_status == "needs_response").alias("needs"))
                    .where(Case.inbox.in_(ids) & Case.is_open_expr())
                    .group_by(Case.inbox).dicts()):
            counts[row["inbox_id"]] = (int(row["total"] or 0), int(row["needs"] or 0))
    return [AdminRow(i, owners.get(i.id, []), *counts.get(i.id, (0, 0))) for i in inboxes]
