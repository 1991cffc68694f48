"""Escalation inboxes: the domain rules (issue 3). Plain functions taking the actor and ``now``.

A case's route lives on the case row (``Case.inbox`` / ``escalation_id`` / ``claimed_by`` /
``claim_expires_at``, see its docstring); the history is ``Escalation`` (one stay in an inbox) and
``Claim`` (one lease). Every route change is one transaction that

- changes the case with a conditional UPDATE checking the state the caller saw (its inbox, open
  escalation and ``version``): the affected row count is the truth, so of two people acting on one
  case at once exactly one wins and the other gets ``Conflict``;
- writes the history rows and one audit event ("escalation.*") with ``from``/``to`` and the reason.

Claiming takes candidates through ``escalation.db.skip_locked`` (the one place where SQLite and
PostgreSQL differ) and the same ``Case.waiting_in`` / ``Case.claimable_expr`` predicates that the
counts and lists use. A lapsed claim needs no job: it already counts as unclaimed, and the first
time it is observed (a claim, a page view) its end is written and "escalation.claim_lapsed"
recorded, once.
"""
import hashlib
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from peewee import fn

from .. import audit, sqlcache
from ..db import database, skip_locked
from ..errors import Conflict, Invalid, NotAnOwner
from ..models import (TIERS, Case, Claim, Escalation, Inbox, InboxOwner, Member, Message, Queue,
                      User)
from ..cases.service import resolution_note
from .permissions import active_member_of_queue

OPEN_STATUSES = ("open", "waiting")
BATCH_SIZE_MIN, BATCH_SIZE_MAX = 1, 100
ASSIGNMENT_MINUTES_MIN, ASSIGNMENT_MINUTES_MAX = 5, 7 * 24 * 60
REASON_MAX = 2000
MESSAGE_MAX = 10000

CHANGED_FIRST = _l("Someone else changed this case first. Reload the page and try again.")
NOT_ESCALATED = _l("This case is not escalated (any more).")


# ---------------------------------------------------------------------------------------------
# Small helpers: references in event data, conditional updates, history rows

def _queue_ref(queue):
    return {"queue_id": queue.id, "queue": queue.name} if queue is not None else {}


def _inbox_ref(inbox):
    return {"inbox_id": inbox.id, "inbox": inbox.name} if inbox is not None else {}


def _member_ref(member):
    return {"member_id": member.id, "member": member.name} if member is not None else {}


def _place(*parts):
    """One ``from``/``to`` value of an event: the merged references of a queue, inbox, member."""
    merged = {}
    for part in parts:
        merged.update(part)
    return merged


def _is(field, value):
    return field.is_null() if value is None else field == value


def _record(actor, action, case, *, now, subject=None, source=None, target=None, reason="", **data):
    return audit.record(actor, action, organisation=case.organisation_id, case=case.id,
                        subject=subject, now=now, reason=reason or "",
                        **{"from": source or {}, "to": target or {}}, **data)


def _refresh(case):
    """Reload the route columns into the caller's object after a change."""
    fresh = Case.get_by_id(case.id)
    case.__data__.update(fresh.__data__)
    case.__rel__.clear()
    case._dirty.clear()


def _change_route(case, now, *, expect=None, **changes):
    """Apply ``changes`` only if the case is still as the caller saw it (same inbox, same open
    escalation, same version, plus ``expect``); otherwise ``Conflict``."""
    where = ((Case.id == case.id) & _is(Case.inbox, case.inbox_id)
             & _is(Case.escalation_id, case.escalation_id) & (Case.version == case.version))
    if expect is not None:
        where &= expect
    rows = (Case.update(version=Case.version + 1, updated_at=now, **changes).where(where)
            .execute())
    if rows != 1:
        raise Conflict(CHANGED_FIRST)


def _lock_live_inbox(inbox, organisation_id, field="inbox"):
    """Lock the inbox row (no change) so a deletion cannot pass an escalation into it unseen;
    refuse a deleted inbox or another organisation's."""
    rows = (Inbox.update(deleted_at=None)
            .where((Inbox.id == inbox.id) & (Inbox.organisation == organisation_id)
                   & Inbox.deleted_at.is_null())
            .execute())
    if rows != 1:
        raise Invalid([(field, _l("That inbox no longer exists."))])


def _end_escalation(escalation_id, end_reason, actor, now):
    if escalation_id is None:
        return
    (Escalation.update(ended_at=now, end_reason=end_reason, ended_by=actor)
     .where((Escalation.id == escalation_id) & Escalation.ended_at.is_null()).execute())


def _names(member_ids):
    """Members (with their names) by id, in one query."""
    ids = [i for i in set(member_ids) if i is not None]
    if not ids:
        return {}
    return {m.id: m for m in Member.select(Member, User).join(User).where(Member.id.in_(ids))}


def _member(member_id):
    return _names([member_id]).get(member_id)


def _record_lapses(cases, now):
    """End the lapsed open claims on these cases and record "claim lapsed" for each, once: the
    conditional UPDATE ends a claim row only while it is open, and its returned rows are the
    ones recorded. The event is dated when the claim lapsed."""
    if not cases:
        return 0
    by_id = {c.id: c for c in cases}
    ended = list(Claim.update(ended_at=Claim.expires_at, end_reason="lapsed")
                 .where(Claim.case.in_(list(by_id)) & Claim.ended_at.is_null()
                        & (Claim.expires_at <= now))
                 .returning(Claim.case, Claim.member, Claim.expires_at).execute())
    if not ended:
        return 0
    holders = _names(row.member_id for row in ended)
    inboxes = {i.id: i for i in Inbox.select().where(
        Inbox.id.in_(list({by_id[row.case_id].inbox_id for row in ended})))}
    for row in sorted(ended, key=lambda r: (r.expires_at, r.case_id)):
        case = by_id[row.case_id]
        _record(None, "escalation.claim_lapsed", case, now=row.expires_at,
                source=_member_ref(holders.get(row.member_id)),
                target=_inbox_ref(inboxes.get(case.inbox_id)),
                expired_at=row.expires_at, observed_at=now)
    return len(ended)


def _close_claims(case, end_reason, now):
    """End every open claim on the case: a lapsed one as lapsed (recorded), a live one with
    ``end_reason``. Returns the live claimant, if there was one."""
    _record_lapses([case], now)
    live = list(Claim.update(ended_at=now, end_reason=end_reason)
                .where((Claim.case == case.id) & Claim.ended_at.is_null())
                .returning(Claim.member).execute())
    return live[0].member_id if live else None


def _live_holder(case, now):
    return case.claimed_by_id if case.is_claimed(now) else None


def _clean_text(value, field, maximum, *, required, message=None):
    text = (value or "").strip()
    if required and not text:
        raise Invalid([(field, message)])
    if len(text) > maximum:
        raise Invalid([(field, _l("That is too long (at most %(num)d characters).", num=maximum))])
    return text


def _check_open(case):
    if case.status not in OPEN_STATUSES:
        raise Conflict(_l("This case is resolved or closed."))


def _check_escalated(case):
    if case.inbox_id is None:
        raise Conflict(NOT_ESCALATED)


# ---------------------------------------------------------------------------------------------
# Escalate

def escalate(case, inbox, actor, *, reason, now, message=None) -> Escalation:
    """Put the case into ``inbox``. It leaves its agent's reply queue (``assignee`` becomes None;
    the agent is kept as the escalation's origin agent); its reply status is unchanged. An optional
    last message to the contact is recorded as an outgoing message in the same transaction."""
    reason = _clean_text(reason, "reason", REASON_MAX, required=True,
                         message=_l("Say why the case is escalated."))
    message = _clean_text(message, "message", MESSAGE_MAX, required=False) or None
    if case.inbox_id is not None:
        raise Conflict(_l("This case is already escalated."))
    if case.status not in OPEN_STATUSES:
        raise Invalid([(None, _l("Only an open case can be escalated."))])
    with database.atomic():
        _lock_live_inbox(inbox, case.organisation_id)
        escalation = Escalation.create(
            organisation=case.organisation_id, case=case.id, inbox=inbox.id,
            origin_queue=case.queue_id, origin_agent=case.assignee_id, escalated_by=actor,
            reason=reason, escalated_at=now)
        origin_agent = _member(case.assignee_id)
        _change_route(case, now, expect=_is(Case.assignee, case.assignee_id),
                      inbox=inbox.id, escalation_id=escalation.id, assignee=None,
                      claimed_by=None, claim_expires_at=None)
        sent = None
        if message:
            sent = Message.create(organisation=case.organisation_id, case=case.id, kind="out",
                                  body=message, author=actor, contact=case.requester_id,
                                  created_at=now)
        _record(actor, "escalation.escalated", case, now=now, subject=escalation,
                source=_place(_queue_ref(Queue.get_by_id(case.queue_id)),
                              _member_ref(origin_agent)),
                target=_inbox_ref(inbox), reason=reason, escalation_id=escalation.id,
                message_id=sent.id if sent else None)
    _refresh(case)
    return escalation


def escalate_selected(cases, inbox, actor, *, reason, now):
    """Escalate several cases at once (threads view). Cases that are already escalated, closed or
    changed meanwhile are skipped. Returns (escalated cases, skipped cases)."""
    reason = _clean_text(reason, "reason", REASON_MAX, required=True,
                         message=_l("Say why the case is escalated."))
    done, skipped = [], []
    with database.atomic():
        _lock_live_inbox(inbox, actor.organisation_id)
        for case in cases:
            if case.inbox_id is not None or case.status not in OPEN_STATUSES:
                skipped.append(case)
                continue
            try:
                with database.atomic():
                    escalate(case, inbox, actor, reason=reason, now=now)
            except Conflict:
                skipped.append(case)
            else:
                done.append(case)
    return done, skipped


# ---------------------------------------------------------------------------------------------
# Claim, release, lapse

def _require_owner(inbox, owner):
    """Lock this owner's row for the inbox (serialising one owner's own claims, so the batch size
    holds) and check they are still an owner of the live inbox."""
    live = Inbox.select(Inbox.id).where((Inbox.id == inbox.id) & Inbox.deleted_at.is_null())
    rows = (InboxOwner.update(member=InboxOwner.member)
            .where((InboxOwner.inbox == inbox.id) & (InboxOwner.member == owner.id)
                   & InboxOwner.inbox.in_(live))
            .execute())
    if rows != 1 or not owner.active or owner.organisation_id != inbox.organisation_id:
        if Inbox.get_or_none((Inbox.id == inbox.id) & Inbox.deleted_at.is_null()) is None:
            raise Conflict(_l("This inbox has been deleted."))
        raise NotAnOwner(_l("Only an owner of this inbox can claim its cases."))


def held_by(inbox, member, now):
    """The open cases of the inbox this member holds a live claim on."""
    return Case.select().where((Case.inbox == inbox.id) & (Case.claimed_by == member.id)
                               & Case.claim_live_expr(now) & Case.is_open_expr())


def _take(candidates, owner, inbox, now):
    """Claim the candidates that are still claimable: one conditional UPDATE whose returned rows
    are the truth. Lapsed claims taken over are ended and recorded first."""
    if not candidates:
        return []
    expires = now + timedelta(minutes=inbox.assignment_minutes)
    by_id = {case.id: case for case in candidates}
    taken = {row.id for row in
             Case.update(claimed_by=owner.id, claim_expires_at=expires,
                         version=Case.version + 1, updated_at=now)
             .where(Case.id.in_(list(by_id)) & Case.claimable_expr(now, inbox.id))
             .returning(Case.id).execute()}
    won = [case for case in candidates if case.id in taken]  # in claim order
    _record_lapses([case for case in won if case.claimed_by_id is not None], now)
    Claim.insert_many([{"organisation": case.organisation_id, "escalation": case.escalation_id,
                        "case": case.id, "member": owner.id, "claimed_at": now,
                        "expires_at": expires} for case in won]).execute()
    # One INSERT for the events, and subscribers that take a batch see them at once.
    audit.record_many(owner, "escalation.claimed", [
        {"case": case.id, "reason": "", "from": _inbox_ref(inbox), "to": _member_ref(owner),
         "expires_at": expires, "escalation_id": case.escalation_id} for case in won],
        organisation=inbox.organisation_id, now=now)
    for case in won:
        case.claimed_by = owner.id
        case.claim_expires_at = expires
        case.version += 1
    return won


def claim_batch(inbox, owner, *, now) -> list[Case]:
    """Claim next: up to (batch size − what this owner already holds there) claimable cases of the
    inbox, in ``Case.waiting_in`` order, each until now + the assignment duration."""
    with database.atomic():
        _require_owner(inbox, owner)
        room = inbox.batch_size - _held_count(inbox.id, owner.id, now)
        if room <= 0:
            return []
        return _take(_claimable(inbox.id, now, room), owner, inbox, now)


# Claim-next's reads run on every press by every owner: their SQL is compiled once (sqlcache).

def _held_count_query(inbox_id, member_id, now):
    return held_by(Inbox(id=inbox_id), Member(id=member_id), now).select(fn.COUNT(Case.id))


def _held_count(inbox_id, member_id, now) -> int:
    return sqlcache.rows(("claim.held",), _held_count_query, inbox_id, member_id, now)[0][0]


def _claimable(inbox_id, now, room) -> list[Case]:
    """The next ``room`` claimable cases, in claim order (locked on PostgreSQL, skipping cases
    another owner's claim holds)."""
    def build(inbox_id, now):
        return skip_locked(Case.waiting_in(inbox_id, now).limit(room))
    return sqlcache.select(("claim.candidates", room), build, inbox_id, now)


def claim_case(case, owner, *, now) -> Case:
    """Claim this one escalated case (from its page), within the owner's batch size."""
    _check_escalated(case)
    inbox = Inbox.get_by_id(case.inbox_id)
    with database.atomic():
        _require_owner(inbox, owner)
        if held_by(inbox, owner, now).count() >= inbox.batch_size:
            raise Conflict(_l("You already hold as many cases from this inbox as its batch size "
                              "allows."))
        if case.status not in OPEN_STATUSES or case.is_claimed(now):
            raise Conflict(_l("This case is already claimed."))
        seen = list(Case.select().where((Case.id == case.id) & (Case.version == case.version)
                                        & (Case.escalation_id == case.escalation_id)))
        if not _take(seen, owner, inbox, now):
            raise Conflict(CHANGED_FIRST)
    _refresh(case)
    return case


def release(case, actor, *, now, reason="") -> None:
    """Return a claimed case to its inbox (unclaimed)."""
    _check_escalated(case)
    if not case.is_claimed(now):
        raise Conflict(_l("This case is not claimed (any more)."))
    holder = _member(case.claimed_by_id)
    with database.atomic():
        _change_route(case, now, expect=(Case.claimed_by == holder.id),
                      claimed_by=None, claim_expires_at=None)
        _close_claims(case, "released", now)
        _record(actor, "escalation.released", case, now=now, source=_member_ref(holder),
                target=_inbox_ref(Inbox.get_by_id(case.inbox_id)), reason=reason,
                escalation_id=case.escalation_id)
    _refresh(case)


def observe_lapses(cases, *, now) -> int:
    """Write the end of every lapsed claim among ``cases`` and record "claim lapsed", once each
    (conditional updates decide, so two viewers observing at once record it once)."""
    lapsed = {c.id: c for c in cases if c.inbox_id is not None and c.claimed_by_id is not None
              and c.claim_expires_at is not None and c.claim_expires_at <= now}
    if not lapsed:
        return 0
    with database.atomic():
        cleared = {row.id for row in
                   Case.update(claimed_by=None, claim_expires_at=None,
                               version=Case.version + 1, updated_at=now)
                   .where(Case.id.in_(list(lapsed)) & Case.claimed_by.is_null(False)
                          & (Case.claim_expires_at <= now))
                   .returning(Case.id).execute()}
        return _record_lapses([c for i, c in lapsed.items() if i in cleared], now)


OBSERVE_PER_REQUEST = 20


def observe_lapses_in(inbox_ids, *, now, limit=OBSERVE_PER_REQUEST) -> int:
    """Observe the lapsed claims of these inboxes (called by pages that show them), the oldest
    ``limit`` at a time: a page view stays cheap even after a pile of claims lapsed unseen (they
    count as unclaimed anyway; later views and claims record the rest)."""
    if not inbox_ids:
        return 0
    lapsed = list(Case.select().where(Case.inbox.in_(list(inbox_ids))
                                      & Case.claimed_by.is_null(False)
                                      & (Case.claim_expires_at <= now))
                  .order_by(Case.claim_expires_at, Case.id).limit(limit))
    return observe_lapses(lapsed, now=now)


def extend_claim_on_reply(event):
    """Audit subscriber for "case.replied": a claimant's reply renews their lease."""
    if event.case_id is None or event.actor_id is None:
        return
    case = Case.get_or_none(Case.id == event.case_id)
    now = event.created_at
    if case is None or case.inbox_id is None or not case.is_claimed(now) \
            or case.claimed_by_id != event.actor_id:
        return
    inbox = Inbox.get_by_id(case.inbox_id)
    expires = max(case.claim_expires_at, now + timedelta(minutes=inbox.assignment_minutes))
    (Case.update(claim_expires_at=expires)
     .where((Case.id == case.id) & (Case.claimed_by == event.actor_id)
            & (Case.claim_expires_at == case.claim_expires_at)).execute())
    (Claim.update(expires_at=expires)
     .where((Claim.case == case.id) & (Claim.member == event.actor_id)
            & Claim.ended_at.is_null()).execute())


# ---------------------------------------------------------------------------------------------
# Move, de-escalate, resolve

def move(case, to_inbox, actor, *, reason="", now) -> Escalation:
    """Move the escalated case to another inbox: the open escalation ends ("moved"), any claim
    ends, a new escalation starts with ``from_inbox``."""
    _check_escalated(case)
    if to_inbox.id == case.inbox_id:
        raise Invalid([("inbox", _l("The case is already in that inbox."))])
    reason = _clean_text(reason, "reason", REASON_MAX, required=False)
    from_inbox = Inbox.get_by_id(case.inbox_id)
    current = Escalation.get_or_none(Escalation.id == case.escalation_id)
    holder = _member(_live_holder(case, now))
    with database.atomic():
        _lock_live_inbox(to_inbox, case.organisation_id)
        escalation = Escalation.create(
            organisation=case.organisation_id, case=case.id, inbox=to_inbox.id,
            origin_queue=current.origin_queue_id if current else case.queue_id,
            origin_agent=current.origin_agent_id if current else None,
            from_inbox=from_inbox.id, escalated_by=actor, reason=reason, escalated_at=now)
        old_escalation_id = case.escalation_id
        _change_route(case, now, inbox=to_inbox.id, escalation_id=escalation.id,
                      claimed_by=None, claim_expires_at=None)
        _close_claims(case, "moved", now)
        _end_escalation(old_escalation_id, "moved", actor, now)
        _record(actor, "escalation.moved", case, now=now, subject=escalation,
                source=_place(_inbox_ref(from_inbox), _member_ref(holder)),
                target=_inbox_ref(to_inbox), reason=reason, escalation_id=escalation.id)
    _refresh(case)
    return escalation


def de_escalation_target(case):
    """Where de-escalation can send the case: (origin queue, origin agent or None when they are no
    longer an active member of that queue)."""
    current = Escalation.get_or_none(Escalation.id == case.escalation_id) \
        if case.escalation_id is not None else None
    queue_id = current.origin_queue_id if current and current.origin_queue_id else case.queue_id
    agent = _member(current.origin_agent_id) if current else None
    if agent is not None and (agent.organisation_id != case.organisation_id
                              or not active_member_of_queue(agent, queue_id)):
        agent = None
    return Queue.get_by_id(queue_id), agent


def _de_escalate(case, actor, *, now, to, end_reason, reason="", cause=None):
    queue, agent = de_escalation_target(case)
    if to != "agent":
        agent = None
    from_inbox = Inbox.get_by_id(case.inbox_id)
    holder = _member(_live_holder(case, now))
    escalation_id = case.escalation_id
    _change_route(case, now, inbox=None, escalation_id=None, claimed_by=None,
                  claim_expires_at=None, queue=queue.id, assignee=agent.id if agent else None)
    _close_claims(case, end_reason, now)
    _end_escalation(escalation_id, end_reason, actor, now)
    _record(actor, "escalation.de_escalated", case, now=now,
            source=_place(_inbox_ref(from_inbox), _member_ref(holder)),
            target=_place(_queue_ref(queue), _member_ref(agent)), reason=reason,
            escalation_id=escalation_id, cause=cause or end_reason)


def de_escalate(case, actor, *, now, to="agent", reason="") -> None:
    """Back to the queue it came from: to the origin agent if ``to == "agent"`` and they are
    still an active member of that queue, else the queue's pool."""
    _check_escalated(case)
    if to not in ("agent", "pool"):
        raise Invalid([("to", _l("Choose where the case goes back to."))])
    reason = _clean_text(reason, "reason", REASON_MAX, required=False)
    with database.atomic():
        _de_escalate(case, actor, now=now, to=to, end_reason="de_escalated", reason=reason)
    _refresh(case)


def resolve_in_inbox(case, actor, *, now, note) -> None:
    """Resolve the case inside its inbox: it stays there as resolved, the escalation and any claim
    end ("resolved"). Resolving always needs the resolution note (kept with the event; the inbox
    page resolves through the SLA area's ``resolve_with_note``, which keeps it as the case's
    resolution and asks the requester to confirm)."""
    _check_escalated(case)
    _check_open(case)
    note = resolution_note(note)
    inbox = Inbox.get_by_id(case.inbox_id)
    holder = _member(_live_holder(case, now))
    with database.atomic():
        _change_route(case, now, status="resolved", claimed_by=None, claim_expires_at=None)
        _close_claims(case, "resolved", now)
        _end_escalation(case.escalation_id, "resolved", actor, now)
        _record(actor, "escalation.resolved", case, now=now,
                source=_place(_inbox_ref(inbox), _member_ref(holder)),
                target=_place(_inbox_ref(inbox), {"status": "resolved"}),
                escalation_id=case.escalation_id, note=note)
    _refresh(case)


def end_escalation_on_case_closing(event):
    """Audit subscriber for "case.resolved" and "case.closed" (the case page's status control):
    a case resolved or closed inside its inbox ends its escalation and any claim there."""
    case = Case.get_or_none(Case.id == event.case_id) if event.case_id else None
    if case is None or case.inbox_id is None or case.escalation_id is None \
            or case.status in OPEN_STATUSES:
        return
    if not Escalation.select().where((Escalation.id == case.escalation_id)
                                     & Escalation.ended_at.is_null()).exists():
        return
    now = event.created_at
    inbox = Inbox.get_by_id(case.inbox_id)
    holder = _member(_live_holder(case, now))
    _change_route(case, now, claimed_by=None, claim_expires_at=None)
    _close_claims(case, "resolved", now)
    _end_escalation(case.escalation_id, "resolved", event.actor_id, now)
    _record(event.actor_id, "escalation.resolved", case, now=now,
            source=_place(_inbox_ref(inbox), _member_ref(holder)),
            target=_place(_inbox_ref(inbox), {"status": case.status}),
            escalation_id=case.escalation_id, cause=event.action)


def reopen_in_inbox(event):
    """Audit subscriber for "case.status_changed" to open: a case resolved inside its inbox that
    opens again (the contact wrote back) starts a new stay in that inbox."""
    if event.data.get("to") != "open" or not event.case_id:
        return
    case = Case.get_or_none(Case.id == event.case_id)
    if case is None or case.inbox_id is None or case.status not in OPEN_STATUSES:
        return
    previous = Escalation.get_or_none(Escalation.id == case.escalation_id) \
        if case.escalation_id else None
    if previous is not None and previous.ended_at is None:
        return
    now = event.created_at
    inbox = Inbox.get_by_id(case.inbox_id)
    escalation = Escalation.create(
        organisation=case.organisation_id, case=case.id, inbox=inbox.id,
        origin_queue=previous.origin_queue_id if previous else case.queue_id,
        origin_agent=previous.origin_agent_id if previous else None,
        escalated_by=event.actor_id, reason="", escalated_at=now)
    _change_route(case, now, escalation_id=escalation.id)
    _record(event.actor_id, "escalation.escalated", case, now=now, subject=escalation,
            source={"status": event.data.get("from")}, target=_inbox_ref(inbox),
            escalation_id=escalation.id, cause="reopened")


# ---------------------------------------------------------------------------------------------
# Inboxes: create, update, delete

def _validate_inbox(organisation_id, *, name, tier, batch_size, assignment_minutes, owners,
                    inbox_id=None):
    """Check the fields; return (clean name, the owner members)."""
    reasons = []
    name = (name or "").strip()
    if not name:
        reasons.append(("name", _l("Give the inbox a name.")))
    elif len(name) > 200:
        reasons.append(("name", _l("That is too long (at most %(num)d characters).", num=200)))
    else:
        same = Inbox.for_org(organisation_id).where(fn.LOWER(Inbox.name) == name.lower())
        if inbox_id is not None:
            same = same.where(Inbox.id != inbox_id)
        if same.exists():
            reasons.append(("name", _l("Another inbox already has that name.")))
    if tier not in TIERS:
        reasons.append(("tier", _l("Choose a tier from L1 to L4.")))
    if not isinstance(batch_size, int) or not BATCH_SIZE_MIN <= batch_size <= BATCH_SIZE_MAX:
        reasons.append(("batch_size", _l("The batch size must be between 1 and 100.")))
    if not isinstance(assignment_minutes, int) \
            or not ASSIGNMENT_MINUTES_MIN <= assignment_minutes <= ASSIGNMENT_MINUTES_MAX:
        reasons.append(("assignment_minutes",
                        _l("The assignment duration must be between 5 minutes and 7 days.")))
    owner_ids = {getattr(o, "id", o) for o in owners or ()}
    members = list(Member.select(Member, User).join(User)
                   .where(Member.id.in_(list(owner_ids)) & (Member.organisation == organisation_id)
                          & (Member.active == True))) if owner_ids else []  # noqa: E712
    if not owner_ids:
        reasons.append(("owners", _l("Choose at least one owner.")))
    elif len(members) != len(owner_ids):
        reasons.append(("owners", _l("Owners must be active members of the organisation.")))
    if reasons:
        raise Invalid(reasons)
    return name, members


def create_inbox(organisation, actor, *, now, name, description="", tier=2, batch_size=5,
                 assignment_minutes=60, owners=()) -> Inbox:
    organisation_id = getattr(organisation, "id", organisation)
    with database.atomic():
        name, members = _validate_inbox(organisation_id, name=name, tier=tier,
                                        batch_size=batch_size,
                                        assignment_minutes=assignment_minutes, owners=owners)
        inbox = Inbox.create(organisation=organisation_id, name=name,
                             description=(description or "").strip(), tier=tier,
                             batch_size=batch_size, assignment_minutes=assignment_minutes,
                             created_at=now)
        InboxOwner.insert_many([{"inbox": inbox.id, "member": m.id} for m in members]).execute()
        audit.record(actor, "inbox.created", organisation=organisation_id, subject=inbox, now=now,
                     **{"to": _inbox_ref(inbox)}, tier=tier, batch_size=batch_size,
                     assignment_minutes=assignment_minutes,
                     owners=[_member_ref(m) for m in members])
    return inbox


def _release_claims(cases, actor, now, cause):
    """Claims taken away from their holder (an owner removed or deactivated): live or lapsed."""
    inbox_ids = list({c.inbox_id for c in cases})
    inboxes = {i.id: i for i in Inbox.select().where(Inbox.id.in_(inbox_ids))}
    holders = _names(c.claimed_by_id for c in cases)
    for case in cases:
        holder = holders.get(case.claimed_by_id)
        _change_route(case, now, expect=(Case.claimed_by == case.claimed_by_id),
                      claimed_by=None, claim_expires_at=None)
        if _close_claims(case, cause, now) is not None:
            _record(actor, "escalation.released", case, now=now, source=_member_ref(holder),
                    target=_inbox_ref(inboxes.get(case.inbox_id)),
                    escalation_id=case.escalation_id, cause=cause)
    return len(cases)


def release_claims_of_deactivated(event):
    """Audit subscriber for "member.deactivated": their claims go back to the inboxes."""
    if event.subject_type != "member" or event.subject_id is None:
        return
    cases = list(Case.select().where((Case.organisation == event.organisation_id)
                                     & (Case.claimed_by == event.subject_id)
                                     & Case.inbox.is_null(False)))
    if cases:
        _release_claims(cases, event.actor_id, event.created_at, "owner_deactivated")


def update_inbox(inbox, actor, *, now, name, description="", tier, batch_size,
                 assignment_minutes, owners) -> Inbox:
    """Change the inbox's settings and owners. Owners taken off lose their claims there."""
    with database.atomic():
        name, members = _validate_inbox(inbox.organisation_id, name=name, tier=tier,
                                        batch_size=batch_size,
                                        assignment_minutes=assignment_minutes, owners=owners,
                                        inbox_id=inbox.id)
        before = {"name": inbox.name, "description": inbox.description, "tier": inbox.tier,
                  "batch_size": inbox.batch_size, "assignment_minutes": inbox.assignment_minutes}
        after = {"name": name, "description": (description or "").strip(), "tier": tier,
                 "batch_size": batch_size, "assignment_minutes": assignment_minutes}
        rows = (Inbox.update(**after)
                .where((Inbox.id == inbox.id) & Inbox.deleted_at.is_null()).execute())
        if rows != 1:
            raise Conflict(_l("This inbox has been deleted."))
        for key, value in after.items():
            setattr(inbox, key, value)
        current = {row.member_id for row in InboxOwner.select().where(InboxOwner.inbox == inbox.id)}
        wanted = {m.id for m in members}
        removed, added = current - wanted, wanted - current
        if removed:
            InboxOwner.delete().where((InboxOwner.inbox == inbox.id)
                                      & InboxOwner.member.in_(list(removed))).execute()
            _release_claims(list(Case.select().where((Case.inbox == inbox.id)
                                                     & Case.claimed_by.in_(list(removed)))),
                            actor, now, "owner_removed")
        if added:
            InboxOwner.insert_many([{"inbox": inbox.id, "member": m}
                                    for m in sorted(added)]).execute()
        changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        audit.record(actor, "inbox.updated", organisation=inbox.organisation_id, subject=inbox,
                     now=now, **{"from": _inbox_ref(inbox), "to": _inbox_ref(inbox)},
                     changed=changed, owners_added=sorted(added), owners_removed=sorted(removed))
    return inbox


def cases_in(inbox):
    """Every case escalated into (or resolved inside) the inbox: what deleting it de-escalates."""
    return Case.select().where(Case.inbox == inbox.id).order_by(Case.id)


def deletion_token(cases) -> str:
    """A fingerprint of the cases a deletion confirmed: if any of them changes (or one arrives or
    leaves) before the deletion runs, the token differs and the deletion is refused."""
    digest = hashlib.sha256(",".join(f"{c.id}.{c.version}" for c in cases).encode()).hexdigest()
    return f"{len(cases)}-{digest[:16]}"


def delete_inbox(inbox, actor, *, now, expected=None) -> int:
    """Soft-delete the inbox: every case in it is de-escalated back to its origin in this one
    transaction, each with its event. ``expected`` is the ``deletion_token`` the confirmation
    showed; if the inbox changed since, ``Conflict``. Returns how many cases were de-escalated."""
    with database.atomic():
        rows = (Inbox.update(deleted_at=now)
                .where((Inbox.id == inbox.id) & Inbox.deleted_at.is_null()).execute())
        if rows != 1:
            raise Conflict(_l("This inbox has already been deleted."))
        cases = list(cases_in(inbox))
        if expected is not None and deletion_token(cases) != expected:
            raise Conflict(_l("The inbox changed after you confirmed. Check the number of cases "
                              "again and confirm once more."))
        for case in cases:
            _de_escalate(case, actor, now=now, to="agent", end_reason="inbox_deleted")
        audit.record(actor, "inbox.deleted", organisation=inbox.organisation_id, subject=inbox,
                     now=now, **{"from": _inbox_ref(inbox), "to": {}}, cases=len(cases))
    inbox.deleted_at = now
    return len(cases)
