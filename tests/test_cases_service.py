"""The cases services, called directly with a fixed ``now`` on both databases."""
from datetime import timedelta

import pytest

from escalation import audit
from escalation.cases import service
from escalation.cases.service import ContactDetails
from escalation.errors import Conflict, Forbidden, Invalid, NotFound
from escalation.models import AuditEvent, Case, Contact, Escalation, Message

from . import factories
from .factories import NOW


def events(case=None, action=None):
    query = AuditEvent.select().order_by(AuditEvent.id)
    if case is not None:
        query = query.where(AuditEvent.case == case.id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list(query)


def fresh(case):
    return Case.get_by_id(case.id)


def fields_of(invalid):
    return [field for field, _ in invalid.value.reasons]


@pytest.fixture
def queue(org, agent):
    return factories.make_queue(org, members=[agent], name="Servicedesk")


@pytest.fixture
def contact(org):
    return factories.make_contact(org, name="Lena Lind", email="lena@example.test")


@pytest.fixture
def mine(org, queue, agent, contact):
    """A case with the agent, waiting for a reply since an hour before NOW."""
    return factories.make_case(org, queue, requester=contact, assignee=agent,
                               created_at=NOW - timedelta(hours=1), first_message="Hej!")


@pytest.fixture
def escalated(org, queue, agent, supervisor, contact):
    """A case escalated from the agent into an inbox and claimed by the supervisor."""
    inbox = factories.make_inbox(org, owners=[supervisor], name="Hardware")
    case = factories.make_case(org, queue, requester=contact, assignee=agent, inbox=inbox,
                               claimed_by=supervisor, claim_expires_at=NOW + timedelta(minutes=30),
                               created_at=NOW - timedelta(hours=2))
    row = Escalation.create(organisation=org, case=case, inbox=inbox, origin_queue=queue,
                            origin_agent=agent, escalated_by=agent,
                            escalated_at=NOW - timedelta(hours=1))
    Case.update(escalation_id=row.id).where(Case.id == case.id).execute()
    return fresh(case)


# ---------------------------------------------------------------------------------------------
# Contacts

def test_create_contact_records_who_and_cleans_input(org, agent):
    contact = service.create_contact(agent, details=ContactDetails(
        name="  Maja Magnusson ", email=" Maja@Example.TEST ", phone=" +46 70-123 45 67 ",
        locale="sv"), now=NOW)
    assert (contact.name, contact.email, contact.phone, contact.locale) == (
        "Maja Magnusson", "maja@example.test", "+46 70-123 45 67", "sv")
    assert contact.organisation_id == org.id
    [event] = events(action="contact.created")
    assert (event.actor_id, event.subject_id, event.created_at) == (agent.id, contact.id, NOW)


def test_create_contact_refuses_bad_input(org, agent):
    with pytest.raises(Invalid) as invalid:
        service.create_contact(agent, details=ContactDetails(
            name="", email="not-an-email", phone="call me", locale="de"), now=NOW)
    assert fields_of(invalid) == ["name", "email", "phone", "locale"]
    assert Contact.select().count() == 0


def test_create_contact_refuses_an_email_the_organisation_has(org, other_org, agent, contact):
    factories.make_contact(other_org, email="per@example.test")
    with pytest.raises(Invalid) as invalid:
        service.create_contact(agent, now=NOW, details=ContactDetails(
            name="Lena L", email="LENA@example.test"))
    assert fields_of(invalid) == ["email"]
    # Another organisation's contact with the same address is no obstacle.
    assert service.create_contact(agent, details=ContactDetails(
        name="Per", email="per@example.test"), now=NOW).email == "per@example.test"


def test_update_contact_changes_only_what_differs(org, agent, contact):
    service.update_contact(contact, agent, details=ContactDetails(
        name="Lena Lind", email="lena@example.test", phone="08-123 45", locale="sv"), now=NOW)
    stored = Contact.get_by_id(contact.id)
    assert (stored.phone, stored.locale) == ("08-123 45", "sv")
    [event] = events(action="contact.updated")
    assert event.data["fields"] == ["locale", "phone"]
    service.update_contact(contact, agent, details=ContactDetails(
        name="Lena Lind", email="lena@example.test", phone="08-123 45", locale="sv"), now=NOW)
    assert len(events(action="contact.updated")) == 1


def test_update_contact_checks_email_and_organisation(org, other_org, agent, contact, outsider):
    factories.make_contact(org, email="taken@example.test")
    with pytest.raises(Invalid) as invalid:
        service.update_contact(contact, agent, details=ContactDetails(
            name="Lena", email="taken@example.test"), now=NOW)
    assert fields_of(invalid) == ["email"]
    with pytest.raises(NotFound):
        service.update_contact(contact, outsider, details=ContactDetails(name="X"), now=NOW)


def test_search_contacts_matches_name_email_or_phone_in_the_organisation(org, other_org):
    factories.make_contact(org, name="Per Persson", email="per@a.test", phone="070-111")
    factories.make_contact(org, name="Sara Sandberg", email="sara@b.test", phone="070-222")
    factories.make_contact(other_org, name="Per Other", email="per@c.test")
    assert [c.name for c in service.search_contacts(org.id, "per")] == ["Per Persson"]
    assert [c.name for c in service.search_contacts(org.id, "b.test")] == ["Sara Sandberg"]
    assert [c.name for c in service.search_contacts(org.id, "222")] == ["Sara Sandberg"]
    assert [c.name for c in service.search_contacts(org.id, "%")] == []
    first = service.search_contacts(org.id, "", limit=1).first()
    assert [c.name for c in service.search_contacts(org.id, "", after=first)] == ["Sara Sandberg"]


# ---------------------------------------------------------------------------------------------
# New case

def test_create_case_with_an_existing_requester_and_a_new_person_it_is_for(org, queue, agent,
                                                                          contact):
    case = service.create_case(
        agent, queue=queue.id, subject=" Ny mus ", description="Musen är trasig.", priority=3,
        requester=contact, requested_for=ContactDetails(name="Karin Karlsson", locale="sv"),
        now=NOW)
    case = fresh(case)
    assert (case.subject, case.priority, case.status, case.reply_status) == (
        "Ny mus", 3, "open", "needs_response")
    assert (case.assignee_id, case.waiting_since, case.created_at) == (agent.id, NOW, NOW)
    assert case.requester_id == contact.id
    assert case.requested_for.name == "Karin Karlsson"
    [message] = Message.select().where(Message.case == case.id)
    assert (message.kind, message.body, message.contact_id) == (
        "in", "Musen är trasig.", contact.id)
    [created] = events(case, "case.created")
    assert created.data["queue_name"] == "Servicedesk"
    assert created.data["requested_for_name"] == "Karin Karlsson"
    assert created.data["assignee_name"] == "Alice Agent"
    assert len(events(action="contact.created")) == 1


def test_create_case_left_in_the_pool(org, queue, agent):
    case = service.create_case(agent, queue=queue.id, subject="Printer", description="Broken",
                               priority=2, requester=ContactDetails(name="Walk-in"),
                               assign_to_me=False, now=NOW)
    assert fresh(case).assignee_id is None
    assert fresh(case).requester.name == "Walk-in"


def test_create_case_refuses_what_is_missing_and_saves_nothing(org, queue, agent):
    with pytest.raises(Invalid) as invalid:
        service.create_case(agent, queue=queue.id, subject="", description=" ", priority=9,
                            requester=None, now=NOW)
    assert fields_of(invalid) == ["subject", "description", "priority", "requester"]
    with pytest.raises(Invalid) as invalid:
        service.create_case(agent, queue=queue.id, subject="S", description="D", priority=2,
                            requester=ContactDetails(name="", email="bad"), now=NOW)
    assert fields_of(invalid) == ["requester_name", "requester_email"]
    assert Case.select().count() == 0 and Contact.select().count() == 0


def test_create_case_only_in_the_members_queues_leads_use_any(org, other_org, agent, supervisor,
                                                            contact):
    elsewhere = factories.make_queue(org, name="Hardware L2")
    foreign = factories.make_queue(other_org)
    with pytest.raises(Invalid) as invalid:
        service.create_case(agent, queue=elsewhere.id, subject="S", description="D", priority=2,
                            requester=contact, now=NOW)
    assert fields_of(invalid) == ["queue"]
    assert service.create_case(supervisor, queue=elsewhere.id, subject="S", description="D",
                               priority=2, requester=contact, now=NOW).queue_id == elsewhere.id
    with pytest.raises(Invalid):
        service.create_case(supervisor, queue=foreign.id, subject="S", description="D",
                            priority=2, requester=contact, now=NOW)


def test_create_case_refuses_another_organisations_contact(org, other_org, queue, agent):
    foreign = factories.make_contact(other_org)
    with pytest.raises(Invalid) as invalid:
        service.create_case(agent, queue=queue.id, subject="S", description="D", priority=2,
                            requester=foreign, now=NOW)
    assert fields_of(invalid) == ["requester"]


def test_requested_for_the_requester_is_nobody_else(org, queue, agent, contact):
    case = service.create_case(agent, queue=queue.id, subject="S", description="D", priority=2,
                               requester=contact, requested_for=contact, now=NOW)
    assert fresh(case).requested_for_id is None


# ---------------------------------------------------------------------------------------------
# The conversation

def test_reply_answers_the_contact(org, mine, agent, contact):
    seen = []
    audit.subscribe("case.replied", seen.append)
    message = service.reply(mine, agent, body="  Vi tittar på det.  ", now=NOW)
    case = fresh(mine)
    assert (case.reply_status, case.waiting_since, case.status) == ("responded", None, "open")
    assert (case.version, case.updated_at) == (mine.version, NOW)
    assert mine.version == 2 and mine.reply_status == "responded"
    assert (message.kind, message.body, message.author_id, message.contact_id) == (
        "out", "Vi tittar på det.", agent.id, contact.id)
    [event] = events(mine, "case.replied")
    assert (event.actor_id, event.subject_type, event.subject_id) == (
        agent.id, "message", message.id)
    assert seen and seen[-1].case_id == mine.id


def test_reply_can_set_the_status_too(org, mine, agent):
    service.reply(mine, agent, body="Tell me when it works.", then_status="waiting", now=NOW)
    assert (fresh(mine).status, fresh(mine).reply_status) == ("waiting", "responded")
    [event] = events(mine, "case.status_changed")
    assert event.data == {"from": "open", "to": "waiting"}
    with pytest.raises(Invalid) as refused:  # resolving always needs the resolution note
        service.reply(mine, agent, body="Solved!", then_status="resolved", now=NOW)
    assert refused.value.reasons[0][0] == "note"
    assert fresh(mine).status == "waiting"
    service.reply(mine, agent, body="Solved!", then_status="resolved", note="Reinstalled",
                  now=NOW)
    assert (fresh(mine).status, fresh(mine).reply_status) == ("resolved", "closed")
    [resolved] = events(mine, "case.resolved")
    assert resolved.data["note"] == "Reinstalled"


def test_reply_to_a_pool_case_takes_it(org, queue, agent):
    case = factories.make_case(org, queue)
    service.reply(case, agent, body="Hi", now=NOW)
    assert fresh(case).assignee_id == agent.id
    [assigned] = events(case, "case.assigned")
    assert assigned.data["via"] == "reply"


def test_reply_refuses_empty_closed_and_stale(org, queue, mine, agent, supervisor):
    with pytest.raises(Invalid) as invalid:
        service.reply(mine, agent, body="   ", now=NOW)
    assert fields_of(invalid) == ["body"]
    with pytest.raises(Invalid):
        service.reply(mine, agent, body="Hi", then_status="closed", now=NOW)
    stale = fresh(mine)
    service.reassign(mine, supervisor, assignee=supervisor, now=NOW)
    with pytest.raises(Conflict):
        service.reply(stale, agent, body="Hi", now=NOW)
    closed = factories.make_case(org, queue, assignee=agent, status="closed")
    with pytest.raises(Invalid):
        service.reply(closed, agent, body="Hi", now=NOW)
    assert Message.select().where(Message.kind == "out").count() == 0


def test_reply_and_note_keep_an_escalated_cases_route(escalated, supervisor):
    route = (escalated.inbox_id, escalated.claimed_by_id, escalated.assignee_id,
             escalated.escalation_id)
    expires = escalated.claim_expires_at
    service.reply(escalated, supervisor, body="On it", now=NOW)
    service.add_note(escalated, supervisor, body="Needs a new screen", now=NOW)
    service.change_status(escalated, supervisor, status="waiting", now=NOW)
    service.record_inbound(escalated, body="Thanks", now=NOW)
    case = fresh(escalated)
    assert (case.inbox_id, case.claimed_by_id, case.assignee_id, case.escalation_id) == route
    # The claim is never cut short (the inboxes area may extend it when the claimant replies).
    assert case.claim_expires_at >= expires
    assert events(escalated, "case.replied")[0].case_id == escalated.id


def test_add_note_is_internal(org, mine, agent):
    message = service.add_note(mine, agent, body="Ring tillbaka i morgon", now=NOW)
    assert message.kind == "note" and message.contact_id is None
    assert fresh(mine).reply_status == "needs_response"
    assert fresh(mine).version == 2
    [event] = events(mine, "case.note_added")
    assert event.subject_id == message.id
    with pytest.raises(Invalid):
        service.add_note(mine, agent, body="", now=NOW)


def test_record_inbound_starts_the_waiting_clock_once(org, mine, agent, contact):
    service.reply(mine, agent, body="Hi", then_status="waiting", now=NOW)
    later = NOW + timedelta(minutes=5)
    message = service.record_inbound(mine, body="It still does not work", now=later)
    case = fresh(mine)
    assert (case.status, case.reply_status, case.waiting_since) == ("open", "needs_response", later)
    assert (message.kind, message.contact_id, message.author_id) == ("in", contact.id, None)
    [event] = events(mine, "case.message_received")
    assert event.actor_id is None
    assert events(mine, "case.status_changed")[-1].data == {"from": "waiting", "to": "open"}
    service.record_inbound(mine, body="Hello?", now=later + timedelta(minutes=10), actor=agent,
                           channel="phone")
    assert fresh(mine).waiting_since == later
    assert events(mine, "case.message_received")[-1].data["channel"] == "phone"


def test_record_inbound_reopens_resolved_not_closed(org, queue, agent):
    resolved = factories.make_case(org, queue, assignee=agent, status="resolved",
                                   reply_status="closed", waiting_since=None)
    service.record_inbound(resolved, body="It broke again", now=NOW)
    assert (fresh(resolved).status, fresh(resolved).reply_status) == ("open", "needs_response")
    closed = factories.make_case(org, queue, assignee=agent, status="closed")
    with pytest.raises(Invalid):
        service.record_inbound(closed, body="Hello", now=NOW)


# ---------------------------------------------------------------------------------------------
# Status, priority, holder

@pytest.mark.parametrize("status, reply_status, waiting", [
    ("waiting", "responded", False), ("resolved", "closed", False), ("closed", "closed", False)])
def test_change_status(mine, agent, status, reply_status, waiting):
    note = "Replaced the cable" if status == "resolved" else None
    service.change_status(mine, agent, status=status, now=NOW, note=note)
    case = fresh(mine)
    assert (case.status, case.reply_status, case.waiting_since is not None) == (
        status, reply_status, waiting)
    action = {"resolved": "case.resolved", "closed": "case.closed"}.get(status,
                                                                        "case.status_changed")
    [event] = events(mine, action)
    assert event.data == {"from": "open", "to": status, **({"note": note} if note else {})}


def test_resolving_needs_a_note(mine, agent):
    for note in (None, "   "):
        with pytest.raises(Invalid) as refused:
            service.change_status(mine, agent, status="resolved", now=NOW, note=note)
        assert refused.value.reasons == [("note", service.NOTE_NEEDED)]
    assert fresh(mine).status == "open"
    with pytest.raises(Invalid):
        service.change_status(mine, agent, status="resolved", now=NOW, note="x" * 10001)


def test_reopening_puts_the_case_back_in_the_reply_queue(mine, agent):
    service.change_status(mine, agent, status="resolved", now=NOW, note="Done")
    assert service.next_case_for(agent) is None
    service.change_status(mine, agent, status="open", now=NOW + timedelta(minutes=1))
    case = fresh(mine)
    assert (case.reply_status, case.waiting_since) == ("needs_response", NOW + timedelta(minutes=1))
    assert service.next_case_for(agent).id == mine.id


def test_change_status_refuses_same_or_unknown(mine, agent):
    for status in ("open", "nonsense"):
        with pytest.raises(Invalid) as invalid:
            service.change_status(mine, agent, status=status, now=NOW)
        assert fields_of(invalid) == ["status"]
    assert fresh(mine).version == 1


def test_change_priority(mine, agent):
    service.change_priority(mine, agent, priority=4, now=NOW)
    assert fresh(mine).priority == 4
    [event] = events(mine, "case.priority_changed")
    assert event.data == {"from": 2, "to": 4}
    for priority in (4, 7):
        with pytest.raises(Invalid):
            service.change_priority(mine, agent, priority=priority, now=NOW)


def test_reassign_to_a_member_and_back_to_the_pool(org, mine, agent, supervisor, admin):
    service.reassign(mine, supervisor, assignee=admin, now=NOW)
    assert fresh(mine).assignee_id == admin.id
    [event] = events(mine, "case.reassigned")
    assert (event.data["from_name"], event.data["to_name"]) == ("Alice Agent", "Ada Admin")
    service.reassign(mine, supervisor, assignee=None, now=NOW)
    assert fresh(mine).assignee_id is None
    [event] = events(mine, "case.unassigned")
    assert event.data["from_name"] == "Ada Admin"


def test_reassign_rules(org, other_org, mine, escalated, agent, supervisor):
    with pytest.raises(Forbidden):
        service.reassign(mine, agent, assignee=None, now=NOW)
    inactive = factories.make_member(org, "agent", active=False)
    foreign = factories.make_member(other_org, "agent")
    for target in (inactive, foreign):
        with pytest.raises(Invalid) as invalid:
            service.reassign(mine, supervisor, assignee=target, now=NOW)
        assert fields_of(invalid) == ["assignee"]
    with pytest.raises(Invalid):
        service.reassign(mine, supervisor, assignee=agent, now=NOW)
    with pytest.raises(Invalid):
        service.reassign(escalated, supervisor, assignee=supervisor, now=NOW)
    assert fresh(mine).assignee_id == agent.id


def test_take_a_pool_case(org, queue, agent, supervisor):
    case = factories.make_case(org, queue)
    service.take(case, agent, now=NOW)
    assert fresh(case).assignee_id == agent.id
    assert events(case, "case.assigned")[0].data["via"] == "take"
    with pytest.raises(Conflict):
        service.take(fresh(case), supervisor, now=NOW)


# ---------------------------------------------------------------------------------------------
# The reply queue, "request more" and the next conversation

def test_next_case_for_is_the_oldest_waiting_case(org, queue, agent, supervisor, escalated):
    old = factories.make_case(org, queue, assignee=agent, created_at=NOW - timedelta(hours=5))
    new = factories.make_case(org, queue, assignee=agent, created_at=NOW - timedelta(hours=1))
    factories.make_case(org, queue, assignee=agent, reply_status="responded",
                        created_at=NOW - timedelta(hours=9))
    factories.make_case(org, queue, assignee=supervisor, created_at=NOW - timedelta(hours=9))
    assert service.next_case_for(agent).id == old.id
    assert service.next_case_for(agent, after_case=old).id == new.id
    service.reply(new, agent, body="Hi", now=NOW)
    assert service.next_case_for(agent, after_case=old) is None


def test_request_more_takes_a_batch_from_the_members_queues(org, other_org, queue, agent,
                                                            supervisor):
    other_queue = factories.make_queue(org, name="Not mine")
    archived = factories.make_queue(org, members=[agent], archived_at=NOW)
    oldest = factories.make_case(org, queue, created_at=NOW - timedelta(hours=9))
    urgent = factories.make_case(org, queue, priority=4, created_at=NOW - timedelta(hours=1))
    middle = factories.make_case(org, queue, created_at=NOW - timedelta(hours=5))
    newest = factories.make_case(org, queue, created_at=NOW - timedelta(hours=2))
    skipped = [
        factories.make_case(org, other_queue, created_at=NOW - timedelta(days=2)),
        factories.make_case(org, archived, created_at=NOW - timedelta(days=2)),
        factories.make_case(org, queue, assignee=supervisor, created_at=NOW - timedelta(days=2)),
        factories.make_case(org, queue, status="closed", created_at=NOW - timedelta(days=2)),
        factories.make_case(org, queue, inbox=factories.make_inbox(org),
                            created_at=NOW - timedelta(days=2)),
    ]
    taken = service.request_more(agent, now=NOW, batch_size=3)
    assert [c.id for c in taken] == [urgent.id, oldest.id, middle.id]
    assert all(fresh(c).assignee_id == agent.id and fresh(c).updated_at == NOW for c in taken)
    assert taken[0].requester.name and taken[0].queue.name == "Servicedesk"
    assigned = events(action="case.assigned")
    assert sorted(e.case_id for e in assigned) == sorted(c.id for c in taken)
    assert {e.data["via"] for e in assigned} == {"request_more"}
    assert [c.id for c in service.request_more(agent, now=NOW, batch_size=3)] == [newest.id]
    assert service.request_more(agent, now=NOW, batch_size=3) == []
    assert all(fresh(c).assignee_id in (None, supervisor.id) for c in skipped)


def test_request_more_without_queues_or_batch(org, queue, admin, agent):
    factories.make_case(org, queue)
    assert service.request_more(admin, now=NOW, batch_size=5) == []
    assert service.request_more(agent, now=NOW, batch_size=0) == []
    assert Case.select().where(Case.assignee.is_null(False)).count() == 0


# ---------------------------------------------------------------------------------------------
# Reading

def test_timeline_interleaves_messages_and_events_by_time(org, queue, agent, contact):
    case = service.create_case(agent, queue=queue.id, subject="S", description="First",
                               priority=2, requester=contact, now=NOW)
    service.add_note(case, agent, body="Note", now=NOW + timedelta(minutes=1))
    service.change_priority(case, agent, priority=3, now=NOW + timedelta(minutes=2))
    service.reply(case, agent, body="Reply", now=NOW + timedelta(minutes=3))
    entries = service.timeline_of(case)
    shown = [(e.kind, e.item.kind if e.kind == "message" else e.item.action) for e in entries]
    assert shown == [("event", "case.created"), ("message", "in"), ("message", "note"),
                     ("event", "case.priority_changed"), ("message", "out")]
    assert entries[2].item.author.name == "Alice Agent"
    assert entries[1].item.contact.name == "Lena Lind"


def test_access_helpers(org, escalated, agent, supervisor, admin):
    assert service.is_inbox_owner(supervisor, escalated)
    assert not service.is_inbox_owner(admin, escalated)
    assert service.has_escalation_history(agent, escalated)
    assert not service.has_escalation_history(admin, escalated)


def test_demo_data_has_conversations_and_is_idempotent(db):
    from escalation.demo import seed
    seed(now=NOW)
    counts = {kind: Message.select().where(Message.kind == kind).count()
              for kind in ("in", "out", "note")}
    assert counts["out"] > 0 and counts["note"] > 0 and counts["in"] > counts["out"]
    assert AuditEvent.select().where(AuditEvent.action == "case.replied").count() == counts["out"]
    seed(now=NOW + timedelta(hours=1))
    assert {kind: Message.select().where(Message.kind == kind).count()
            for kind in ("in", "out", "note")} == counts
