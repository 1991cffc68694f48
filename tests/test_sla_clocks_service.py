"""SLA clocks driven by what happens to cases (services called directly, fixed instants)."""
from datetime import datetime

from escalation.cases import service as cases
from escalation.inboxes import service as inboxes
from escalation.sla import clocks
from escalation.sla.calendar import calendar_for
from escalation.sla.models import Clock, SlaPolicy

from .factories import NOW, make_inbox, make_member
from .factories_sla import (HOUR, clock_of, clocks_of, fresh, hours, make_policy,  # noqa: F401
                            make_tier_target, minutes, new_case, set_settings, strict_sla)

# NOW is Monday 2 November 2026 09:30 UTC = 10:30 in Stockholm; the day ends 16:00 UTC.


def spent(clock, now):
    return clocks.elapsed(Clock.get_by_id(clock.id), calendar_for(clock.organisation_id), now)


def test_a_new_case_starts_its_end_to_end_clocks(org, agent):
    make_policy(org, 2, first=60, resolution=8 * 60)
    case = new_case(org, agent)
    first, resolution = clock_of(case, "first_response"), clock_of(case, "resolution")
    assert first.started_at == NOW and first.target_seconds == HOUR
    assert first.due_at == NOW + hours(1)
    assert resolution.target_seconds == 8 * HOUR
    # 8 business hours from Monday 10:30 local: 6.5 h on Monday, 1.5 h on Tuesday -> 09:30 local
    assert resolution.due_at == datetime(2026, 11, 3, 8, 30)
    assert clock_of(case, "next_response") is None


def test_without_a_policy_clocks_measure_without_a_target(org, agent):
    case = new_case(org, agent)
    clock = clock_of(case, "resolution")
    assert clock.target_seconds is None and clock.due_at is None
    assert spent(clock, NOW + hours(2)) == 2 * HOUR


def test_a_reply_stops_first_response_and_starts_next_response(org, agent):
    make_policy(org, 2, first=60, next_=120)
    case = new_case(org, agent)
    cases.reply(fresh(case), agent, body="On it", now=NOW + minutes(20))
    first = clock_of(case, "first_response")
    assert first.stopped_at == NOW + minutes(20) and first.outcome == "met"
    assert first.elapsed_seconds == 20 * 60
    following = clock_of(case, "next_response")
    assert following.started_at == NOW + minutes(20) and following.target_seconds == 2 * HOUR
    cases.reply(fresh(case), agent, body="Still on it", now=NOW + hours(3))
    done, current = clocks_of(case, "next_response")
    assert done.outcome == "breached" and done.elapsed_seconds == 2 * HOUR + 40 * 60
    assert current.stopped_at is None


def test_a_late_first_reply_is_a_breach(org, agent):
    make_policy(org, 2, first=60)
    case = new_case(org, agent)
    cases.reply(fresh(case), agent, body="Sorry", now=NOW + hours(2))
    assert clock_of(case, "first_response").outcome == "breached"


def test_waiting_on_the_requester_pauses_every_clock_until_they_answer(org, agent):
    make_policy(org, 2, first=60, next_=120, resolution=8 * 60)
    case = new_case(org, agent)
    cases.reply(fresh(case), agent, body="Which printer?", now=NOW + hours(1),
                then_status="waiting")
    resolution = clock_of(case, "resolution")
    assert resolution.paused_at == NOW + hours(1) and resolution.due_at is None
    assert clock_of(case, "next_response").paused
    # Two business hours pass while waiting: nothing is counted.
    assert spent(resolution, NOW + hours(3)) == HOUR
    cases.record_inbound(fresh(case), body="The one on floor 2", now=NOW + hours(3))
    resolution = clock_of(case, "resolution")
    assert resolution.running and resolution.paused_seconds == 2 * HOUR
    assert spent(resolution, NOW + hours(4)) == 2 * HOUR
    # the due time moved by the paused time
    assert resolution.due_at == datetime(2026, 11, 3, 10, 30)


def test_an_answer_resumes_even_if_the_status_still_says_waiting(org, agent):
    """Whatever the channel: an inbound message counts, not only a status change."""
    from escalation.models import Message
    make_policy(org, 2)
    case = new_case(org, agent)
    cases.change_status(fresh(case), agent, status="waiting", now=NOW + minutes(10))
    assert clock_of(case, "resolution").paused
    # A channel stores the message and records something else on the case.
    Message.create(organisation=org, case=case.id, kind="in", body="Here you go",
                   created_at=NOW + minutes(40))
    cases.add_note(fresh(case), agent, body="They answered by SMS", now=NOW + minutes(40))
    assert clock_of(case, "resolution").running
    assert fresh(case).status == "waiting"
    # ... and a later unrelated event does not pause it again
    cases.add_note(fresh(case), agent, body="Looking", now=NOW + minutes(50))
    assert clock_of(case, "resolution").running


def test_pauses_over_a_weekend_count_in_business_time(org, agent):
    make_policy(org, 2, resolution=8 * 60)
    # Friday 6 Nov 14:00 UTC (15:00 local): created; waiting from 15:00 UTC to Monday 08:00 UTC
    friday = datetime(2026, 11, 6, 14)
    case = new_case(org, agent, now=friday)
    cases.change_status(fresh(case), agent, status="waiting", now=friday + hours(1))
    cases.record_inbound(fresh(case), body="back", now=datetime(2026, 11, 9, 8))
    clock = clock_of(case, "resolution")
    assert clock.elapsed_seconds == HOUR
    assert clock.paused_seconds == 2 * HOUR  # Friday 16-17 local and Monday 08-09 local
    assert spent(clock, datetime(2026, 11, 9, 9)) == 2 * HOUR


def test_a_new_priority_keeps_elapsed_and_paused_time(org, agent):
    make_policy(org, 2, resolution=8 * 60)
    make_policy(org, 4, resolution=4 * 60)
    case = new_case(org, agent)
    cases.change_status(fresh(case), agent, status="waiting", now=NOW + hours(1))
    cases.change_status(fresh(case), agent, status="open", now=NOW + hours(2))
    cases.change_priority(fresh(case), agent, priority=4, now=NOW + hours(3))
    clock = clock_of(case, "resolution")
    assert clock.target_seconds == 4 * HOUR
    assert clock.policy_id == SlaPolicy.get(SlaPolicy.priority == 4).id
    assert clock.elapsed_seconds == 2 * HOUR and clock.paused_seconds == HOUR
    assert clock.due_at == NOW + hours(5)


def test_resolving_stops_and_reopening_resumes(org, agent):
    make_policy(org, 2, resolution=8 * 60)
    case = new_case(org, agent)
    cases.change_status(fresh(case), agent, status="resolved", note="Fixed", now=NOW + hours(2))
    clock = clock_of(case, "resolution")
    assert clock.stopped_at == NOW + hours(2) and clock.outcome == "met"
    assert all(c.stopped_at for c in Clock.select().where(Clock.case == case.id))
    cases.record_inbound(fresh(case), body="Not fixed", now=NOW + hours(4))
    clock = clock_of(case, "resolution")
    assert clock.stopped_at is None and clock.elapsed_seconds == 2 * HOUR
    assert spent(clock, NOW + hours(5)) == 3 * HOUR
    assert clock_of(case, "next_response").running


def test_each_escalation_hop_has_its_own_tier_clock(org, agent):
    owner = make_member(org, "agent")
    l2 = make_inbox(org, owners=[owner], tier=2)
    l3 = make_inbox(org, owners=[owner], tier=3)
    make_tier_target(l2, 120)
    make_tier_target(l3, 240)
    case = new_case(org, agent)
    inboxes.escalate(fresh(case), l2, agent, reason="Hardware", now=NOW + hours(1))
    tier = clock_of(case, "tier")
    assert (tier.inbox_id, tier.tier, tier.target_seconds) == (l2.id, 2, 2 * HOUR)
    inboxes.claim_case(fresh(case), owner, now=NOW + hours(1) + minutes(30))
    assert clock_of(case, "tier").claim_seconds == 30 * 60
    inboxes.move(fresh(case), l3, owner, reason="Needs L3", now=NOW + hours(4))
    first, second = clocks_of(case, "tier")
    assert first.outcome == "breached" and first.elapsed_seconds == 3 * HOUR
    assert (second.inbox_id, second.target_seconds, second.stopped_at) == (l3.id, 4 * HOUR, None)
    inboxes.de_escalate(fresh(case), owner, now=NOW + hours(5))
    assert clock_of(case, "tier").outcome == "met"
    # the end-to-end clock ran all along
    assert spent(clock_of(case, "resolution"), NOW + hours(5)) == 5 * HOUR


def test_a_case_seen_first_by_the_sweep_is_timed_from_its_creation(org, agent):
    from escalation.sla.ladder import sweep
    from .factories import make_case
    make_policy(org, 2, first=60)
    case = make_case(org, created_at=NOW)  # no event: written directly
    sweep(NOW + hours(2))
    first = clock_of(case, "first_response")
    assert first.started_at == NOW and first.breached_at == NOW + hours(2)


def test_business_hours_and_time_zone_of_the_organisation(org, agent):
    org.timezone = "America/New_York"
    org.save()
    set_settings(org, hours={str(d): [["09:00", "17:00"]] for d in range(5)}, holiday_country="US")
    make_policy(org, 2, first=60)
    case = new_case(org, agent)  # 09:30 UTC = 04:30 in New York: before opening
    assert clock_of(case, "first_response").due_at == datetime(2026, 11, 2, 15, 0)
