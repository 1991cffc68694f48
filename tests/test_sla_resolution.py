"""Confirmed resolution: resolving with a note, the signed link (expiry, single use), reopening,
auto-close; canned responses."""
import json
import re

import pytest
import time_machine

from escalation.cases import service as cases
from escalation.errors import Invalid
from escalation.inboxes import service as inboxes
from escalation.models import AuditEvent
from escalation.sla import canned
from escalation.sla.ladder import sweep
from escalation.sla.models import CannedResponse, Notification, Resolution
from escalation.sla.notifications import deliver_pending
from escalation.sla.resolution import reply_and_resolve, resolve_with_note, token_for

from .factories import NOW, make_contact, make_inbox, make_member
from .factories_sla import (app_ctx, body_of, clock_of, fresh, hours, mail_to,  # noqa: F401
                            make_policy, minutes, new_case, set_settings, smtp_server, strict_sla)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def link_in(message):
    return re.search(r"https://desk\.example\.test(/sla/confirm/\S+)", body_of(message)).group(1)


# ---------------------------------------------------------------------------------------------
# The service


def test_resolving_needs_a_note(org, agent):
    case = new_case(org, agent)
    with pytest.raises(Invalid) as error:
        resolve_with_note(fresh(case), agent, note="  ", now=NOW)
    assert error.value.reasons[0][0] == "note"
    assert fresh(case).status == "open"


def test_resolve_with_note_asks_the_requester(org, agent):
    requester = make_contact(org, email="req@example.test")
    make_policy(org, 2)
    case = new_case(org, agent, requester=requester)
    resolution = resolve_with_note(fresh(case), agent, note="Replaced the toner", now=NOW + hours(1))
    assert fresh(case).status == "resolved"
    assert (resolution.note, resolution.last_holder_id) == ("Replaced the toner", agent.id)
    assert clock_of(case, "resolution").outcome == "met"
    asked = Notification.get(Notification.contact == requester.id)
    assert asked.kind == "resolved" and asked.data["resolution"] == resolution.id
    assert AuditEvent.select().where(AuditEvent.action == "sla.resolution_noted").count() == 1


def test_an_escalated_case_is_resolved_in_its_inbox(org, agent):
    owner = make_member(org, "agent")
    inbox = make_inbox(org, owners=[owner], assignment_minutes=600)
    case = new_case(org, agent)
    inboxes.escalate(fresh(case), inbox, agent, reason="Disk", now=NOW)
    inboxes.claim_case(fresh(case), owner, now=NOW)
    resolution = resolve_with_note(fresh(case), owner, note="New disk", now=NOW + hours(1))
    assert fresh(case).status == "resolved" and resolution.last_holder_id == owner.id
    assert AuditEvent.select().where(AuditEvent.action == "escalation.resolved").count() == 1


def test_every_way_of_resolving_needs_the_note(org, agent):
    """The cases and inboxes services refuse to resolve without a note, as resolve_with_note
    does; nothing changes and nothing is sent."""
    from escalation.models import Message
    owner = make_member(org, "agent")
    inbox = make_inbox(org, owners=[owner], assignment_minutes=600)
    plain, escalated = new_case(org, agent), new_case(org, agent)
    inboxes.escalate(fresh(escalated), inbox, agent, reason="Disk", now=NOW)
    attempts = [
        lambda: cases.change_status(fresh(plain), agent, status="resolved", now=NOW),
        lambda: cases.reply(fresh(plain), agent, body="Done", then_status="resolved", now=NOW),
        lambda: reply_and_resolve(fresh(plain), agent, body="Done", note=" ", now=NOW),
        lambda: inboxes.resolve_in_inbox(fresh(escalated), owner, now=NOW, note=""),
        lambda: resolve_with_note(fresh(escalated), owner, note=None, now=NOW),
    ]
    for attempt in attempts:
        with pytest.raises(Invalid) as error:
            attempt()
        assert error.value.reasons[0][0] == "note"
    assert {fresh(plain).status, fresh(escalated).status} == {"open"}
    assert not Message.select().where(Message.kind == "out").exists()
    assert not Resolution.select().exists()


def test_reply_and_resolve_sends_the_reply_and_asks_for_confirmation(org, agent):
    from escalation.models import Message
    requester = make_contact(org, email="req@example.test")
    case = new_case(org, agent, requester=requester)
    reply_and_resolve(fresh(case), agent, body="Restart the printer", note="Restarted it",
                      now=NOW + minutes(5))
    assert fresh(case).status == "resolved"
    assert Message.get(Message.kind == "out").body == "Restart the printer"
    resolution = Resolution.get(Resolution.case == case.id)
    assert resolution.note == "Restarted it" and resolution.answered_at is None
    kinds = {n.kind for n in Notification.select().where(Notification.contact == requester.id)}
    assert kinds == {"replied", "resolved"}


def test_a_case_resolved_through_the_cases_service_keeps_its_note(org, agent):
    """Resolved without resolve_with_note, the note on the event becomes the resolution's."""
    case = new_case(org, agent)
    cases.change_status(fresh(case), agent, status="resolved", note="Swapped the cable",
                        now=NOW + hours(1))
    assert Resolution.get(Resolution.case == case.id).note == "Swapped the cable"


# ---------------------------------------------------------------------------------------------
# The link, end to end through a real SMTP server


def test_no_reopens_to_the_last_holder_with_the_comment(clock, app_ctx, smtp_server, client, org,
                                                        agent):
    requester = make_contact(org, email="req@example.test", locale="sv")
    owner = make_member(org, "agent")
    inbox = make_inbox(org, owners=[owner], assignment_minutes=600)
    case = new_case(org, agent, requester=requester)
    inboxes.escalate(fresh(case), inbox, agent, reason="Disk", now=NOW)
    inboxes.claim_case(fresh(case), owner, now=NOW)
    resolve_with_note(fresh(case), owner, note="Ny disk installerad", now=NOW)
    deliver_pending(NOW)
    mail, = [m for m in mail_to(smtp_server, "req@example.test") if "lösts" in m["Subject"]]
    assert mail["Subject"] == f"Ditt ärende #{case.id} har lösts: Printer on fire"
    assert "Ny disk installerad" in body_of(mail)
    url = link_in(mail)
    clock.move_to(NOW + hours(2))
    page = client.get(url)
    assert page.status_code == 200 and "Ja, det är löst" in page.get_data(as_text=True)
    refused = client.post(url + "/no", data={"comment": ""})
    assert refused.status_code == 422 and "Berätta vad som fortfarande" in refused.get_data(as_text=True)
    answered = client.post(url + "/no", data={"comment": "Still clicking"})
    assert answered.status_code == 200
    reopened = fresh(case)
    assert reopened.status == "open" and reopened.claimed_by_id == owner.id
    assert reopened.messages.order_by(-1).count() >= 1
    told = Notification.get(Notification.kind == "reopened")
    assert told.member_id == owner.id and told.data["comment"] == "Still clicking"
    assert clock_of(case, "resolution").stopped_at is None  # counting again
    # single use
    assert client.post(url + "/yes").status_code == 409
    assert client.get(url).status_code == 409


def test_yes_closes_the_case(clock, app_ctx, client, org, agent):
    case = new_case(org, agent)
    resolution = resolve_with_note(fresh(case), agent, note="Fixed", now=NOW)
    url = f"/sla/confirm/{token_for(resolution)}"
    response = client.post(url + "/yes")
    assert response.status_code == 200 and "closed" in response.get_data(as_text=True)
    assert fresh(case).status == "closed"
    assert Resolution.get_by_id(resolution.id).answer == "yes"


def test_the_link_expires(clock, app_ctx, client, org, agent):
    set_settings(org, confirm_link_days=3)
    case = new_case(org, agent)
    resolution = resolve_with_note(fresh(case), agent, note="Fixed", now=NOW)
    url = f"/sla/confirm/{token_for(resolution)}"
    clock.move_to(NOW + hours(24 * 3 + 1))
    assert client.get(url).status_code == 410
    assert client.post(url + "/yes").status_code == 410
    assert fresh(case).status == "resolved"


def test_a_forged_link_is_404(clock, app_ctx, client, org, agent):
    case = new_case(org, agent)
    resolution = resolve_with_note(fresh(case), agent, note="Fixed", now=NOW)
    token = token_for(resolution)
    assert client.get(f"/sla/confirm/{token[:-2]}xx").status_code == 404
    assert client.post(f"/sla/confirm/{token[:-2]}xx/yes").status_code == 404


def test_a_new_resolution_voids_the_old_link(clock, app_ctx, client, org, agent):
    case = new_case(org, agent)
    first = resolve_with_note(fresh(case), agent, note="Fixed", now=NOW)
    cases.change_status(fresh(case), agent, status="open", now=NOW + minutes(5))
    resolve_with_note(fresh(case), agent, note="Fixed again", now=NOW + minutes(10))
    assert client.post(f"/sla/confirm/{token_for(first)}/yes").status_code == 409


def test_unanswered_resolutions_close_after_n_business_days(app_ctx, smtp_server, org, agent):
    set_settings(org, auto_close_days=2)
    requester = make_contact(org, email="req@example.test", locale="en")
    case = new_case(org, agent, requester=requester)
    resolve_with_note(fresh(case), agent, note="Fixed", now=NOW)  # Monday
    sweep(NOW + hours(24))  # Tuesday
    assert fresh(case).status == "resolved"
    sweep(NOW + hours(48) + hours(7))  # Wednesday after 17:00 local
    assert fresh(case).status == "closed"
    sweep(NOW + hours(72))
    final = [m for m in mail_to(smtp_server, "req@example.test") if "closed" in m["Subject"]]
    assert len(final) == 1
    assert AuditEvent.select().where(AuditEvent.action == "sla.auto_closed").count() == 1


# ---------------------------------------------------------------------------------------------
# The resolve endpoint


def test_resolve_plain(client, login, org, agent):
    case = new_case(org, agent)
    login(agent)
    response = client.post(f"/sla/cases/{case.id}/resolve", data={"note": "Rebooted"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/cases/{case.id}")
    assert fresh(case).status == "resolved"
    assert "The case is resolved" in client.get(f"/sla/cases/{case.id}/resolve").get_data(as_text=True)


def test_resolve_htmx(client, login, org, agent):
    case = new_case(org, agent)
    login(agent)
    response = client.post(f"/sla/cases/{case.id}/resolve", data={"note": "Rebooted"}, htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert "case-changed" in json.loads(response.headers["HX-Trigger"])
    assert "Waiting for the requester to confirm" in body


@pytest.mark.parametrize("locale,message", [
    ("en", "Write what solved the problem"), ("sv", "Skriv vad som löste problemet")])
def test_resolve_without_a_note_is_422(client, login, org, agent, locale, message):
    agent.user.locale = locale
    agent.user.save()
    case = new_case(org, agent)
    login(agent)
    response = client.post(f"/sla/cases/{case.id}/resolve", data={"note": ""}, htmx=True)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert fresh(case).status == "open"


def test_resolve_forbidden_and_foreign(client, login, org, agent, outsider):
    owner = make_member(org, "agent")
    other_agent = make_member(org, "agent")
    inbox = make_inbox(org, owners=[owner])
    case = new_case(org, agent)
    inboxes.escalate(fresh(case), inbox, agent, reason="Disk", now=NOW)
    login(other_agent)
    assert client.post(f"/sla/cases/{case.id}/resolve", data={"note": "x"}).status_code == 403
    client.post("/auth/logout")
    client.refresh_csrf()
    login(outsider)
    assert client.post(f"/sla/cases/{case.id}/resolve", data={"note": "x"}).status_code == 404


# ---------------------------------------------------------------------------------------------
# Canned responses


def test_placeholders_are_filled(org, agent):
    requester = make_contact(org, name="Nils Nilsson")
    case = new_case(org, agent, requester=requester)
    row = canned.save(org, agent, title="Hello", language="sv", now=NOW,
                      body="Hej {requester_name}! Ärende {case_number} ({case_subject}). /{agent_name}")
    assert canned.fill(row, fresh(case), agent) == \
        f"Hej Nils Nilsson! Ärende {case.id} (Printer on fire). /Alice Agent"


def test_unknown_placeholders_are_refused(org, agent):
    with pytest.raises(Invalid):
        canned.save(org, agent, title="x", language="sv", body="Hi {password}", now=NOW)
    with pytest.raises(Invalid):
        canned.save(org, agent, title="x", language="sv", body="Hi {requester_name", now=NOW)


def test_the_case_panel_offers_responses_in_the_requesters_language(org, agent):
    from escalation.sla.panels import canned_panel
    requester = make_contact(org, locale="sv", name="Nils")
    case = new_case(org, agent, requester=requester)
    canned.save(org, agent, title="Svenska", language="sv", body="Hej {requester_name}", now=NOW)
    canned.save(org, agent, title="English", language="en", body="Hi {requester_name}", now=NOW)
    panel = canned_panel(agent, fresh(case), NOW)["sla_canned"]
    assert [(row.title, text) for row, text in panel["responses"]] == [("Svenska", "Hej Nils")]


def test_canned_admin(client, login, org, admin, agent):
    login(admin)
    assert client.get("/sla/canned").status_code == 200
    response = client.post("/sla/canned", data={"title": "Greeting", "language": "en",
                                                 "body": "Hi {requester_name}"})
    assert response.status_code == 303
    assert "Canned response saved." in client.get("/sla/canned").get_data(as_text=True)
    row = CannedResponse.get()
    response = client.post("/sla/canned", htmx=True, data={"title": "", "language": "en",
                                                           "body": "Hi"})
    assert response.status_code == 422 and "Give the response a title" in response.get_data(as_text=True)
    response = client.post("/sla/canned", htmx=True, data={"title": "Bad", "language": "en",
                                                           "body": "Hi {nope}"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Unknown placeholder" in body and "Hi {nope}" in body
    response = client.post(f"/sla/canned/{row.id}", data={"title": "Greeting 2", "language": "sv",
                                                          "body": "Hej"})
    assert response.status_code == 303 and CannedResponse.get_by_id(row.id).title == "Greeting 2"
    response = client.post(f"/sla/canned/{row.id}/delete", htmx=True)
    assert response.status_code == 200 and "canned-responses-changed" in response.headers["HX-Trigger"]
    assert CannedResponse.select().count() == 0
    client.post("/auth/logout")
    client.refresh_csrf()
    login(agent)
    assert client.get("/sla/canned").status_code == 403
