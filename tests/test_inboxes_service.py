"""The escalation inboxes' services, called directly with a fixed ``now`` (issue 3)."""
from datetime import timedelta

import pytest

from escalation.errors import Conflict, Invalid, NotAnOwner
from escalation.inboxes import service
from escalation.models import AuditEvent, Case, Claim, Escalation, Inbox, InboxOwner, Message
from escalation.sla.models import Resolution

from .factories import NOW, make_case, make_inbox, make_member, make_queue
from .factories_inboxes import later, make_agent_case, make_escalated


def reply_queue(member):
    return [case.id for case in Case.reply_queue_of(member)]


def events(case, prefix="escalation."):
    return [e for e in AuditEvent.select().where(AuditEvent.case == case.id).order_by(AuditEvent.id)
            if e.action.startswith(prefix)]


def actions(case):
    return [e.action for e in events(case)]


def fresh(case):
    return Case.get_by_id(case.id)


@pytest.fixture
def inbox_owner(org):
    return make_member(org, "agent", name="Ingrid Inboxowner")


@pytest.fixture
def inbox(org, inbox_owner):
    return make_inbox(org, owners=[inbox_owner], name="Hardware L2", batch_size=3,
                      assignment_minutes=60)


# ------------------------------------------------------------------------------------------------
# Escalate

def test_escalate_takes_the_case_out_of_the_agents_reply_queue(db, org, agent, inbox):
    case = make_agent_case(org, agent, first_message="My phone is broken")
    assert reply_queue(agent) == [case.id]

    escalation = service.escalate(case, inbox, agent, reason="Needs a new screen", now=NOW)

    case = fresh(case)
    assert case.inbox_id == inbox.id and case.escalation_id == escalation.id
    assert case.assignee_id is None and case.claimed_by_id is None
    assert case.reply_status == "needs_response"  # escalating never changes the reply status
    assert reply_queue(agent) == []
    assert escalation.origin_agent_id == agent.id and escalation.origin_queue_id == case.queue_id
    assert escalation.escalated_by_id == agent.id and escalation.reason == "Needs a new screen"
    [event] = events(case)
    assert event.action == "escalation.escalated" and event.actor_id == agent.id
    assert event.data["from"] == {"queue_id": case.queue_id, "queue": case.queue.name,
                                  "member_id": agent.id, "member": agent.name}
    assert event.data["to"] == {"inbox_id": inbox.id, "inbox": "Hardware L2"}
    assert event.data["reason"] == "Needs a new screen"


def test_escalate_sends_an_optional_last_message_in_the_same_transaction(db, org, agent, inbox):
    case = make_agent_case(org, agent)
    service.escalate(case, inbox, agent, reason="Specialist", now=NOW,
                     message="A specialist will contact you.")
    [message] = Message.select().where(Message.case == case.id)
    assert (message.kind, message.author_id) == ("out", agent.id)
    assert message.body == "A specialist will contact you."
    assert events(case)[0].data["message_id"] == message.id


def test_escalate_refuses_an_escalated_case_and_rolls_back(db, org, agent, inbox):
    case = make_agent_case(org, agent)
    stale = Case.get_by_id(case.id)
    service.escalate(case, inbox, agent, reason="Once", now=NOW)
    with pytest.raises(Conflict):
        service.escalate(fresh(case), inbox, agent, reason="Twice", now=NOW)
    with pytest.raises(Conflict):  # a copy loaded before the first escalation
        service.escalate(stale, inbox, agent, reason="Twice", now=NOW)
    assert Escalation.select().where(Escalation.case == case.id).count() == 1
    assert actions(case) == ["escalation.escalated"]


def test_escalate_needs_a_reason_a_live_inbox_and_an_open_case(db, org, agent, inbox):
    case = make_agent_case(org, agent)
    with pytest.raises(Invalid) as raised:
        service.escalate(case, inbox, agent, reason="   ", now=NOW)
    assert raised.value.reasons[0][0] == "reason"
    gone = make_inbox(org, owners=[agent], deleted_at=NOW)
    with pytest.raises(Invalid) as raised:
        service.escalate(case, gone, agent, reason="x", now=NOW)
    assert raised.value.reasons[0][0] == "inbox"
    closed = make_agent_case(org, agent, status="closed")
    with pytest.raises(Invalid):
        service.escalate(closed, inbox, agent, reason="x", now=NOW)
    assert Escalation.select().count() == 0 and fresh(case).inbox_id is None


def test_escalate_selected_skips_cases_already_escalated(db, org, supervisor, agent, inbox):
    first, second = make_agent_case(org, agent), make_agent_case(org, agent)
    service.escalate(second, inbox, agent, reason="Earlier", now=NOW)
    done, skipped = service.escalate_selected([first, fresh(second)], inbox, supervisor,
                                              reason="Bulk", now=NOW)
    assert [c.id for c in done] == [first.id] and [c.id for c in skipped] == [second.id]
    assert fresh(first).inbox_id == inbox.id


# ------------------------------------------------------------------------------------------------
# Claim: batch size, order, ownership, the shared predicate

def test_claim_batch_takes_up_to_the_batch_size_in_claim_order(db, org, agent, inbox, inbox_owner):
    queue = make_queue(org, members=[agent])
    oldest_low = make_case(org, queue, priority=1, waiting_since=NOW - timedelta(hours=5))
    responded = make_case(org, queue, priority=4, reply_status="responded",
                          waiting_since=NOW - timedelta(hours=9))
    newer_high = make_case(org, queue, priority=4, waiting_since=NOW - timedelta(hours=1))
    older_high = make_case(org, queue, priority=4, waiting_since=NOW - timedelta(hours=2))
    for case in (oldest_low, responded, newer_high, older_high):
        make_escalated(org, inbox, agent, case=case)

    claimed = service.claim_batch(inbox, inbox_owner, now=NOW)

    assert [c.id for c in claimed] == [older_high.id, newer_high.id, oldest_low.id]
    for case in claimed:
        row = fresh(case)
        assert row.claimed_by_id == inbox_owner.id
        assert row.claim_expires_at == NOW + timedelta(minutes=60)
    # The owner holds the batch size now: nothing more until one is released.
    assert service.claim_batch(inbox, inbox_owner, now=NOW) == []
    claims = list(Claim.select())
    assert len(claims) == 3 and {c.member_id for c in claims} == {inbox_owner.id}
    event = events(older_high)[-1]
    assert event.action == "escalation.claimed"
    assert event.data["from"] == {"inbox_id": inbox.id, "inbox": inbox.name}
    assert event.data["to"] == {"member_id": inbox_owner.id, "member": inbox_owner.name}


def test_claim_counts_what_the_owner_already_holds(db, org, agent, inbox, inbox_owner):
    cases = [make_escalated(org, inbox, agent) for _ in range(5)]
    service.claim_case(cases[4], inbox_owner, now=NOW)
    claimed = service.claim_batch(inbox, inbox_owner, now=NOW)
    assert len(claimed) == 2  # batch size 3, one already held
    assert service.held_by(inbox, inbox_owner, NOW).count() == 3


def test_only_an_owner_of_the_live_inbox_claims(db, org, agent, supervisor, inbox):
    make_escalated(org, inbox, agent)
    with pytest.raises(NotAnOwner):
        service.claim_batch(inbox, supervisor, now=NOW)
    with pytest.raises(NotAnOwner):
        service.claim_batch(inbox, agent, now=NOW)


def test_counts_the_claimable_list_and_the_claim_share_one_predicate(db, org, agent, inbox,
                                                                     inbox_owner):
    other_owner = make_member(org, "agent")
    InboxOwner.create(inbox=inbox, member=other_owner)
    cases = [make_escalated(org, inbox, agent) for _ in range(6)]
    service.claim_case(cases[0], other_owner, now=NOW)                       # live claim
    service.claim_case(cases[1], other_owner, now=NOW - timedelta(hours=2))  # lapsed by NOW
    resolved = cases[2]
    service.resolve_in_inbox(fresh(resolved), agent, now=NOW, note="Fixed")

    claimable = Case.select().where((Case.inbox == inbox.id) & Case.claimable_expr(NOW)).count()
    waiting = list(Case.waiting_in(inbox, NOW))
    assert claimable == len(waiting) == 4  # 3 never claimed + 1 lapsed
    claimed = service.claim_batch(inbox, inbox_owner, now=NOW)
    assert {c.id for c in claimed} == {c.id for c in waiting[:3]}


# ------------------------------------------------------------------------------------------------
# Lapsed claims (an injected clock: no job frees them)

def test_a_lapsed_claim_counts_as_unclaimed_and_is_recorded_once(db, org, agent, inbox,
                                                                 inbox_owner):
    second = make_member(org, "agent")
    InboxOwner.create(inbox=inbox, member=second)
    case = make_escalated(org, inbox, agent)
    service.claim_case(case, inbox_owner, now=NOW)

    assert fresh(case).route(later(59)) == ("inbox_claimed", inbox_owner)
    assert service.claim_batch(inbox, second, now=later(59)) == []
    assert fresh(case).route(later(60))[0] == "inbox"  # lapsed: unclaimed, with no job

    observed_at = later(75)
    assert service.observe_lapses([fresh(case)], now=observed_at) == 1
    assert service.observe_lapses([fresh(case)], now=observed_at) == 0
    assert service.observe_lapses_in({inbox.id}, now=later(80)) == 0
    [lapse] = [e for e in events(case) if e.action == "escalation.claim_lapsed"]
    assert lapse.actor_id is None and lapse.created_at == later(60)
    assert lapse.data["from"]["member_id"] == inbox_owner.id
    assert Claim.get(Claim.case == case.id).end_reason == "lapsed"

    [taken] = service.claim_batch(inbox, second, now=later(90))
    assert taken.id == case.id and fresh(case).claimed_by_id == second.id


def test_claiming_a_lapsed_case_records_the_lapse_first(db, org, agent, inbox, inbox_owner):
    second = make_member(org, "agent")
    InboxOwner.create(inbox=inbox, member=second)
    case = make_escalated(org, inbox, agent)
    service.claim_case(case, inbox_owner, now=NOW)
    service.claim_batch(inbox, second, now=later(61))
    assert actions(case) == ["escalation.escalated", "escalation.claimed",
                             "escalation.claim_lapsed", "escalation.claimed"]
    ends = {c.member_id: c.end_reason for c in Claim.select()}
    assert ends == {inbox_owner.id: "lapsed", second.id: None}


def test_a_claimants_reply_extends_the_lease(db, org, agent, inbox, inbox_owner):
    from escalation import audit
    audit.subscribe("case.replied", service.extend_claim_on_reply)
    case = make_escalated(org, inbox, agent)
    service.claim_case(case, inbox_owner, now=NOW)
    audit.record(inbox_owner, "case.replied", organisation=org, case=case, now=later(50))
    assert fresh(case).claim_expires_at == later(110)
    assert Claim.get(Claim.case == case.id).expires_at == later(110)
    audit.record(agent, "case.replied", organisation=org, case=case, now=later(55))
    assert fresh(case).claim_expires_at == later(110)  # only the claimant's reply counts


# ------------------------------------------------------------------------------------------------
# Release, move, de-escalate, resolve

def test_release_returns_the_case_to_the_inbox(db, org, agent, inbox, inbox_owner):
    case = make_escalated(org, inbox, agent)
    service.claim_case(case, inbox_owner, now=NOW)
    service.release(fresh(case), inbox_owner, now=later(5))
    assert fresh(case).route(later(5)) == ("inbox", inbox)
    assert Claim.get(Claim.case == case.id).end_reason == "released"
    with pytest.raises(Conflict):
        service.release(fresh(case), inbox_owner, now=later(6))


def test_move_ends_the_escalation_and_the_claim(db, org, agent, supervisor, inbox, inbox_owner):
    target = make_inbox(org, owners=[supervisor], name="Spanish speaking")
    case = make_escalated(org, inbox, agent, case=make_agent_case(org, agent))
    service.claim_case(case, inbox_owner, now=NOW)
    first = Escalation.get(Escalation.case == case.id)

    moved = service.move(fresh(case), target, supervisor, reason="Speaks Spanish", now=later(10))

    case = fresh(case)
    assert case.inbox_id == target.id and case.escalation_id == moved.id
    assert case.claimed_by_id is None
    first = Escalation.get_by_id(first.id)
    assert (first.end_reason, first.ended_by_id) == ("moved", supervisor.id)
    assert moved.from_inbox_id == inbox.id and moved.origin_agent_id == agent.id
    assert Claim.get(Claim.case == case.id).end_reason == "moved"
    assert service.held_by(inbox, inbox_owner, later(10)).count() == 0
    event = events(case)[-1]
    assert event.action == "escalation.moved"
    assert event.data["from"] == {"inbox_id": inbox.id, "inbox": inbox.name,
                                  "member_id": inbox_owner.id, "member": inbox_owner.name}
    assert event.data["to"] == {"inbox_id": target.id, "inbox": "Spanish speaking"}
    assert event.data["reason"] == "Speaks Spanish"


def test_move_to_the_same_inbox_is_refused(db, org, agent, supervisor, inbox):
    case = make_escalated(org, inbox, agent)
    with pytest.raises(Invalid) as raised:
        service.move(case, inbox, supervisor, now=NOW)
    assert raised.value.reasons[0][0] == "inbox"
    assert Escalation.select().count() == 1 and actions(case) == ["escalation.escalated"]


def test_de_escalate_returns_to_the_origin_agent_or_the_pool(db, org, agent, supervisor, inbox,
                                                             inbox_owner):
    case = make_escalated(org, inbox, agent, case=make_agent_case(org, agent))
    service.claim_case(case, inbox_owner, now=NOW)
    service.de_escalate(fresh(case), inbox_owner, now=later(5), to="agent", reason="Fixed")
    case = fresh(case)
    assert (case.inbox_id, case.escalation_id, case.claimed_by_id) == (None, None, None)
    assert case.assignee_id == agent.id and reply_queue(agent) == [case.id]
    escalation = Escalation.get(Escalation.case == case.id)
    assert escalation.end_reason == "de_escalated"
    event = events(case)[-1]
    assert event.action == "escalation.de_escalated"
    assert event.data["to"] == {"queue_id": case.queue_id, "queue": case.queue.name,
                                "member_id": agent.id, "member": agent.name}

    pooled = make_escalated(org, inbox, agent, case=make_agent_case(org, agent))
    service.de_escalate(pooled, supervisor, now=NOW, to="pool")
    assert fresh(pooled).assignee_id is None and fresh(pooled).inbox_id is None


def test_de_escalate_goes_to_the_pool_when_the_agent_left_the_queue(db, org, agent, supervisor,
                                                                    inbox):
    from escalation.models import QueueMember
    case = make_escalated(org, inbox, agent, case=make_agent_case(org, agent))
    assert service.de_escalation_target(case)[1] == agent
    QueueMember.delete().where(QueueMember.member == agent.id).execute()
    assert service.de_escalation_target(case)[1] is None
    service.de_escalate(case, supervisor, now=NOW, to="agent")
    assert fresh(case).assignee_id is None
    assert events(case)[-1].data["to"] == {"queue_id": case.queue_id, "queue": case.queue.name}


def test_resolve_in_inbox_keeps_it_there_as_resolved(db, org, agent, inbox, inbox_owner):
    case = make_escalated(org, inbox, agent)
    service.claim_case(case, inbox_owner, now=NOW)
    service.resolve_in_inbox(fresh(case), inbox_owner, now=later(20), note="Replaced the screen")
    case = fresh(case)
    assert case.status == "resolved" and case.inbox_id == inbox.id and case.claimed_by_id is None
    assert Escalation.get(Escalation.case == case.id).end_reason == "resolved"
    # The note is the case's resolution note (kept with the event and the resolution), not an
    # internal note on the timeline.
    assert events(case)[-1].data["note"] == "Replaced the screen"
    assert Resolution.get(Resolution.case == case.id).note == "Replaced the screen"
    assert not Message.select().where((Message.case == case.id) & (Message.kind == "note")).exists()
    assert not Case.select().where((Case.inbox == inbox.id)
                                   & Case.claimable_expr(later(20))).exists()
    with pytest.raises(Conflict):
        service.resolve_in_inbox(case, inbox_owner, now=later(21), note="Again")


def test_resolve_in_inbox_needs_a_note(db, org, agent, inbox, inbox_owner):
    case = make_escalated(org, inbox, agent)
    service.claim_case(case, inbox_owner, now=NOW)
    for note in (None, "", "  "):
        with pytest.raises(Invalid) as refused:
            service.resolve_in_inbox(fresh(case), inbox_owner, now=later(5), note=note)
        assert [field for field, _message in refused.value.reasons] == ["note"]
    row = fresh(case)
    assert row.status == "open" and row.claimed_by_id == inbox_owner.id
    assert actions(case) == ["escalation.escalated", "escalation.claimed"]


def test_actions_on_a_stale_copy_conflict(db, org, agent, supervisor, inbox, inbox_owner):
    target = make_inbox(org, owners=[supervisor])
    case = make_escalated(org, inbox, agent)
    stale = fresh(case)
    service.claim_case(case, inbox_owner, now=NOW)
    for act in (lambda: service.move(stale, target, supervisor, now=NOW),
                lambda: service.de_escalate(stale, supervisor, now=NOW),
                lambda: service.resolve_in_inbox(stale, supervisor, now=NOW, note="Fixed"),
                lambda: service.claim_case(stale, inbox_owner, now=NOW)):
        with pytest.raises(Conflict):
            act()
    assert fresh(case).claimed_by_id == inbox_owner.id
    assert actions(case) == ["escalation.escalated", "escalation.claimed"]


# ------------------------------------------------------------------------------------------------
# Inboxes: create, edit (owner removal), delete

def test_create_inbox_validates_every_field(db, org, admin, agent, other_org):
    stranger = make_member(other_org, "agent")
    inactive = make_member(org, "agent", active=False)
    with pytest.raises(Invalid) as raised:
        service.create_inbox(org, admin, now=NOW, name="", tier=7, batch_size=0,
                             assignment_minutes=4, owners=[])
    assert [field for field, _ in raised.value.reasons] == [
        "name", "tier", "batch_size", "assignment_minutes", "owners"]
    for owners in ([stranger], [inactive]):
        with pytest.raises(Invalid) as raised:
            service.create_inbox(org, admin, now=NOW, name="X", owners=owners)
        assert raised.value.reasons == [("owners", raised.value.reasons[0][1])]
    with pytest.raises(Invalid):
        service.create_inbox(org, admin, now=NOW, name="X", batch_size=101, owners=[agent])
    with pytest.raises(Invalid):
        service.create_inbox(org, admin, now=NOW, name="X", assignment_minutes=7 * 24 * 60 + 1,
                             owners=[agent])
    inbox = service.create_inbox(org, admin, now=NOW, name=" Spanish speaking ", tier=1,
                                 batch_size=100, assignment_minutes=7 * 24 * 60, owners=[agent])
    assert inbox.name == "Spanish speaking"
    assert [o.member_id for o in inbox.owners] == [agent.id]
    with pytest.raises(Invalid) as raised:
        service.create_inbox(org, admin, now=NOW, name="spanish SPEAKING", owners=[agent])
    assert raised.value.reasons[0][0] == "name"
    [event] = AuditEvent.select().where(AuditEvent.action == "inbox.created")
    assert event.data["owners"] == [{"member_id": agent.id, "member": agent.name}]


def test_an_owner_removed_from_an_inbox_loses_their_claims_there(db, org, admin, agent, inbox,
                                                                 inbox_owner):
    elsewhere = make_inbox(org, owners=[inbox_owner])
    kept_owner = make_member(org, "agent")
    here = make_escalated(org, inbox, agent)
    there = make_escalated(org, elsewhere, agent)
    service.claim_case(here, inbox_owner, now=NOW)
    service.claim_case(there, inbox_owner, now=NOW)

    service.update_inbox(inbox, admin, now=later(1), name=inbox.name, tier=2, batch_size=3,
                         assignment_minutes=60, owners=[kept_owner])

    assert fresh(here).claimed_by_id is None
    assert fresh(there).claimed_by_id == inbox_owner.id
    assert Claim.get(Claim.case == here.id).end_reason == "owner_removed"
    released = events(here)[-1]
    assert released.action == "escalation.released" and released.data["cause"] == "owner_removed"
    with pytest.raises(NotAnOwner):
        service.claim_batch(inbox, inbox_owner, now=later(2))
    [updated] = AuditEvent.select().where(AuditEvent.action == "inbox.updated")
    assert updated.data["owners_removed"] == [inbox_owner.id]


def test_delete_inbox_de_escalates_every_case_even_claimed_ones(db, org, admin, agent, inbox,
                                                                inbox_owner):
    claimed = make_escalated(org, inbox, agent, case=make_agent_case(org, agent))
    waiting = make_escalated(org, inbox, agent)
    service.claim_case(claimed, inbox_owner, now=NOW)
    token = service.deletion_token(list(service.cases_in(inbox)))

    assert service.delete_inbox(inbox, admin, now=later(3), expected=token) == 2

    assert Inbox.get_by_id(inbox.id).deleted_at == later(3)
    assert inbox.id not in [i.id for i in Inbox.for_org(org)]
    for case in (claimed, waiting):
        row = fresh(case)
        assert (row.inbox_id, row.claimed_by_id) == (None, None)
        assert Escalation.get(Escalation.case == case.id).end_reason == "inbox_deleted"
        assert events(case)[-1].action == "escalation.de_escalated"
        assert events(case)[-1].data["cause"] == "inbox_deleted"
    assert fresh(claimed).assignee_id == agent.id  # back to the origin agent
    assert Claim.get(Claim.case == claimed.id).end_reason == "inbox_deleted"
    [deleted] = AuditEvent.select().where(AuditEvent.action == "inbox.deleted")
    assert deleted.data["cases"] == 2
    with pytest.raises(Conflict):
        service.delete_inbox(inbox, admin, now=later(4))


def test_delete_inbox_refuses_when_the_inbox_changed_after_confirming(db, org, admin, agent, inbox,
                                                                      inbox_owner):
    case = make_escalated(org, inbox, agent)
    token = service.deletion_token(list(service.cases_in(inbox)))
    service.claim_case(case, inbox_owner, now=NOW)
    with pytest.raises(Conflict):
        service.delete_inbox(inbox, admin, now=NOW, expected=token)
    assert Inbox.get_by_id(inbox.id).deleted_at is None
    assert fresh(case).claimed_by_id == inbox_owner.id


def test_escalated_cases_are_never_in_a_queues_pool(db, org, agent, inbox):
    queue = make_queue(org, members=[agent])
    pooled = make_case(org, queue)
    escalated = make_escalated(org, inbox, agent, case=make_case(org, queue))
    assert [row.id for row in Case.pool_of([queue.id])] == [pooled.id]
    assert escalated.assignee_id is None


def test_the_case_state_equals_what_its_events_say(db, org, admin, agent, supervisor, inbox,
                                                   inbox_owner):
    target = make_inbox(org, owners=[inbox_owner])
    case = make_escalated(org, inbox, agent, case=make_agent_case(org, agent))
    service.claim_case(case, inbox_owner, now=NOW)
    service.release(fresh(case), inbox_owner, now=later(1))
    service.claim_batch(inbox, inbox_owner, now=later(2))
    service.move(fresh(case), target, supervisor, now=later(3))
    service.claim_batch(target, inbox_owner, now=later(4))
    service.de_escalate(fresh(case), supervisor, now=later(5), to="pool")
    assert replay(case) == route_of(fresh(case))


def route_of(case):
    return {"inbox": case.inbox_id, "claimed_by": case.claimed_by_id, "assignee": case.assignee_id}


def replay(case):
    """The route the case's escalation events describe, event by event."""
    state = {"inbox": None, "claimed_by": None, "assignee": None}
    first = True
    for event in events(case):
        data = event.data
        if first:
            state["assignee"] = data["from"].get("member_id")
            first = False
        if event.action in ("escalation.escalated", "escalation.moved"):
            state.update(inbox=data["to"]["inbox_id"], claimed_by=None, assignee=None)
        elif event.action == "escalation.claimed":
            state["claimed_by"] = data["to"]["member_id"]
        elif event.action in ("escalation.released", "escalation.claim_lapsed",
                              "escalation.resolved"):
            state["claimed_by"] = None
        elif event.action == "escalation.de_escalated":
            state.update(inbox=None, claimed_by=None, assignee=data["to"].get("member_id"))
    return state


# ------------------------------------------------------------------------------------------------
# The queues never take an escalated case; other areas' events keep the route right

def test_request_more_reassign_and_take_never_touch_an_escalated_case(db, org, agent, supervisor,
                                                                      inbox, inbox_owner):
    from escalation.cases import service as cases
    queue = make_queue(org, members=[agent])
    case = make_escalated(org, inbox, agent, case=make_case(org, queue))
    service.claim_case(case, inbox_owner, now=NOW)
    assert cases.request_more(agent, now=NOW, batch_size=10) == []
    for act in (lambda: cases.reassign(fresh(case), supervisor, assignee=agent, now=NOW),
                lambda: cases.reassign(fresh(case), supervisor, assignee=None, now=NOW),
                lambda: cases.take(fresh(case), agent, now=NOW)):
        with pytest.raises((Invalid, Conflict)):
            act()
    row = fresh(case)
    assert (row.inbox_id, row.claimed_by_id, row.assignee_id) == (inbox.id, inbox_owner.id, None)


def test_resolving_through_the_case_status_ends_the_escalation(db, org, agent, inbox,
                                                               inbox_owner):
    from escalation.cases import service as cases
    case = make_escalated(org, inbox, agent)
    service.claim_case(case, inbox_owner, now=NOW)
    cases.change_status(fresh(case), inbox_owner, status="resolved", now=later(5),
                        note="Fixed")
    row = fresh(case)
    assert row.status == "resolved" and row.inbox_id == inbox.id and row.claimed_by_id is None
    assert Escalation.get(Escalation.case == case.id).end_reason == "resolved"
    assert Claim.get(Claim.case == case.id).end_reason == "resolved"
    assert actions(case)[-1] == "escalation.resolved"
    assert replay(case) == route_of(row)


def test_a_contact_writing_back_reopens_the_case_in_its_inbox(db, org, agent, inbox, inbox_owner):
    from escalation.cases import service as cases
    case = make_escalated(org, inbox, agent)
    service.resolve_in_inbox(case, inbox_owner, now=NOW, note="Fixed")
    cases.record_inbound(fresh(case), body="It broke again", now=later(60))
    row = fresh(case)
    assert row.status == "open" and row.inbox_id == inbox.id
    stays = list(Escalation.select().where(Escalation.case == case.id).order_by(Escalation.id))
    assert [s.end_reason for s in stays] == ["resolved", None]
    assert row.escalation_id == stays[-1].id
    assert [c.id for c in service.claim_batch(inbox, inbox_owner, now=later(61))] == [case.id]


def test_a_deactivated_owner_loses_their_claims(db, org, admin, agent, inbox, inbox_owner):
    from escalation.admin import service as admin_service
    case = make_escalated(org, inbox, agent)
    service.claim_case(case, inbox_owner, now=NOW)
    admin_service.deactivate_member(inbox_owner, admin, now=later(1))
    assert fresh(case).claimed_by_id is None
    assert events(case)[-1].data["cause"] == "owner_deactivated"
    assert Claim.get(Claim.case == case.id).end_reason == "owner_deactivated"


def test_a_page_view_records_a_bounded_number_of_lapses(org):
    """A pile of claims that lapsed unseen is recorded a few at a time, so no page view stalls."""
    from datetime import timedelta

    from escalation.inboxes import service as inboxes
    from escalation.models import AuditEvent, Case

    from .factories import NOW, make_case, make_inbox, make_member, make_queue

    owner = make_member(org, "agent")
    inbox = make_inbox(org, owners=[owner], batch_size=5, assignment_minutes=10)
    queue = make_queue(org)
    for _ in range(5):
        inboxes.escalate(make_case(org, queue), inbox, owner, reason="r", now=NOW)
    assert len(inboxes.claim_batch(inbox, owner, now=NOW)) == 5
    later = NOW + timedelta(minutes=11)
    lapses = AuditEvent.select().where(AuditEvent.action == "escalation.claim_lapsed")
    assert inboxes.observe_lapses_in([inbox.id], now=later, limit=2) == 2
    assert lapses.count() == 2
    assert inboxes.observe_lapses_in([inbox.id], now=later, limit=2) == 2
    assert inboxes.observe_lapses_in([inbox.id], now=later, limit=2) == 1
    assert lapses.count() == 5
    assert Case.select().where(Case.claimed_by.is_null(False)).count() == 0
