"""The escalation form in a real browser (issue 4).

A Swedish agent takes the catalog route (Tjänstekatalog → Hantering → Eskalering), forgets the
serial number, sees the Swedish error with everything kept, adds it and a photo, and sends the
form; the L2 owner claims the case and sees the whole packet. The same form also works with
JavaScript off.
"""
import re

import pytest
from playwright.sync_api import expect

from escalation.escalations.models import EscalationPacket
from escalation.models import Case
from tests import factories
from tests import factories_escalations as fx
from tests.e2e.helpers import mark_document, same_document, sign_in

pytestmark = pytest.mark.e2e

PHOTO = {"name": "felet.png", "mimeType": "image/png", "buffer": fx.png(8, 8)}


def _desk(live_server, org, agent):
    with live_server.db():
        org.default_locale = "sv"
        org.save()
        agent.user.locale = "sv"
        agent.user.save()
        owner = factories.make_member(org, "agent", name="Lars Andra", email="lars@example.test",
                                      locale="en")
        desk = fx.make_desk(org, agent, l2_owner=owner)
        factories.make_contact(org, name="Lena Lind", email="lena@example.test", locale="sv")
    return desk


def _fill_form(form, *, serial=""):
    form.locator("input[name=requester]").fill("Lena Lind <lena@example.test>")
    form.locator("input[name=subject]").fill("Datorn startar inte efter uppdateringen")
    form.locator("textarea[name=description]").fill(
        "Sedan i morse visar datorn bara en svart skärm efter Apple-loggan. Användaren "
        "installerade den senaste macOS-uppdateringen när det hände.")
    form.locator("textarea[name=troubleshooting]").fill(
        "Startat om två gånger, nollställt NVRAM, provat felsäkert läge.")
    form.locator("input[name=serial_number]").fill(serial)
    form.locator("input[name=colleagues][value=only_user]").check()
    form.locator("input[name=priority][value='3']").check()


@pytest.mark.parametrize("e2e_backend", ["sqlite", "postgres"])
def test_swedish_agent_escalates_through_the_catalog_and_l2_sees_the_packet(
        live_server, new_page, org, agent, e2e_backend):
    desk = _desk(live_server, org, agent)
    page = new_page(locale="sv-SE")
    sign_in(page, live_server, agent)

    page.locator("header.site").get_by_role("link", name="Tjänstekatalog", exact=True).click()
    expect(page.locator("h1")).to_have_text("Tjänstekatalog")
    page.locator("main").get_by_role("link", name="Hantering", exact=True).click()
    expect(page.locator("h1")).to_have_text("Hantering")
    page.locator("main").get_by_role("link", name="Eskalering", exact=True).click()
    expect(page.locator("h1")).to_have_text("Eskalering")
    form = page.locator("#escalation-form")
    expect(form).to_contain_text("Berörd enhets serienummer")

    # The serial number is forgotten: the Swedish error, in place, everything kept.
    _fill_form(form)
    mark_document(page)
    form.get_by_role("button", name="Eskalera", exact=True).click()
    summary = page.locator("#escalation-form .error-summary")
    expect(summary).to_contain_text("Berörd enhets serienummer krävs för att eskalera.")
    expect(page.locator("#serial_number-error")).to_contain_text("krävs för att eskalera")
    assert same_document(page), "the 422 was a page load, not an htmx swap"
    expect(page.locator("input[name=subject]")).to_have_value(
        "Datorn startar inte efter uppdateringen")
    expect(page.locator("textarea[name=troubleshooting]")).to_have_value(
        "Startat om två gånger, nollställt NVRAM, provat felsäkert läge.")
    expect(page.locator("input[name=priority][value='3']")).to_be_checked()

    # Left with a bad value, the field answers on its own (inline validation).
    serial = page.locator("input[name=serial_number]")
    serial.fill("C02#1")
    serial.press("Tab")
    expect(page.locator("#serial_number-error")).to_contain_text("bara bokstäverna A–Z")

    # The serial number and a photo, then send.
    page.locator("input[name=serial_number]").fill(" c02xk1y2 jg5h ")
    page.locator("input[name=attachments]").set_input_files(PHOTO)
    page.locator("#escalation-form").get_by_role("button", name="Eskalera", exact=True).click()
    expect(page.locator("#escalation-form")).to_contain_text("ligger nu i Hardware L2")
    with live_server.db():
        case = Case.select().where(Case.organisation == org).get()
        assert case.inbox_id == desk.l2.id

    # The L2 owner claims it and sees the whole packet.
    l2 = new_page(locale="en-GB")
    sign_in(l2, live_server, desk.l2_owner, goto="/inboxes/")
    l2.get_by_role("button", name="Claim next").first.click()
    l2.locator("ul.my-claims").get_by_role("link", name=re.compile(f"#{case.id}")).click()
    expect(l2.locator("h1")).to_contain_text("Datorn startar inte efter uppdateringen")
    packet = l2.locator(f"#packet-{case.id}, article.packet").first
    expect(packet).to_contain_text(fx.SERIAL)
    expect(packet).to_contain_text("Startat om två gånger, nollställt NVRAM")
    expect(packet).to_contain_text("Lena Lind")
    expect(packet).to_contain_text("Only this user")
    expect(packet).to_contain_text("felet.png")
    preview = packet.locator("img.thumb")
    expect(preview).to_have_count(1)
    assert preview.evaluate("img => img.complete && img.naturalWidth") == 8
    # Who holds it is on the case page; the tiers region offers the next tier and sending back.
    expect(l2.locator("main")).to_contain_text("Lars Andra, claimed in the inbox Hardware L2")
    expect(l2.locator("#escalation-tiers")).to_contain_text("Escalate to next tier: Engineers L3")


def test_the_form_works_without_javascript(live_server, new_page, org, agent):
    desk = _desk(live_server, org, agent)
    page = new_page(locale="sv-SE", java_script_enabled=False)
    sign_in(page, live_server, agent, goto=f"/escalations/form?item={desk.item.id}")
    form = page.locator("#escalation-form")
    _fill_form(form)
    page.locator("input[name=attachments]").set_input_files(PHOTO)
    form.get_by_role("button", name="Eskalera", exact=True).click()
    expect(page.locator(".error-summary")).to_contain_text("Berörd enhets serienummer krävs")
    expect(page.locator("#escalation-form")).to_contain_text("felet.png")  # the photo is kept
    page.locator("input[name=serial_number]").fill("C02XK1Y2JG5H")
    page.locator("#escalation-form").get_by_role("button", name="Eskalera", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("har eskalerats till Hardware L2")
    with live_server.db():
        case = Case.select().where(Case.organisation == org).get()
        assert case.inbox_id == desk.l2.id
        assert case.requester.name == "Lena Lind"


@pytest.mark.parametrize("e2e_backend", ["sqlite", "postgres"])
def test_short_texts_are_counted_live_warned_and_sent_anyway(live_server, new_page, org, agent,
                                                             e2e_backend):
    """A short description and a short troubleshooting text: each counted as it is typed, one
    warning naming both, one "Skicka ändå" sends them."""
    desk = _desk(live_server, org, agent)
    page = new_page(locale="sv-SE")
    sign_in(page, live_server, agent, goto=f"/escalations/form?item={desk.item.id}")
    form = page.locator("#escalation-form")
    _fill_form(form, serial=fx.SERIAL)
    hint = page.locator("#description-length")
    expect(hint).not_to_contain_text("rekommenderade")
    # As the agent types, the server counts and nudges (no page load, the field keeps focus).
    description = form.locator("textarea[name=description]")
    description.fill("")
    description.press_sequentially("Svart skärm.", delay=20)
    expect(hint).to_contain_text("12 av rekommenderade 40 tecken")
    expect(description).to_be_focused()
    steps = form.locator("textarea[name=troubleshooting]")
    steps_hint = page.locator("#troubleshooting-length")
    expect(steps_hint).not_to_contain_text("rekommenderade")
    steps.fill("")
    steps.press_sequentially("Omstart.", delay=20)
    expect(steps_hint).to_contain_text("8 av rekommenderade 20 tecken")
    expect(steps).to_be_focused()
    mark_document(page)
    form.get_by_role("button", name="Eskalera", exact=True).click()
    warning = page.locator("#escalation-form .warning-summary")
    expect(warning).to_contain_text("Inget har skickats än.")
    expect(warning).to_contain_text("Beskrivningen är kortare än de rekommenderade 40 tecknen")
    expect(warning).to_contain_text("Felsökningen är kortare än de rekommenderade 20 tecknen")
    expect(warning.get_by_role("button")).to_have_count(1)
    assert same_document(page), "the warning was a page load, not an htmx swap"
    expect(description).to_have_value("Svart skärm.")
    expect(steps).to_have_value("Omstart.")
    with live_server.db():
        assert Case.select().where(Case.organisation == org).count() == 0
    warning.get_by_role("button", name="Skicka ändå").click()
    expect(page.locator("#escalation-form")).to_contain_text("ligger nu i Hardware L2")
    with live_server.db():
        case = Case.select().where(Case.organisation == org).get()
        assert case.inbox_id == desk.l2.id
        packet = EscalationPacket.get(EscalationPacket.case == case)
        assert packet.data["short_confirmed_fields"] == ["description", "troubleshooting"]
