"""The role rules of escalation inboxes (issue 3's table), tested directly."""
import pytest

from escalation.inboxes import permissions as may
from escalation.inboxes import service

from .factories import NOW, make_case, make_inbox, make_member
from .factories_inboxes import later, make_agent_case, make_escalated


@pytest.fixture
def people(org, agent, supervisor, admin, owner, outsider):
    inbox_owner = make_member(org, "agent", name="Ines Inboxowner")
    return {"agent": agent, "supervisor": supervisor, "admin": admin, "owner": owner,
            "outsider": outsider, "inbox_owner": inbox_owner,
            "other_agent": make_member(org, "agent"),
            "inactive_lead": make_member(org, "admin", active=False)}


def test_managing_inboxes_is_for_admins_and_owners(db, people):
    allowed = {name for name, m in people.items() if may.can_manage_inboxes(m)}
    assert allowed == {"admin", "owner", "outsider"}  # outsider: an owner of their own org


def test_inbox_ownership_needs_an_active_member_and_a_live_inbox(db, org, people):
    inbox = make_inbox(org, owners=[people["inbox_owner"], people["inactive_lead"]])
    assert may.is_owner_of(people["inbox_owner"], inbox)
    assert not may.is_owner_of(people["inactive_lead"], inbox)
    assert not may.is_owner_of(people["admin"], inbox)
    assert not may.is_owner_of(people["outsider"], inbox)
    assert may.owned_inbox_ids(people["inbox_owner"]) == {inbox.id}
    service.delete_inbox(inbox, people["admin"], now=NOW)
    inbox = type(inbox).get_by_id(inbox.id)
    assert not may.is_owner_of(people["inbox_owner"], inbox)
    assert may.owned_inbox_ids(people["inbox_owner"]) == set()


def test_escalate_is_for_the_cases_agent_and_leads(db, org, people):
    case = make_agent_case(org, people["agent"])
    allowed = {name for name, m in people.items() if may.can_escalate(m, case)}
    assert allowed == {"agent", "supervisor", "admin", "owner"}
    closed = make_agent_case(org, people["agent"], status="closed")
    assert not may.can_escalate(people["agent"], closed)
    assert {n for n, m in people.items() if may.can_escalate_selected(m)} \
        == {"supervisor", "admin", "owner", "outsider"}


def test_move_de_escalate_release_resolve_claim(db, org, people):
    inbox = make_inbox(org, owners=[people["inbox_owner"]])
    case = make_escalated(org, inbox, people["agent"], case=make_agent_case(org, people["agent"]))
    assert not may.can_escalate(people["agent"], case)
    movers = {name for name, m in people.items()
              if may.can_move(m, case, is_owner=may.owns_case_inbox(m, case))}
    assert movers == {"inbox_owner", "supervisor", "admin", "owner"}
    assert may.can_de_escalate is may.can_move
    assert {n for n, m in people.items() if may.can_claim(m, inbox)} == {"inbox_owner"}
    assert not any(may.can_release(m, case, NOW) for m in people.values())  # nothing claimed
    service.claim_case(case, people["inbox_owner"], now=NOW)
    case = type(case).get_by_id(case.id)
    releasers = {n for n, m in people.items() if may.can_release(m, case, later(5))}
    assert releasers == {"inbox_owner", "supervisor", "admin", "owner"}
    assert not may.can_release(people["inbox_owner"], case, later(61))  # the claim lapsed
    resolvers = {n for n, m in people.items() if may.can_resolve(m, case, later(5))}
    assert resolvers == {"inbox_owner", "supervisor", "admin", "owner"}


def test_history_gives_the_escalating_agent_read_access(db, org, people):
    inbox = make_inbox(org, owners=[people["inbox_owner"]])
    case = make_escalated(org, inbox, people["agent"], case=make_agent_case(org, people["agent"]))
    assert may.has_history(people["agent"], case)
    assert not may.has_history(people["other_agent"], case)
    assert not may.has_history(people["outsider"], case)


def test_agent_view_is_for_leads(db, people):
    assert {n for n, m in people.items() if may.can_use_agent_view(m)} \
        == {"supervisor", "admin", "owner", "outsider"}


def test_back_to_the_agent_only_while_they_are_in_the_queue(db, org, people):
    case = make_agent_case(org, people["agent"])
    assert may.active_member_of_queue(people["agent"], case.queue_id)
    assert not may.active_member_of_queue(people["other_agent"], case.queue_id)
    assert not may.active_member_of_queue(None, case.queue_id)
    pool_case = make_case(org)
    assert not may.active_member_of_queue(people["agent"], pool_case.queue_id)


def test_an_escalated_case_is_worked_by_its_claimant_and_leads(db, org, people):
    """Reply, note, resolve: the claimant; owners/admins/supervisors may too. Another owner of
    the inbox claims the case first, and a lapsed claim no longer lets its holder work it."""
    from escalation.models import Case
    from escalation.permissions import can_work_case
    second_owner = make_member(org, "agent", name="Sven Secondowner")
    inbox = make_inbox(org, owners=[people["inbox_owner"], second_owner], assignment_minutes=30)
    case = make_escalated(org, inbox, people["agent"])

    def workers(now):
        fresh = Case.get_by_id(case.id)
        return {name for name, m in {**people, "second_owner": second_owner}.items()
                if can_work_case(m, fresh, is_inbox_owner=may.is_owner_of(m, inbox), now=now)}

    leads = {"supervisor", "admin", "owner"}
    assert workers(NOW) == leads  # unclaimed: no inbox owner works it before claiming
    service.claim_case(Case.get_by_id(case.id), people["inbox_owner"], now=NOW)
    assert workers(later(29)) == leads | {"inbox_owner"}
    assert workers(later(31)) == leads  # the claim lapsed
