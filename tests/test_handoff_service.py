"""Handoff codes through the service, with an injected clock: issue, check, take over, expiry,
revoke, reissue, revocation by changes of who holds the case, the attempt limits and the guessing
bound."""
import re
from datetime import timedelta

import pytest

from escalation import audit
from escalation.db import database
from escalation.errors import Conflict, Forbidden, Invalid, Throttled
from escalation.handoff import service, worksession
from escalation.handoff.models import (HandoffAttempt, HandoffCode, HandoffNotice, HandoffSettings,
                                       WorkSession)
from escalation.models import AuditEvent, Case, Claim

from .factories import NOW, make_case, make_inbox, make_member, make_queue
from .factories_handoff import SECRET, escalate_and_claim, issue, make_worked_case, start


@pytest.fixture
def colleague(org, agent):
    return make_member(org, "agent", name="Bo Colleague", email="bo@example.test")


@pytest.fixture
def case(org, agent, colleague):
    queue = make_queue(org, members=[agent, colleague])
    return make_worked_case(org, agent, queue=queue, subject="Printer jams on floor 3")


def redeem(plain, member, now=NOW):
    return service.redeem_code(plain, member, secret_key=SECRET, now=now)


def check(plain, member, now=NOW):
    return service.check_code(plain, member, secret_key=SECRET, now=now)


# -- The code itself --------------------------------------------------------------------------

def test_codes_use_only_the_twenty_consonants_and_are_shown_in_two_groups():
    codes = {service.generate_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert re.fullmatch("[BCDFGHJKLMNPQRSTVWXZ]{8}", code)
    assert len(service.ALPHABET) == 20 and not set("AEIOUY0123456789") & set(service.ALPHABET)
    assert service.format_code("bcdfghjk") == "BCDF-GHJK"


@pytest.mark.parametrize("typed", ["bcdf-ghjk", " BCDF GHJK ", "bcdfghjk", "BC DF-GH JK", "BCDF\u2013GHJK"])
def test_typed_codes_are_upper_cased_and_spaces_and_dashes_ignored(typed):
    assert service.normalise_code(typed) == "BCDFGHJK"


def test_the_code_is_stored_only_as_a_keyed_hash(case, agent):
    code, plain = issue(case, agent)
    assert plain not in code.code_hash and len(code.code_hash) == 64
    assert code.code_hash == service.hash_code(plain, SECRET)
    assert code.code_hash != service.hash_code(plain, "another-secret")
    stored = " ".join(str(v) for v in HandoffCode.select().dicts().first().values())
    assert plain not in stored and service.format_code(plain) not in stored
    events = " ".join(e.data_json for e in AuditEvent.select())
    assert plain not in events


def test_the_guessing_bound_stays_below_one_in_a_million_per_organisation_hour():
    space = len(service.ALPHABET) ** service.CODE_LENGTH
    assert space == 20 ** 8
    assert service.MEMBER_FAILURES_PER_HOUR <= service.ORG_FAILURES_PER_HOUR
    # At most ORG_FAILURES_PER_HOUR guesses an hour (members' own limits are lower), each hitting
    # one of at most MAX_LIVE_CODES_PER_ORG live codes.
    chance = service.ORG_FAILURES_PER_HOUR * service.MAX_LIVE_CODES_PER_ORG / space
    assert chance == service.guess_bound()
    assert chance < 1e-6


# -- Lifecycle --------------------------------------------------------------------------------

def test_issue_preview_and_take_over(case, agent, colleague):
    session = start(case, agent)
    code, plain = issue(case, agent)
    assert code.expires_at == NOW + timedelta(minutes=10)
    previewed = check(service.format_code(plain).lower(), colleague, now=NOW + timedelta(minutes=1))
    assert previewed.id == code.id
    assert Case.get_by_id(case.id).assignee_id == agent.id  # a preview transfers nothing

    taken = redeem(plain, colleague, now=NOW + timedelta(minutes=2))
    assert taken.assignee_id == colleague.id and taken.version == case.version + 1
    assert WorkSession.get_by_id(session.id).worker_id == colleague.id
    code = HandoffCode.get_by_id(code.id)
    assert code.redeemed_by_id == colleague.id and code.live_case_id is None
    notice = HandoffNotice.get(HandoffNotice.member == agent)
    assert notice.kind == "taken_over" and notice.other_id == colleague.id
    actions = [e.action for e in AuditEvent.select().where(AuditEvent.case == case).order_by(AuditEvent.id)]
    assert actions == ["worksession.started", "handoff.issued", "handoff.redeemed"]
    redeemed = AuditEvent.get(AuditEvent.action == "handoff.redeemed")
    assert redeemed.actor_id == colleague.id and redeemed.data["issued_by"] == agent.id


def test_a_code_is_single_use(case, agent, colleague, supervisor):
    _, plain = issue(case, agent)
    redeem(plain, colleague)
    with pytest.raises(Invalid):
        redeem(plain, supervisor)
    with pytest.raises(Invalid):
        check(plain, supervisor)


def test_a_code_expires_after_the_organisations_lifetime(case, agent, colleague, org, admin):
    _, plain = issue(case, agent)
    with pytest.raises(Invalid):
        redeem(plain, colleague, now=NOW + timedelta(minutes=10))
    service.set_code_minutes(org, admin, minutes=2, now=NOW)
    code, plain = issue(case, agent)
    assert code.expires_at == NOW + timedelta(minutes=2)
    with pytest.raises(Invalid):
        check(plain, colleague, now=NOW + timedelta(minutes=2, seconds=1))
    assert redeem(plain, colleague, now=NOW + timedelta(minutes=1, seconds=59)).assignee_id == colleague.id


@pytest.mark.parametrize("minutes", [1, 61, 0, -5])
def test_lifetime_must_be_between_two_and_sixty_minutes(org, admin, minutes):
    with pytest.raises(Invalid) as error:
        service.set_code_minutes(org, admin, minutes=minutes, now=NOW)
    assert error.value.reasons[0][0] == "code_minutes"
    assert not HandoffSettings.select().exists()


def test_the_issuer_can_revoke_and_a_new_code_revokes_the_old(case, agent, colleague):
    first, first_plain = issue(case, agent)
    second, second_plain = issue(case, agent, now=NOW + timedelta(minutes=1))
    assert HandoffCode.get_by_id(first.id).revoked_reason == "replaced"
    with pytest.raises(Invalid):
        check(first_plain, colleague, now=NOW + timedelta(minutes=2))
    service.revoke_code(second, agent, now=NOW + timedelta(minutes=2))
    with pytest.raises(Invalid):
        check(second_plain, colleague, now=NOW + timedelta(minutes=3))
    with pytest.raises(Conflict):
        service.revoke_code(second, agent, now=NOW + timedelta(minutes=3))
    third, third_plain = issue(case, agent, now=NOW + timedelta(minutes=4))
    assert HandoffCode.select().where(HandoffCode.live_case_id == case.id).count() == 1
    assert redeem(third_plain, colleague, now=NOW + timedelta(minutes=5)).assignee_id == colleague.id


def test_only_the_issuer_or_a_lead_may_revoke(case, agent, colleague, supervisor):
    code, _ = issue(case, agent)
    with pytest.raises(Forbidden):
        service.revoke_code(code, colleague, now=NOW)
    service.revoke_code(code, supervisor, now=NOW)


def test_only_the_holder_may_issue(case, agent, colleague, org):
    with pytest.raises(Forbidden):
        issue(case, colleague)  # another agent's case
    closed = make_worked_case(org, agent, status="resolved")
    with pytest.raises(Forbidden):
        issue(closed, agent)


@pytest.mark.parametrize("action", sorted(audit.HOLDER_CHANGES - {"handoff.redeemed"}))
def test_any_change_of_who_holds_the_case_revokes_its_code(case, agent, colleague, supervisor, action):
    code, plain = issue(case, agent)
    with database.atomic():
        audit.record(supervisor, action, organisation=case.organisation_id, case=case,
                     now=NOW + timedelta(minutes=1))
    code = HandoffCode.get_by_id(code.id)
    assert code.revoked_reason == "holder_changed" and code.live_case_id is None
    revoked = AuditEvent.get(AuditEvent.action == "handoff.revoked")
    assert revoked.data == {"cause": action, "reason": "holder_changed"}
    with pytest.raises(Invalid):
        check(plain, colleague, now=NOW + timedelta(minutes=2))


def test_an_action_added_to_holder_changes_later_revokes_too(case, agent, supervisor, monkeypatch):
    monkeypatch.setattr(audit, "HOLDER_CHANGES", audit.HOLDER_CHANGES | {"sla.breach_reassigned"})
    code, _ = issue(case, agent)
    with database.atomic():
        audit.record(supervisor, "sla.breach_reassigned", organisation=case.organisation_id, case=case, now=NOW)
    assert HandoffCode.get_by_id(code.id).revoked_reason == "holder_changed"


def test_an_unrelated_event_leaves_the_code_alone(case, agent):
    code, _ = issue(case, agent)
    with database.atomic():
        audit.record(agent, "case.noted", organisation=case.organisation_id, case=case, now=NOW)
    assert HandoffCode.get_by_id(code.id).revoked_at is None


def test_a_holder_change_without_an_event_still_invalidates(case, agent, colleague, supervisor):
    _, plain = issue(case, agent)
    Case.update(assignee=supervisor).where(Case.id == case.id).execute()
    with pytest.raises(Invalid):
        redeem(plain, colleague)


# -- Who may redeem ---------------------------------------------------------------------------

def test_another_organisations_code_is_unknown(case, agent, other_org):
    stranger = make_member(other_org, "owner")
    _, plain = issue(case, agent)
    with pytest.raises(Invalid):
        redeem(plain, stranger)
    assert HandoffAttempt.get().organisation_id == other_org.id


def test_an_inactive_member_cannot_redeem(case, agent, colleague):
    _, plain = issue(case, agent)
    colleague.active = False
    with pytest.raises(Invalid):
        redeem(plain, colleague)
    assert Case.get_by_id(case.id).assignee_id == agent.id


def test_a_member_outside_the_queue_cannot_redeem(case, agent, org):
    outside = make_member(org, "agent")
    _, plain = issue(case, agent)
    with pytest.raises(Invalid):
        redeem(plain, outside)
    assert HandoffAttempt.select().count() == 1


def test_a_lead_may_take_over_a_queue_case(case, agent, supervisor):
    _, plain = issue(case, agent)
    assert redeem(plain, supervisor).assignee_id == supervisor.id


def test_escalated_case_passes_the_claim_to_an_inbox_owner(org, case, agent, supervisor):
    l2a = make_member(org, "agent", name="Lena L2")
    l2b = make_member(org, "agent", name="Lars L2")
    inbox = make_inbox(org, owners=[l2a, l2b], assignment_minutes=30)
    escalate_and_claim(case, l2a, inbox=inbox, minutes=30)
    case = Case.get_by_id(case.id)
    with pytest.raises(Forbidden):
        issue(case, agent)  # the original agent no longer holds it
    code, plain = issue(case, l2a)
    assert code.issued_holder_id == l2a.id
    with pytest.raises(Invalid):
        redeem(plain, supervisor)  # a lead who does not own the inbox holds none of its claims
    later = NOW + timedelta(minutes=5)
    taken = redeem(plain, l2b, now=later)
    assert taken.claimed_by_id == l2b.id and taken.claim_expires_at == later + timedelta(minutes=30)
    assert taken.inbox_id == inbox.id and taken.assignee_id == agent.id
    claims = list(Claim.select().where(Claim.case == case).order_by(Claim.id))
    assert [(c.member_id, c.end_reason) for c in claims] == [(l2a.id, "handed_off"), (l2b.id, None)]


def test_a_lapsed_claim_invalidates_the_code(org, case, agent):
    owner_a = make_member(org, "agent")
    owner_b = make_member(org, "agent")
    escalate_and_claim(case, owner_a, inbox=make_inbox(org, owners=[owner_a, owner_b]), minutes=10)
    _, plain = issue(Case.get_by_id(case.id), owner_a)
    with pytest.raises(Invalid):
        redeem(plain, owner_b, now=NOW + timedelta(minutes=10))


# -- Attempt limits ---------------------------------------------------------------------------

def test_ten_failures_an_hour_per_member(case, agent, colleague):
    _, plain = issue(case, agent)
    for _ in range(service.MEMBER_FAILURES_PER_HOUR):
        with pytest.raises(Invalid):
            check("BBBB-BBBB", colleague)
    with pytest.raises(Throttled):
        redeem(plain, colleague)  # even the right code: the member waits
    assert HandoffAttempt.select().count() == service.MEMBER_FAILURES_PER_HOUR
    later = NOW + timedelta(hours=1)
    _, plain = issue(case, agent, now=later)
    assert redeem(plain, colleague, now=later).assignee_id == colleague.id


def test_malformed_input_is_not_a_guess(case, agent, colleague):
    with pytest.raises(Invalid) as error:
        check("BCDF-GHJ", colleague)
    assert "8 letters" in str(error.value.reasons[0][1])
    with pytest.raises(Invalid):
        check("AEIO-UBCD", colleague)
    assert HandoffAttempt.select().count() == 0


def test_a_hundred_failures_pause_the_organisation_and_tell_its_admins(org, case, agent, colleague, admin, owner):
    guessers = [make_member(org, "agent") for _ in range(10)]
    _, plain = issue(case, agent)
    for minute, guesser in enumerate(guessers * 10):
        with pytest.raises(Invalid):
            check("BBBB-BBBB", guesser, now=NOW + timedelta(seconds=minute))
    with pytest.raises(Throttled) as paused:
        redeem(plain, colleague, now=NOW + timedelta(minutes=5))
    assert paused.value.message == service.ORG_PAUSED
    event = AuditEvent.get(AuditEvent.action == "handoff.redemption_paused")
    assert event.organisation_id == org.id
    told = {n.member_id for n in HandoffNotice.select().where(HandoffNotice.kind == "paused")}
    assert told == {admin.id, owner.id}
    assert service.paused_until(org.id, NOW + timedelta(minutes=5)) == NOW + timedelta(hours=1)
    assert HandoffAttempt.select().count() == service.ORG_FAILURES_PER_HOUR
    # An hour after the first failure the window has room again.
    later = NOW + timedelta(hours=1)
    _, plain = issue(case, agent, now=later)
    assert redeem(plain, colleague, now=later).assignee_id == colleague.id


def test_other_organisations_are_not_paused(case, agent, other_org):
    strangers = [make_member(other_org, "agent") for _ in range(10)]
    for guesser in strangers * 10:
        with pytest.raises(Invalid):
            check("BBBB-BBBB", guesser)
    _, plain = issue(case, agent)
    colleague = make_member(case.organisation, "supervisor")
    assert redeem(plain, colleague).assignee_id == colleague.id


def test_at_most_the_bounded_number_of_live_codes(org, agent, monkeypatch):
    monkeypatch.setattr(service, "MAX_LIVE_CODES_PER_ORG", 2)
    cases = [make_worked_case(org, agent) for _ in range(3)]
    issue(cases[0], agent)
    issue(cases[1], agent)
    with pytest.raises(Conflict):
        issue(cases[2], agent)
    issue(cases[2], agent, now=NOW + timedelta(minutes=10))  # the others expired


# -- The session goes along -------------------------------------------------------------------

def test_the_troubleshooting_text_lists_completed_steps_values_photos_and_notes(org, case, agent, admin):
    from .factories_handoff import make_checklist, png_bytes
    checklist = make_checklist(org, admin)
    session = start(case, agent, checklist)
    steps = {s.title: s for s in session.steps}
    worksession.save_step(steps["Power cycle the printer"], agent, done=True, now=NOW)
    worksession.save_step(steps["Read the page counter"], agent, done=True, value="12 345", now=NOW)
    worksession.save_step(steps["Toner seated"], agent, done=True, value="no", now=NOW)
    worksession.save_step(steps["Photo of the error display"], agent, done=True,
                          photo=worksession.Upload("display.png", png_bytes()), now=NOW)
    worksession.save_step(steps["Error code shown"], agent, done=False, value="E-52", now=NOW)
    worksession.save_notes(session, agent, notes="Smells of burnt paper.", now=NOW)
    text = service.troubleshooting_text(case)
    assert text == ("Printer jam:\n- Power cycle the printer\n- Read the page counter: 12345\n"
                    "- Toner seated: No\n- Photo of the error display\n1 photo taken.\n"
                    "Notes: Smells of burnt paper.")
    assert service.troubleshooting_text(make_case(org)) is None


# -- Checklists and directory entries offered for the case's catalog item -------------------

def test_checklists_are_offered_item_first_then_category_then_general(org, case, agent, admin, other_org):
    from escalation.handoff import checklists
    from .factories_handoff import came_in_through, make_catalog_item
    laptops = make_catalog_item(org, category="Hardware", name="Laptops")
    hardware = laptops.category
    phones = make_catalog_item(org, category=hardware, name="Phones")
    printers = make_catalog_item(org, category="Office", name="Printers")

    def make(name, catalog=""):
        return checklists.create_checklist(org, admin, name=name, catalog=catalog, now=NOW)
    make("A general")
    make("B for laptops", f"item-{laptops.id}")
    make("C for hardware", f"category-{hardware.id}")
    make("D for phones", f"item-{phones.id}")
    make("E for office", f"category-{printers.category_id}")
    make("F also for laptops", f"item-{laptops.id}")
    archived = make("G archived laptops", f"item-{laptops.id}")
    checklists.archive_checklist(archived, admin, now=NOW)

    def offered():
        return [(g.kind, g.label, [c.name for c in g.rows]) for g in checklists.checklists_for_case(case)]

    # A case that came in through no catalog item: nothing is suggested.
    assert offered() == [("general", "General checklists", ["A general"]),
                         ("other", "Other checklists", ["B for laptops", "C for hardware", "D for phones",
                                                        "E for office", "F also for laptops"])]
    came_in_through(case, laptops)
    assert offered() == [("item", "Suggested for Laptops", ["B for laptops", "F also for laptops"]),
                         ("category", "Suggested for Hardware", ["C for hardware"]),
                         ("general", "General checklists", ["A general"]),
                         ("other", "Other checklists", ["D for phones", "E for office"])]
    # The latest escalation form decides.
    came_in_through(case, phones, now=NOW + timedelta(hours=1))
    assert [g.rows[0].name for g in checklists.checklists_for_case(case)][:2] == ["D for phones", "C for hardware"]
    # Another organisation's checklists are never offered.
    checklists.create_checklist(other_org, admin, name="H elsewhere", now=NOW)
    assert "H elsewhere" not in {c.name for g in checklists.checklists_for_case(case) for c in g.rows}


def test_a_checklist_or_entry_links_only_to_its_own_organisations_catalog(org, admin, other_org):
    from escalation.handoff import checklists, routing
    from escalation.handoff.models import RoutingEntry
    from .factories_handoff import make_catalog_item, make_entry
    elsewhere = make_catalog_item(other_org, category="Theirs", name="Their laptops")
    for value in (f"item-{elsewhere.id}", f"category-{elsewhere.category_id}", "item-0", "item-x", "7"):
        with pytest.raises(Invalid) as refused:
            checklists.create_checklist(org, admin, name="Boot", catalog=value, now=NOW)
        assert refused.value.reasons == [("catalog", refused.value.reasons[0][1])]
        assert "your organisation's catalog" in str(refused.value.reasons[0][1])
        with pytest.raises(Invalid):
            make_entry(org, admin, catalog=value)
    assert not RoutingEntry.select().exists()
    # Both problems of one form are told at once.
    with pytest.raises(Invalid) as both:
        checklists.create_checklist(org, admin, name=" ", catalog=f"item-{elsewhere.id}", now=NOW)
    assert [field for field, _ in both.value.reasons] == ["name", "catalog"]
    mine = make_catalog_item(org, category="Hardware", name="Laptops")
    entry = make_entry(org, admin, catalog=f"item-{mine.id}")
    assert (entry.catalog_item_id, entry.catalog_category_id) == (mine.id, None)
    entry = routing.update_entry(entry, admin, values={"issue": "Boot", "phone": "1"},
                                 catalog=f"category-{mine.category_id}", now=NOW)
    assert (entry.catalog_item_id, entry.catalog_category_id) == (None, mine.category_id)


def test_directory_entries_for_the_cases_item_and_category_are_suggested(org, case, admin):
    from escalation.handoff import routing
    from .factories_handoff import came_in_through, make_catalog_item, make_entry
    laptops = make_catalog_item(org, category="Hardware", name="Laptops")
    phones = make_catalog_item(org, category=laptops.category, name="Phones")
    make_entry(org, admin, contact_name="Gunnar General")
    make_entry(org, admin, contact_name="Harriet Hardware", catalog=f"category-{laptops.category_id}")
    make_entry(org, admin, contact_name="Lars Laptop", catalog=f"item-{laptops.id}")
    make_entry(org, admin, contact_name="Petra Phone", catalog=f"item-{phones.id}")
    archived = make_entry(org, admin, contact_name="Arne Archived", catalog=f"item-{laptops.id}")
    routing.archive_entry(archived, admin, now=NOW)
    assert routing.suggested_for_case(case) == []
    came_in_through(case, laptops)
    assert [(g.kind, g.label, [e.contact_name for e in g.rows]) for g in routing.suggested_for_case(case)] == [
        ("item", "Suggested for Laptops", ["Lars Laptop"]),
        ("category", "Suggested for Hardware", ["Harriet Hardware"])]


def test_an_entry_linked_to_the_catalog_needs_no_other_description(org, admin):
    from escalation.handoff import routing
    from .factories_handoff import make_catalog_item
    laptops = make_catalog_item(org, category="Hardware", name="Laptops")
    entry = routing.create_entry(org, admin, values={"contact_name": "Lars"},
                                 catalog=f"item-{laptops.id}", now=NOW)
    assert entry.catalog_item_id == laptops.id
    with pytest.raises(Invalid) as refused:
        routing.create_entry(org, admin, values={"contact_name": "Lars"}, now=NOW)
    assert refused.value.reasons[0][0] == "asset_type"
