"""The service catalog, the escalation form and the tiers, through the test client."""
from html import unescape
import json
import re

import pytest

from escalation.escalations import service
from escalation.escalations.models import CatalogCategory, CatalogItem, EscalationPacket, PathStep
from escalation.models import Case

from . import factories
from . import factories_escalations as fx
from .factories import NOW
from .factories_escalations import desk  # noqa: F401  (fixture)

FORM = "/escalations/form"


def _form_url(desk, case=None):
    return f"{FORM}?item={desk.item.id}" + (f"&case={case.id}" if case else "")


def _swedish(member):
    member.user.locale = "sv"
    member.user.save()


def _sign_out(client):
    client.post("/auth/logout")
    client.refresh_csrf()


def _text(response):
    return response.get_data(as_text=True)


def _field(html, field_id):
    """The HTML of one field's region."""
    found = re.search(rf'<div class="field[^"]*" id="field-{field_id}".*?(?=<div class="field|'
                      rf'<details class="new-contact"|<p class="muted"><span)', html, re.S)
    assert found, f"no field {field_id}"
    return found.group(0)


# ------------------------------------------------------------------------------------------------
# The catalog route

def test_catalog_route_in_swedish(client, login, desk):
    _swedish(desk.agent)
    login(desk.agent)
    catalog = client.get("/escalations/catalog")
    assert catalog.status_code == 200
    html = _text(catalog)
    assert "Tjänstekatalog" in html and "Hantering" in html
    category = client.get(f"/escalations/catalog/{desk.item.category_id}")
    assert "Eskalering" in _text(category)
    page = _text(client.get(f"{FORM}?item={desk.item.id}"))
    for label in ("Förfrågare", "Förfrågat åt", "Ämne", "Beskrivning", "Felsökning som har gjorts",
                  "Berörd enhets serienummer", "Upplever användarens kollegor samma problem?",
                  "Prio", "Bifoga en fil", "Om den här datorn", "wmic bios get serialnumber"):
        assert label in page, label


def test_catalog_in_english_and_the_nav_link(client, login, desk):
    login(desk.agent)
    html = _text(client.get("/escalations/catalog"))
    assert "Service catalog" in html and "Handling" in html and "Escalation" in html
    assert 'href="/escalations/catalog"' in _text(client.get("/"))


def test_catalog_is_created_for_a_fresh_organisation(client, login, org, agent):
    login(agent)
    assert client.get("/escalations/catalog").status_code == 200
    assert CatalogItem.select().where(CatalogItem.organisation == org).count() == 1


def test_the_form_needs_a_sign_in(client, desk):
    response = client.get(_form_url(desk))
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    response = client.post(f"/escalations/validate/subject?item={desk.item.id}", htmx=True,
                           csrf=False)
    assert response.status_code in (400, 401)


def test_another_organisations_item_and_case_are_404(client, login, desk, other_org, outsider):
    login(outsider)
    assert client.get(_form_url(desk)).status_code == 404
    own = service.ensure_default_catalog(other_org, now=NOW)
    case = factories.make_case(desk.org, desk.queue)
    assert client.get(f"{FORM}?item={own.id}&case={case.id}").status_code == 404


# ------------------------------------------------------------------------------------------------
# From a case: prefilled, submitted

def _case(desk, **overrides):
    requester = factories.make_contact(desk.org, name="Lena Lind", email="lena@example.test",
                                       locale="sv")
    return factories.make_case(desk.org, desk.queue, requester=requester, assignee=desk.agent,
                               subject="Skärmen är svart", priority=3,
                               first_message="Datorn visar bara en svart skärm sedan i morse.",
                               **overrides)


def test_form_from_a_case_is_prefilled(client, login, desk):
    case = _case(desk)
    login(desk.agent)
    html = _text(client.get(_form_url(desk, case)))
    assert 'value="Lena Lind &lt;lena@example.test&gt;"' in html
    assert 'value="Skärmen är svart"' in html
    assert "Datorn visar bara en svart skärm sedan i morse." in html
    assert re.search(r'<input checked[^>]*name="priority"[^>]*value="3"', html)


def test_submitting_escalates_and_redirects_with_a_flash(client, login, desk):
    case = _case(desk)
    login(desk.agent)
    client.get(_form_url(desk, case))
    response = client.post(_form_url(desk, case), data=fx.form_data(case.requester))
    assert response.status_code == 303
    case = Case.get_by_id(case.id)
    assert case.inbox_id == desk.l2.id
    packet = EscalationPacket.get(EscalationPacket.case == case)
    assert packet.data["serial_number"] == fx.SERIAL
    landing = client.get(response.headers["Location"])
    assert f"Case #{case.id} was escalated to Hardware L2." in _text(landing)


def test_submitting_with_htmx_answers_a_fragment_and_an_event(client, login, desk):
    case = _case(desk)
    login(desk.agent)
    response = client.post(_form_url(desk, case), data=fx.form_data(case.requester), htmx=True)
    assert response.status_code == 200
    html = _text(response)
    assert "<html" not in html and f"Case #{case.id} is now in Hardware L2" in html
    assert "escalations-changed" in json.loads(response.headers["HX-Trigger"])
    assert "HX-Request" in response.headers["Vary"]


def test_the_case_page_shows_the_packet_the_holder_and_the_actions(client, login, desk):
    case = _case(desk)
    login(desk.agent)
    client.post(_form_url(desk, case), data=fx.form_data(case.requester))
    _sign_out(client)
    login(desk.l2_owner)
    html = _text(client.get(f"/escalations/cases/{case.id}/tiers"))
    assert "Held by" in html and "Hardware L2" in html and "waiting to be claimed" in html
    assert fx.SERIAL in html and "Restarted twice, reset NVRAM" in html
    assert "Escalate to next tier: Engineers L3" in html and "Send back to Servicedesk" in html
    page = client.get(f"/cases/{case.id}")  # the panel, and the packet card on the timeline
    assert page.status_code == 200
    text = _text(page)
    assert 'id="escalation-tiers"' in text and 'id="packet-' in text
    assert 'class="event escalations-form_submitted"' in text


# ------------------------------------------------------------------------------------------------
# Validation: every field, both languages, everything kept

EMPTY = {"requester": "", "subject": "", "description": "", "troubleshooting": "",
         "serial_number": "", "requested_for": "", "colleagues_note": ""}

REQUIRED = {
    "en": ["Give the requester: the person who contacted support.",
           "Write a short, meaningful subject.",
           "Describe the problem in as much detail as possible.",
           "Write down every troubleshooting step that has been tried.",
           "The serial number of the affected device is required to escalate.",
           "Say whether the user's colleagues have the same problem.",
           "Choose how urgent this is for the user."],
    "sv": ["Ange förfrågaren: den som har kontaktat supporten.",
           "Skriv ett kort och tydligt ämne.",
           "Beskriv problemet så detaljerat som möjligt.",
           "Skriv ner alla felsökningssteg som har gjorts.",
           "Berörd enhets serienummer krävs för att eskalera.",
           "Ange om användarens kollegor har samma problem.",
           "Välj hur brådskande det är för användaren."],
}


@pytest.mark.parametrize("locale", ["en", "sv"])
def test_an_empty_form_is_refused_with_every_required_message(client, login, desk, locale):
    if locale == "sv":
        _swedish(desk.agent)
    login(desk.agent)
    response = client.post(_form_url(desk), data=EMPTY)
    assert response.status_code == 422
    html = unescape(_text(response))  # messages are escaped in the page ("user&#39;s")
    start = html.index('class="error-summary"')
    summary = html[start:html.index("</div>", start)]
    for message in REQUIRED[locale]:
        assert message in summary, message
        assert html.count(message) == 2, message  # in the summary and at the field
    assert Case.select().count() == 0


FIELD_CASES = [
    # field, value, English, Swedish
    ("serial_number", "C02#K1Y2", "A serial number has only letters A–Z, digits and hyphens.",
     "Ett serienummer har bara bokstäverna A–Z, siffror och bindestreck."),
    ("serial_number", "ab 1", "A serial number is 5 to 30 characters long; this one has 3.",
     "Ett serienummer är 5–30 tecken långt; det här har 3."),
    ("subject", "Hjä", "The subject is too short to say what the case is about",
     "Ämnet är för kort för att säga vad ärendet gäller"),
    ("description", "x" * 20001, "This text is too long: at most 20000 characters.",
     "Texten är för lång: högst 20000 tecken."),
    ("troubleshooting", "x" * 20001, "This text is too long: at most 20000 characters.",
     "Texten är för lång: högst 20000 tecken."),
    ("requester", "Nobody Known", "Nobody in the organisation matches “Nobody Known”.",
     "Ingen i organisationen matchar ”Nobody Known”."),
    ("colleagues", "the-whole-world", "Choose one of the answers.", "Välj ett av svaren."),
    ("priority", "9", "Choose one of the answers.", "Välj ett av svaren."),
    ("colleagues_note", "x" * 501, "Keep the note to at most 500 characters.",
     "Håll kommentaren till högst 500 tecken."),
]


@pytest.mark.parametrize("locale", ["en", "sv"])
@pytest.mark.parametrize("field,value,english,swedish", FIELD_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(FIELD_CASES)])
def test_each_field_says_what_is_wrong_and_keeps_the_form(client, login, desk, locale, field,
                                                          value, english, swedish):
    if locale == "sv":
        _swedish(desk.agent)
    requester = factories.make_contact(desk.org, name="Per Persson")
    login(desk.agent)
    data = fx.form_data(requester, **{field: value})
    response = client.post(_form_url(desk), data=data)
    assert response.status_code == 422
    html = _text(response)
    message = english if locale == "en" else swedish
    assert message in _field(html, field).replace("&#34;", '"'), _field(html, field)
    # Everything typed is kept (the serial number normalised).
    if field != "subject":
        assert 'value="Laptop does not start after the update"' in html
    if field != "serial_number":
        assert f'value="{fx.SERIAL}"' in html
    if field != "troubleshooting":
        assert "Restarted twice, reset NVRAM, tried safe mode" in html
    assert Case.select().count() == 0


def test_ambiguous_names_ask_to_pick_from_the_list(client, login, desk):
    factories.make_contact(desk.org, name="Anna Berg", email="anna1@example.test")
    factories.make_contact(desk.org, name="Anna Berg", email="anna2@example.test")
    login(desk.agent)
    response = client.post(_form_url(desk), data=fx.form_data(
        factories.make_contact(desk.org), requester="Anna Berg"))
    assert response.status_code == 422
    assert "Several people match “Anna Berg”" in _field(_text(response), "requester")
    ok = client.post(_form_url(desk), data=fx.form_data(
        factories.make_contact(desk.org), requester="Anna Berg <anna2@example.test>"))
    assert ok.status_code == 303
    assert Case.select().first().requester.email == "anna2@example.test"


def test_item_settings_make_more_fields_required(client, login, desk, admin):
    service.update_item(desk.item, admin, service.ItemSettings(
        name="", required_fields=["requested_for", "colleagues_note"],
        help_texts={"serial_number": "Datorer från skolan har numret på en etikett."}), now=NOW)
    _swedish(desk.agent)
    login(desk.agent)
    html = _text(client.get(_form_url(desk)))
    assert "Datorer från skolan har numret på en etikett." in html
    response = client.post(_form_url(desk), data=fx.form_data(factories.make_contact(desk.org)))
    assert response.status_code == 422
    html = _text(response)
    assert "Ange den som förfrågan gäller." in html
    assert "Ange vilka kollegor som berörs, eller sedan när." in html


# ------------------------------------------------------------------------------------------------
# A too-short description: a warning and "send anyway", not a refusal

SHORT = "Svart skärm."


def test_a_short_description_warns_first_and_saves_nothing(client, login, desk):
    _swedish(desk.agent)
    requester = factories.make_contact(desk.org, name="Per Persson")
    login(desk.agent)
    response = client.post(_form_url(desk), data=fx.form_data(requester, description=SHORT))
    assert response.status_code == 422
    html = _text(response)
    start = html.index('class="warning-summary"')
    summary = html[start:html.index("</div>", start)]
    assert "Inget har skickats än." in summary
    assert "Beskrivningen är kortare än de rekommenderade 40 tecknen." in summary
    assert '<button type="submit" name="confirm_short" value="y"' in summary
    assert "Skicka ändå" in summary
    assert 'class="error-summary"' not in html  # nothing is wrong, only short
    field = _field(html, "description")
    assert SHORT in field and 'name="confirm_short"' in field and "aria-invalid" not in field
    # Everything typed is kept.
    assert 'value="Laptop does not start after the update"' in html
    assert f'value="{fx.SERIAL}"' in html and "Restarted twice, reset NVRAM" in html
    assert Case.select().count() == 0 and EscalationPacket.select().count() == 0


@pytest.mark.parametrize("how", ["button", "checkbox"])
def test_a_short_description_is_sent_once_confirmed(client, login, desk, how):
    requester = factories.make_contact(desk.org, name="Per Persson")
    login(desk.agent)
    data = fx.form_data(requester, description=SHORT)
    assert client.post(_form_url(desk), data=data).status_code == 422
    # "Send anyway" (the summary's button) and the ticked box post the same field.
    response = client.post(_form_url(desk), data=dict(data, confirm_short="y"))
    assert response.status_code == 303
    packet = EscalationPacket.get()
    assert packet.data["description"] == SHORT
    assert packet.data["short_confirmed_fields"] == ["description"]
    assert Case.get_by_id(packet.case_id).inbox_id == desk.l2.id


def test_a_confirmed_but_long_enough_description_is_not_marked_short(client, login, desk):
    login(desk.agent)
    data = fx.form_data(factories.make_contact(desk.org), confirm_short="y")
    assert client.post(_form_url(desk), data=data).status_code == 303
    assert EscalationPacket.get().data["short_confirmed_fields"] == []


def test_the_short_warning_with_htmx_is_the_form_fragment(client, login, desk):
    requester = factories.make_contact(desk.org)
    login(desk.agent)
    data = fx.form_data(requester, description=SHORT)
    response = client.post(_form_url(desk), data=data, htmx=True)
    assert response.status_code == 422  # swapped into the form by the htmx-config
    html = _text(response)
    assert "<html" not in html and html.lstrip().startswith('<form id="escalation-form"')
    assert "The description is shorter than the recommended 40 characters." in html
    assert "Nothing has been sent yet." in html
    sent = client.post(_form_url(desk), data=dict(data, confirm_short="y"), htmx=True)
    assert sent.status_code == 200 and "is now in Hardware L2" in _text(sent)


def test_an_emptied_minimum_never_warns(client, login, desk, admin):
    service.update_item(desk.item, admin, service.ItemSettings(
        name="", min_description_length=0, min_troubleshooting_length=0), now=NOW)
    login(desk.agent)
    response = client.post(_form_url(desk), data=fx.form_data(
        factories.make_contact(desk.org), description="Trasig.", troubleshooting="Omstart."))
    assert response.status_code == 303
    assert EscalationPacket.get().data["short_confirmed_fields"] == []


# ------------------------------------------------------------------------------------------------
# A too-short troubleshooting text: the same warning, and one confirmation covers both texts

SHORT_STEPS = "Omstart."


def test_short_troubleshooting_warns_first_and_saves_nothing(client, login, desk):
    _swedish(desk.agent)
    requester = factories.make_contact(desk.org, name="Per Persson")
    login(desk.agent)
    response = client.post(_form_url(desk), data=fx.form_data(requester,
                                                              troubleshooting=SHORT_STEPS))
    assert response.status_code == 422
    html = _text(response)
    start = html.index('class="warning-summary"')
    summary = html[start:html.index("</div>", start)]
    assert "Inget har skickats än." in summary
    assert "Felsökningen är kortare än de rekommenderade 20 tecknen." in summary
    assert '<a href="#troubleshooting">' in summary
    assert "Beskrivningen är kortare" not in summary  # the description is long enough
    assert summary.count('name="confirm_short"') == 1 and "Skicka ändå" in summary
    assert 'class="error-summary"' not in html  # nothing is wrong, only short
    field = _field(html, "troubleshooting")
    assert SHORT_STEPS in field and "aria-invalid" not in field
    assert 'id="confirm_short-troubleshooting" name="confirm_short"' in field
    assert "Skicka ändå med den korta felsökningen" in field
    assert "8 av rekommenderade 20 tecken" in field  # the length hint beside the field
    assert "confirm_short" not in _field(html, "description")
    # Everything typed is kept.
    assert 'value="Laptop does not start after the update"' in html
    assert f'value="{fx.SERIAL}"' in html and "Since this morning the laptop" in html
    assert Case.select().count() == 0 and EscalationPacket.select().count() == 0


def test_short_troubleshooting_is_sent_once_confirmed(client, login, desk):
    login(desk.agent)
    data = fx.form_data(factories.make_contact(desk.org), troubleshooting=SHORT_STEPS)
    response = client.post(_form_url(desk), data=dict(data, confirm_short="y"))
    assert response.status_code == 303
    packet = EscalationPacket.get()
    assert packet.data["troubleshooting"] == SHORT_STEPS
    assert packet.data["short_confirmed_fields"] == ["troubleshooting"]
    assert Case.get_by_id(packet.case_id).inbox_id == desk.l2.id


@pytest.mark.parametrize("locale", ["en", "sv"])
def test_empty_troubleshooting_is_refused_even_when_confirmed(client, login, desk, locale):
    if locale == "sv":
        _swedish(desk.agent)
    login(desk.agent)
    data = fx.form_data(factories.make_contact(desk.org), troubleshooting="   ",
                        confirm_short="y")
    response = client.post(_form_url(desk), data=data)
    assert response.status_code == 422
    html = _text(response)
    message = REQUIRED[locale][3]
    assert message in _field(html, "troubleshooting")
    assert 'class="error-summary"' in html and 'class="warning-summary"' not in html
    assert Case.select().count() == 0


def test_both_texts_short_give_one_warning_naming_both(client, login, desk):
    _swedish(desk.agent)
    login(desk.agent)
    data = fx.form_data(factories.make_contact(desk.org), description=SHORT,
                        troubleshooting=SHORT_STEPS)
    response = client.post(_form_url(desk), data=data)
    assert response.status_code == 422
    html = _text(response)
    assert html.count('class="warning-summary"') == 1
    start = html.index('class="warning-summary"')
    summary = html[start:html.index("</div>", start)]
    assert "Beskrivningen är kortare än de rekommenderade 40 tecknen." in summary
    assert "Felsökningen är kortare än de rekommenderade 20 tecknen." in summary
    assert summary.index('href="#description"') < summary.index('href="#troubleshooting"')
    assert summary.count('<button type="submit" name="confirm_short" value="y"') == 1
    for name in ("description", "troubleshooting"):
        field = _field(html, name)
        assert f'id="confirm_short-{name}"' in field
        assert "Skicka ändå med den korta beskrivningen och felsökningen" in field
    assert Case.select().count() == 0
    # One confirmation sends both.
    response = client.post(_form_url(desk), data=dict(data, confirm_short="y"))
    assert response.status_code == 303
    packet = EscalationPacket.get()
    assert packet.data["short_confirmed_fields"] == ["description", "troubleshooting"]
    assert (packet.data["description"], packet.data["troubleshooting"]) == (SHORT, SHORT_STEPS)


def test_inline_validation_warns_of_short_troubleshooting(client, login, desk):
    login(desk.agent)
    url = f"/escalations/validate/troubleshooting?item={desk.item.id}"
    response = client.post(url, data={"troubleshooting": SHORT_STEPS}, htmx=True)
    assert response.status_code == 200  # a warning, not an error
    html = _text(response)
    assert "<html" not in html
    assert "The troubleshooting text is shorter than the recommended 20 characters." in html
    assert "Send it anyway with this short troubleshooting text" in html
    assert 'class="errors"' not in html and "aria-invalid" not in html
    empty = client.post(url, data={"troubleshooting": " "}, htmx=True)
    assert empty.status_code == 422
    assert "Write down every troubleshooting step that has been tried." in _text(empty)
    assert "confirm_short" not in _text(empty)


def test_troubleshooting_is_counted_as_the_agent_types(client, login, desk):
    _swedish(desk.agent)
    login(desk.agent)
    url = f"/escalations/length/troubleshooting?item={desk.item.id}"
    short = client.post(url, data={"troubleshooting": " Omstart. "}, htmx=True)
    assert short.status_code == 200
    html = _text(short)
    assert "<html" not in html and html.strip().startswith('<small id="troubleshooting-length"')
    assert "8 av rekommenderade 20 tecken" in html and "length-hint short" in html
    assert f'hx-post="/escalations/length/troubleshooting?item={desk.item.id}"' in html
    assert 'hx-params="troubleshooting"' in html
    assert "25 tecken" in _text(client.post(url, data={"troubleshooting": "y" * 25}, htmx=True))
    # Without htmx: a page with the count and the warning.
    page = client.post(url, data={"troubleshooting": "Omstart."})
    assert page.status_code == 200 and "<html" in _text(page)
    assert "Felsökningen är kortare än de rekommenderade 20 tecknen." in _text(page)
    # Only the detail fields have a counter.
    assert client.post(f"/escalations/length/serial_number?item={desk.item.id}",
                       data={}).status_code == 404
    # The form as rendered has both counters.
    form = _text(client.get(_form_url(desk)))
    assert 'id="description-length"' in form and 'id="troubleshooting-length"' in form
    assert "Minst 20 tecken rekommenderas." in form


# ------------------------------------------------------------------------------------------------
# Inline validation: the same validators, one field's partial

def test_a_field_is_checked_as_it_is_left(client, login, desk):
    login(desk.agent)
    url = f"/escalations/validate/serial_number?item={desk.item.id}"
    bad = client.post(url, data={"serial_number": "12"}, htmx=True)
    assert bad.status_code == 422
    html = _text(bad)
    assert "<html" not in html and "A serial number is 5 to 30 characters long" in html
    assert 'hx-post="/escalations/validate/serial_number?item=' in html
    good = client.post(url, data={"serial_number": " c02xk1y2 jg5h"}, htmx=True)
    assert good.status_code == 200
    assert f'value="{fx.SERIAL}"' in _text(good) and "errors" not in _text(good)
    assert "HX-Request" in good.headers["Vary"]


def test_inline_validation_warns_of_a_short_description_in_swedish(client, login, desk):
    _swedish(desk.agent)
    login(desk.agent)
    url = f"/escalations/validate/description?item={desk.item.id}"
    response = client.post(url, data={"description": "Kort."}, htmx=True)
    assert response.status_code == 200  # a warning, not an error
    html = _text(response)
    assert "Beskrivningen är kortare än de rekommenderade 40 tecknen." in html
    assert 'name="confirm_short"' in html and "Skicka ändå med den korta beskrivningen" in html
    assert 'class="errors"' not in html and 'aria-invalid' not in html
    assert "5 av rekommenderade 40 tecken" in html  # the length hint
    empty = client.post(url, data={"description": " "}, htmx=True)
    assert empty.status_code == 422
    assert "Beskriv problemet så detaljerat som möjligt." in _text(empty)
    assert "confirm_short" not in _text(empty)


def test_the_length_hint_is_counted_as_the_agent_types(client, login, desk, admin):
    service.update_item(desk.item, admin,
                        service.ItemSettings(name="", min_description_length=1500), now=NOW)
    _swedish(desk.agent)
    login(desk.agent)
    url = f"/escalations/length/description?item={desk.item.id}"
    short = client.post(url, data={"description": "  Svart skärm.  "}, htmx=True)
    assert short.status_code == 200
    html = _text(short)
    assert "<html" not in html and html.strip().startswith('<small id="description-length"')
    assert "12 av rekommenderade 1\u00a0500 tecken" in html
    assert 'class="help length-hint short"' in html
    assert f'hx-post="/escalations/length/description?item={desk.item.id}"' in html
    assert 'hx-params="description"' in html
    long = client.post(url, data={"description": "x" * 1600}, htmx=True)
    assert "1\u00a0600 tecken" in _text(long) and "short" not in _text(long)
    # Without JavaScript the same count is in the form as it is rendered.
    page = _text(client.get(f"{FORM}?item={desk.item.id}"))
    assert "Minst 1\u00a0500 tecken rekommenderas." in page


def test_inline_validation_of_an_unknown_field_is_404(client, login, desk):
    login(desk.agent)
    assert client.post(f"/escalations/validate/password?item={desk.item.id}",
                       htmx=True).status_code == 404
    assert client.post(f"/escalations/validate/attachments?item={desk.item.id}",
                       htmx=True).status_code == 404


def test_inline_validation_without_htmx_is_a_page(client, login, desk):
    login(desk.agent)
    response = client.post(f"/escalations/validate/subject?item={desk.item.id}",
                           data={"subject": ""})
    assert response.status_code == 422 and "<html" in _text(response)


# ------------------------------------------------------------------------------------------------
# People: searched as typed, a new contact added inline

def test_people_are_searched_among_contacts_and_members(client, login, desk, supervisor,
                                                        other_org):
    factories.make_contact(desk.org, name="Samuel Contact", email="samuel@example.test")
    factories.make_contact(other_org, name="Sami Elsewhere", email="sami@example.test")
    login(desk.agent)
    response = client.get("/escalations/people?requester=sam", htmx=True)
    html = _text(response)
    assert "<html" not in html
    assert 'value="Samuel Contact &lt;samuel@example.test&gt;"' in html
    assert 'value="Sam Supervisor &lt;sam@example.test&gt;"' in html
    assert "Sami Elsewhere" not in html
    assert "<html" in _text(client.get("/escalations/people?q=sam"))


def test_a_new_contact_is_added_without_leaving_the_form(client, login, desk):
    login(desk.agent)
    data = fx.form_data(factories.make_contact(desk.org), requester="", serial_number="",
                        action="add_contact", **{"contact-name": "Nils Nyman",
                                                 "contact-email": "nils@example.test",
                                                 "contact-locale": "sv",
                                                 "contact-use_as": "requester"})
    response = client.post(_form_url(desk), data=data)
    assert response.status_code == 200
    html = _text(response)
    assert 'value="Nils Nyman &lt;nils@example.test&gt;"' in html
    assert 'value="Laptop does not start after the update"' in html  # the rest is kept
    assert "error-summary" not in html
    invalid = client.post(_form_url(desk), data=dict(data, **{"contact-name": "",
                                                              "contact-email": "nope"}))
    assert invalid.status_code == 422
    assert "Enter an email address like name@example.com." in _text(invalid)


# ------------------------------------------------------------------------------------------------
# Tiers: next tier and send back through the client

def _escalated(client, login, desk):
    case = _case(desk)
    login(desk.agent)
    client.post(_form_url(desk, case), data=fx.form_data(case.requester))
    _sign_out(client)
    return Case.get_by_id(case.id)


def test_next_tier_plain_post(client, login, desk):
    case = _escalated(client, login, desk)
    login(desk.l2_owner)
    response = client.post(f"/escalations/cases/{case.id}/next-tier",
                           data={"next-tried": "Replaced the SSD; still black."})
    assert response.status_code == 303
    assert Case.get_by_id(case.id).inbox_id == desk.l3.id
    follow = client.get(response.headers["Location"])
    assert f"Case #{case.id} was passed on to Engineers L3." in _text(follow)


def test_next_tier_with_htmx_and_invalid_in_both_languages(client, login, desk):
    case = _escalated(client, login, desk)
    login(desk.l2_owner)
    invalid = client.post(f"/escalations/cases/{case.id}/next-tier", data={"next-tried": " "},
                          htmx=True)
    assert invalid.status_code == 422
    assert "Write down what this tier has tried before passing the case on." in _text(invalid)
    _swedish(desk.l2_owner)
    invalid = client.post(f"/escalations/cases/{case.id}/next-tier", data={"next-tried": ""},
                          htmx=True)
    assert "Skriv vad den här nivån har testat innan du skickar ärendet vidare." in _text(invalid)
    done = client.post(f"/escalations/cases/{case.id}/next-tier",
                       data={"next-tried": "Bytte SSD."}, htmx=True)
    assert done.status_code == 200 and "<html" not in _text(done)
    assert "escalations-changed" in json.loads(done.headers["HX-Trigger"])
    assert "Vary" in done.headers


def test_send_back_plain_htmx_and_invalid(client, login, desk):
    case = _escalated(client, login, desk)
    login(desk.l2_owner)
    invalid = client.post(f"/escalations/cases/{case.id}/send-back", data={"back-reason": ""})
    assert invalid.status_code == 422
    assert "Say why the case goes back" in _text(invalid) and "<html" in _text(invalid)
    done = client.post(f"/escalations/cases/{case.id}/send-back",
                       data={"back-reason": "Need a photo of the error."})
    assert done.status_code == 303
    case = Case.get_by_id(case.id)
    assert case.inbox_id is None and case.assignee_id == desk.agent.id


def test_tiers_actions_are_for_the_inbox_owners_and_leads(client, login, desk, other_org,
                                                          outsider):
    case = _escalated(client, login, desk)
    login(desk.agent)  # escalated it, may read it, may not move it between tiers
    assert client.post(f"/escalations/cases/{case.id}/next-tier",
                       data={"next-tried": "x"}).status_code == 403
    assert client.post(f"/escalations/cases/{case.id}/send-back",
                       data={"back-reason": "x"}).status_code == 403
    _sign_out(client)
    login(outsider)
    assert client.post(f"/escalations/cases/{case.id}/next-tier",
                       data={"next-tried": "x"}).status_code == 404
    assert client.get(f"/escalations/cases/{case.id}/tiers").status_code == 404


def test_anonymous_htmx_gets_401_with_a_redirect(client, desk):
    case = factories.make_case(desk.org, desk.queue)
    response = client.post(f"/escalations/cases/{case.id}/next-tier", htmx=True, csrf=False)
    assert response.status_code in (400, 401)
    response = client.get(f"/escalations/cases/{case.id}/tiers", htmx=True)
    assert response.status_code == 401 and "HX-Redirect" in response.headers


def test_a_post_without_csrf_token_is_refused(client, login, desk):
    login(desk.agent)
    assert client.post(_form_url(desk), data=EMPTY, csrf=False).status_code == 400


def test_the_bounce_flag_shows_on_the_case_and_in_the_threads_view(client, login, desk,
                                                                   supervisor):
    case = _escalated(client, login, desk)
    for n in range(3):
        service.escalate_next_tier(Case.get_by_id(case.id), supervisor, tried=f"t{n}", now=NOW)
        service.send_back(Case.get_by_id(case.id), supervisor, reason=f"b{n}", now=NOW)
    login(supervisor)
    html = _text(client.get(f"/escalations/cases/{case.id}/tiers"))
    assert "Back and forth ×3" in html
    from escalation import nav
    with client.application.test_request_context():
        badges = nav.annotations_for("threads", [case.id], supervisor, NOW)
    assert badges[case.id][0]["kind"] == "bounced"
    threads = client.get("/threads")
    assert threads.status_code == 200
    assert re.search(r'<span class="badge bounced"[^>]*>Back and forth ×3</span>', _text(threads))


# ------------------------------------------------------------------------------------------------
# Catalog admin

def test_catalog_admin_is_for_admins_and_owners(client, login, desk, admin):
    login(desk.agent)
    assert client.get("/escalations/admin").status_code == 403
    assert client.post("/escalations/admin/categories",
                       data={"category-name": "X"}).status_code == 403
    _sign_out(client)
    login(admin)
    assert client.get("/escalations/admin").status_code == 200


def test_admin_adds_a_category_and_an_item_with_a_path(client, login, desk, admin):
    login(admin)
    invalid = client.post("/escalations/admin/categories", data={"category-name": ""})
    assert invalid.status_code == 422 and "Give it a name." in _text(invalid)
    created = client.post("/escalations/admin/categories",
                          data={"category-name": "Beställningar"})
    assert created.status_code == 303
    category = CatalogCategory.get(CatalogCategory.name == "Beställningar")
    assert "The category Beställningar was added." in _text(client.get(created.headers["Location"]))
    made = client.post("/escalations/admin/items",
                       data={"item-category": str(category.id), "item-name": "Ny dator"})
    assert made.status_code == 303
    item = CatalogItem.get(CatalogItem.name == "Ny dator")
    for inbox in (desk.l4, desk.l2):
        added = client.post(f"/escalations/admin/items/{item.id}/path",
                            data={"step-inbox": str(inbox.id)}, htmx=True)
        assert added.status_code == 200 and "<html" not in _text(added)
    assert [i.id for i in service.path_of(item)] == [desk.l4.id, desk.l2.id]
    step = PathStep.get((PathStep.item == item) & (PathStep.inbox == desk.l2))
    assert client.post(f"/escalations/admin/steps/{step.id}/up").status_code == 303
    assert [i.id for i in service.path_of(item)] == [desk.l2.id, desk.l4.id]
    moved = client.post(f"/escalations/admin/steps/{step.id}/down", htmx=True)
    assert "escalation-path-changed" in json.loads(moved.headers["HX-Trigger"])
    assert client.post(f"/escalations/admin/steps/{step.id}/remove").status_code == 303
    assert [i.id for i in service.path_of(item)] == [desk.l4.id]
    again = client.post(f"/escalations/admin/items/{item.id}/path",
                        data={"step-inbox": str(desk.l4.id)})
    assert again.status_code == 422
    saved = client.post(f"/escalations/admin/items/{item.id}", data={
        "item-name": "Ny dator", "item-min_description_length": "80",
        "item-min_troubleshooting_length": "10", "item-required_fields": ["attachments"],
        "item-help_serial_number": "Står på kartongen."})
    assert saved.status_code == 303
    item = CatalogItem.get_by_id(item.id)
    assert item.min_description_length == 80 and item.required_fields == ["attachments"]
    assert item.help_texts == {"serial_number": "Står på kartongen."}
    assert "Ny dator" in _text(client.get("/escalations/catalog"))


def test_admin_cannot_touch_another_organisations_catalog(client, login, desk, outsider):
    step = PathStep.select().where(PathStep.item == desk.item).first()
    login(outsider)
    assert client.post(f"/escalations/admin/steps/{step.id}/remove").status_code == 404
    assert client.get(f"/escalations/admin/items/{desk.item.id}").status_code == 404
    assert client.get(f"/escalations/admin/categories/{desk.item.category_id}").status_code == 404


def test_the_landing_page_offers_the_catalog(client, login, desk):
    login(desk.agent)
    html = _text(client.get("/"))
    assert 'id="catalog-panel"' in html
    assert f"/escalations/form?item={desk.item.id}" in html


def test_a_work_session_fills_troubleshooting_in_advance(client, login, desk, admin):
    from escalation.handoff import worksession

    from .factories_handoff import make_checklist
    case = _case(desk)
    checklist = make_checklist(desk.org, admin, steps=[dict(title="Restarted the printer")])
    session = worksession.start_session(case, desk.agent, checklist=checklist, now=NOW)
    step = worksession.SessionStep.of(session).first()
    worksession.save_step(step, desk.agent, done=True, now=NOW)
    worksession.save_notes(session, desk.agent, notes="Paper tray 2 is cracked.", now=NOW)
    login(desk.agent)
    html = _text(client.get(_form_url(desk, case)))
    troubleshooting = _field(html, "troubleshooting")
    assert "- Restarted the printer" in troubleshooting
    assert "Paper tray 2 is cracked." in troubleshooting
