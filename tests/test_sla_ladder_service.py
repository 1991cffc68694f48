"""The breach ladder: steps fire once, in order; concurrent sweeps; deactivated policies."""
import threading

import pytest

from escalation.db import database
from escalation.inboxes import service as inboxes
from escalation.models import AuditEvent, Case
from escalation.sla import policies
from escalation.sla.ladder import sweep
from escalation.sla.models import Notification, StepFiring

from .factories import NOW, make_inbox, make_member
from .factories_sla import (ALWAYS, HOUR, clock_of, fresh, hours, make_policy, make_step,  # noqa: F401
                            make_tier_target, minutes, new_case, set_settings, strict_sla, app_ctx)

pytestmark = pytest.mark.usefixtures("app_ctx")


def around_the_clock(org):
    set_settings(org, hours=ALWAYS, holiday_country=None)


def fired(case):
    return [(f.step_id, f.result) for f in
            StepFiring.select().where(StepFiring.case == case.id).order_by(StepFiring.id)]


def events_of(case, action):
    return list(AuditEvent.select().where((AuditEvent.case == case.id)
                                          & (AuditEvent.action == action))
                .order_by(AuditEvent.id))


def notices(member, kind=None):
    query = Notification.select().where(Notification.member == member.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(query.order_by(Notification.id))


def test_steps_fire_once_each_in_order(org, agent, supervisor):
    around_the_clock(org)
    policy = make_policy(org, 2, first=None, next_=None, resolution=10 * 60)
    # added out of order on purpose: the goal decides the order
    late = make_step(org, policy=policy, offset=60, action="raise_priority", position=0)
    warn = make_step(org, policy=policy, percent=75, action="notify_claimant", position=1)
    breach = make_step(org, policy=policy, offset=0, action="notify_owners", position=2)
    case = new_case(org, agent)
    assert clock_of(case, "resolution").next_check_at == NOW + hours(7.5)

    sweep(NOW + hours(7))
    assert fired(case) == []
    sweep(NOW + hours(8))
    assert fired(case) == [(warn.id, "done")]
    assert clock_of(case, "resolution").warning_at == NOW + hours(8)
    assert [n.kind for n in notices(agent)] == ["sla_warning"]
    sweep(NOW + hours(8))  # again: nothing more
    assert len(fired(case)) == 1 and len(notices(agent)) == 1

    sweep(NOW + hours(12))  # past the breach and the hour after it, in one sweep
    assert fired(case) == [(warn.id, "done"), (breach.id, "done"), (late.id, "done")]
    assert [e.data["step_action"] for e in events_of(case, "sla.step_fired")] == \
        ["notify_claimant", "notify_owners", "raise_priority"]
    assert len(events_of(case, "sla.breached")) == 1
    assert [n.kind for n in notices(supervisor)] == ["sla_breach"]  # not escalated: the leads
    assert fresh(case).priority == 3
    sweep(NOW + hours(20))
    assert len(fired(case)) == 3 and len(events_of(case, "sla.breached")) == 1


def test_raising_the_priority_moves_the_clock_to_that_policy(org, agent):
    around_the_clock(org)
    normal = make_policy(org, 2, resolution=10 * 60)
    make_policy(org, 3, resolution=5 * 60)
    make_step(org, policy=normal, percent=50, action="raise_priority")
    case = new_case(org, agent)
    sweep(NOW + hours(5))
    clock = clock_of(case, "resolution")
    assert fresh(case).priority == 3
    assert clock.target_seconds == 5 * HOUR and clock.elapsed_seconds == 5 * HOUR


def test_paused_clocks_do_not_advance_the_ladder(org, agent):
    from escalation.cases import service as cases
    around_the_clock(org)
    policy = make_policy(org, 2, resolution=4 * 60)
    make_step(org, policy=policy, percent=50, action="notify_claimant")
    case = new_case(org, agent)
    cases.change_status(fresh(case), agent, status="waiting", now=NOW + hours(1))
    sweep(NOW + hours(10))
    assert fired(case) == [] and clock_of(case, "resolution").breached_at is None
    cases.change_status(fresh(case), agent, status="open", now=NOW + hours(10))
    assert clock_of(case, "resolution").next_check_at == NOW + hours(11)
    sweep(NOW + hours(11))
    assert len(fired(case)) == 1


def test_a_policy_deactivated_mid_way_stops_its_steps_and_clears_the_warning(org, agent, admin):
    around_the_clock(org)
    policy = make_policy(org, 2, first=None, next_=None, resolution=10 * 60)
    make_step(org, policy=policy, percent=50, action="notify_claimant")
    make_step(org, policy=policy, offset=0, action="notify_claimant")
    case = new_case(org, agent)
    sweep(NOW + hours(6))
    assert clock_of(case, "resolution").warning_at is not None
    policies.set_policy_active(policy, admin, active=False, now=NOW + hours(7))
    clock = clock_of(case, "resolution")
    assert clock.warning_at is None and clock.next_check_at is None and clock.target_seconds is None
    sweep(NOW + hours(12))
    assert len(fired(case)) == 1
    assert clock_of(case, "resolution").breached_at is None
    # Active again: the clock counts against its target again, the remaining step runs
    policies.set_policy_active(policy, admin, active=True, now=NOW + hours(13))
    sweep(NOW + hours(13))
    assert len(fired(case)) == 2 and clock_of(case, "resolution").breached_at == NOW + hours(13)


def test_inbox_ladders_act_on_tier_clocks(org, agent):
    around_the_clock(org)
    owner = make_member(org, "agent")
    l2 = make_inbox(org, owners=[owner], tier=2, assignment_minutes=24 * 60)
    l3 = make_inbox(org, owners=[owner], tier=3)
    make_tier_target(l2, 120)
    make_step(org, inbox=l2, percent=50, action="notify_claimant")
    make_step(org, inbox=l2, offset=0, action="release_claim")
    make_step(org, inbox=l2, offset=30, action="escalate_next")
    case = new_case(org, agent)
    inboxes.escalate(fresh(case), l2, agent, reason="Disk", now=NOW)
    inboxes.claim_case(fresh(case), owner, now=NOW + minutes(10))
    sweep(NOW + hours(1))
    assert [n.kind for n in notices(owner, "sla_warning")] == ["sla_warning"]
    sweep(NOW + hours(2))
    assert fresh(case).claimed_by_id is None
    assert [n.kind for n in notices(owner, "released")] == ["released"]
    sweep(NOW + hours(3))
    moved = fresh(case)
    assert moved.inbox_id == l3.id
    assert clock_of(case, "tier").inbox_id == l3.id
    assert [e.data["result"] for e in events_of(case, "sla.step_fired")] == ["done"] * 3


def test_a_step_with_nobody_to_tell_is_recorded_as_such(org, agent):
    around_the_clock(org)
    policy = make_policy(org, 2, first=60)
    make_step(org, policy=policy, kind="first_response", offset=0, action="release_claim")
    case = new_case(org, agent)
    sweep(NOW + hours(2))
    assert [result for _, result in fired(case)] == ["skipped"]


def run_concurrently(app, count, work):
    barrier = threading.Barrier(count)
    errors = []

    def runner():
        try:
            with app.app_context(), database.connection_context():
                barrier.wait(timeout=30)
                work()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=runner) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


def test_concurrent_sweeps_fire_every_step_once(app, db, org, agent, supervisor):
    around_the_clock(org)
    policy = make_policy(org, 2, first=None, next_=None, resolution=4 * 60)
    make_step(org, policy=policy, percent=50, action="notify_claimant")
    make_step(org, policy=policy, offset=0, action="notify_owners")
    make_step(org, policy=policy, offset=30, action="raise_priority")
    created = [new_case(org, agent, subject=f"Case {n}") for n in range(5)]
    db.close()
    run_concurrently(app, 4, lambda: sweep(NOW + hours(6)))
    database.connect(reuse_if_open=True)
    for case in created:
        assert len(fired(case)) == 3
        assert len(events_of(case, "sla.breached")) == 1
        assert len(events_of(case, "sla.priority_raised")) == 1
        assert Case.get_by_id(case.id).priority == 3
    # one notice per step and case (the warning step fired late, so it tells of the breach)
    assert len(notices(agent)) == 5 and len(notices(supervisor)) == 5


def test_the_sweep_command(app, db, org, agent):
    around_the_clock(org)
    policy = make_policy(org, 2, first=None, next_=None, resolution=60)
    make_step(org, policy=policy, offset=0, action="notify_claimant")
    new_case(org, agent, now=NOW - hours(3))
    db.close()
    result = app.test_cli_runner().invoke(args=["sla", "sweep"])
    database.connect(reuse_if_open=True)
    assert result.exit_code == 0, result.output
    assert "fired: 1" in result.output
    assert len(notices(agent)) == 1
    result = app.test_cli_runner().invoke(args=["sla", "sweep", "--help"])
    assert "--every" in result.output
