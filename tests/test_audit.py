"""The audit trail's batch recording: ``record_many`` writes several events in one INSERT and
hands them to subscribers that take a batch at once (the SLA clocks, handoff codes), and to the
others one by one; what those subscribers do is the same as for events recorded one at a time."""
from datetime import timedelta

import pytest

from escalation import audit
from escalation.handoff import service as handoff
from escalation.handoff.models import HandoffCode
from escalation.inboxes import service as inboxes
from escalation.models import AuditEvent, Claim

from .factories import NOW, make_case, make_inbox, make_member, make_queue
from .factories_handoff import SECRET, make_worked_case
from .factories_sla import clock_of, fresh, make_tier_target, new_case, strict_sla  # noqa: F401


@pytest.fixture
def listeners():
    """A one-by-one and a batch subscriber on a test action, removed afterwards."""
    one, many = [], []
    action = "test.batched"
    audit.subscribe(action, lambda event: one.append(event.case_id))
    audit.subscribe(action, lambda event: pytest.fail("a batch subscriber got one event"),
                    many=lambda events: many.append([event.case_id for event in events]))
    yield action, one, many
    audit._subscribers.pop(action, None)


def test_record_many_stores_each_event_and_hands_them_to_subscribers(db, org, agent, listeners):
    action, one, many = listeners
    first, second = make_case(org), make_case(org)
    events = audit.record_many(agent, action, [{"case": first, "step": 1},
                                               {"case": second.id, "step": 2, "from": {"x": 1}}],
                               organisation=org.id, now=NOW)
    stored = {event.id: event for event in
              AuditEvent.select().where(AuditEvent.action == action)}
    assert [event.id for event in events] == sorted(stored)
    assert [(stored[e.id].case_id, stored[e.id].data) for e in events] == [
        (first.id, {"step": 1}), (second.id, {"from": {"x": 1}, "step": 2})]
    assert all(stored[e.id].actor_id == agent.id and stored[e.id].created_at == NOW
               for e in events)
    assert one == [first.id, second.id]
    assert many == [[first.id, second.id]]


def test_record_many_of_nothing_records_nothing(db, org, agent, listeners):
    action, one, many = listeners
    assert audit.record_many(agent, action, [], organisation=org.id, now=NOW) == []
    assert (one, many) == ([], [])
    assert not AuditEvent.select().where(AuditEvent.action == action).exists()


def test_a_batch_claim_starts_the_claim_time_of_every_tier_clock(db, org, agent, strict_sla):
    owner = make_member(org, "agent")
    inbox = make_inbox(org, owners=[owner], batch_size=3)
    make_tier_target(inbox, 240)
    claimed_at = NOW + timedelta(minutes=50)
    cases = [new_case(org, agent, subject=f"Case {n}") for n in range(3)]
    for n, case in enumerate(cases):
        inboxes.escalate(fresh(case), inbox, agent, reason="Hardware",
                         now=NOW + timedelta(minutes=10 * n))
    taken = inboxes.claim_batch(inbox, owner, now=claimed_at)
    assert sorted(case.id for case in taken) == sorted(case.id for case in cases)
    # Each hop waited from its own escalation: 50, 40 and 30 business minutes.
    assert sorted(clock_of(case, "tier").claim_seconds for case in cases) == [
        30 * 60, 40 * 60, 50 * 60]
    assert Claim.select().where(Claim.member == owner.id).count() == 3
    assert AuditEvent.select().where(AuditEvent.action == "escalation.claimed").count() == 3


def test_holder_changes_recorded_together_revoke_each_live_code_once(db, org):
    worker = make_member(org, "agent")
    queue = make_queue(org, members=[worker])
    with_code, without = (make_worked_case(org, worker, queue=queue) for _ in range(2))
    code, _plain = handoff.issue_code(with_code, worker, secret_key=SECRET, now=NOW)
    audit.record_many(worker, "case.reassigned", [{"case": with_code.id}, {"case": without.id}],
                      organisation=org.id, now=NOW + timedelta(minutes=1))
    code = HandoffCode.get_by_id(code.id)
    assert code.revoked_reason == "holder_changed" and code.live_case_id is None
    revoked = list(AuditEvent.select().where(AuditEvent.action == "handoff.revoked"))
    assert [(event.case_id, event.data["cause"]) for event in revoked] == [
        (with_code.id, "case.reassigned")]
