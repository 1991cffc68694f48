"""Foundation journeys in a real browser, against gunicorn with 2 workers (tests/e2e/conftest.py).

- An agent signs in in Swedish, sees Swedish text, answers a case and lands on the next one.
- A supervisor filters the threads view: active search updates the list as typed, the URL follows.
- The same journeys with JavaScript off (plain forms and links).
- htmx's error handling in base.html: a 422 is swapped in place; other errors land in #flash.
"""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from escalation.models import Case, Member, Message
from tests import factories
from tests.e2e.helpers import mark_document, same_document, sign_in, sign_in_with_form, sv

pytestmark = pytest.mark.e2e


# ------------------------------------------------------------------------------------------------
# Signing in

@pytest.mark.parametrize("e2e_backend", ["sqlite", "postgres"])
@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_sign_in_form_takes_the_member_to_the_landing_page(live_server, new_page, agent, js):
    page = new_page(java_script_enabled=js)
    sign_in_with_form(page, live_server, agent)
    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator("header.site")).to_have_count(1)
    expect(page.locator("header.site")).to_contain_text("Alice Agent")


def test_wrong_password_is_swapped_in_place_in_swedish(live_server, new_page, agent):
    page = new_page(locale="sv-SE")
    page.goto(live_server.url + "/auth/login")
    expect(page.locator("h1")).to_have_text("Logga in")
    mark_document(page)
    form = page.locator("#login-form")
    form.locator("input[name=email]").fill("alice@example.test")
    form.locator("input[name=password]").fill("not the password")
    form.locator("button[type=submit]").click()

    summary = page.locator("#login-form .error-summary")
    expect(summary).to_contain_text("E-postadressen och lösenordet stämmer inte med något konto.")
    assert same_document(page), "the 422 was a page load, not an htmx swap"
    expect(page).to_have_url(live_server.url + "/auth/login")
    expect(page.locator("#login-form")).to_have_count(1)
    expect(page.locator("#login-form input[name=email]")).to_have_value("alice@example.test")
    expect(page.locator("#login-form input[name=password]")).to_have_value("")


def test_error_summary_is_focused_after_a_422_swap(live_server, page, agent):
    """static/app.js moves focus to the error summary after an htmx swap, for keyboard and
    screen-reader users."""
    page.goto(live_server.url + "/auth/login")
    form = page.locator("#login-form")
    form.locator("input[name=email]").fill("alice@example.test")
    form.locator("input[name=password]").fill("not the password")
    form.locator("button[type=submit]").click()
    expect(page.locator("#login-form .error-summary")).to_be_focused()


def test_wrong_password_without_js_shows_the_form_again(live_server, new_page, agent):
    page = new_page(locale="sv-SE", java_script_enabled=False)
    page.goto(live_server.url + "/auth/login")
    form = page.locator("#login-form")
    form.locator("input[name=email]").fill("alice@example.test")
    form.locator("input[name=password]").fill("not the password")
    with page.expect_navigation() as navigation:
        form.locator("button[type=submit]").click()
    assert navigation.value.status == 422
    expect(page.locator(".error-summary")).to_contain_text("stämmer inte med något konto")
    expect(page.locator("#login-form input[name=email]")).to_have_value("alice@example.test")


# ------------------------------------------------------------------------------------------------
# An agent answers their queue in Swedish ("next conversation")

def _agent_queue(org, agent):
    """Two cases waiting for the agent's reply (the older first), one already answered and one
    in the pool: only the first two are in the agent's reply queue."""
    desk = factories.make_queue(org, name="Servicedesk", members=[agent])
    older = factories.make_case(
        org, desk, subject="Skrivaren på plan 3 krånglar", assignee=agent,
        created_at=factories.NOW - timedelta(hours=3),
        requester=factories.make_contact(org, name="Greta Lund"),
        first_message="Hej! Skrivaren drar in två papper åt gången.")
    newer = factories.make_case(
        org, desk, subject="VPN bryts varje timme", assignee=agent,
        created_at=factories.NOW - timedelta(hours=1), first_message="VPN:en tappar anslutningen.")
    factories.make_case(org, desk, subject="Redan besvarat", assignee=agent,
                        reply_status="responded", created_at=factories.NOW - timedelta(hours=5))
    factories.make_case(org, desk, subject="I poolen", created_at=factories.NOW - timedelta(hours=6))
    return older, newer


def _reply(page, text):
    form = page.locator("#reply-form")
    form.locator("textarea[name='reply-body']").fill(text)
    expect(form.locator("button[type=submit]")).to_have_text(sv("Send and go to the next case"))
    form.locator("button[type=submit]").click()


JOURNEYS = [
    # (JavaScript, backend, where Swedish comes from)
    pytest.param(True, "sqlite", "accept-language", id="js-sqlite-accept-language"),
    pytest.param(True, "postgres", "preference", id="js-postgres-preference"),
    pytest.param(False, "sqlite", "preference", id="no-js-sqlite-preference"),
    pytest.param(False, "postgres", "accept-language", id="no-js-postgres-accept-language"),
]


@pytest.mark.parametrize("js, e2e_backend, swedish_from", JOURNEYS)
def test_agent_answers_in_swedish_and_lands_on_the_next_case(live_server, new_page, org, js,
                                                              swedish_from):
    with live_server.db():
        agent = factories.make_member(org, "agent", name="Agnes Handläggare",
                                      email="agnes@example.test",
                                      locale="sv" if swedish_from == "preference" else None)
        older, newer = _agent_queue(org, agent)
    browser_locale = "sv-SE" if swedish_from == "accept-language" else "en-GB"
    page = new_page(locale=browser_locale, java_script_enabled=js)

    page.goto(live_server.url + "/auth/login")
    if swedish_from == "accept-language":
        expect(page.locator("h1")).to_have_text("Logga in")
    sign_in_with_form(page, live_server, agent)
    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.locator("h1")).to_have_text(sv("My queue"))
    expect(page.get_by_role("button", name="Logga ut")).to_be_visible()
    queue = page.locator("#reply-queue tbody tr")
    expect(queue).to_have_count(2)
    expect(queue.first).to_contain_text("Skrivaren på plan 3 krånglar")
    expect(queue.last).to_contain_text("VPN bryts varje timme")

    page.locator("#reply-queue a", has_text=sv("Start with the longest waiting")).click()
    expect(page).to_have_url(re.compile(rf"/cases/{older.id}\?from=queue$"))
    expect(page.locator("#case-header h1")).to_contain_text("Skrivaren på plan 3 krånglar")
    expect(page.locator("#case-timeline")).to_contain_text("drar in två papper")

    _reply(page, "Hej Greta! Vi byter matarrullen i dag.")
    expect(page).to_have_url(re.compile(rf"/cases/{newer.id}\?from=queue$"))
    expect(page.locator("#case-header h1")).to_contain_text("VPN bryts varje timme")
    expect(page.locator("#flash")).to_contain_text(
        sv("Your reply is sent. Here is the next case in your queue."))

    _reply(page, "Hej! Prova att uppdatera klienten.")
    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator("#flash")).to_contain_text(
        sv("Your reply is sent. Your queue is empty: request more cases when you are ready."))
    expect(page.locator("#reply-queue tbody tr")).to_have_count(0)

    with live_server.db():
        for case, text in ((older, "matarrullen"), (newer, "uppdatera klienten")):
            assert Case.get_by_id(case.id).reply_status == "responded"
            sent = Message.select().where((Message.case == case.id) & (Message.kind == "out"))
            assert [m.body for m in sent] and text in sent[0].body
            assert sent[0].author_id == agent.id


# ------------------------------------------------------------------------------------------------
# A supervisor filters the threads view

def _threads_cases(org):
    """Three cases in two queues; one contact is searchable by name only."""
    desk = factories.make_queue(org, name="Service desk")
    network = factories.make_queue(org, name="Network")
    greta = factories.make_contact(org, name="Greta Lund", email="greta@example.test")
    return {
        "vpn": factories.make_case(org, network, subject="VPN drops every hour"),
        "printer": factories.make_case(org, desk, subject="Printer jams on floor 3",
                                       requester=greta),
        "laptop": factories.make_case(org, desk, subject="New laptop for Bengt", status="waiting"),
    }


def _rows(page):
    return page.locator("#threads-list tbody tr")


@pytest.mark.parametrize("e2e_backend", ["sqlite", "postgres"])
def test_supervisor_filters_the_threads_view_as_they_type(live_server, page, org, supervisor):
    with live_server.db():
        _threads_cases(org)
    sign_in(page, live_server, supervisor, goto="/threads")
    expect(_rows(page)).to_have_count(3)
    mark_document(page)

    search = page.get_by_label("Search", exact=True)
    search.press_sequentially("vpn")  # typed, no button pressed
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page).first).to_contain_text("VPN drops every hour")
    expect(page).to_have_url(re.compile(r"/threads\?(.*&)?q=vpn(&|$)"))
    expect(page.locator("#threads-list .counts a").first).to_contain_text("1")

    search.fill("")
    search.press_sequentially("greta")  # the contact's name, not the subject
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page).first).to_contain_text("Printer jams on floor 3")
    expect(page).to_have_url(re.compile(r"[?&]q=greta(&|$)"))

    search.fill("")
    expect(_rows(page)).to_have_count(3)
    page.get_by_label("Status", exact=True).select_option("waiting")
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page).first).to_contain_text("New laptop for Bengt")
    expect(page).to_have_url(re.compile(r"[?&]status=waiting(&|$)"))
    assert same_document(page), "filtering reloaded the whole page"

    # Back goes to the list as it was before the last filter.
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"status=waiting"))
    expect(_rows(page)).to_have_count(3)
    expect(page.get_by_label("Status", exact=True)).to_have_value("")
    page.go_forward()
    expect(page).to_have_url(re.compile(r"[?&]status=waiting(&|$)"))
    expect(_rows(page)).to_have_count(1)

    # The pushed URL is a link: opened afresh, it shows the same list and the filter as set.
    page.reload()
    expect(_rows(page)).to_have_count(1)
    expect(page.get_by_label("Status", exact=True)).to_have_value("waiting")


def test_supervisor_filters_the_threads_view_without_javascript(live_server, new_page, org,
                                                               supervisor):
    with live_server.db():
        _threads_cases(org)
    page = new_page(java_script_enabled=False)
    sign_in(page, live_server, supervisor, goto="/threads")
    expect(_rows(page)).to_have_count(3)

    page.get_by_label("Search", exact=True).fill("greta")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/threads\?(.*&)?q=greta(&|$)"))
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page).first).to_contain_text("Printer jams on floor 3")

    page.get_by_label("Search", exact=True).fill("")
    page.get_by_label("Queue", exact=True).select_option(label="Service desk")
    page.get_by_role("button", name="Filter").click()
    expect(_rows(page)).to_have_count(2)
    # The counts per status are links that keep the rest of the filter.
    page.locator("#threads-list .counts a", has_text="Waiting").click()
    expect(page).to_have_url(re.compile(r"[?&]status=waiting(&|$)"))
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page).first).to_contain_text("New laptop for Bengt")


# ------------------------------------------------------------------------------------------------
# htmx error handling (the responseHandling config in templates/base.html)

def test_a_403_for_an_htmx_request_lands_in_flash(live_server, page, org, supervisor):
    """A supervisor demoted while the threads view is open: the next active search is refused
    (403) and the message shows in #flash, while the list stays as it was."""
    with live_server.db():
        _threads_cases(org)
    sign_in(page, live_server, supervisor, goto="/threads")
    expect(_rows(page)).to_have_count(3)
    with live_server.db():
        Member.update(role="agent").where(Member.id == supervisor.id).execute()
    mark_document(page)

    page.get_by_label("Search", exact=True).press_sequentially("vpn")
    flash = page.locator("#flash [data-status='403']")
    expect(flash).to_have_text("You do not have permission to do that.")
    expect(page.locator("#flash [role=alert]")).to_have_count(1)
    expect(_rows(page)).to_have_count(3)
    expect(page.locator("h1")).to_have_text("Threads")
    assert same_document(page)


def test_a_409_for_an_htmx_request_lands_in_flash(live_server, new_page, org, owner, admin,
                                                 agent):
    """Two admins have the same member open; the first deactivates them, the second one's
    "Deactivate" is refused (409) and the message shows in #flash, in their language (the
    owner prefers Swedish)."""
    first, second = new_page(), new_page()
    for page, member in ((first, admin), (second, owner)):
        sign_in(page, live_server, member, goto=f"/admin/members/{agent.id}")
        page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm
    deactivate = "form[action$='/deactivate'] button"
    expect(second.locator(deactivate)).to_be_visible()
    mark_document(second)

    first.locator(deactivate).click()
    expect(first.locator(f"#member-{agent.id}")).to_contain_text("Deactivated")
    expect(first.locator("#flash [role=alert]")).to_have_count(0)

    second.locator(deactivate).click()
    message = sv("%(name)s is already deactivated.") % {"name": "Alice Agent"}
    expect(second.locator("#flash [data-status='409']")).to_have_text(message)
    expect(second.locator("#flash [role=alert]")).to_have_count(1)
    expect(second.locator(f"#member-{agent.id} {deactivate}")).to_be_visible()  # not swapped
    assert same_document(second)


def test_a_case_taken_by_someone_else_is_refused_in_flash(live_server, new_page, org, agent):
    """Two agents look at the same unassigned case; the first takes it. The second one's "take"
    is refused with a message in #flash; their page stays, and the case stays with the first."""
    with live_server.db():
        bertil = factories.make_member(org, "agent", name="Bertil Handläggare",
                                       email="bertil@example.test", locale="sv")
        desk = factories.make_queue(org, name="Servicedesk", members=[agent, bertil])
        case = factories.make_case(org, desk, subject="Ny skärm till receptionen")
    first, second = new_page(), new_page(locale="sv-SE")
    take = "#case-controls form[action$='/take'] button"
    for page, member in ((first, agent), (second, bertil)):
        sign_in(page, live_server, member, goto=f"/cases/{case.id}")
        expect(page.locator(take)).to_be_visible()
    mark_document(second)

    first.locator(take).click()
    expect(first.locator(take)).to_have_count(0)
    expect(first.locator("#case-header")).to_contain_text("Alice Agent")

    second.locator(take).click()
    expect(second.locator("#flash [role=alert]")).to_have_count(1)
    expect(second.locator("#flash [role=alert]")).to_have_attribute("data-status", re.compile("403|409"))
    expect(second.locator("#case-header h1")).to_contain_text("Ny skärm till receptionen")
    assert same_document(second)
    with live_server.db():
        assert Case.get_by_id(case.id).assignee_id == agent.id


def test_fields_are_marked_invalid_only_when_they_have_errors(live_server, page):
    """aria-invalid is what screen readers announce: only a field with an error carries it."""
    page.goto(live_server.url + "/auth/login")
    email = page.locator("#login-form input[name=email]")
    assert email.get_attribute("aria-invalid") in (None, "false")
    assert email.get_attribute("aria-describedby") in (None, "") or \
        page.locator(f"#{email.get_attribute('aria-describedby')}").count() == 1
    page.locator("#login-form button[type=submit]").click()  # nothing typed: 422
    expect(page.locator("#login-form input[name=email]")).to_have_attribute("aria-invalid", "true")
    described = page.locator("#login-form input[name=email]").get_attribute("aria-describedby")
    expect(page.locator(f"#{described}")).to_be_visible()
