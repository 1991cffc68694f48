"""Handoff codes through the test client: make a code, the code page (large code, countdown,
copy, QR, revoke), enter a code (preview, take over), identical answers for every failure,
limits, the landing panel and notices, and the organisation's setting."""
import json
import re
from datetime import timedelta

import pytest

from escalation.handoff import service
from escalation.handoff.models import HandoffAttempt, HandoffCode, HandoffNotice, HandoffSettings, WorkSession
from escalation.models import AuditEvent, Case

from .conftest import AuthActions
from .factories import NOW, make_member, make_queue
from escalation.clock import utcnow

from .factories_handoff import SECRET, escalate_and_claim, make_checklist, make_worked_case, png_bytes, start
from .factories_handoff import issue as issue_at


@pytest.fixture
def colleague(org):
    return make_member(org, "agent", name="Bo Colleague", email="bo@example.test")


@pytest.fixture
def case(org, agent, colleague):
    queue = make_queue(org, members=[agent, colleague])
    return make_worked_case(org, agent, queue=queue, subject="Printer jams on floor 3")


@pytest.fixture
def second(app):
    """A second browser (or a second worker): another client, same database."""
    client = app.test_client()
    return client, AuthActions(client).login


def issue(case, actor, now=None):
    """A code made now (the views check codes against the real clock)."""
    return issue_at(case, actor, now=now or utcnow())


def text(response):
    return response.get_data(as_text=True)


_CSRF = re.compile(r"I[\w.-]{40,}")  # Flask-WTF tokens carry a timestamp: they change by the second


def same_page(response, typed):
    """The page with the typed code and the CSRF tokens taken out."""
    return _CSRF.sub("TOKEN", text(response).replace(typed, "XXXX-XXXX"))


def make_code(client, case):
    response = client.post(f"/handoff/cases/{case.id}/codes")
    assert response.status_code == 303, text(response)[:300]
    page = client.get(response.headers["Location"])
    found = re.search(r'id="handoff-code"[^>]*>([A-Z]{4}-[A-Z]{4})<', text(page))
    assert found, text(page)[:2000]
    return found.group(1), page


# -- Making a code ----------------------------------------------------------------------------

def test_the_code_page_shows_the_code_large_with_countdown_copy_qr_and_revoke(client, login, agent, case):
    login(agent)
    code, page = make_code(client, case)
    body = text(page)
    assert re.fullmatch("[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", code)
    assert "Valid until" in body and "min" in body and 'hx-trigger="every 5s"' in body
    assert "<svg" in body and 'class="segno"' in body
    assert "navigator.clipboard" in body and f'data-code="{code}"' in body
    assert "Withdraw the code" in body
    row = HandoffCode.get()
    assert row.code_hash == service.hash_code(code, SECRET)
    with client.session_transaction() as session:
        assert session["handoff_codes"] == {str(row.id): code.replace("-", "")}


def test_the_qr_code_opens_the_redeem_page_with_the_code_filled_in(client, login, agent, case, colleague, second):
    login(agent)
    code, page = make_code(client, case)
    other, sign_in = second
    sign_in(colleague)
    redeem = other.get(f"/handoff/redeem?code={code}")
    assert redeem.status_code == 200 and f'value="{code}"' in text(redeem)


def test_the_code_page_polls_its_status_and_says_when_taken_over(client, login, agent, case, colleague, second):
    login(agent)
    code, _ = make_code(client, case)
    row = HandoffCode.get()
    status = client.get(f"/handoff/codes/{row.id}/status", htmx=True)
    assert status.status_code == 200 and "<html" not in text(status) and "left" in text(status)
    other, sign_in = second
    sign_in(colleague)
    other.post("/handoff/redeem/take-over", data={"code": code})
    status = client.get(f"/handoff/codes/{row.id}/status", htmx=True)
    assert "Bo Colleague took over the case" in text(status)
    assert "every 5s" not in text(status)  # polling stops


def test_only_the_holder_may_make_a_code(client, login, colleague, case):
    login(colleague)
    assert client.post(f"/handoff/cases/{case.id}/codes").status_code == 403


def test_another_organisation_cannot_make_or_see_codes(client, login, agent, outsider, case, app):
    login(agent)
    make_code(client, case)
    row = HandoffCode.get()
    stranger = app.test_client()
    AuthActions(stranger).login(outsider)
    assert stranger.post(f"/handoff/cases/{case.id}/codes").status_code == 404
    assert stranger.get(f"/handoff/codes/{row.id}").status_code == 404


def test_only_the_issuer_sees_the_code_page(client, login, agent, colleague, case, second):
    login(agent)
    make_code(client, case)
    row = HandoffCode.get()
    other, sign_in = second
    sign_in(colleague)
    assert other.get(f"/handoff/codes/{row.id}").status_code == 404


def test_revoking_from_the_code_page(client, login, agent, colleague, case, second):
    login(agent)
    code, _ = make_code(client, case)
    row = HandoffCode.get()
    response = client.post(f"/handoff/codes/{row.id}/revoke")
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    assert "The code is withdrawn." in page and "This code was withdrawn" in page and code not in page
    other, sign_in = second
    sign_in(colleague)
    assert other.post("/handoff/redeem", data={"code": code}).status_code == 422
    assert client.post(f"/handoff/codes/{row.id}/revoke").status_code == 409


def test_a_new_code_replaces_the_old_one(client, login, agent, case):
    login(agent)
    first, _ = make_code(client, case)
    second_code, _ = make_code(client, case)
    assert first != second_code
    assert HandoffCode.select().where(HandoffCode.revoked_reason == "replaced").count() == 1


# -- Entering a code --------------------------------------------------------------------------

def test_preview_then_take_over(client, login, agent, colleague, case, admin, second):
    session = start(case, agent, make_checklist(case.organisation, admin))
    login(agent)
    code, _ = make_code(client, case)
    other, sign_in = second
    sign_in(colleague)
    preview = other.post("/handoff/redeem", data={"code": code.lower().replace("-", " ")})
    assert preview.status_code == 200
    body = text(preview)
    assert "Take over case #%d" % case.id in body and "Printer jams on floor 3" in body
    assert "Alice Agent" in body and "0 of 6 steps done" in body and "Take over</button>" in body
    assert Case.get_by_id(case.id).assignee_id == agent.id  # nothing moved yet
    taken = other.post("/handoff/redeem/take-over", data={"code": code})
    assert taken.status_code == 303
    assert taken.headers["Location"].endswith(f"/handoff/cases/{case.id}/session")
    page = text(other.get(taken.headers["Location"]))
    assert f"You have taken over case #{case.id}" in page
    assert Case.get_by_id(case.id).assignee_id == colleague.id
    assert WorkSession.get_by_id(session.id).worker_id == colleague.id
    # The issuer is told on their landing page.
    landing = text(client.get("/"))
    assert f"Bo Colleague took over case #{case.id} with your handoff code." in landing


@pytest.mark.parametrize("locale, message", [
    ("en", "That code cannot be used. Check it with your colleague, or ask them for a new one."),
    ("sv", "Koden kan inte användas. Kontrollera den med din kollega eller be om en ny."),
])
def test_an_unknown_code_is_422_with_the_code_kept(client, login, colleague, locale, message):
    colleague.user.locale = locale
    colleague.user.save()
    login(colleague)
    response = client.post("/handoff/redeem", data={"code": "BCDF-GHJK"})
    assert response.status_code == 422
    assert message in text(response) and 'value="BCDF-GHJK"' in text(response)


def test_a_malformed_code_is_422_and_not_counted(client, login, colleague):
    login(colleague)
    response = client.post("/handoff/redeem", data={"code": "hello"})
    assert response.status_code == 422 and "8 letters" in text(response)
    assert client.post("/handoff/redeem", data={"code": ""}).status_code == 422
    assert HandoffAttempt.select().count() == 0


def test_every_failure_kind_gets_the_same_answer(app, client, login, org, agent, colleague, case, other_org):
    """Unknown, expired, used, revoked and another organisation's codes: byte for byte the same
    page (once the typed code is taken out), same status."""
    cases = [make_worked_case(org, agent, queue=case.queue) for _ in range(4)]
    _, expired = issue(cases[0], agent, now=utcnow() - timedelta(hours=1))
    _, used = issue(cases[1], agent)
    service.redeem_code(used, make_member(org, "supervisor"), secret_key=SECRET, now=utcnow())
    revoked_row, revoked = issue(cases[2], agent)
    service.revoke_code(revoked_row, agent, now=utcnow())
    stranger = make_member(other_org, "agent")
    foreign_case = make_worked_case(other_org, stranger)
    _, foreign = issue(foreign_case, stranger)
    unknown = "ZZZZZZZZ"
    login(colleague)
    answers = {}
    for kind, plain in {"unknown": unknown, "expired": expired, "used": used, "revoked": revoked,
                        "other organisation": foreign}.items():
        typed = service.format_code(plain)
        response = client.post("/handoff/redeem", data={"code": typed})
        answers[kind] = (response.status_code, same_page(response, typed))
    assert len(set(answers.values())) == 1, answers.keys()
    assert answers["unknown"][0] == 422
    take_over = {kind: client.post("/handoff/redeem/take-over", data={"code": service.format_code(p)})
                 for kind, p in {"unknown": unknown, "used": used, "other": foreign}.items()}
    bodies = {(r.status_code, same_page(r, service.format_code(p))) for r, p in
              zip(take_over.values(), (unknown, used, foreign))}
    assert len(bodies) == 1


def test_a_member_who_may_not_work_the_queue_gets_the_same_answer(client, login, org, agent, case):
    outside = make_member(org, "agent")
    code_row, plain = issue(case, agent)
    login(outside)
    response = client.post("/handoff/redeem", data={"code": plain})
    assert response.status_code == 422 and "That code cannot be used." in text(response)
    assert client.post("/handoff/redeem/take-over", data={"code": plain}).status_code == 422
    assert Case.get_by_id(case.id).assignee_id == agent.id


def test_an_inactive_member_is_signed_out(client, login, colleague, agent, case):
    _, plain = issue(case, agent)
    login(colleague)
    colleague.active = False
    colleague.save()
    response = client.post("/handoff/redeem/take-over", data={"code": plain})
    assert response.status_code in (302, 400)
    assert Case.get_by_id(case.id).assignee_id == agent.id


def test_the_member_limit_says_so_and_is_shared_between_clients(app, client, login, colleague, agent, case, second):
    login(colleague)
    other, sign_in = second
    sign_in(colleague)
    for n in range(service.MEMBER_FAILURES_PER_HOUR):
        target = client if n % 2 else other
        assert target.post("/handoff/redeem", data={"code": "BBBB-BBBB"}).status_code == 422
    _, plain = issue(case, agent)
    response = client.post("/handoff/redeem", data={"code": plain})
    assert response.status_code == 429 and "Too many codes" in text(response)
    htmx = other.post("/handoff/redeem", data={"code": plain}, htmx=True)
    assert htmx.status_code == 429 and "<html" not in text(htmx)


def test_admins_see_the_pause_on_their_landing(client, login, org, admin, agent, case):
    guessers = [make_member(org, "agent") for _ in range(10)]
    for guesser in guessers * 10:
        with pytest.raises(Exception):
            service.check_code("BBBBBBBB", guesser, secret_key=SECRET, now=utcnow())
    login(admin)
    landing = text(client.get("/"))
    if 'id="handoff-landing"' not in landing:
        pytest.skip("the landing page renders no panels yet")
    assert "Handoff codes were paused" in landing
    assert HandoffNotice.select().where(HandoffNotice.member == admin).exists()


# -- The landing panel ------------------------------------------------------------------------

def test_every_member_can_enter_a_code_from_their_landing(client, login, colleague):
    login(colleague)
    landing = text(client.get("/"))
    assert 'id="handoff-landing"' in landing and "Enter a handoff code" in landing
    assert 'action="/handoff/redeem"' in landing


def test_dismissing_a_notice(client, login, agent, colleague, case):
    _, plain = issue(case, agent)
    service.redeem_code(plain, colleague, secret_key=SECRET, now=utcnow())
    notice = HandoffNotice.get()
    login(agent)
    response = client.post(f"/handoff/notices/{notice.id}/dismiss", htmx=True)
    assert response.status_code == 200 and 'id="handoff-landing"' in text(response)
    assert "<html" not in text(response) and "took over" not in text(response)
    assert json.loads(response.headers["HX-Trigger"]) == {"handoff-notice-dismissed": {"notice": notice.id}}
    assert HandoffNotice.get_by_id(notice.id).dismissed_at is not None
    assert client.post(f"/handoff/notices/{notice.id}/dismiss").status_code == 303


def test_someone_elses_notice_is_404(client, login, agent, colleague, case):
    _, plain = issue(case, agent)
    service.redeem_code(plain, colleague, secret_key=SECRET, now=utcnow())
    login(colleague)
    assert client.post(f"/handoff/notices/{HandoffNotice.get().id}/dismiss").status_code == 404


# -- Escalated cases --------------------------------------------------------------------------

def test_an_inbox_owner_takes_over_the_claim(client, login, org, agent, case, second):
    l2a = make_member(org, "agent", name="Lena L2")
    l2b = make_member(org, "agent", name="Lars L2")
    from .factories import make_inbox
    escalate_and_claim(case, l2a, inbox=make_inbox(org, owners=[l2a, l2b]), now=utcnow())
    login(l2a)
    code, _ = make_code(client, Case.get_by_id(case.id))
    other, sign_in = second
    sign_in(l2b)
    assert other.post("/handoff/redeem/take-over", data={"code": code}).status_code == 303
    assert Case.get_by_id(case.id).claimed_by_id == l2b.id


# -- Settings ---------------------------------------------------------------------------------

def test_admins_set_the_lifetime(client, login, admin, org):
    login(admin)
    assert client.get("/handoff/admin/settings").status_code == 200
    response = client.post("/handoff/admin/settings", data={"code_minutes": "25"})
    assert response.status_code == 303
    assert "Handoff codes now last 25 minutes." in text(client.get(response.headers["Location"]))
    assert HandoffSettings.get(HandoffSettings.organisation == org).code_minutes == 25
    assert AuditEvent.select().where(AuditEvent.action == "handoff.settings_changed").exists()


@pytest.mark.parametrize("locale, message", [("en", "Number must be between 2 and 60."),
                                             ("sv", "Numret måste vara mellan 2 och 60.")])
def test_a_lifetime_outside_two_to_sixty_is_422(client, login, admin, locale, message):
    admin.user.locale = locale
    admin.user.save()
    login(admin)
    response = client.post("/handoff/admin/settings", data={"code_minutes": "90"})
    assert response.status_code == 422 and message in text(response) and 'value="90"' in text(response)
    partial = client.post("/handoff/admin/settings", data={"code_minutes": "1"}, htmx=True)
    assert partial.status_code == 422 and "<html" not in text(partial)
    assert not HandoffSettings.select().exists()


def test_agents_and_supervisors_may_not_change_settings(client, login, supervisor):
    login(supervisor)
    assert client.get("/handoff/admin/settings").status_code == 403
    assert client.post("/handoff/admin/settings", data={"code_minutes": "5"}).status_code == 403


def test_anonymous_htmx_gets_401_with_redirect(client):
    response = client.get("/handoff/redeem", htmx=True)
    assert response.status_code == 401 and "/auth/login" in response.headers["HX-Redirect"]


# -- The redeemer sees everything -------------------------------------------------------------

def test_the_redeemer_sees_every_value_photo_and_step(client, login, agent, colleague, case, admin, second):
    from escalation.handoff import worksession
    session = start(case, agent, make_checklist(case.organisation, admin))
    steps = {s.title: s for s in session.steps}
    worksession.save_step(steps["Read the page counter"], agent, done=True, value="4711", now=NOW)
    worksession.save_step(steps["Which tray jams"], agent, done=False, value="Tray 2", now=NOW)
    worksession.save_step(steps["Photo of the error display"], agent, done=True,
                          photo=worksession.Upload("display.png", png_bytes()), now=NOW)
    worksession.add_photo(session, agent, upload=worksession.Upload("overview.jpg", png_bytes(2, 2)), now=NOW)
    worksession.save_notes(session, agent, notes="Paper is damp.", now=NOW)
    _, plain = issue(case, agent)
    other, sign_in = second
    sign_in(colleague)
    assert other.post("/handoff/redeem/take-over", data={"code": plain}).status_code == 303
    page = text(other.get(f"/handoff/cases/{case.id}/session"))
    assert 'value="4711"' in page and '<option value="Tray 2" selected>' in page
    assert "Paper is damp." in page and "3 of 6 steps done" not in page and "2 of 6 steps done" in page
    assert "<fieldset disabled>" not in page  # the redeemer may work on every step
    from escalation.handoff.models import SessionPhoto
    for photo in list(SessionPhoto.select()):
        download = other.get(f"/handoff/photos/{photo.id}")
        assert download.status_code == 200 and len(download.data) == photo.size
    # The escalation form's "troubleshooting done" is filled from the same session.
    text_done = service.troubleshooting_text(case)
    assert "Read the page counter: 4711" in text_done and "2 photos taken." in text_done


def test_the_escalation_form_is_prefilled_from_the_work_session(client, login, agent, case, admin):
    """"Troubleshooting done" in the escalation form (the escalations area) comes from
    ``escalation.handoff.service.troubleshooting_text``."""
    from escalation.handoff import worksession
    session = start(case, agent, make_checklist(case.organisation, admin))
    steps = {s.title: s for s in session.steps}
    worksession.save_step(steps["Read the page counter"], agent, done=True, value="4711", now=NOW)
    worksession.save_notes(session, agent, notes="Paper is damp.", now=NOW)
    login(agent)
    form = client.get(f"/escalations/form?case={case.id}")
    assert form.status_code == 200
    body = text(form)
    troubleshooting = body.split('name="troubleshooting"')[1].split("</textarea>")[0]
    assert "Read the page counter: 4711" in troubleshooting and "Paper is damp." in troubleshooting


# -- The escalate button of a work session ----------------------------------------------------

def test_the_escalate_page_offers_directory_code_and_inbox(client, login, agent, case, org):
    from .factories import make_inbox
    make_inbox(org, name="Hardware L2")
    start(case, agent)
    login(agent)
    session_page = text(client.get(f"/handoff/cases/{case.id}/session"))
    assert f'href="/handoff/cases/{case.id}/escalate"' in session_page
    page = client.get(f"/handoff/cases/{case.id}/escalate")
    body = text(page)
    assert page.status_code == 200
    assert 'action="/handoff/directory"' in body and f'name="case" value="{case.id}"' in body
    assert f'action="/handoff/cases/{case.id}/codes"' in body
    assert f'action="/handoff/cases/{case.id}/escalate"' in body and "Hardware L2" in body


def test_escalating_into_an_inbox_from_the_session(client, login, agent, case, org):
    from .factories import make_inbox
    inbox = make_inbox(org, name="Hardware L2")
    login(agent)
    response = client.post(f"/handoff/cases/{case.id}/escalate",
                           data={"inbox": str(inbox.id), "reason": "Needs a technician on site"})
    assert response.status_code == 303
    assert Case.get_by_id(case.id).inbox_id == inbox.id
    assert "The case is escalated into Hardware L2" in text(client.get(response.headers["Location"]))


@pytest.mark.parametrize("locale, message", [("en", "This field is required."),
                                             ("sv", "Det här fältet är obligatoriskt.")])
def test_escalating_without_a_reason_is_422(client, login, agent, case, org, locale, message):
    from .factories import make_inbox
    inbox = make_inbox(org)
    agent.user.locale = locale
    agent.user.save()
    login(agent)
    response = client.post(f"/handoff/cases/{case.id}/escalate", data={"inbox": str(inbox.id), "reason": ""})
    assert response.status_code == 422 and message in text(response)
    assert f'<option selected value="{inbox.id}">' in text(response) or f'value="{inbox.id}" selected' in text(response)
    assert Case.get_by_id(case.id).inbox_id is None


def test_only_the_cases_agent_or_a_lead_escalates(client, login, colleague, case, org):
    from .factories import make_inbox
    inbox = make_inbox(org)
    login(colleague)
    assert client.get(f"/handoff/cases/{case.id}/escalate").status_code == 403
    assert client.post(f"/handoff/cases/{case.id}/escalate",
                       data={"inbox": str(inbox.id), "reason": "x"}).status_code == 403


# -- Suggestions for the case's catalog item --------------------------------------------------

def _catalog_checklists(org, admin):
    from escalation.handoff import checklists
    from .factories_handoff import make_catalog_item
    laptops = make_catalog_item(org, category="Hardware", name="Laptops")
    phones = make_catalog_item(org, category=laptops.category, name="Phones")
    made = {}
    for name, catalog in (("Anything", ""), ("Boot check", f"item-{laptops.id}"),
                          ("Hardware basics", f"category-{laptops.category_id}"),
                          ("Phone reset", f"item-{phones.id}")):
        made[name] = checklists.create_checklist(org, admin, name=name, catalog=catalog, now=NOW)
    return laptops, made


@pytest.mark.parametrize("locale, labels", [
    ("en", ["Suggested for Laptops", "Suggested for Hardware", "General checklists", "Other checklists"]),
    ("sv", ["Föreslås för Laptops", "Föreslås för Hardware", "Allmänna checklistor", "Övriga checklistor"])])
def test_starting_a_session_offers_the_items_checklists_first(client, login, org, agent, admin, case, locale, labels):
    from .factories_handoff import came_in_through
    laptops, made = _catalog_checklists(org, admin)
    came_in_through(case, laptops)
    agent.user.locale = locale
    agent.user.save()
    login(agent)
    page = text(client.get(f"/handoff/cases/{case.id}/session"))
    groups = re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', page, re.S)
    assert [label for label, _ in groups] == labels
    assert [re.findall(r">([^<]+)</option>", options) for _, options in groups] == [
        ["Boot check"], ["Hardware basics"], ["Anything"], ["Phone reset"]]
    # The first suggestion is chosen; the form says which item the case came in through.
    assert f'<option selected value="{made["Boot check"].id}">Boot check</option>' in page
    assert "Laptops (Hardware)" in page
    response = client.post(f"/handoff/cases/{case.id}/session", data={"checklist": str(made["Boot check"].id)})
    assert response.status_code == 303
    assert WorkSession.get(WorkSession.case == case).checklist_id == made["Boot check"].id


def test_without_a_catalog_item_nothing_is_preselected(client, login, org, agent, admin, case):
    _catalog_checklists(org, admin)
    login(agent)
    page = text(client.get(f"/handoff/cases/{case.id}/session"))
    assert "Suggested for" not in page and "selected" not in page.split('id="checklist"')[1].split("</select>")[0]
    assert '<optgroup label="General checklists">' in page


def test_the_directory_suggests_entries_for_the_cases_item(client, login, org, agent, admin, case):
    from .factories_handoff import came_in_through, make_catalog_item, make_entry
    laptops = make_catalog_item(org, category="Hardware", name="Laptops")
    lars = make_entry(org, admin, asset_type="Laptop", contact_name="Lars Laptop", catalog=f"item-{laptops.id}")
    make_entry(org, admin, asset_type="Printer", contact_name="Pia Print")
    came_in_through(case, laptops)
    login(agent)
    page = text(client.get(f"/handoff/directory?case={case.id}"))
    suggested = page.split('id="directory-suggested"')[1].split("</section>")[0]
    assert "Suggested for Laptops" in suggested and "Lars Laptop" in suggested and "Pia Print" not in suggested
    assert f'id="suggested-entry-{lars.id}"' in suggested
    assert f'action="/handoff/directory/{lars.id}/route"' in suggested
    # The search results below are unchanged (and the active search's fragment has no suggestions).
    assert page.count(f'id="entry-{lars.id}"') == 1
    fragment = text(client.get(f"/handoff/directory?case={case.id}&q=laptop", htmx=True))
    assert "directory-suggested" not in fragment and "Lars Laptop" in fragment
    # Without a case there is nothing to suggest.
    assert "directory-suggested" not in text(client.get("/handoff/directory"))


def test_admins_link_a_directory_entry_to_the_catalog(client, login, org, admin, other_org):
    from escalation.handoff.models import RoutingEntry
    from .factories_handoff import make_catalog_item
    laptops = make_catalog_item(org, category="Hardware", name="Laptops")
    elsewhere = make_catalog_item(other_org, category="Theirs", name="Their laptops")
    login(admin)
    form = text(client.get("/handoff/admin/directory/new"))
    assert f'value="item-{laptops.id}"' in form and "Their laptops" not in form
    refused = client.post("/handoff/admin/directory/new", data={
        "issue": "Will not boot", "contact_name": "Lars", "catalog": f"item-{elsewhere.id}"})
    assert refused.status_code == 422
    assert "Choose one of your organisation&#39;s catalog items or categories." in text(refused)
    assert 'value="Will not boot"' in text(refused) and not RoutingEntry.select().exists()
    assert client.post("/handoff/admin/directory/new", data={
        "issue": "Will not boot", "contact_name": "Lars", "catalog": f"item-{laptops.id}"}).status_code == 303
    entry = RoutingEntry.get()
    assert entry.catalog_item_id == laptops.id
    assert "For Laptops (Hardware)" in text(client.get("/handoff/admin/directory"))
    assert f'<option selected value="item-{laptops.id}">' in text(client.get(f"/handoff/admin/directory/{entry.id}"))
