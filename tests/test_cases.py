"""The cases area through the test client (CSRF on): the landing and "request more", the case page
and its actions, the next-conversation flow, the new-case form and contacts. Every route plain,
with htmx and with invalid input; as anonymous, another organisation and a lower role."""
import html
import re
from contextlib import contextmanager
from datetime import timedelta

import pytest

from escalation import nav
from escalation.cases import service
from escalation.db import database
from escalation.models import AuditEvent, Case, Contact, Escalation, Message, User

from . import factories
from .factories import NOW


# ---------------------------------------------------------------------------------------------
# Helpers

def text_of(response):
    """The body with HTML entities resolved (an apostrophe may come out as ')."""
    return html.unescape(response.get_data(as_text=True))


def fresh(case):
    return Case.get_by_id(case.id)


def speaks_swedish(member):
    User.update(locale="sv").where(User.id == member.user_id).execute()


def assert_fragment(response, trigger=None):
    assert response.status_code == 200, text_of(response)[:800]
    assert "<html" not in text_of(response)
    assert "HX-Request" in response.headers.get("Vary", "")
    if trigger:
        assert trigger in response.headers["HX-Trigger"]


def flashes(client, path="/"):
    return text_of(client.get(path))


@contextmanager
def counted_queries():
    """Every SQL statement the app sends while the block runs."""
    statements = []
    real = database.obj.execute_sql

    def execute_sql(sql, params=None, *args, **kwargs):
        statements.append(sql)
        return real(sql, params, *args, **kwargs)

    database.obj.execute_sql = execute_sql
    try:
        yield statements
    finally:
        del database.obj.execute_sql


@pytest.fixture
def queue(org, agent):
    return factories.make_queue(org, members=[agent], name="Servicedesk")


@pytest.fixture
def contact(org):
    return factories.make_contact(org, name="Lena Lind", email="lena@example.test",
                                  phone="070-1234")


@pytest.fixture
def mine(org, queue, agent, contact):
    return factories.make_case(org, queue, requester=contact, assignee=agent, subject="Skrivaren",
                               created_at=NOW - timedelta(hours=3),
                               first_message="Den skriver inte ut")


@pytest.fixture
def escalated(org, queue, agent, admin):
    inbox = factories.make_inbox(org, owners=[admin], name="Hardware")
    case = factories.make_case(org, queue, assignee=agent, inbox=inbox, subject="Trasig skärm")
    Escalation.create(organisation=org, case=case, inbox=inbox, origin_queue=queue,
                      origin_agent=agent, escalated_by=agent)
    return case


# ---------------------------------------------------------------------------------------------
# Landing

def test_landing_shows_the_reply_queue_oldest_first(client, org, queue, agent, supervisor, login,
                                                   contact, escalated):
    newer = factories.make_case(org, queue, assignee=agent, subject="Newer one", requester=contact,
                                created_at=NOW - timedelta(hours=1))
    older = factories.make_case(org, queue, assignee=agent, subject="Older one", priority=4,
                                created_at=NOW - timedelta(hours=5))
    factories.make_case(org, queue, assignee=agent, subject="Answered", reply_status="responded")
    factories.make_case(org, queue, assignee=supervisor, subject="Not mine")
    factories.make_case(org, queue, subject="In the pool")
    login(agent)
    page = text_of(client.get("/"))
    assert page.index("Older one") < page.index("Newer one")
    for hidden in ("Answered", "Not mine", "In the pool", "Trasig skärm"):
        assert hidden not in page
    assert "Lena Lind" in page and "Servicedesk" in page and "Critical" in page
    assert f'href="/cases/{older.id}?from=queue"' in page
    assert "2 cases wait for your reply." in page
    assert "ago" in page  # the waiting time, relative
    assert newer.id


def test_landing_in_swedish(client, org, queue, mine, agent, login):
    speaks_swedish(agent)
    login(agent)
    page = text_of(client.get("/"))
    assert "Min kö" in page and "Begär fler" in page
    assert "1 ärende väntar på ditt svar." in page
    assert "sedan" in page  # "för 3 timmar sedan"


def test_landing_fragment_for_htmx(client, queue, mine, agent, login):
    login(agent)
    response = client.get("/", htmx=True)
    assert_fragment(response)
    assert 'id="reply-queue"' in text_of(response) and "Skrivaren" in text_of(response)
    boosted = client.get("/", htmx="boosted")
    assert "<html" in text_of(boosted)


def test_landing_links_leads_to_the_threads_view(client, app, org, agent, supervisor, login):
    link = "See every case in the threads view"
    login(agent)
    assert link not in text_of(client.get("/"))
    login(supervisor)
    if "threads.index" not in app.view_functions:
        assert link not in text_of(client.get("/"))
        return
    assert link in text_of(client.get("/"))
    with client.session_transaction() as session:
        session["agent_view"] = True
    assert link not in text_of(client.get("/"))


def test_landing_renders_registered_panels(client, agent, login, contact, monkeypatch):
    panels = dict(nav._panels)
    panels["landing"] = dict(panels.get("landing", {}))
    panels["landing"]["test"] = nav.Panel(1, "test", "cases/_contact_card.html",
                                          lambda member, obj, now: {"contact": contact})
    monkeypatch.setattr(nav, "_panels", panels)
    login(agent)
    page = text_of(client.get("/"))
    assert page.index("Lena Lind") < page.index('id="reply-queue"')


def test_landing_requires_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    response = client.get("/", htmx=True)
    assert response.status_code == 401 and "/auth/login" in response.headers["HX-Redirect"]


# ---------------------------------------------------------------------------------------------
# Request more

def test_request_more_plain(client, app, org, queue, agent, login):
    app.config["REPLY_BATCH_SIZE"] = 2
    cases = [factories.make_case(org, queue, created_at=NOW - timedelta(hours=hours))
             for hours in (1, 2, 3)]
    login(agent)
    response = client.post("/cases/request-more")
    assert response.status_code == 303 and response.headers["Location"].endswith("/")
    page = flashes(client)
    assert "You got 2 more cases." in page
    assert sorted(c.id for c in Case.select().where(Case.assignee == agent.id)) == \
        sorted([cases[2].id, cases[1].id])


def test_request_more_htmx(client, org, queue, agent, login):
    factories.make_case(org, queue, subject="From the pool")
    login(agent)
    response = client.post("/cases/request-more", htmx=True)
    assert_fragment(response, "reply-queue-changed")
    assert "You got 1 more case." in text_of(response) and "From the pool" in text_of(response)
    again = client.post("/cases/request-more", htmx=True)
    assert "There are no unassigned cases in your queues right now." in text_of(again)


def test_request_more_without_a_queue_in_swedish(client, org, admin, login):
    speaks_swedish(admin)
    login(admin)
    client.post("/cases/request-more")
    assert "Du är inte med i någon kö än." in flashes(client)


def test_request_more_needs_csrf_and_sign_in(client, org, queue, agent, login):
    assert client.post("/cases/request-more").status_code == 302
    assert client.post("/cases/request-more", htmx=True).status_code == 401
    login(agent)
    assert client.post("/cases/request-more", csrf=False).status_code == 400


# ---------------------------------------------------------------------------------------------
# The case page

def test_case_page_header_and_timeline(client, org, queue, agent, supervisor, login, contact):
    boss = factories.make_contact(org, name="Per Persson", email="per@example.test")
    case = service.create_case(agent, queue=queue.id, subject="Ny mus till Lena",
                               description="Musen har gått sönder.", priority=3, requester=boss,
                               requested_for=contact, now=NOW)
    service.add_note(case, agent, body="Beställd från lagret", now=NOW + timedelta(minutes=2))
    service.reply(case, agent, body="Den kommer i morgon.", then_status="waiting",
                  now=NOW + timedelta(minutes=5))
    service.reassign(case, supervisor, assignee=supervisor, now=NOW + timedelta(minutes=7))
    login(agent)
    page = text_of(client.get(f"/cases/{case.id}"))
    header = page[page.index('id="case-header"'):page.index('id="case-timeline"')]
    assert "Ny mus till Lena" in header
    assert re.search(r"Requester</dt><dd><a[^>]*>Per Persson", header)
    assert re.search(r"Requested for</dt><dd><a[^>]*>Lena Lind", header)
    assert "Servicedesk" in header and "Sam Supervisor" in header
    assert "Waiting" in header and "Responded" in header and "High" in header
    timeline = page[page.index('id="case-timeline"'):]
    order = ["Opened the case in Servicedesk", "Musen har gått sönder.", "Beställd från lagret",
             "Den kommer i morgon.", "Changed the status from Open to Waiting.",
             "Reassigned the case from Alice Agent to Sam Supervisor."]
    positions = [timeline.index(text) for text in order]
    assert positions == sorted(positions)
    assert "Alice Agent" in timeline and "Sam Supervisor" in timeline
    assert "11/2/26, 10:35\u202fAM" in timeline  # 09:35 UTC in Stockholm, in English


def test_case_page_in_swedish_shows_local_time(client, org, queue, mine, agent, login):
    speaks_swedish(agent)
    service.add_note(mine, agent, body="Ringde", now=NOW)
    login(agent)
    page = text_of(client.get(f"/cases/{mine.id}"))
    assert "Förfrågare" in page and "Förfrågat åt" in page and "Intern anteckning" in page
    assert "2026-11-02 10:30" in page  # 09:30 UTC in Stockholm, Swedish format
    assert "sedan" in page


def test_unknown_events_use_the_default_card(client, org, mine, agent, login):
    from escalation import audit
    audit.record(agent, "somewhere.happened", organisation=org.id, case=mine, now=NOW)
    login(agent)
    assert "Recorded: somewhere.happened" in text_of(client.get(f"/cases/{mine.id}"))


def test_case_page_renders_registered_case_panels(client, mine, agent, login, contact, monkeypatch):
    panels = dict(nav._panels)
    panels["case"] = {"test": nav.Panel(1, "test", "cases/_contact_card.html",
                                        lambda member, case, now: {"contact": case.requester})}
    monkeypatch.setattr(nav, "_panels", panels)
    login(agent)
    page = text_of(client.get(f"/cases/{mine.id}"))
    aside = page[page.index('class="case-side"'):]
    assert "Lena Lind" in aside[aside.index("</section>"):]


def test_case_page_access(client, org, other_org, queue, mine, escalated, agent, supervisor, admin,
                          outsider, login):
    foreign = factories.make_case(other_org)
    login(agent)
    assert client.get(f"/cases/{foreign.id}").status_code == 404
    assert client.get("/cases/999999").status_code == 404
    # The agent who escalated it may read it, not work it.
    page = text_of(client.get(f"/cases/{escalated.id}"))
    assert "You can read this case, but not work on it." in page and 'id="reply-form"' not in page
    # An agent with no part in an escalated case: 403.
    stranger = factories.make_member(org, "agent")
    login(stranger)
    assert client.get(f"/cases/{escalated.id}").status_code == 403
    # Another agent's (not escalated) case: readable, not workable.
    page = text_of(client.get(f"/cases/{mine.id}"))
    assert 'id="reply-form"' not in page and 'action="/cases/%d/reassign"' % mine.id not in page
    # The inbox owner works it; leads also reassign.
    login(admin)
    page = text_of(client.get(f"/cases/{escalated.id}"))
    assert 'id="reply-form"' in page
    login(supervisor)
    page = text_of(client.get(f"/cases/{mine.id}"))
    assert f'action="/cases/{mine.id}/reassign"' in page
    login(outsider)
    assert client.get(f"/cases/{mine.id}").status_code == 404


def test_agent_sees_take_on_a_pool_case(client, org, queue, agent, login):
    case = factories.make_case(org, queue)
    login(agent)
    page = text_of(client.get(f"/cases/{case.id}"))
    assert f'action="/cases/{case.id}/take"' in page and "Nobody yet" in page


@pytest.mark.parametrize("region, marker", [("header", 'id="case-header"'),
                                            ("timeline", 'id="case-timeline"'),
                                            ("controls", 'id="case-controls"')])
def test_case_regions(client, mine, agent, login, region, marker):
    login(agent)
    response = client.get(f"/cases/{mine.id}/{region}", htmx=True)
    assert_fragment(response)
    assert text_of(response).lstrip().startswith("<section") or marker in text_of(response)
    assert marker in text_of(response)
    plain = client.get(f"/cases/{mine.id}/{region}")
    assert "<html" in text_of(plain) and 'id="case-header"' in text_of(plain)
    login(factories.make_member(factories.make_org(), "owner"))
    assert client.get(f"/cases/{mine.id}/{region}", htmx=True).status_code == 404


def test_case_page_requires_sign_in(client, mine):
    assert client.get(f"/cases/{mine.id}").status_code == 302
    assert client.get(f"/cases/{mine.id}/timeline", htmx=True).status_code == 401


# ---------------------------------------------------------------------------------------------
# Case actions: plain, htmx, invalid (both languages), forbidden

ACTIONS = {
    # name: (valid form, invalid form, flash, echoed value, English error, Swedish error)
    "reply": ({"reply-body": "Vi tittar på det"}, {"reply-body": "  ", "reply-then": "waiting"},
              "Your reply is sent.", 'selected value="waiting"', "Write a reply before sending it.",
              "Skriv ett svar innan du skickar det."),
    "note": ({"note-body": "Ringde kunden"}, {"note-body": ""}, "Your note is saved.", None,
             "Write the note before saving it.", "Skriv anteckningen innan du sparar den."),
    "inbound": ({"inbound-body": "Kunden ringde igen", "inbound-channel": "phone"},
                {"inbound-body": "", "inbound-channel": "email"},
                "The contact's message is on the timeline.", 'selected value="email"',
                "Write down what the contact said.", "Skriv ner vad kontakten sa."),
    "status": ({"status-status": "waiting"}, {"status-status": "open"}, "The status is changed.",
               None, "The case already has this status.", "Ärendet har redan den statusen."),
    "priority": ({"priority-priority": "4"}, {"priority-priority": "2"},
                 "The priority is changed.", None, "The case already has this priority.",
                 "Ärendet har redan den prioriteten."),
    "reassign": ({"reassign-assignee": ""}, {"reassign-assignee": "999999"},
                 "The case has a new holder.", None, "Not a valid choice",
                 "Inte ett giltigt val"),
}


def _actor(name, agent, supervisor):
    return supervisor if name == "reassign" else agent


@pytest.mark.parametrize("name", list(ACTIONS))
def test_action_plain(client, mine, agent, supervisor, login, name):
    valid = ACTIONS[name][0]
    login(_actor(name, agent, supervisor))
    response = client.post(f"/cases/{mine.id}/{name}", data=valid)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/cases/{mine.id}")
    assert ACTIONS[name][2] in flashes(client, response.headers["Location"])
    assert fresh(mine).version == 2


@pytest.mark.parametrize("name", list(ACTIONS))
def test_action_htmx(client, mine, agent, supervisor, login, name):
    valid = ACTIONS[name][0]
    login(_actor(name, agent, supervisor))
    response = client.post(f"/cases/{mine.id}/{name}", data=valid, htmx=True)
    assert_fragment(response, "case-changed")
    assert ACTIONS[name][2] in text_of(response)
    assert fresh(mine).version == 2


@pytest.mark.parametrize("name", list(ACTIONS))
def test_action_invalid_in_both_languages(client, mine, agent, supervisor, login, name):
    _, invalid, _, echoed, english, swedish = ACTIONS[name]
    actor = _actor(name, agent, supervisor)
    login(actor)
    for htmx in (False, True):
        response = client.post(f"/cases/{mine.id}/{name}", data=invalid, htmx=htmx)
        assert response.status_code == 422
        assert english in text_of(response)
        assert ("<html" in text_of(response)) is not htmx
        if echoed:
            assert echoed in text_of(response)
    speaks_swedish(actor)
    login(actor)
    response = client.post(f"/cases/{mine.id}/{name}", data=invalid)
    assert response.status_code == 422 and swedish in text_of(response)
    assert fresh(mine).version == 1


@pytest.mark.parametrize("name", list(ACTIONS))
def test_action_forbidden(client, org, other_org, mine, agent, outsider, login, name):
    valid = ACTIONS[name][0]
    assert client.post(f"/cases/{mine.id}/{name}", data=valid).status_code == 302
    assert client.post(f"/cases/{mine.id}/{name}", data=valid, htmx=True).status_code == 401
    # A lower role, or an agent who does not hold the case: 403.
    other_agent = factories.make_member(org, "agent")
    login(other_agent if name != "reassign" else agent)
    assert client.post(f"/cases/{mine.id}/{name}", data=valid).status_code == 403
    response = client.post(f"/cases/{mine.id}/{name}", data=valid, htmx=True)
    assert response.status_code == 403 and "<html" not in text_of(response)
    login(outsider)
    assert client.post(f"/cases/{mine.id}/{name}", data=valid).status_code == 404
    assert fresh(mine).version == 1


def test_read_only_escalation_history_cannot_act(client, escalated, agent, login):
    login(agent)
    response = client.post(f"/cases/{escalated.id}/reply", data={"reply-body": "Hi"})
    assert response.status_code == 403


def test_take_a_pool_case(client, org, queue, agent, supervisor, login):
    case = factories.make_case(org, queue)
    login(agent)
    response = client.post(f"/cases/{case.id}/take", data={})
    assert response.status_code == 303
    assert "The case is yours now." in flashes(client, response.headers["Location"])
    assert fresh(case).assignee_id == agent.id
    # Now it is held: nobody can take it any more.
    assert client.post(f"/cases/{case.id}/take", data={}).status_code == 403
    other = factories.make_case(org, queue)
    response = client.post(f"/cases/{other.id}/take", data={}, htmx=True)
    assert_fragment(response, "case-changed")


def test_stale_action_is_a_conflict(client, mine, agent, supervisor, login):
    login(agent)
    client.get(f"/cases/{mine.id}")
    # The supervisor reassigns it while the agent's reply is on its way: the service sees the
    # route moved since the page was loaded and refuses (409, shown in #flash for htmx).
    from escalation.cases import views

    real = views._viewable_case

    def stale(case_id, now):
        case, access = real(case_id, now)
        service.reassign(fresh(mine), supervisor, assignee=supervisor, now=NOW)
        return case, access

    views._viewable_case = stale
    try:
        response = client.post(f"/cases/{mine.id}/reply", data={"reply-body": "Hi"}, htmx=True)
    finally:
        views._viewable_case = real
    assert response.status_code == 409 and "<html" not in text_of(response)
    assert Message.select().where(Message.kind == "out").count() == 0


def test_reply_with_a_status(client, mine, agent, login):
    login(agent)
    client.post(f"/cases/{mine.id}/reply", data={"reply-body": "Strax", "reply-then": "waiting"})
    assert (fresh(mine).status, fresh(mine).reply_status) == ("waiting", "responded")


# ---------------------------------------------------------------------------------------------
# Resolving always needs the resolution note (reply form and status control alike)

def _resolutions(case):
    from escalation.sla.models import Resolution
    return list(Resolution.select().where(Resolution.case == case.id))


@pytest.mark.parametrize("locale", ["en", "sv"])
def test_send_and_resolve_needs_the_note_and_keeps_the_reply(client, mine, agent, login, locale):
    if locale == "sv":
        speaks_swedish(agent)
    login(agent)
    response = client.post(f"/cases/{mine.id}/reply",
                           data={"reply-body": "Klart, starta om skrivaren!",
                                 "reply-then": "resolved", "reply-note": "  "}, htmx=True)
    assert response.status_code == 422 and "<html" not in text_of(response)
    body = text_of(response)
    expected = {"en": "Write what solved the problem: the resolution note.",
                "sv": "Skriv vad som löste problemet: lösningsanteckningen."}[locale]
    assert expected in body
    assert "Klart, starta om skrivaren!" in body  # kept as typed
    assert '<option selected value="resolved">' in body
    assert '<details class="resolution-note-field" open' in body
    assert fresh(mine).status == "open"
    assert Message.select().where(Message.kind == "out").count() == 0  # nothing sent

    response = client.post(f"/cases/{mine.id}/reply",
                           data={"reply-body": "Klart, starta om skrivaren!",
                                 "reply-then": "resolved", "reply-note": "Bytte toner"})
    assert response.status_code == 303
    row = fresh(mine)
    assert (row.status, row.reply_status) == ("resolved", "closed")
    assert Message.get(Message.kind == "out").body == "Klart, starta om skrivaren!"
    [resolution] = _resolutions(mine)
    assert resolution.note == "Bytte toner" and resolution.answered_at is None


@pytest.mark.parametrize("locale", ["en", "sv"])
def test_status_control_resolves_only_with_a_note(client, mine, agent, login, locale):
    if locale == "sv":
        speaks_swedish(agent)
    login(agent)
    response = client.post(f"/cases/{mine.id}/status", data={"status-status": "resolved"})
    assert response.status_code == 422
    body = text_of(response)
    expected = {"en": "Write what solved the problem: the resolution note.",
                "sv": "Skriv vad som löste problemet: lösningsanteckningen."}[locale]
    assert expected in body and 'id="status-note"' in body
    assert fresh(mine).status == "open" and _resolutions(mine) == []

    response = client.post(f"/cases/{mine.id}/status",
                           data={"status-status": "resolved", "status-note": "Ny kabel"},
                           htmx=True)
    assert_fragment(response, "case-changed")
    assert {"en": "The case is resolved. The requester is asked to confirm.",
            "sv": "Ärendet är löst. Förfrågaren ombeds bekräfta."}[locale] in text_of(response)
    assert fresh(mine).status == "resolved"
    [resolution] = _resolutions(mine)
    assert resolution.note == "Ny kabel"
    assert AuditEvent.select().where((AuditEvent.case == mine.id)
                                     & (AuditEvent.action == "sla.resolution_noted")).count() == 1


def test_other_statuses_need_no_note(client, mine, agent, login):
    login(agent)
    response = client.post(f"/cases/{mine.id}/status", data={"status-status": "waiting"})
    assert response.status_code == 303 and fresh(mine).status == "waiting"


def test_the_note_field_works_without_javascript(client, mine, agent, login):
    """The status control and the reply form carry the note in a <details>: it opens without
    JavaScript, and a plain POST with it resolves."""
    login(agent)
    page = text_of(client.get(f"/cases/{mine.id}"))
    assert page.count('<details class="resolution-note-field"') == 2
    assert 'name="status-note"' in page and 'name="reply-note"' in page


# ---------------------------------------------------------------------------------------------
# The next-conversation flow

def test_reply_from_the_queue_goes_to_the_next_case(client, org, queue, mine, agent, login):
    later = factories.make_case(org, queue, assignee=agent, subject="Nästa",
                                created_at=NOW - timedelta(hours=1))
    login(agent)
    page = text_of(client.get(f"/cases/{mine.id}?from=queue"))
    assert 'name="reply-next" type="hidden" value="queue"' in page
    assert "Send and go to the next case" in page
    response = client.post(f"/cases/{mine.id}/reply",
                           data={"reply-body": "Hej!", "reply-next": "queue"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/cases/{later.id}?from=queue")
    page = text_of(client.get(response.headers["Location"]))
    assert "Here is the next case in your queue." in page and "Nästa" in page
    response = client.post(f"/cases/{later.id}/reply",
                           data={"reply-body": "Hej!", "reply-next": "queue"})
    assert response.headers["Location"].endswith("/")
    assert "Your queue is empty" in flashes(client)


def test_next_conversation_in_swedish_and_with_htmx(client, org, queue, mine, agent, login):
    later = factories.make_case(org, queue, assignee=agent, created_at=NOW - timedelta(hours=1))
    speaks_swedish(agent)
    login(agent)
    boosted = client.post(f"/cases/{mine.id}/reply",
                          data={"reply-body": "Hej!", "reply-next": "queue"}, htmx="boosted")
    assert boosted.status_code == 303
    page = text_of(client.get(boosted.headers["Location"]))
    assert "Här är nästa ärende i din kö." in page
    response = client.post(f"/cases/{later.id}/reply",
                           data={"reply-body": "Hej!", "reply-next": "queue"}, htmx=True)
    assert response.status_code == 200 and response.headers["HX-Redirect"].endswith("/")


def test_a_note_in_the_queue_flow_stays_on_the_case(client, mine, agent, login):
    login(agent)
    response = client.post(f"/cases/{mine.id}/note",
                           data={"note-body": "Ringer upp", "note-next": "queue"})
    assert response.headers["Location"].endswith(f"/cases/{mine.id}?from=queue")


def test_skip_to_the_next_case(client, org, queue, mine, agent, login):
    later = factories.make_case(org, queue, assignee=agent, created_at=NOW - timedelta(hours=1))
    login(agent)
    response = client.get(f"/cases/next?after={mine.id}")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/cases/{later.id}?from=queue")
    response = client.get(f"/cases/next?after={later.id}")
    assert response.headers["Location"].endswith(f"/cases/{mine.id}?from=queue")
    service.reply(fresh(mine), agent, body="x", now=NOW)
    response = client.get(f"/cases/next?after={later.id}")
    assert response.headers["Location"].endswith("/")
    assert "There are no more cases in your queue." in flashes(client)


# ---------------------------------------------------------------------------------------------
# New case

NEW_CASE = {"requester": "new", "requester_name": "Walk In", "requester_email": "walk@in.test",
            "requester_phone": "", "requester_locale": "sv", "requested_for": "",
            "subject": "Laptop will not start", "description": "Black screen since this morning.",
            "channel": "in_person", "priority": "3", "assign_to_me": "y"}


def test_new_case_form(client, org, queue, agent, supervisor, login, contact):
    factories.make_queue(org, name="Hardware L2")
    login(agent)
    page = text_of(client.get(f"/cases/new?requester={contact.id}"))
    assert "Servicedesk" in page and "Hardware L2" not in page
    assert f'name="requester" value="{contact.id}" checked' in page
    assert 'id="assign_to_me"' in page and "checked" in page
    login(supervisor)
    assert "Hardware L2" in text_of(client.get("/cases/new"))


def test_new_case_with_new_contacts(client, org, queue, agent, login):
    login(agent)
    data = dict(NEW_CASE, queue=str(queue.id), requested_for="new",
                requested_for_name="Karin Karlsson")
    response = client.post("/cases/new", data=data)
    assert response.status_code == 303
    case = Case.select().order_by(Case.id.desc()).first()
    assert response.headers["Location"].endswith(f"/cases/{case.id}")
    assert f"Case #{case.id} is created." in flashes(client, response.headers["Location"])
    assert (case.subject, case.priority, case.assignee_id) == ("Laptop will not start", 3, agent.id)
    assert (case.requester.name, case.requester.email, case.requester.locale) == (
        "Walk In", "walk@in.test", "sv")
    assert case.requested_for.name == "Karin Karlsson"
    assert Message.get(Message.case == case.id).body == "Black screen since this morning."
    assert AuditEvent.get(AuditEvent.action == "case.created").data["channel"] == "in_person"


def test_new_case_with_an_existing_contact_left_in_the_pool(client, org, queue, agent, login,
                                                            contact):
    login(agent)
    data = {k: v for k, v in NEW_CASE.items() if not k.startswith("requester_")
            and k != "assign_to_me"}
    data.update(requester=str(contact.id), queue=str(queue.id))
    response = client.post("/cases/new", data=data, htmx=True)
    assert response.status_code == 200
    case = Case.select().order_by(Case.id.desc()).first()
    assert response.headers["HX-Redirect"].endswith(f"/cases/{case.id}")
    assert (case.requester_id, case.assignee_id) == (contact.id, None)
    assert Contact.select().count() == 1


def test_new_case_invalid_keeps_everything(client, org, queue, agent, login):
    login(agent)
    data = dict(NEW_CASE, queue=str(queue.id), subject="", requester_name="",
                requester_email="walk@in.test")
    for htmx in (False, True):
        response = client.post("/cases/new", data=data, htmx=htmx)
        page = text_of(response)
        assert response.status_code == 422
        assert ("<html" in page) is not htmx
        assert "Give the case a short, meaningful subject." in page
        assert "Enter the new contact's name, or pick a contact from the search." in page
        assert 'value="walk@in.test"' in page and "Black screen since this morning." in page
        assert '<option selected value="3">' in page
        assert '<option selected value="in_person">' in page
    speaks_swedish(agent)
    login(agent)
    page = text_of(client.post("/cases/new", data=data))
    assert "Ge ärendet en kort och tydlig rubrik." in page
    assert Case.select().count() == 0


def test_new_case_refuses_a_picked_contact_of_another_org(client, org, other_org, queue, agent,
                                                          login):
    foreign = factories.make_contact(other_org, name="Otto")
    login(agent)
    data = {k: v for k, v in NEW_CASE.items() if not k.startswith("requester_")}
    data.update(requester=str(foreign.id), queue=str(queue.id))
    response = client.post("/cases/new", data=data)
    assert response.status_code == 422 and "That contact is not available." in text_of(response)


def test_new_case_search_without_javascript_keeps_the_form(client, org, queue, agent, login,
                                                           contact):
    factories.make_contact(org, name="Lennart Lax")
    login(agent)
    data = dict(NEW_CASE, queue=str(queue.id), search="requester", requester_q="len",
                requester_name="")
    response = client.post("/cases/new", data=data)
    page = text_of(response)
    assert response.status_code == 200 and Case.select().count() == 0
    options = page[page.index('id="requester-options"'):page.index('id="requested_for-options"')]
    assert "Lena Lind" in options and "Lennart Lax" in options
    assert 'value="Laptop will not start"' in page


def test_new_case_requires_sign_in(client):
    assert client.get("/cases/new").status_code == 302
    assert client.post("/cases/new", data=NEW_CASE, htmx=True).status_code == 401


# ---------------------------------------------------------------------------------------------
# Contacts

def test_contacts_list_and_search(client, org, other_org, agent, login, contact):
    factories.make_contact(org, name="Per Persson", email="per@example.test")
    factories.make_contact(other_org, name="Lena Other")
    login(agent)
    page = text_of(client.get("/contacts"))
    assert "Lena Lind" in page and "Per Persson" in page and "Lena Other" not in page
    response = client.get("/contacts?q=lena", htmx=True)
    assert_fragment(response)
    assert "Lena Lind" in text_of(response) and "Per Persson" not in text_of(response)
    assert "No contact matches" in text_of(client.get("/contacts?q=zzz"))


def test_contacts_list_pages_by_keyset(client, app, org, agent, login):
    app.config["PAGE_SIZE"] = 2
    for name in ("Anna Ek", "Bo Berg", "Cia Carlsson", "Dan Dahl", "Eva Ek"):
        factories.make_contact(org, name=name)
    login(agent)
    page = text_of(client.get("/contacts"))
    assert "Anna Ek" in page and "Bo Berg" in page and "Cia Carlsson" not in page
    more = re.search(r'href="(/contacts\?after=\d+)"', page).group(1)
    page = text_of(client.get(more))
    assert "Cia Carlsson" in page and "Dan Dahl" in page and "Bo Berg" not in page


def test_contact_search_endpoint(client, org, agent, login, contact):
    login(agent)
    response = client.get("/contacts/search?field=requested_for&requested_for_q=lind", htmx=True)
    assert_fragment(response)
    assert f'name="requested_for" value="{contact.id}"' in text_of(response)
    page = text_of(client.get("/contacts/search?q=lind"))
    assert "<html" in page and "Lena Lind" in page and f"/cases/new?requester={contact.id}" in page


def test_add_contact(client, org, agent, login):
    login(agent)
    assert client.get("/contacts/new").status_code == 200
    response = client.post("/contacts/new", data={"name": "Maja", "email": "maja@example.test",
                                                  "phone": "", "locale": "sv"})
    assert response.status_code == 303
    maja = Contact.get(Contact.name == "Maja")
    assert response.headers["Location"].endswith(f"/contacts/{maja.id}")
    assert "Maja is added to the contacts." in flashes(client, response.headers["Location"])
    response = client.post("/contacts/new", data={"name": "Maj", "email": ""}, htmx=True)
    assert response.status_code == 200 and "/contacts/" in response.headers["HX-Redirect"]


def test_add_contact_invalid(client, org, agent, login, contact):
    login(agent)
    for htmx in (False, True):
        response = client.post("/contacts/new", data={
            "name": "Lena 2", "email": "LENA@example.test", "phone": "ring mig"}, htmx=htmx)
        assert response.status_code == 422
        assert "Another contact already has this email address." in text_of(response)
        assert 'value="ring mig"' in text_of(response)
        assert ("<html" in text_of(response)) is not htmx
    response = client.post("/contacts/new", data={"name": ""})
    assert "Enter the contact's name." in text_of(response)
    speaks_swedish(agent)
    login(agent)
    response = client.post("/contacts/new", data={"name": ""})
    assert response.status_code == 422 and "Ange kontaktens namn." in text_of(response)


def test_edit_contact(client, org, agent, login, contact, mine):
    login(agent)
    page = text_of(client.get(f"/contacts/{contact.id}"))
    assert 'value="lena@example.test"' in page and "Skrivaren" in page
    response = client.post(f"/contacts/{contact.id}", data={
        "name": "Lena Lind", "email": "lena@example.test", "phone": "08-1234", "locale": "sv"})
    assert response.status_code == 303
    assert "The contact is saved." in flashes(client, response.headers["Location"])
    assert Contact.get_by_id(contact.id).phone == "08-1234"
    response = client.post(f"/contacts/{contact.id}", data={"name": "Lena L", "email": "",
                                                            "locale": ""}, htmx=True)
    assert_fragment(response, "contact-changed")
    assert Contact.get_by_id(contact.id).name == "Lena L"
    response = client.post(f"/contacts/{contact.id}", data={"name": "", "email": "x@y.test"})
    assert response.status_code == 422 and 'value="x@y.test"' in text_of(response)


def test_contacts_are_scoped_to_the_organisation(client, other_org, agent, outsider, login,
                                                 contact):
    assert client.get("/contacts").status_code == 302
    assert client.get(f"/contacts/{contact.id}", htmx=True).status_code == 401
    login(outsider)
    assert client.get(f"/contacts/{contact.id}").status_code == 404
    assert client.post(f"/contacts/{contact.id}", data={"name": "X"}).status_code == 404
    assert "Lena Lind" not in text_of(client.get("/contacts"))
    assert "Lena Lind" not in text_of(client.get("/contacts/search?q=lena", htmx=True))


# ---------------------------------------------------------------------------------------------
# Header links

def test_header_links(client, agent, login):
    login(agent)
    page = text_of(client.get("/contacts"))
    header = page[:page.index("</header>")]
    assert 'href="/"' in header and 'href="/cases/new"' in header and 'href="/contacts"' in header
    assert "My queue" in header and "New case" in header and "Contacts" in header


# ---------------------------------------------------------------------------------------------
# Query counts do not grow with the rows

def _queries(client, path):
    client.get(path)  # warm up (templates, session)
    with counted_queries() as statements:
        response = client.get(path)
    assert response.status_code == 200
    return len(statements)


def _without_other_areas(monkeypatch):
    """Only this area's own queries: no panels or badges from other areas."""
    monkeypatch.setattr(nav, "_panels", {})
    monkeypatch.setattr(nav, "_annotators", {})


def test_landing_query_count_is_constant(client, org, queue, agent, login, monkeypatch):
    login(agent)
    factories.make_case(org, queue, assignee=agent)
    few = _queries(client, "/")
    for _ in range(60):  # more than a page
        factories.make_case(org, queue, assignee=agent)
    assert _queries(client, "/") == few + 1  # the total, counted once the page is full
    _without_other_areas(monkeypatch)
    assert _queries(client, "/") <= 6


def test_case_page_query_count_is_constant(client, org, queue, mine, agent, login, monkeypatch):
    login(agent)
    for i in range(5):
        service.add_note(mine, agent, body=f"note {i}", now=NOW)
    few = _queries(client, f"/cases/{mine.id}")
    for i in range(200):
        if i % 4 == 0:
            service.reply(fresh(mine), agent, body=f"reply {i}", now=NOW)
        elif i % 4 == 1:
            service.record_inbound(fresh(mine), body=f"in {i}", now=NOW)
        elif i % 4 == 2:
            service.add_note(fresh(mine), agent, body=f"note {i}", now=NOW)
        else:
            service.change_priority(fresh(mine), agent, priority=4 if fresh(mine).priority != 4
                                    else 1, now=NOW)
    page = text_of(client.get(f"/cases/{mine.id}"))
    assert page.count('<li class="message') + page.count('<li class="event') > 200
    assert _queries(client, f"/cases/{mine.id}") == few
    assert _queries(client, f"/cases/{mine.id}/timeline") == few
    _without_other_areas(monkeypatch)
    assert _queries(client, f"/cases/{mine.id}") <= 7


def test_contacts_query_count_is_constant(client, org, agent, login, monkeypatch):
    login(agent)
    factories.make_contact(org)
    few = _queries(client, "/contacts")
    for _ in range(60):
        factories.make_contact(org)
    assert _queries(client, "/contacts") == few
    _without_other_areas(monkeypatch)
    assert _queries(client, "/contacts") <= 5


# ---------------------------------------------------------------------------------------------
# Every route of the area asks for sign-in

def _area_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("cases."):
            path = re.sub(r"<int:\w+>", "1", rule.rule)
            path = re.sub(r"<any\(([\w, ]+)\):\w+>", lambda m: m.group(1).split(",")[0], path)
            for method in sorted(rule.methods & {"GET", "POST"}):
                yield method, path


def test_every_route_asks_anonymous_visitors_to_sign_in(app, client, org, mine):
    routes = list(_area_routes(app))
    assert ("GET", "/") in routes and ("POST", "/cases/1/reply") in routes and len(routes) >= 20
    for method, path in routes:
        plain = client.open(path, method=method)
        assert plain.status_code == 302 and "/auth/login" in plain.headers["Location"], path
        htmx = client.open(path, method=method, htmx=True)
        assert htmx.status_code == 401 and "/auth/login" in htmx.headers["HX-Redirect"], path


def test_every_case_route_hides_other_organisations_cases(app, client, mine, outsider, login):
    login(outsider)
    for method, path in _area_routes(app):
        if path.startswith(f"/cases/{mine.id}"):
            response = client.open(path.replace("/cases/1", f"/cases/{mine.id}"), method=method,
                                   data={})
            assert response.status_code == 404, path
