"""SLA clocks: started, paused, resumed and stopped by what happens to a case.

``reconcile(case_id, now)`` compares a case with what the SLA area last saw of it (its
``CaseTrack``) and moves the clocks accordingly. It runs from an audit subscription inside the
transaction of every event on a case, whatever the event is called, and from the sweep for cases
whose version moved without an event. Compared facts, not event names, drive it:

- a case gets a first-response and a resolution clock from its creation (end to end);
- a staff reply (an outgoing message) stops the first-response clock and the running
  next-response clock, and starts a new next-response clock (keep in touch while open);
- each escalation hop (a new ``Case.escalation_id``) stops the previous tier clock and starts one
  for the new inbox, with that inbox's tier target, so a breach belongs to the tier that spent it;
- every running clock pauses while the case waits on the requester (status "waiting") and resumes
  when they answer (an inbound message, whatever the channel) or the status leaves "waiting";
- resolving or closing stops the clocks; reopening resumes the resolution clock;
- a new priority moves the policy clocks to that priority's policy, keeping their elapsed time.
"""
from dataclasses import dataclass, field
from datetime import datetime

from peewee import IntegrityError, fn

from .. import sqlcache
from ..db import bulk_update, database, is_postgres
from ..models import Case, Escalation, Inbox, Message
from .business_time import BusinessCalendar
from .calendar import Calendars, calendar_for
from .models import POLICY_CLOCK_KINDS, CaseTrack, Clock, SlaPolicy, TierTarget

OPEN_STATUSES = ("open", "waiting")
DONE_STATUSES = ("resolved", "closed")


@dataclass
class Observed:
    """What reconcile noticed, for the notifications that follow from it."""

    case: Case
    track: CaseTrack
    replied_at: datetime | None = None
    escalated: Escalation | None = None
    previous_tier: int | None = None
    resolved: bool = False
    reopened: bool = False
    events: list = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# One clock


def elapsed(clock: Clock, cal: BusinessCalendar, now: datetime) -> int:
    """Business seconds counted so far (paused time excluded)."""
    if clock.segment_started_at is None or clock.stopped_at is not None:
        return clock.elapsed_seconds
    return clock.elapsed_seconds + cal.seconds_between(clock.segment_started_at, now)


def schedule(clock: Clock, cal: BusinessCalendar, now: datetime):
    """Set ``due_at`` and ``next_check_at`` (the next breach or ladder step) of a clock."""
    from .ladder import next_goal_seconds
    if not clock.running or clock.target_seconds is None:
        clock.due_at = None
        clock.next_check_at = None
        return
    remaining = clock.target_seconds - clock.elapsed_seconds
    clock.due_at = cal.add(clock.segment_started_at, remaining) if remaining > 0 else \
        (clock.due_at or clock.segment_started_at)
    goals = []
    if clock.breached_at is None:
        goals.append(clock.target_seconds)
    goal = next_goal_seconds(clock)
    if goal is not None:
        goals.append(goal)
    if not goals:
        clock.next_check_at = None
        return
    ahead = min(goals) - clock.elapsed_seconds
    clock.next_check_at = cal.add(clock.segment_started_at, ahead) if ahead > 0 \
        else clock.segment_started_at


def start_clock(case, kind, at, cal, *, target=None, policy=None, inbox=None, escalation_id=None,
                tier=None, running=None) -> Clock:
    """Start a clock. ``running``: the case's open clocks, which it joins."""
    clock = Clock(organisation=case.organisation_id, case=case.id, kind=kind, policy=policy,
                  inbox=inbox, escalation_id=escalation_id, tier=tier, target_seconds=target,
                  started_at=at, segment_started_at=at, elapsed_seconds=0)
    clock.save()  # its id first: the ladder's steps are found through it
    schedule(clock, cal, at)
    clock.save()
    if running is not None:
        running.append(clock)
    return clock


def _bank(clock, at, cal):
    """Add the running segment's business time to ``elapsed_seconds`` and end the segment."""
    if clock.segment_started_at is not None:
        clock.elapsed_seconds = elapsed(clock, cal, max(at, clock.segment_started_at))
    clock.segment_started_at = None


def pause(clock, at, cal):
    _bank(clock, at, cal)
    clock.paused_at = at
    schedule(clock, cal, at)
    clock.save()


def resume(clock, at, cal):
    if clock.paused_at is not None:
        clock.paused_seconds += cal.seconds_between(clock.paused_at, at)
    clock.paused_at = None
    clock.segment_started_at = at
    schedule(clock, cal, at)
    clock.save()


def stop(clock, at, cal):
    _bank(clock, at, cal)
    clock.paused_at = None
    clock.stopped_at = at
    if clock.target_seconds is None:
        clock.outcome = "stopped"
    elif clock.elapsed_seconds > clock.target_seconds or clock.breached_at is not None:
        clock.outcome = "breached"
    else:
        clock.outcome = "met"
    if clock.outcome == "breached" and clock.breached_at is None:
        clock.breached_at = at
    schedule(clock, cal, at)
    clock.save()


def reopen(clock, at, cal):
    """A stopped resolution clock counts on after a reopen: the case was not solved after all."""
    clock.stopped_at = None
    clock.outcome = None
    clock.segment_started_at = at
    schedule(clock, cal, at)
    clock.save()


def retarget(clock, policy, cal, now):
    """Move a policy clock to another policy (or none), keeping its elapsed and paused time."""
    running = clock.running
    if running:
        clock.elapsed_seconds = elapsed(clock, cal, now)
        clock.segment_started_at = now
    clock.policy = policy
    clock.target_seconds = policy.target_seconds(clock.kind) if policy and policy.active else None
    clock.warning_at = None if clock.target_seconds is None else clock.warning_at
    if clock.target_seconds is None or clock.elapsed_seconds <= clock.target_seconds:
        clock.breached_at = None
    schedule(clock, cal, now)
    clock.save()


# ---------------------------------------------------------------------------------------------
# A case's clocks


def policy_for(org_id, priority):
    return SlaPolicy.get_or_none((SlaPolicy.organisation == org_id)
                                 & (SlaPolicy.priority == priority))


def _policy_target(policy, kind):
    return policy.target_seconds(kind) if policy is not None and policy.active else None


def open_clocks(case_id):
    return list(Clock.select().where((Clock.case == case_id) & Clock.stopped_at.is_null())
                .order_by(Clock.id))


# reconcile_many's reads run for every event on a case: their SQL is compiled once per number of
# cases (sqlcache), the id lists padded to a few sizes.

def _open_clocks_query(ids):
    return (Clock.select().where(Clock.case.in_(ids) & Clock.stopped_at.is_null())
            .order_by(Clock.id))


def _open_clocks_of(case_ids) -> dict:
    """The open clocks of these cases, by case id, oldest first (one query)."""
    found = {case_id: [] for case_id in case_ids}
    ids = sqlcache.padded(case_ids)
    for clock in sqlcache.models(Clock, ("sla.open_clocks", len(ids)), _open_clocks_query, ids):
        found[clock.case_id].append(clock)
    return found


def _cases_query(ids):
    return Case.select().where(Case.id.in_(ids))


def _cases_of(case_ids) -> dict:
    ids = sqlcache.padded(case_ids)
    return {case.id: case for case in
            sqlcache.models(Case, ("sla.cases", len(ids)), _cases_query, ids)}


def _start_policy_clock(case, kind, at, cal, running):
    policy = policy_for(case.organisation_id, case.priority)
    return start_clock(case, kind, at, cal, target=_policy_target(policy, kind), policy=policy,
                       running=running)


def _stop_open(running, clock, at, cal):
    stop(clock, at, cal)
    running.remove(clock)


def _tracks_query(ids):
    query = CaseTrack.select().where(CaseTrack.case.in_(ids)).order_by(CaseTrack.case)
    return query.for_update() if is_postgres() else query


def _lock_tracks(case_ids) -> dict:
    ids = sqlcache.padded(case_ids)
    return {track.case_id: track for track in
            sqlcache.models(CaseTrack, ("sla.tracks", len(ids)), _tracks_query, ids)}


def _new_track(case, now, cal, running):
    """The first sight of a case: its end-to-end clocks start from its creation."""
    fresh = case.status in OPEN_STATUSES
    try:
        with database.atomic():
            track = CaseTrack.create(organisation=case.organisation_id, case=case.id,
                                     status="open" if fresh else case.status,
                                     priority=case.priority, case_version=0, updated_at=now)
    except IntegrityError:
        return _lock_tracks([case.id])[case.id]
    if fresh:
        start = min(case.created_at, now)
        _start_policy_clock(case, "first_response", start, cal, running)
        _start_policy_clock(case, "resolution", start, cal, running)
    return track


def _last_messages_query(ids):
    return (Message.select(Message.case, Message.kind, fn.MAX(Message.created_at).alias("last"))
            .where(Message.case.in_(ids) & Message.kind.in_(("in", "out")))
            .group_by(Message.case, Message.kind))


def _last_messages_of(case_ids) -> dict:
    """``{case_id: (last inbound, last outgoing)}`` (one query)."""
    found = {}
    ids = sqlcache.padded(case_ids)
    for case_id, kind, last in sqlcache.rows(("sla.last_messages", len(ids)),
                                             _last_messages_query, ids):
        found.setdefault(case_id, {})[kind] = _as_datetime(last)
    return {case_id: (found.get(case_id, {}).get("in"), found.get(case_id, {}).get("out"))
            for case_id in case_ids}


def _as_datetime(value):
    if isinstance(value, str):  # SQLite aggregates come back as text
        return datetime.fromisoformat(value)
    return value


def reconcile(case_id, now, *, cal: BusinessCalendar | None = None) -> Observed | None:
    """Bring the clocks of one case in line with the case. Call inside a transaction."""
    return reconcile_many([case_id], now, cal=cal).get(case_id)


def reconcile_many(case_ids, now, *, cal: BusinessCalendar | None = None,
                   calendars=None) -> dict:
    """``reconcile`` for several cases with the reads done once for all of them (cases, tracks,
    last messages, open clocks: four queries), then each case's changes. Call inside a
    transaction. Returns ``{case_id: Observed}`` for the cases that exist."""
    ids = list(dict.fromkeys(case_ids))
    if not ids:
        return {}
    cases = _cases_of(ids)
    ids = [case_id for case_id in ids if case_id in cases]
    if not ids:
        return {}
    calendars = calendars if calendars is not None else Calendars()
    tracks = _lock_tracks(ids)
    messages = _last_messages_of(ids)
    running = _open_clocks_of(ids)
    seen = {}
    for case_id in ids:
        case = cases[case_id]
        seen[case_id] = _reconcile_one(case, tracks.get(case_id), messages[case_id],
                                       running[case_id], now,
                                       cal or _LazyCalendar(calendars, case.organisation_id))
    _save_tracks([observed.track for observed in seen.values()])
    return seen


class _LazyCalendar:
    """The organisation's calendar, loaded (three queries) only when a clock needs business
    time: a claim of cases without clocks, or one that changes no clock, never loads it."""

    def __init__(self, calendars, org_id):
        self._calendars, self._org_id, self._calendar = calendars, org_id, None

    def __getattr__(self, name):
        if self._calendar is None:
            self._calendar = self._calendars[self._org_id]
        return getattr(self._calendar, name)


TRACK_FIELDS = (CaseTrack.status, CaseTrack.priority, CaseTrack.case_version,
                CaseTrack.escalation_id, CaseTrack.waiting_started_at, CaseTrack.last_inbound_at,
                CaseTrack.last_reply_at, CaseTrack.last_holder, CaseTrack.updated_at)


def _save_tracks(tracks):
    """What reconcile saw, for the next comparison: one UPDATE for all the tracks."""
    if len(tracks) == 1:
        tracks[0].save()
    elif tracks:
        bulk_update(CaseTrack, tracks, TRACK_FIELDS)


def _reconcile_one(case, track, messages, running, now, cal) -> Observed:
    if case.updated_at is not None and case.updated_at > now:
        now = case.updated_at  # a back-dated event (a lapse observed later) in a newer change
    track = track or _new_track(case, now, cal, running)
    seen = Observed(case=case, track=track)
    last_in, last_out = messages
    if last_out and (track.last_reply_at is None or last_out > track.last_reply_at):
        if track.last_reply_at is None:
            _stop_first_response(case, _first_reply_at(case.id), cal, running)
        _on_reply(case, track, min(last_out, now), cal, running)
        seen.replied_at = last_out
    if last_in and (track.last_inbound_at is None or last_in > track.last_inbound_at):
        track.last_inbound_at = last_in
    if case.escalation_id != track.escalation_id:
        _on_hop(case, track, now, cal, seen, running)
    _on_claim(case, now, cal, running)
    if case.priority != track.priority:
        for clock in running:
            if clock.kind in POLICY_CLOCK_KINDS:
                retarget(clock, policy_for(case.organisation_id, case.priority), cal, now)
    if case.status != track.status:
        _on_status(case, track, now, cal, seen, running)
    _pause_or_resume(case, track, now, cal, running)
    holder = case.claimed_by_id if case.is_claimed(now) else case.assignee_id
    track.last_holder = holder or track.last_holder_id
    track.status, track.priority, track.case_version = case.status, case.priority, case.version
    track.escalation_id = case.escalation_id
    track.updated_at = now
    return seen


def _first_reply_at(case_id):
    return _as_datetime(Message.select(fn.MIN(Message.created_at))
                        .where((Message.case == case_id) & (Message.kind == "out")).scalar())


def _stop_first_response(case, at, cal, running):
    for clock in list(running):
        if clock.kind == "first_response":
            _stop_open(running, clock, at, cal)


def _on_reply(case, track, at, cal, running):
    for clock in list(running):
        if clock.kind in ("first_response", "next_response"):
            _stop_open(running, clock, at, cal)
    track.last_reply_at = at
    if case.status == "waiting":
        track.waiting_started_at = at  # a reply while waiting: we wait on them again
    if case.status in OPEN_STATUSES:
        _start_policy_clock(case, "next_response", at, cal, running)


def _on_hop(case, track, now, cal, seen, running):
    previous = None
    for clock in list(running):
        if clock.kind == "tier":
            previous = clock.tier
            _stop_open(running, clock, now, cal)
    if case.escalation_id is None:
        return
    escalation = Escalation.get_or_none(Escalation.id == case.escalation_id)
    if escalation is None:
        return
    inbox = Inbox.get_by_id(escalation.inbox_id)
    target = (TierTarget.select(TierTarget.target_minutes)
              .where(TierTarget.inbox == inbox.id).scalar())
    start = min(escalation.escalated_at or now, now)
    start_clock(case, "tier", start, cal, target=target * 60 if target else None, inbox=inbox.id,
                escalation_id=escalation.id, tier=inbox.tier, running=running)
    seen.escalated = escalation
    if previous is None and track.escalation_id is None:
        previous = case.queue.tier if case.queue_id else 1
    seen.previous_tier = previous


def _on_claim(case, now, cal, running):
    """The tier clock remembers how long the hop waited for its first claim."""
    if not case.is_claimed(now):
        return
    for clock in running:
        if clock.kind == "tier" and clock.claim_seconds is None:
            clock.claim_seconds = elapsed(clock, cal, now)
            clock.save()
            return


def _on_status(case, track, now, cal, seen, running):
    before = track.status
    if case.status == "waiting":
        track.waiting_started_at = now
    if case.status in DONE_STATUSES and before in OPEN_STATUSES:
        for clock in list(running):
            _stop_open(running, clock, now, cal)
        seen.resolved = case.status == "resolved"
    elif case.status in OPEN_STATUSES and before in DONE_STATUSES:
        _on_reopen(case, now, cal, running)
        seen.reopened = True


def _on_reopen(case, now, cal, running):
    last = (Clock.select().where((Clock.case == case.id) & (Clock.kind == "resolution"))
            .order_by(Clock.id.desc()).first())
    if last is not None and last.stopped_at is not None:
        reopen(last, now, cal)
        running.append(last)
    elif last is None:
        _start_policy_clock(case, "resolution", now, cal, running)
    _start_policy_clock(case, "next_response", now, cal, running)


def waits_on_requester(case, track) -> bool:
    """Waiting, and the requester has not answered since we started waiting on them."""
    if case.status != "waiting":
        return False
    answered = (track.last_inbound_at is not None and track.waiting_started_at is not None
                and track.last_inbound_at > track.waiting_started_at)
    return not answered


def _pause_or_resume(case, track, now, cal, running):
    hold = waits_on_requester(case, track)
    for clock in running:
        if hold and clock.running:
            pause(clock, now, cal)
        elif not hold and clock.paused:
            resume(clock, now, cal)


# ---------------------------------------------------------------------------------------------
# Policies changing under running clocks


def apply_policy(policy, now):
    """After a policy's targets or its active flag changed: retarget its open clocks. Deactivated,
    its clocks have no target: no steps run and any warning is cleared."""
    cals = {}
    for clock in Clock.select().where((Clock.policy == policy.id) & Clock.stopped_at.is_null()):
        cal = cals.get(clock.organisation_id) or cals.setdefault(
            clock.organisation_id, calendar_for(clock.organisation_id))
        retarget(clock, policy, cal, now)


def apply_tier_target(inbox_id, minutes, now):
    cals = {}
    for clock in Clock.select().where((Clock.inbox == inbox_id) & (Clock.kind == "tier")
                                      & Clock.stopped_at.is_null()):
        cal = cals.get(clock.organisation_id) or cals.setdefault(
            clock.organisation_id, calendar_for(clock.organisation_id))
        if clock.running:
            clock.elapsed_seconds = elapsed(clock, cal, now)
            clock.segment_started_at = now
        clock.target_seconds = minutes * 60 if minutes else None
        if clock.target_seconds is None:
            clock.warning_at = None
        schedule(clock, cal, now)
        clock.save()


# ---------------------------------------------------------------------------------------------
# Reading clocks for pages


@dataclass
class ClockView:
    clock: Clock
    elapsed: int
    left: int | None  # business seconds left; negative when overdue; None without a target
    state: str  # running, paused, met, breached, overdue, stopped

    @property
    def overdue(self):
        return self.left is not None and self.left < 0

    @property
    def kind(self):
        return self.clock.kind


def view(clock, cal, now) -> ClockView:
    spent = elapsed(clock, cal, now)
    left = None if clock.target_seconds is None else clock.target_seconds - spent
    if clock.stopped_at is not None:
        state = clock.outcome or "stopped"
    elif left is not None and left < 0:
        state = "overdue"
    elif clock.paused:
        state = "paused"
    else:
        state = "running"
    return ClockView(clock, spent, left, state)
