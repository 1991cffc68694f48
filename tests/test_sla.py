"""The SLA area through the test client: clocks on cases, settings, ladders."""
import json

import pytest
import time_machine

from escalation.models import AuditEvent
from escalation.sla.models import ClosedDay, LadderStep, SlaPolicy, SlaSettings, TierTarget

from .factories import NOW, make_inbox
from .factories_sla import hours, make_policy, new_case, strict_sla  # noqa: F401


def htmx_ok(response, event):
    assert response.status_code == 200, response.get_data(as_text=True)[:800]
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert event in json.loads(response.headers["HX-Trigger"])
    assert "HX-Request" in response.headers.get("Vary", "")
    return body


# ---------------------------------------------------------------------------------------------
# Clocks on the case


@pytest.fixture
def clock():
    """The injected clock: the app's ``utcnow`` (and everything else) reads this time."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def at(clock, delta):
    clock.move_to(NOW + delta)


def test_case_clocks_show_time_left_in_business_time(clock, client, login, org, agent):
    make_policy(org, 2, first=60, resolution=8 * 60)
    case = new_case(org, agent)
    login(agent)
    at(clock, hours(0.5))
    page = client.get(f"/sla/cases/{case.id}/clocks").get_data(as_text=True)
    assert "First response" in page and "30 min left" in page
    assert "7 h 30 min left" in page
    at(clock, hours(2))
    page = client.get(f"/sla/cases/{case.id}/clocks").get_data(as_text=True)
    assert "Overdue by 1 h" in page


def test_case_clocks_partial_and_swedish(clock, client, login, org, agent):
    make_policy(org, 2, first=60)
    case = new_case(org, agent)
    agent.user.locale = "sv"
    agent.user.save()
    login(agent)
    at(clock, hours(0.25))
    response = client.get(f"/sla/cases/{case.id}/clocks", htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert "Första svar" in body and "45 min kvar" in body


def test_case_clocks_are_scoped(client, login, org, agent, outsider):
    case = new_case(org, agent)
    login(outsider)
    assert client.get(f"/sla/cases/{case.id}/clocks").status_code == 404


def test_case_clocks_need_sign_in(client, org, agent):
    case = new_case(org, agent)
    assert client.get(f"/sla/cases/{case.id}/clocks").status_code == 302
    response = client.get(f"/sla/cases/{case.id}/clocks", htmx=True)
    assert response.status_code == 401 and "HX-Redirect" in response.headers


def test_threads_and_landing_show_sla_badges(clock, client, login, org, agent, supervisor):
    make_policy(org, 2, first=60)
    new_case(org, agent)
    login(supervisor)
    at(clock, hours(2))
    page = client.get("/threads").get_data(as_text=True)
    assert "SLA overdue by 1 h" in page
    assert 'class="badge overdue"' in page


def test_the_case_page_shows_the_clock_panel(clock, client, login, org, agent):
    make_policy(org, 2, first=60)
    case = new_case(org, agent)
    login(agent)
    at(clock, hours(0.5))
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="sla-clocks"' in page and "30 min left" in page


# ---------------------------------------------------------------------------------------------
# Settings


def test_settings_need_an_admin(client, login, org, supervisor):
    login(supervisor)
    assert client.get("/sla/settings").status_code == 403
    assert client.post("/sla/settings/policies/2", data={"p2-resolution": "60"}).status_code == 403


def test_save_business_hours_plain(client, login, org, admin):
    login(admin)
    assert client.get("/sla/settings").status_code == 200
    response = client.post("/sla/settings/hours", data={
        "day0": "08:00-12:00, 13:00-17:00", "day1": "08:00-17:00", "day2": "", "day3": "",
        "day4": "08:00-16:00", "day5": "", "day6": "", "holiday_country": "SE",
        "auto_close_days": "3", "confirm_link_days": "10"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/sla/settings")
    assert "Business hours saved." in client.get("/sla/settings").get_data(as_text=True)
    settings = SlaSettings.get(SlaSettings.organisation == org.id)
    assert settings.hours[0] == [("08:00", "12:00"), ("13:00", "17:00")]
    assert 2 not in settings.hours and settings.auto_close_days == 3


def test_save_business_hours_htmx(client, login, org, admin):
    login(admin)
    response = client.post("/sla/settings/hours", htmx=True, data={
        "day0": "09:00-17:00", "holiday_country": "", "auto_close_days": "5",
        "confirm_link_days": "14"})
    body = htmx_ok(response, "sla-settings-changed")
    assert 'id="sla-hours"' in body and "Business hours saved." in body
    assert SlaSettings.get(SlaSettings.organisation == org.id).holiday_country is None


@pytest.mark.parametrize("locale,message", [
    ("en", "Write the hours like 08:00-17:00"), ("sv", "Skriv tiderna som 08:00-17:00")])
def test_bad_business_hours_are_422(client, login, org, admin, locale, message):
    admin.user.locale = locale
    admin.user.save()
    login(admin)
    response = client.post("/sla/settings/hours", data={
        "day0": "9 to 5", "holiday_country": "SE", "auto_close_days": "5",
        "confirm_link_days": "14"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in body and 'value="9 to 5"' in body
    assert SlaSettings.get_or_none(SlaSettings.organisation == org.id) is None


def test_closed_days(client, login, org, admin):
    login(admin)
    response = client.post("/sla/settings/closed-days", data={"day": "2026-06-19",
                                                               "name": "Midsommarafton"})
    assert response.status_code == 303
    day = ClosedDay.get(ClosedDay.organisation == org.id)
    again = client.post("/sla/settings/closed-days", data={"day": "2026-06-19"}, htmx=True)
    assert again.status_code == 422 and "already closed" in again.get_data(as_text=True)
    response = client.post(f"/sla/settings/closed-days/{day.id}/delete", htmx=True)
    htmx_ok(response, "sla-settings-changed")
    assert ClosedDay.select().count() == 0


def test_save_policy_plain_htmx_and_invalid(client, login, org, admin):
    login(admin)
    response = client.post("/sla/settings/policies/3", data={
        "p3-first_response": "30", "p3-resolution": "240", "p3-active": "y"})
    assert response.status_code == 303
    policy = SlaPolicy.get(SlaPolicy.priority == 3)
    assert (policy.first_response_minutes, policy.next_response_minutes,
            policy.resolution_minutes, policy.active) == (30, None, 240, True)
    response = client.post("/sla/settings/policies/3", htmx=True, data={"p3-resolution": "120"})
    htmx_ok(response, "sla-settings-changed")
    assert not SlaPolicy.get_by_id(policy.id).active
    response = client.post("/sla/settings/policies/3", htmx=True, data={"p3-resolution": "-5"})
    assert response.status_code == 422 and 'value="-5"' in response.get_data(as_text=True)
    assert AuditEvent.select().where(AuditEvent.action == "sla.policy_saved").count() == 2


def test_tier_target(client, login, org, admin, other_org):
    inbox = make_inbox(org)
    foreign = make_inbox(other_org)
    login(admin)
    response = client.post(f"/sla/settings/inboxes/{inbox.id}/target",
                           data={f"t{inbox.id}-target_minutes": "90"})
    assert response.status_code == 303
    assert TierTarget.get(TierTarget.inbox == inbox.id).target_minutes == 90
    assert client.post(f"/sla/settings/inboxes/{foreign.id}/target",
                       data={f"t{foreign.id}-target_minutes": "90"}).status_code == 404


def test_ladder_steps(client, login, org, admin):
    policy = make_policy(org, 2)
    login(admin)
    url = f"/sla/ladders/policy/{policy.id}"
    assert client.get(url).status_code == 200
    response = client.post(url + "/steps", data={"clock_kind": "resolution", "trigger": "percent",
                                                 "percent": "80", "action": "notify_owners"})
    assert response.status_code == 303
    assert "Step added to the ladder." in client.get(url).get_data(as_text=True)
    response = client.post(url + "/steps", htmx=True, data={
        "clock_kind": "resolution", "trigger": "after_breach", "offset_minutes": "30",
        "action": "release_claim"})
    body = htmx_ok(response, "sla-ladder-changed")
    assert "30 minutes after the breach" in body
    response = client.post(url + "/steps", htmx=True, data={
        "clock_kind": "resolution", "trigger": "percent", "action": "release_claim"})
    assert response.status_code == 422 and "Give a percentage" in response.get_data(as_text=True)
    step = LadderStep.select().order_by(LadderStep.id).first()
    response = client.post(f"{url}/steps/{step.id}/delete", htmx=True)
    htmx_ok(response, "sla-ladder-changed")
    assert LadderStep.select().count() == 1


def test_ladders_of_another_org_are_404(client, login, org, admin, other_org):
    policy = make_policy(other_org, 2)
    login(admin)
    assert client.get(f"/sla/ladders/policy/{policy.id}").status_code == 404
    assert client.get("/sla/ladders/inbox/999").status_code == 404


def test_post_without_csrf_is_refused(client, login, org, admin):
    login(admin)
    response = client.post("/sla/settings/policies/2", data={"p2-resolution": "60"}, csrf=False)
    assert response.status_code == 400
