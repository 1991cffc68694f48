"""A technician on a phone runs a checklist with a photo and makes a handoff code; a colleague in
another browser types the code and continues exactly there; the issuer sees it was taken over.
Against gunicorn with 2 workers (tests/e2e/conftest.py)."""
import re

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.e2e.helpers import sign_in
from tests.factories_handoff import make_checklist, png_bytes

pytestmark = pytest.mark.e2e

# A phone-sized viewport. (Not ``is_mobile``: the shared header is wider than a phone, and
# Chromium's mobile emulation then zooms the page out and misplaces clicks.)
PHONE = {"viewport": {"width": 390, "height": 844}}


@pytest.fixture
def scene(live_server, org, admin, agent):
    with live_server.db():
        colleague = factories.make_member(org, "agent", name="Bo Colleague", email="bo@example.test")
        queue = factories.make_queue(org, members=[agent, colleague])
        case = factories.make_case(org, queue, assignee=agent, subject="Printer jams on floor 3")
        checklist = make_checklist(org, admin)
        return {"case_id": case.id, "checklist_id": checklist.id, "colleague": colleague}


def step(page, title):
    return page.locator(".step", has_text=title)


def test_a_technician_hands_a_running_checklist_to_a_colleague(live_server, new_page, agent, scene):
    case_id = scene["case_id"]
    technician = new_page(**PHONE)
    sign_in(technician, live_server, agent, goto=f"/handoff/cases/{case_id}/session")

    # Start the checklist and work through it; each step saves on its own.
    technician.locator("select[name=checklist]").select_option(str(scene["checklist_id"]))
    technician.get_by_role("button", name="Start").click()
    expect(technician.locator("#session-title")).to_have_text("Printer jam")

    power = step(technician, "Power cycle the printer")
    power.get_by_role("switch").check()
    expect(power.locator(".step-status")).to_contain_text("Saved")

    counter = step(technician, "Read the page counter")
    counter.locator("input[inputmode=decimal]").fill("4711")
    counter.locator("input[inputmode=decimal]").press("Tab")
    expect(counter.locator(".step-status")).to_contain_text("Saved")

    photo = step(technician, "Photo of the error display")
    camera = photo.locator("input[type=file]")
    expect(camera).to_have_attribute("capture", "environment")
    camera.set_input_files({"name": "display.png", "mimeType": "image/png", "buffer": png_bytes(4, 4)})
    expect(photo.locator("img")).to_have_count(1)
    photo.get_by_role("switch").check()
    expect(photo.locator(".step-status")).to_contain_text("Saved")
    expect(technician.locator(".session-progress")).to_contain_text("2 of 6 steps done")

    # Make a handoff code.
    technician.locator(".session-actions").get_by_text("Escalate", exact=True).click()
    technician.get_by_role("button", name="Make a handoff code").click()
    code = technician.locator("#handoff-code")
    expect(code).to_have_text(re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$"))
    expect(technician.locator(".handoff-qr svg")).to_have_count(1)
    typed = code.inner_text().lower().replace("-", " ")

    # A colleague in another browser types it on their landing page and takes over.
    colleague = new_page()
    sign_in(colleague, live_server, scene["colleague"])
    panel = colleague.locator("#handoff-landing")
    panel.get_by_text("Enter a handoff code").click()
    panel.get_by_label("Handoff code").fill(typed)
    panel.get_by_role("button", name="Continue").click()
    expect(colleague.locator("h1")).to_have_text(f"Take over case #{case_id}")
    expect(colleague.locator("main")).to_contain_text("2 of 6 steps done")
    colleague.get_by_role("button", name="Take over").click()
    expect(colleague).to_have_url(re.compile(rf"/handoff/cases/{case_id}/session$"))

    # ... and continues exactly where the technician stopped.
    expect(step(colleague, "Read the page counter").locator("input[inputmode=decimal]")).to_have_value("4711")
    expect(step(colleague, "Photo of the error display").locator("img")).to_have_count(1)
    expect(step(colleague, "Power cycle the printer").get_by_role("switch")).to_be_checked()
    toner = step(colleague, "Toner seated")
    toner.get_by_label("Yes").check()
    expect(toner.locator(".step-status")).to_contain_text("Saved")

    # The issuer's code page says so without a reload.
    expect(technician.locator("#code-status")).to_contain_text("Bo Colleague took over the case")


def test_the_same_handoff_works_without_javascript(live_server, new_page, agent, scene):
    case_id = scene["case_id"]
    technician = new_page(java_script_enabled=False, **PHONE)
    sign_in(technician, live_server, agent, goto=f"/handoff/cases/{case_id}/session")
    technician.locator("select[name=checklist]").select_option(str(scene["checklist_id"]))
    technician.get_by_role("button", name="Start").click()
    counter = step(technician, "Read the page counter")
    counter.locator("input[inputmode=decimal]").fill("12")
    counter.get_by_role("switch").check()
    counter.get_by_role("button", name="Save step 2").click()
    expect(technician.locator("#flash")).to_contain_text("Step 2 is saved.")
    expect(technician.locator(".session-progress")).to_contain_text("1 of 6 steps done")
    technician.goto(live_server.url + f"/handoff/cases/{case_id}/escalate")
    technician.get_by_role("button", name="Make a handoff code").click()
    code = technician.locator("#handoff-code").inner_text()
    expect(technician.locator("#code-status")).to_contain_text("Valid until")

    colleague = new_page(java_script_enabled=False)
    sign_in(colleague, live_server, scene["colleague"], goto=f"/handoff/redeem?code={code}")
    colleague.get_by_role("button", name="Continue").click()
    colleague.get_by_role("button", name="Take over").click()
    expect(colleague.locator("#flash")).to_contain_text(f"You have taken over case #{case_id}")
    expect(step(colleague, "Read the page counter").locator("input[inputmode=decimal]")).to_have_value("12")
    technician.reload()
    expect(technician.locator("#code-status")).to_contain_text("Bo Colleague took over the case")
