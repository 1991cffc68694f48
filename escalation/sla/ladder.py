"""The breach ladder and the sweep.

A ladder is an ordered list of steps for a policy's clocks (per clock kind) or for an inbox's tier
clocks. A step fires when a running clock has spent a percentage of its target, or an offset
after the breach (business time). ``sweep(now)`` fires what is due:

- each step fires once per clock: a ``StepFiring`` row is inserted first, in the step's own
  transaction, and its unique (clock, step) pair turns a second attempt into an IntegrityError
  that is let be, so sweeps on several hosts at the same moment never act twice;
- the steps of a clock fire in order of their goal (then their position);
- a clock's breach is marked once (a conditional update) and recorded as ``sla.breached``;
- every firing is an ``sla.step_fired`` event on the case's timeline.
"""
import logging

from peewee import IntegrityError

from .. import audit
from ..db import database, is_postgres
from ..errors import DomainError
from ..models import Case, Inbox, InboxOwner, Member
from .calendar import Calendars
from .clocks import elapsed, schedule
from .models import Clock, LadderStep, SlaPolicy, StepFiring
from .notifications import notify_member

log = logging.getLogger("escalation.sla.ladder")


# ---------------------------------------------------------------------------------------------
# Which steps a clock has


def steps_query(clock):
    if clock.kind == "tier":
        if clock.inbox_id is None:
            return None
        return LadderStep.select().where((LadderStep.inbox == clock.inbox_id)
                                         & (LadderStep.clock_kind == "tier"))
    if clock.policy_id is None:
        return None
    return LadderStep.select().where((LadderStep.policy == clock.policy_id)
                                     & (LadderStep.clock_kind == clock.kind))


def pending_steps(clock):
    """The clock's steps that have not fired, in firing order."""
    query = steps_query(clock)
    if query is None or clock.target_seconds is None:
        return []
    fired = StepFiring.select(StepFiring.step).where(StepFiring.clock == clock.id)
    steps = list(query.where(LadderStep.id.not_in(fired)))
    return sorted(steps, key=lambda step: (step.goal_seconds(clock.target_seconds),
                                           step.position, step.id))


def next_goal_seconds(clock):
    if clock.id is None:
        return None
    steps = pending_steps(clock)
    return steps[0].goal_seconds(clock.target_seconds) if steps else None


def ordered(steps):
    return sorted(steps, key=lambda step: (step.position, step.id))


# ---------------------------------------------------------------------------------------------
# The sweep


def sweep(now, *, limit=500) -> dict:
    """One pass: catch up on cases changed without an event, fire due steps, warn of claims about
    to lapse, close unanswered resolutions, send pending mail. Returns counts."""
    from .notifications import deliver_pending
    from .resolution import auto_close_due
    from .events import catch_up, warn_lapsing_claims
    cals = Calendars()
    counts = {"caught_up": catch_up(now, cals, limit=limit), "fired": 0, "breached": 0}
    due = [row.id for row in Clock.select(Clock.id)
           .where(Clock.next_check_at.is_null(False) & (Clock.next_check_at <= now)
                  & Clock.stopped_at.is_null())
           .order_by(Clock.next_check_at, Clock.id).limit(limit)]
    for clock_id in due:
        breached, fired = check_clock(clock_id, now, cals)
        counts["breached"] += breached
        counts["fired"] += fired
    counts["lapsing"] = warn_lapsing_claims(now)
    counts["closed"] = auto_close_due(now, cals)
    counts["mailed"] = deliver_pending(now)
    return counts


def _lock_case(case_id):
    query = Case.select().where(Case.id == case_id)
    if is_postgres():
        query = query.for_update()
    return query.first()


def check_clock(clock_id, now, cals) -> tuple[int, int]:
    """Mark the breach of one clock and fire its due steps, each in its own transaction."""
    breached = _mark_breach(clock_id, now, cals)
    fired = 0
    while True:
        outcome = _fire_next(clock_id, now, cals)
        if outcome is None:
            break
        fired += outcome
    return breached, fired


def _mark_breach(clock_id, now, cals) -> int:
    with database.atomic():
        clock = Clock.get_or_none(Clock.id == clock_id)
        if clock is None or not clock.running or clock.target_seconds is None:
            return 0
        case = _lock_case(clock.case_id)
        clock = Clock.get_by_id(clock_id)
        cal = cals[clock.organisation_id]
        spent = elapsed(clock, cal, now)
        if clock.breached_at is not None or spent < clock.target_seconds:
            return 0
        won = Clock.update(breached_at=now).where(
            (Clock.id == clock_id) & Clock.breached_at.is_null()).execute()
        if won:
            audit.record(None, "sla.breached", organisation=clock.organisation_id, case=case,
                         subject=clock, now=now, clock=clock.kind, tier=clock.tier,
                         inbox=clock.inbox_id, target=clock.target_seconds)
            clock = Clock.get_by_id(clock_id)
            schedule(clock, cal, now)
            clock.save()
        return won


def _fire_next(clock_id, now, cals):
    """Fire the clock's first pending step if it is due: 1 fired, 0 lost to another sweep,
    None when nothing (more) is due."""
    try:
        with database.atomic():
            clock = Clock.get_or_none(Clock.id == clock_id)
            if clock is None or not clock.running or clock.target_seconds is None:
                return None
            case = _lock_case(clock.case_id)
            clock = Clock.get_by_id(clock_id)
            if not clock.running or not _policy_active(clock):
                return None
            cal = cals[clock.organisation_id]
            spent = elapsed(clock, cal, now)
            steps = pending_steps(clock)
            if not steps or steps[0].goal_seconds(clock.target_seconds) > spent:
                schedule(clock, cal, now)
                clock.save()
                return None
            step = steps[0]
            StepFiring.create(organisation=clock.organisation_id, clock=clock.id, step=step.id,
                              case=clock.case_id, fired_at=now)
            result = run_step(step, clock, case, spent, now)
            StepFiring.update(result=result).where(
                (StepFiring.clock == clock.id) & (StepFiring.step == step.id)).execute()
            audit.record(None, "sla.step_fired", organisation=clock.organisation_id, case=case,
                         subject=step, now=now, clock=clock.kind, step_action=step.action,
                         trigger=step.trigger, percent=step.percent, offset=step.offset_minutes,
                         result=result, tier=clock.tier)
            clock = Clock.get_by_id(clock_id)
            if step.trigger == "percent" and clock.breached_at is None and clock.warning_at is None:
                clock.warning_at = now
            schedule(clock, cal, now)
            clock.save()
            return 1
    except IntegrityError:
        return 0  # another sweep fired this step first


def _policy_active(clock):
    if clock.policy_id is None:
        return True
    return bool(SlaPolicy.select(SlaPolicy.active).where(SlaPolicy.id == clock.policy_id).scalar())


# ---------------------------------------------------------------------------------------------
# What a step does


def run_step(step, clock, case, spent, now) -> str:
    action = ACTIONS[step.action]
    try:
        with database.atomic():
            return action(step, clock, case, spent, now)
    except DomainError as exc:
        log.info("SLA step %s on case %s skipped: %s", step.action, case.id, exc)
        return "skipped"


def _notice(clock, spent, now):
    over = spent - clock.target_seconds
    if over >= 0:
        return "sla_breach", {"over": over}
    return "sla_warning", {"left": -over}


def holder_of(case, now):
    holder_id = case.claimed_by_id if case.is_claimed(now) else case.assignee_id
    if holder_id is None:
        return None
    return Member.get_or_none(Member.id == holder_id)


def owners_of(case, clock):
    inbox_id = clock.inbox_id if clock.kind == "tier" else case.inbox_id
    if inbox_id is not None:
        return list(Member.select().join(InboxOwner, on=(InboxOwner.member == Member.id))
                    .where(InboxOwner.inbox == inbox_id))
    # Not escalated: the organisation's leads look after it.
    return list(Member.select().where((Member.organisation == case.organisation_id)
                                      & Member.role.in_(("supervisor", "admin", "owner"))
                                      & (Member.active == True)))  # noqa: E712


def _notify(people, clock, case, spent, now, step):
    kind, data = _notice(clock, spent, now)
    made = 0
    for member in people:
        made += notify_member(member, kind, now=now, case=case, clock=clock.kind,
                              dedupe=f"step:{clock.id}:{step.id}", **data) is not None
    return "done" if made else "no_one"


def notify_claimant(step, clock, case, spent, now):
    holder = holder_of(case, now)
    return _notify([holder] if holder else [], clock, case, spent, now, step)


def notify_owners(step, clock, case, spent, now):
    return _notify(owners_of(case, clock), clock, case, spent, now, step)


def release_claim(step, clock, case, spent, now):
    from . import holding
    if not case.is_claimed(now):
        return "skipped"
    holder = holder_of(case, now)
    holding.release(case, now=now)
    if holder is not None:
        notify_member(holder, "released", now=now, case=case, dedupe=f"released:{clock.id}:{step.id}")
    return "done"


def escalate_next(step, clock, case, spent, now):
    from . import holding
    target = holding.next_inbox(case)
    if target is None:
        return "skipped"
    holding.escalate_to(case, target, now=now)
    return "done"


def raise_priority(step, clock, case, spent, now):
    if case.priority >= 4:
        return "skipped"
    changed = Case.update(priority=Case.priority + 1, version=Case.version + 1, updated_at=now) \
        .where((Case.id == case.id) & (Case.version == case.version)).execute()
    if not changed:
        return "skipped"
    audit.record(None, "sla.priority_raised", organisation=case.organisation_id, case=case,
                 subject=case, now=now, previous=case.priority, priority=case.priority + 1)
    return "done"


ACTIONS = {
    "notify_claimant": notify_claimant,
    "notify_owners": notify_owners,
    "release_claim": release_claim,
    "escalate_next": escalate_next,
    "raise_priority": raise_priority,
}


# ---------------------------------------------------------------------------------------------
# Reading ladders for the admin pages


def ladder_of(*, policy=None, inbox=None):
    query = LadderStep.select()
    query = query.where(LadderStep.policy == policy.id) if policy is not None \
        else query.where(LadderStep.inbox == inbox.id)
    return ordered(query)


def inboxes_with_steps(org_id):
    return list(Inbox.select().join(LadderStep, on=(LadderStep.inbox == Inbox.id))
                .where(Inbox.organisation == org_id).distinct())
