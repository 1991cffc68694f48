"""A technician loses the connection in the middle of a checklist: the steps saved meanwhile say
they are not saved yet and are sent as soon as the connection is back (static/handoff.js), so
nothing typed is lost. Against gunicorn (tests/e2e/conftest.py)."""
import pytest
from playwright.sync_api import expect

from tests import factories
from tests.e2e.helpers import sign_in
from tests.factories_handoff import make_checklist, start

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 390, "height": 844}}


def test_steps_saved_while_offline_are_sent_when_back_online(live_server, new_page, org, admin, agent):
    with live_server.db():
        queue = factories.make_queue(org, members=[agent])
        case = factories.make_case(org, queue, assignee=agent, subject="Printer jams on floor 3")
        session = start(case, agent, make_checklist(org, admin))
        session_id = session.id
    page = new_page(**PHONE)
    sign_in(page, live_server, agent, goto=f"/handoff/cases/{case.id}/session")
    counter = page.locator(".step", has_text="Read the page counter")
    expect(counter).to_be_visible()

    page.context.set_offline(True)
    counter.locator("input[inputmode=decimal]").fill("4711")
    counter.locator("input[inputmode=decimal]").press("Tab")
    counter.get_by_role("switch").check()
    expect(counter.locator(".unsaved")).to_contain_text("Not saved yet")
    page.locator("#notes textarea").fill("Paper is damp.")
    page.locator("#notes textarea").press("Tab")
    expect(page.locator("#notes .unsaved")).to_contain_text("Not saved yet")

    page.context.set_offline(False)
    expect(counter.locator(".step-status")).to_contain_text("Saved")
    expect(counter.locator(".unsaved")).to_have_count(0)
    expect(page.locator("#notes-status")).to_contain_text("Saved")
    with live_server.db():
        from escalation.handoff.models import SessionStep, WorkSession
        step = SessionStep.get((SessionStep.session == session_id) & (SessionStep.title == "Read the page counter"))
        assert (step.done, step.value) == (True, "4711")
        assert WorkSession.get_by_id(session_id).notes == "Paper is damp."
