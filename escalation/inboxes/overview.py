"""What the inboxes pages show: the owners' overview (counts, cases by origin queue, what is next,
"my claimed"), the case page's escalation panel and the admin list.

Every count and list uses the ``Case`` predicates (``is_open_expr``, ``claimable_expr``,
``claim_live_expr``, ``waiting_in``): the same ones the claim query uses, so they cannot drift.
The overview costs a fixed number of queries: owned inboxes, one aggregate, one "next up" list per
owned inbox and "my claimed"; a refresh that finds nothing changed (same ETag) stops after the
aggregate.
"""
import hashlib
from dataclasses import dataclass, field
from functools import cached_property

from flask_babel import get_locale
from peewee import Case as When
from peewee import fn

from ..models import Case, Escalation, Inbox, InboxOwner, Member, Queue, User
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


def owned_inboxes(member):
    if not member or not member.active:
        return []
    return list(Inbox.select().join(InboxOwner)
                .where((InboxOwner.member == member.id) & Inbox.deleted_at.is_null()
                       & (Inbox.organisation == member.organisation_id))
                .order_by(fn.LOWER(Inbox.name), Inbox.id))


def _aggregate(inbox_ids, member, now):
    """Per inbox and origin queue: open, needing a response, unclaimed, mine, lapsed, versions."""
    return list(Case.select(Case.inbox.alias("inbox_id"), Case.queue.alias("queue_id"),
                            Queue.name.alias("queue_name"), fn.COUNT(Case.id).alias("total"),
                            _count_if(Case.reply_status == "needs_response").alias("needs"),
                            _count_if(Case.claimable_expr(now)).alias("unclaimed"),
                            _count_if((Case.claimed_by == member.id)
                                      & Case.claim_live_expr(now)).alias("mine"),
                            _count_if(Case.claimed_by.is_null(False)
                                      & (Case.claim_expires_at <= now)).alias("lapsed"),
                            fn.SUM(Case.version).alias("versions"))
                .join(Queue, on=(Case.queue == Queue.id))
                .where(Case.inbox.in_(inbox_ids) & Case.is_open_expr())
                .group_by(Case.inbox, Case.queue, Queue.name)
                .order_by(Case.inbox, fn.LOWER(Queue.name))
                .dicts())


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
        names = {g.queue_id: g.queue_name for s in self.by_id.values() for g in s.groups}
        for summary in self.by_id.values():
            if summary.unclaimed:
                summary.waiting = list(Case.waiting_in(summary.inbox.id, self.now)
                                       .limit(WAITING_SHOWN))
                for case in summary.waiting:
                    case.queue_name = names.get(case.queue_id, "")
        return list(self.by_id.values())

    @cached_property
    def mine(self):
        """My live claims in these inboxes, the soonest to lapse first."""
        return list(Case.select(Case, Inbox, Queue)
                    .join(Inbox, on=(Case.inbox == Inbox.id), attr="inbox")
                    .switch(Case).join(Queue, on=(Case.queue == Queue.id), attr="queue")
                    .where((Case.claimed_by == self.member.id) & Case.claim_live_expr(self.now)
                           & Case.is_open_expr() & Case.inbox.in_(list(self.by_id)))
                    .order_by(Case.claim_expires_at, Case.id))

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
