"""The admin services called directly, with a fixed ``now``: members and roles, queues and
their agents, the organisation's settings, and the role rules."""
import json
import threading

import pytest
from werkzeug.security import check_password_hash

from escalation.admin import rules, service
from escalation.db import database
from escalation.errors import Conflict, Forbidden, Invalid
from escalation.models import AuditEvent, Case, Member, Organisation, Queue, QueueMember, User

from . import factories
from .factories import NOW


def events(action):
    return [json.loads(e.data_json) | {"actor": e.actor_id, "subject": e.subject_id}
            for e in AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id)]


def reasons(exc_info):
    return [(field, str(message)) for field, message in exc_info.value.reasons]


# ------------------------------------------------------------------------------------------------
# Rules


def test_who_may_administer(agent, supervisor, admin, owner):
    assert not rules.can_administer(agent)
    assert not rules.can_administer(supervisor)
    assert rules.can_administer(admin) and rules.can_administer(owner)
    admin.active = False
    assert not rules.can_administer(admin)


def test_nobody_grants_a_role_above_their_own(admin, owner, supervisor):
    assert rules.grantable_roles(admin) == ["agent", "supervisor", "admin"]
    assert rules.grantable_roles(owner) == ["agent", "supervisor", "admin", "owner"]
    assert rules.grantable_roles(supervisor) == []


def test_who_may_manage_whom(agent, admin, owner, outsider):
    assert rules.can_manage_member(admin, agent)
    assert rules.can_manage_member(admin, admin)
    assert not rules.can_manage_member(admin, owner)  # above the admin's own role
    assert rules.can_manage_member(owner, owner)
    assert not rules.can_manage_member(outsider, agent)  # another organisation
    assert not rules.can_manage_member(agent, agent)


# ------------------------------------------------------------------------------------------------
# Adding members


def test_add_a_new_person(org, admin):
    member, had_account = service.add_member(org, admin, now=NOW, name="  Nina Ny ",
                                             email="Nina@Example.test", role="supervisor",
                                             locale="sv", password="a long initial password")
    assert not had_account
    member = Member.get_by_id(member.id)
    assert (member.role, member.active, member.organisation_id) == ("supervisor", True, org.id)
    user = member.user
    assert (user.name, user.email, user.locale) == ("Nina Ny", "nina@example.test", "sv")
    assert check_password_hash(user.password_hash, "a long initial password")
    assert events("member.added") == [{"actor": admin.id, "subject": member.id,
                                       "role": "supervisor", "email": "nina@example.test",
                                       "had_account": False}]


def test_an_existing_account_only_gets_the_membership(org, other_org, admin):
    elsewhere = factories.make_member(other_org, "owner", name="Kim Kvist", email="kim@x.test",
                                      locale="en")
    member, had_account = service.add_member(org, admin, now=NOW, name="Someone Else",
                                             email="KIM@x.test", role="agent", locale="sv",
                                             password="another password entirely")
    assert had_account and member.user_id == elsewhere.user_id
    user = User.get_by_id(elsewhere.user_id)
    # The person's own name, password and language are theirs, not the admin's to set.
    assert (user.name, user.locale) == ("Kim Kvist", "en")
    assert check_password_hash(user.password_hash, factories.PASSWORD)
    assert Member.select().where(Member.user == user).count() == 2


def test_a_new_person_needs_an_initial_password(org, admin):
    for password in (None, "", "short"):
        with pytest.raises(Invalid) as exc:
            service.add_member(org, admin, now=NOW, name="Nina", email="nina@example.test",
                               role="agent", password=password)
        assert [field for field, _ in exc.value.reasons] == ["password"]
    assert not User.select().where(User.email == "nina@example.test").exists()


def test_adding_someone_already_there(org, admin, agent):
    with pytest.raises(Invalid) as exc:
        service.add_member(org, admin, now=NOW, name="Alice", email="alice@example.test",
                           role="agent")
    assert reasons(exc) == [("email", "alice@example.test is already a member.")]
    Member.update(active=False).where(Member.id == agent.id).execute()
    with pytest.raises(Invalid) as exc:
        service.add_member(org, admin, now=NOW, name="Alice", email="alice@example.test",
                           role="agent")
    assert "reactivate" in reasons(exc)[0][1]
    assert not events("member.added")


def test_adding_checks_role_and_input(org, admin, supervisor, outsider):
    with pytest.raises(Invalid) as exc:
        service.add_member(org, admin, now=NOW, name="Nina", email="nina@example.test",
                           role="owner", password="long enough password")
    assert reasons(exc) == [("role", "You cannot give a role above your own.")]
    with pytest.raises(Invalid) as exc:
        service.add_member(org, admin, now=NOW, name="Nina", email="not an email",
                           role="agent", password="long enough password")
    assert reasons(exc)[0][0] == "email"
    with pytest.raises(Invalid) as exc:
        service.add_member(org, admin, now=NOW, name="Nina", email="nina@example.test",
                           role="agent", locale="de", password="long enough password")
    assert reasons(exc)[0][0] == "locale"
    with pytest.raises(Forbidden):
        service.add_member(org, supervisor, now=NOW, name="Nina", email="nina@example.test",
                           role="agent", password="long enough password")
    with pytest.raises(Forbidden):
        service.add_member(org, outsider, now=NOW, name="Nina", email="nina@example.test",
                           role="agent", password="long enough password")


# ------------------------------------------------------------------------------------------------
# Roles and languages


def test_change_role_and_language(admin, agent):
    updated = service.update_member(agent, admin, now=NOW, role="supervisor", locale="sv")
    assert (updated.role, updated.user.locale) == ("supervisor", "sv")
    assert events("member.role_changed") == [{"actor": admin.id, "subject": agent.id,
                                              "before": "agent", "after": "supervisor"}]
    assert events("member.language_changed") == [{"actor": admin.id, "subject": agent.id,
                                                  "before": "en", "after": "sv"}]
    service.update_member(agent, admin, now=NOW, role="supervisor", locale="sv")
    assert len(events("member.role_changed")) == 1  # nothing changed, nothing recorded
    service.update_member(agent, admin, now=NOW, role="supervisor", locale="")
    assert User.get_by_id(agent.user_id).locale is None


def test_never_above_the_actors_own_role(admin, agent, owner):
    with pytest.raises(Invalid) as exc:
        service.update_member(agent, admin, now=NOW, role="owner", locale="en")
    assert reasons(exc) == [("role", "You cannot give a role above your own.")]
    with pytest.raises(Forbidden):  # an admin cannot touch an owner at all
        service.update_member(owner, admin, now=NOW, role="agent", locale="sv")
    assert Member.get_by_id(owner.id).role == "owner"
    assert Member.get_by_id(agent.id).role == "agent"


def test_the_last_owner_cannot_be_demoted(org, owner):
    with pytest.raises(Invalid) as exc:
        service.update_member(owner, owner, now=NOW, role="admin", locale="sv")
    assert reasons(exc) == [("role", "Olle Owner is the last active owner. Make someone else "
                                     "an owner first.")]
    second = factories.make_member(org, "owner")
    service.update_member(owner, owner, now=NOW, role="admin", locale="sv")
    assert Member.get_by_id(owner.id).role == "admin"
    # An inactive owner does not count as the remaining one.
    Member.update(active=False).where(Member.id == owner.id).execute()
    with pytest.raises(Invalid):
        service.update_member(second, second, now=NOW, role="admin", locale="en")


def at_once(*calls):
    """Run each call in its own thread with its own connection, all starting together; return
    what each did: "done" or "refused" (Invalid)."""
    barrier = threading.Barrier(len(calls))
    outcomes = []

    def run(call):
        with database.connection_context():
            barrier.wait()
            try:
                call()
                outcomes.append("done")
            except Invalid:
                outcomes.append("refused")

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_two_owners_demoting_each_other_at_once_leave_one_owner(org, owner):
    """Real threads, each with its own connection: exactly one demotion wins."""
    second = factories.make_member(org, "owner", name="Oda Owner")
    assert at_once(
        lambda: service.update_member(second, owner, now=NOW, role="admin", locale="en"),
        lambda: service.update_member(owner, second, now=NOW, role="admin", locale="en"),
    ) == ["done", "refused"]
    owners = Member.select().where((Member.organisation == org) & (Member.role == "owner"))
    assert owners.count() == 1


# ------------------------------------------------------------------------------------------------
# Deactivation


def test_deactivate_and_reactivate(admin, agent):
    epoch = agent.user.session_epoch
    deactivated = service.deactivate_member(agent, admin, now=NOW)
    assert deactivated.active is False
    # No other membership: every session of the person ends for good.
    assert User.get_by_id(agent.user_id).session_epoch == epoch + 1
    assert events("member.deactivated") == [{"actor": admin.id, "subject": agent.id}]
    with pytest.raises(Conflict):
        service.deactivate_member(agent, admin, now=NOW)
    reactivated = service.reactivate_member(agent, admin, now=NOW)
    assert reactivated.active is True
    assert events("member.reactivated") == [{"actor": admin.id, "subject": agent.id}]
    with pytest.raises(Conflict):
        service.reactivate_member(agent, admin, now=NOW)


def test_deactivation_in_one_organisation_leaves_the_other(org, other_org, admin):
    user = factories.make_user(name="Dana Dual")
    here = factories.make_member(org, "agent", user=user)
    factories.make_member(other_org, "agent", user=user)
    service.deactivate_member(here, admin, now=NOW)
    # The other membership's sessions live on (the user loader ends only this one).
    assert User.get_by_id(user.id).session_epoch == user.session_epoch
    assert [m.active for m in Member.select().where(Member.user == user)
            .order_by(Member.organisation)] == [False, True]


def test_deactivation_rules(admin, owner, supervisor, agent):
    with pytest.raises(Invalid) as exc:
        service.deactivate_member(admin, admin, now=NOW)
    assert reasons(exc) == [(None, "You cannot deactivate yourself.")]
    with pytest.raises(Forbidden):  # above the admin's own role
        service.deactivate_member(owner, admin, now=NOW)
    with pytest.raises(Forbidden):  # supervisors do not administer
        service.deactivate_member(agent, supervisor, now=NOW)
    assert Member.select().where(Member.active == False).count() == 0  # noqa: E712


def test_the_last_active_owner_cannot_be_deactivated(org, owner):
    """Only an owner can deactivate an owner, so this guards against a race: here the second
    owner acts on what they saw before the first one deactivated them."""
    second = factories.make_member(org, "owner", name="Oda Owner")
    stale_second = Member.get_by_id(second.id)
    service.deactivate_member(second, owner, now=NOW)
    with pytest.raises(Invalid) as exc:
        service.deactivate_member(owner, stale_second, now=NOW)
    assert reasons(exc) == [(None, "Olle Owner is the last active owner. Make someone else an "
                                   "owner first.")]
    assert Member.get_by_id(owner.id).active is True


def test_two_owners_deactivating_each_other_at_once_leave_one(org, owner):
    second = factories.make_member(org, "owner", name="Oda Owner")
    assert at_once(lambda: service.deactivate_member(second, owner, now=NOW),
                   lambda: service.deactivate_member(owner, second, now=NOW)) == ["done", "refused"]
    assert Member.select().where((Member.organisation == org) & (Member.role == "owner")
                                 & (Member.active == True)).count() == 1  # noqa: E712


# ------------------------------------------------------------------------------------------------
# Queues


def test_create_rename_and_tier(org, admin):
    queue = service.create_queue(org, admin, now=NOW, name=" Servicedesk ", tier=1)
    assert (queue.name, queue.tier, queue.archived_at) == ("Servicedesk", 1, None)
    assert events("queue.created") == [{"actor": admin.id, "subject": queue.id,
                                        "name": "Servicedesk", "tier": 1}]
    updated = service.update_queue(queue, admin, now=NOW, name="Service desk", tier=2)
    assert (updated.name, updated.tier) == ("Service desk", 2)
    assert events("queue.renamed") == [{"actor": admin.id, "subject": queue.id,
                                        "before": "Servicedesk", "after": "Service desk"}]
    assert events("queue.tier_changed") == [{"actor": admin.id, "subject": queue.id,
                                             "before": 1, "after": 2}]
    service.update_queue(queue, admin, now=NOW, name="Service desk", tier=2)
    assert len(events("queue.renamed")) == len(events("queue.tier_changed")) == 1


def test_queue_names_are_unique_in_an_organisation(org, other_org, admin, outsider):
    first = service.create_queue(org, admin, now=NOW, name="Billing")
    with pytest.raises(Invalid) as exc:
        service.create_queue(org, admin, now=NOW, name="billing")
    assert reasons(exc) == [("name", "There is already a queue called billing.")]
    other = service.create_queue(org, admin, now=NOW, name="Returns")
    with pytest.raises(Invalid):
        service.update_queue(other, admin, now=NOW, name="BILLING", tier=1)
    service.update_queue(first, admin, now=NOW, name="BILLING", tier=1)  # itself: fine
    service.create_queue(other_org, outsider, now=NOW, name="Billing")  # another organisation


def test_queue_input_and_permissions(org, admin, supervisor, outsider):
    with pytest.raises(Invalid) as exc:
        service.create_queue(org, admin, now=NOW, name="   ")
    assert reasons(exc)[0][0] == "name"
    with pytest.raises(Invalid) as exc:
        service.create_queue(org, admin, now=NOW, name="Tier five", tier=5)
    assert reasons(exc)[0][0] == "tier"
    with pytest.raises(Forbidden):
        service.create_queue(org, supervisor, now=NOW, name="Mine")
    queue = factories.make_queue(org)
    with pytest.raises(Forbidden):
        service.update_queue(queue, outsider, now=NOW, name="Theirs", tier=1)
    with pytest.raises(Forbidden):
        service.archive_queue(queue, outsider, now=NOW)


def test_archive_keeps_the_cases_and_leaves_every_choice(org, admin):
    queue = factories.make_queue(org, name="Old campaign")
    case = factories.make_case(org, queue)
    archived = service.archive_queue(queue, admin, now=NOW)
    assert archived.archived_at == NOW
    assert queue.id not in [q.id for q in Queue.for_org(org)]
    assert Case.get_by_id(case.id).queue_id == queue.id
    with pytest.raises(Conflict):
        service.archive_queue(queue, admin, now=NOW)
    service.unarchive_queue(queue, admin, now=NOW)
    assert queue.id in [q.id for q in Queue.for_org(org)]
    with pytest.raises(Conflict):
        service.unarchive_queue(queue, admin, now=NOW)
    assert [e["actor"] for e in events("queue.archived") + events("queue.unarchived")] == \
        [admin.id, admin.id]


def test_set_the_agents_of_a_queue(org, admin, agent, supervisor):
    gone = factories.make_member(org, "agent", active=False)
    third = factories.make_member(org, "agent")
    queue = factories.make_queue(org, members=[agent, gone])
    added, removed = service.set_queue_agents(queue, admin, now=NOW,
                                              member_ids=[supervisor.id, third.id])
    assert (added, removed) == (sorted([supervisor.id, third.id]), [agent.id])
    members = {qm.member_id for qm in QueueMember.select().where(QueueMember.queue == queue)}
    # A deactivated member's membership is left alone (they are not offered in the form).
    assert members == {supervisor.id, third.id, gone.id}
    assert events("queue.agents_changed") == [{"actor": admin.id, "subject": queue.id,
                                               "added": added, "removed": removed}]
    assert service.set_queue_agents(queue, admin, now=NOW,
                                    member_ids=[supervisor.id, third.id]) == ([], [])
    assert len(events("queue.agents_changed")) == 1


def test_queue_agents_must_be_active_members_here(org, other_org, admin):
    queue = factories.make_queue(org)
    stranger = factories.make_member(other_org, "agent")
    gone = factories.make_member(org, "agent", active=False)
    for member in (stranger, gone):
        with pytest.raises(Invalid) as exc:
            service.set_queue_agents(queue, admin, now=NOW, member_ids=[member.id])
        assert reasons(exc)[0][0] == "agents"
    assert not QueueMember.select().where(QueueMember.queue == queue).exists()


# ------------------------------------------------------------------------------------------------
# The organisation


def test_update_the_organisation(org, owner):
    updated = service.update_organisation(org, owner, now=NOW, name="Acme Service Desk",
                                          default_locale="sv", timezone="Europe/Helsinki")
    assert (updated.name, updated.default_locale, updated.timezone) == \
        ("Acme Service Desk", "sv", "Europe/Helsinki")
    assert events("organisation.updated")[0]["changes"] == {
        "name": {"before": "Acme Support", "after": "Acme Service Desk"},
        "default_locale": {"before": "en", "after": "sv"},
        "timezone": {"before": "Europe/Stockholm", "after": "Europe/Helsinki"}}
    service.update_organisation(org, owner, now=NOW, name="Acme Service Desk",
                                default_locale="sv", timezone="Europe/Helsinki")
    assert len(events("organisation.updated")) == 1


def test_organisation_input_and_permissions(org, owner, supervisor, outsider):
    for field, values in (("timezone", dict(timezone="Mars/Olympus")),
                          ("default_locale", dict(default_locale="de")),
                          ("name", dict(name=""))):
        arguments = dict(name="Acme", default_locale="sv", timezone="UTC") | values
        with pytest.raises(Invalid) as exc:
            service.update_organisation(org, owner, now=NOW, **arguments)
        assert reasons(exc)[0][0] == field
    for actor in (supervisor, outsider):
        with pytest.raises(Forbidden):
            service.update_organisation(org, actor, now=NOW, name="Taken", default_locale="sv",
                                        timezone="UTC")
    assert Organisation.get_by_id(org.id).name == "Acme Support"
