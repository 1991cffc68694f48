"""Escalation inboxes in a real browser against gunicorn with 2 workers (issue 3).

- An agent escalates a case in Swedish and lands on their next case.
- An inbox owner claims from the landing, replies and de-escalates the case back to its agent.
- Two owners in two browser contexts claim at the same time and get different cases.
- Claiming a case someone else just took shows the 409 in the page; the plain-forms journey.
"""
import re

import pytest
from playwright.sync_api import expect

from escalation.clock import utcnow
from escalation.inboxes import service
from escalation.models import Case, Claim, User
from tests import factories
from tests.e2e.helpers import sign_in, sv

pytestmark = pytest.mark.e2e


def _desk(org, agent, *, owners, cases=2, batch_size=3):
    queue = factories.make_queue(org, name="Servicedesk", members=[agent])
    inbox = factories.make_inbox(org, owners=owners, name="Hårdvara L2", batch_size=batch_size)
    made = [factories.make_case(org, queue, assignee=agent, subject=f"Trasig skärm {n}",
                                first_message="Skärmen är svart")
            for n in range(cases)]
    return queue, inbox, made


def _escalate_all(cases, inbox, agent):
    for case in cases:
        service.escalate(Case.get_by_id(case.id), inbox, agent, reason="Behöver ny skärm",
                         now=utcnow())


@pytest.mark.parametrize("e2e_backend", ["sqlite", "postgres"])
def test_an_agent_escalates_in_swedish_and_lands_on_the_next_case(live_server, new_page, org,
                                                                   agent):
    with live_server.db():
        User.update(locale="sv").where(User.id == agent.user_id).execute()
        owner = factories.make_member(org, "agent", name="Ines Inkorgsägare")
        _, inbox, (first, second) = _desk(org, agent, owners=[owner])
    page = new_page(locale="sv-SE")
    sign_in(page, live_server, agent, goto=f"/cases/{first.id}?from=queue")
    form = page.locator("#escalate-form")
    expect(form.locator("button[type=submit]")).to_have_text(sv("Escalate"))
    form.locator("select[name=inbox]").select_option(value=str(inbox.id))
    form.locator("textarea[name=reason]").fill("Skärmen måste bytas")
    form.locator("button[type=submit]").click()

    expect(page).to_have_url(re.compile(rf"/cases/{second.id}\?from=queue$"))
    expect(page.locator("#flash")).to_contain_text(
        f"Ärende #{first.id} är eskalerat till Hårdvara L2. Här är ditt nästa ärende.")
    with live_server.db():
        row = Case.get_by_id(first.id)
        assert row.inbox_id == inbox.id and row.assignee_id is None


def test_escalating_without_a_reason_is_shown_in_place(live_server, new_page, org, agent):
    with live_server.db():
        owner = factories.make_member(org, "agent")
        _, inbox, (first, _second) = _desk(org, agent, owners=[owner])
    page = new_page()
    sign_in(page, live_server, agent, goto=f"/cases/{first.id}")
    form = page.locator("#escalate-form")
    form.locator("select[name=inbox]").select_option(value=str(inbox.id))
    form.locator("button[type=submit]").click()
    expect(page.locator("#escalate-form .error-summary")).to_contain_text(
        "Say why the case is escalated.")
    expect(page).to_have_url(live_server.url + f"/cases/{first.id}")


def test_an_owner_claims_replies_and_de_escalates(live_server, new_page, org, agent):
    with live_server.db():
        owner = factories.make_member(org, "agent", name="Ines Owner")
        _, inbox, cases = _desk(org, agent, owners=[owner], cases=1)
        _escalate_all(cases, inbox, agent)
    case = cases[0]
    page = new_page()
    sign_in(page, live_server, owner)
    panel = page.locator("#escalation-inboxes")
    expect(panel.locator('[data-count="unclaimed"]')).to_have_text("1")
    panel.get_by_role("button", name="Claim next").click()
    expect(panel).to_contain_text("You claimed 1 case from Hårdvara L2.")
    expect(panel.locator('[data-count="mine"]')).to_have_text("1")
    panel.locator(".my-claims a", has_text="Trasig skärm 0").click()

    expect(page).to_have_url(live_server.url + f"/cases/{case.id}")
    expect(page.locator("#escalation-panel")).to_contain_text("Claimed by Ines Owner")
    reply = page.locator("#reply-form")
    reply.locator("textarea[name=reply-body]").fill("Vi byter skärmen i morgon.")
    reply.locator("button[type=submit]").click()
    expect(page.locator("#case-timeline")).to_contain_text("Vi byter skärmen i morgon.")
    page.wait_for_load_state("networkidle")  # the regions reloading on case-changed are back

    page.locator("#escalation-panel summary", has_text="De-escalate").click()
    form = page.locator("#de-escalate-form")
    form.get_by_label("Back to Alice Agent in Servicedesk").check()
    form.locator("textarea[name=back-reason]").fill("Klart för handläggaren")
    form.locator("button[type=submit]").click()
    expect(page.locator("#flash")).to_contain_text(f"Case #{case.id} is de-escalated.")
    expect(page.locator("#case-timeline")).to_contain_text(
        "De-escalated the case from Hårdvara L2 back to Alice Agent in Servicedesk.")
    with live_server.db():
        row = Case.get_by_id(case.id)
        assert (row.inbox_id, row.assignee_id, row.claimed_by_id) == (None, agent.id, None)


@pytest.mark.parametrize("e2e_backend", ["sqlite", "postgres"])
def test_two_owners_claim_at_the_same_time_and_get_different_cases(live_server, new_page, org,
                                                                    agent):
    with live_server.db():
        first_owner = factories.make_member(org, "agent", name="Frida First")
        second_owner = factories.make_member(org, "agent", name="Sven Second")
        _, inbox, cases = _desk(org, agent, owners=[first_owner, second_owner], cases=4,
                                batch_size=2)
        _escalate_all(cases, inbox, agent)
    pages = []
    for owner in (first_owner, second_owner):
        page = new_page()
        sign_in(page, live_server, owner)
        expect(page.locator('#escalation-inboxes [data-count="unclaimed"]')).to_have_text("4")
        pages.append(page)
    buttons = [p.locator("#escalation-inboxes").get_by_role("button", name="Claim next")
               for p in pages]
    for button in buttons:  # both requests leave before either answer arrives
        button.click(no_wait_after=True)
    mine = []
    for page in pages:
        expect(page.locator("#escalation-inboxes")).to_contain_text("You claimed 2 cases")
        links = page.locator("#escalation-inboxes .my-claims a")
        expect(links).to_have_count(2)
        mine.append({link.get_attribute("href") for link in links.all()})
    assert not mine[0] & mine[1]
    with live_server.db():
        claims = list(Claim.select())
        assert len(claims) == 4 and len({c.case_id for c in claims}) == 4


def test_claiming_a_case_just_taken_shows_the_conflict(live_server, new_page, org, agent):
    with live_server.db():
        first_owner = factories.make_member(org, "agent")
        second_owner = factories.make_member(org, "agent", name="Sven Second")
        _, inbox, cases = _desk(org, agent, owners=[first_owner, second_owner], cases=1)
        _escalate_all(cases, inbox, agent)
    case = cases[0]
    page = new_page()
    sign_in(page, live_server, second_owner, goto=f"/cases/{case.id}")
    claim = page.locator("#escalation-panel").get_by_role("button", name="Claim this case")
    expect(claim).to_be_visible()
    with live_server.db():
        service.claim_case(Case.get_by_id(case.id), first_owner, now=utcnow())
    claim.click()
    expect(page.locator("body")).to_contain_text("This case is already claimed.")


def test_an_owner_claims_without_javascript(live_server, new_page, org, agent):
    with live_server.db():
        owner = factories.make_member(org, "agent")
        _, inbox, cases = _desk(org, agent, owners=[owner], cases=2)
        _escalate_all(cases, inbox, agent)
    page = new_page(java_script_enabled=False)
    sign_in(page, live_server, owner)
    page.locator("#escalation-inboxes").get_by_role("button", name="Claim next").click()
    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator("#flash")).to_contain_text("You claimed 2 cases from Hårdvara L2.")
    expect(page.locator("#escalation-inboxes .my-claims a")).to_have_count(2)
