"""Escalation inboxes through the test client (issue 3): every action plain (303 + flash),
htmx (fragment or HX-Redirect, the HX-Trigger event, Vary), invalid (422 in English and Swedish)
and forbidden (403 lower role, 404 other organisation, anonymous to sign-in)."""
import json
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest

from escalation.clock import utcnow
from escalation.inboxes import service
from escalation.models import AuditEvent, Case, Claim, Inbox, InboxOwner, Message

from .factories import make_case, make_inbox, make_member, make_queue
from .factories_inboxes import make_agent_case, make_escalated


@pytest.fixture
def desk(org, agent):
    queue = make_queue(org, name="Servicedesk", members=[agent])
    owner = make_member(org, "agent", name="Ines Inboxowner", email="ines@example.test")
    hardware = make_inbox(org, owners=[owner], name="Hardware L2", batch_size=3)
    spanish = make_inbox(org, owners=[owner], name="Spanish speaking")
    return SimpleNamespace(queue=queue, owner=owner, inbox=hardware, spanish=spanish)


@pytest.fixture
def use(client, login):
    """Sign the client in as ``member`` (signing out whoever was in), in ``locale``."""
    def sign_in(member, locale="en"):
        member.user.locale = locale
        member.user.save()
        with client.session_transaction() as session:
            signed_in = "_user_id" in session
        if signed_in:
            client.post("/auth/logout")
            client.refresh_csrf()
        login(member)
        return member
    return sign_in


def escalated(org, desk, agent, **fields):
    return make_escalated(org, desk.inbox, agent,
                          case=make_agent_case(org, agent, queue=desk.queue, **fields))


def claimed_with_a_second_owner(org, desk, agent):
    """An escalated case claimed by the desk's owner, and another owner of the same inbox."""
    case = escalated(org, desk, agent)
    second = make_member(org, "agent")
    InboxOwner.create(inbox=desk.inbox, member=second)
    service.claim_case(case, desk.owner, now=utcnow())
    return case, second


def text(response):
    return response.get_data(as_text=True)


def flashed(client):
    """The flash messages waiting for the next page."""
    with client.session_transaction() as session:
        return " ".join(message for _, message in session.get("_flashes", []))


def assert_fragment(response, trigger="escalations-changed"):
    assert response.status_code == 200, text(response)[:800]
    assert "<html" not in text(response)
    assert trigger in json.loads(response.headers["HX-Trigger"])
    assert "HX-Request" in response.headers.get("Vary", "")


def assert_htmx_redirect(response, to):
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].startswith(to)
    assert "escalations-changed" in json.loads(response.headers["HX-Trigger"])


def fresh(case):
    return Case.get_by_id(case.id)


# ------------------------------------------------------------------------------------------------
# Escalate one case (the case page's panel and its own page)

def test_the_case_page_offers_escalation_to_the_agent(client, use, org, agent, desk):
    case = make_agent_case(org, agent, queue=desk.queue)
    use(agent)
    page = text(client.get(f"/cases/{case.id}"))
    assert 'id="escalate-form"' in page and "Hardware L2" in page
    assert client.get(f"/inboxes/cases/{case.id}/escalate").status_code == 200


def test_an_agent_escalates_and_lands_on_the_next_case(client, use, org, agent, desk):
    case = make_agent_case(org, agent, queue=desk.queue, first_message="Broken screen")
    following = make_agent_case(org, agent, queue=desk.queue)
    use(agent)
    response = client.post(f"/inboxes/cases/{case.id}/escalate",
                           data={"inbox": desk.inbox.id, "reason": "Needs a new screen",
                                 "message": "A technician will call you."})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/cases/{following.id}?from=queue"
    assert "Case #%d is escalated to Hardware L2. Here is your next case." % case.id \
        in flashed(client)
    row = fresh(case)
    assert row.inbox_id == desk.inbox.id and row.assignee_id is None
    assert Message.get((Message.case == case.id) & (Message.kind == "out")).body \
        == "A technician will call you."
    page = text(client.get(response.headers["Location"]))
    assert "Here is your next case." in page


def test_escalating_the_last_case_lands_on_the_landing(client, use, org, agent, desk):
    case = make_agent_case(org, agent, queue=desk.queue)
    use(agent)
    response = client.post(f"/inboxes/cases/{case.id}/escalate",
                           data={"inbox": desk.inbox.id, "reason": "Specialist"})
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_escalate_with_htmx_redirects_to_the_next_case(client, use, org, agent, desk):
    case = make_agent_case(org, agent, queue=desk.queue)
    following = make_agent_case(org, agent, queue=desk.queue)
    use(agent)
    response = client.post(f"/inboxes/cases/{case.id}/escalate",
                           data={"inbox": desk.inbox.id, "reason": "Specialist"}, htmx=True)
    assert_htmx_redirect(response, f"/cases/{following.id}")


@pytest.mark.parametrize("locale, message", [
    ("en", "Say why the case is escalated."),
    ("sv", "Skriv varför ärendet eskaleras."),
])
def test_escalate_without_a_reason_is_422_with_the_form_as_typed(client, use, org, agent, desk,
                                                                 locale, message):
    case = make_agent_case(org, agent, queue=desk.queue)
    use(agent, locale)
    data = {"inbox": desk.inbox.id, "reason": "", "message": "Kept as typed"}
    page = client.post(f"/inboxes/cases/{case.id}/escalate", data=data)
    assert page.status_code == 422
    assert message in text(page) and "Kept as typed" in text(page) and "<html" in text(page)
    partial = client.post(f"/inboxes/cases/{case.id}/escalate", data=data, htmx=True)
    assert partial.status_code == 422 and "<html" not in text(partial)
    assert message in text(partial) and 'id="escalate-form"' in text(partial)
    assert fresh(case).inbox_id is None


@pytest.mark.parametrize("locale, message", [("en", "Choose an inbox."), ("sv", "Välj en inkorg.")])
def test_escalate_into_a_deleted_inbox_is_refused(client, use, org, agent, admin, desk, locale,
                                                  message):
    case = make_agent_case(org, agent, queue=desk.queue)
    service.delete_inbox(desk.inbox, admin, now=utcnow())
    use(agent, locale)
    page = client.get(f"/inboxes/cases/{case.id}/escalate")
    assert "Hardware L2" not in text(page) and "Spanish speaking" in text(page)
    response = client.post(f"/inboxes/cases/{case.id}/escalate",
                           data={"inbox": desk.inbox.id, "reason": "x"})
    assert response.status_code == 422 and message in text(response)


def test_escalate_is_only_for_the_cases_agent_and_leads(client, use, org, agent, supervisor,
                                                       outsider, desk):
    case = make_agent_case(org, agent, queue=desk.queue)
    other_agent = make_member(org, "agent")
    use(other_agent)
    assert client.post(f"/inboxes/cases/{case.id}/escalate",
                       data={"inbox": desk.inbox.id, "reason": "x"}).status_code == 403
    assert client.get(f"/inboxes/cases/{case.id}/escalate").status_code == 403
    use(outsider)
    assert client.post(f"/inboxes/cases/{case.id}/escalate",
                       data={"inbox": desk.inbox.id, "reason": "x"}).status_code == 404
    use(supervisor)
    assert client.post(f"/inboxes/cases/{case.id}/escalate",
                       data={"inbox": desk.inbox.id, "reason": "x"}).status_code == 303


def test_anonymous_is_sent_to_sign_in(client, org, agent, desk):
    case = make_agent_case(org, agent, queue=desk.queue)
    for url in (f"/inboxes/cases/{case.id}/escalate", "/inboxes/", "/inboxes/manage"):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
        response = client.get(url, htmx=True)
        assert response.status_code == 401 and "/auth/login" in response.headers["HX-Redirect"]


def test_a_post_without_the_csrf_token_is_refused(client, use, org, agent, desk):
    case = make_agent_case(org, agent, queue=desk.queue)
    use(agent)
    response = client.post(f"/inboxes/cases/{case.id}/escalate", csrf=False,
                           data={"inbox": desk.inbox.id, "reason": "x"})
    assert response.status_code == 400 and fresh(case).inbox_id is None


def test_escalating_twice_is_a_409_shown_in_the_page(client, use, org, agent, desk):
    case = make_agent_case(org, agent, queue=desk.queue)
    use(agent)
    data = {"inbox": desk.inbox.id, "reason": "Specialist"}
    assert client.post(f"/inboxes/cases/{case.id}/escalate", data=data).status_code == 303
    page = client.post(f"/inboxes/cases/{case.id}/escalate", data=data)
    assert page.status_code == 409 and "This case is already escalated." in text(page)
    partial = client.post(f"/inboxes/cases/{case.id}/escalate", data=data, htmx=True)
    assert partial.status_code == 409 and "<html" not in text(partial)
    assert "This case is already escalated." in text(partial)


# ------------------------------------------------------------------------------------------------
# Who sees an escalated case; the timeline's cards

def test_escalated_cases_are_visible_to_owners_leads_and_the_escalating_agent(
        client, use, org, agent, supervisor, desk):
    case = escalated(org, desk, agent)
    other_agent = make_member(org, "agent")
    use(other_agent)
    assert client.get(f"/cases/{case.id}").status_code == 403
    use(agent)
    page = text(client.get(f"/cases/{case.id}"))
    assert "Escalated the case to Hardware L2 from Servicedesk (Alice Agent)." in page
    assert "Claim this case" not in page
    use(desk.owner)
    page = text(client.get(f"/cases/{case.id}"))
    assert "Claim this case" in page and 'id="escalation-panel"' in page
    use(supervisor)
    assert "Move to another inbox" in text(client.get(f"/cases/{case.id}"))


def test_the_timeline_tells_every_step_in_swedish(client, use, org, agent, supervisor, desk):
    case = escalated(org, desk, agent)
    now = utcnow()
    service.claim_case(fresh(case), desk.owner, now=now)
    service.move(fresh(case), desk.spanish, supervisor, reason="Talar spanska", now=now)
    service.de_escalate(fresh(case), supervisor, now=now, to="agent")
    use(supervisor, "sv")
    page = text(client.get(f"/cases/{case.id}"))
    for sentence in ("Eskalerade ärendet till Hardware L2 från Servicedesk (Alice Agent).",
                     "Tog ärendet från Hardware L2",
                     "Flyttade ärendet från Hardware L2 till Spanish speaking.",
                     "Talar spanska",
                     "Förde tillbaka ärendet från Spanish speaking till Alice Agent i "
                     "Servicedesk."):
        assert sentence in page


# ------------------------------------------------------------------------------------------------
# The owners' overview and the landing panel

def test_the_landing_shows_an_owner_their_inboxes_with_counts(client, use, org, agent, desk):
    escalated(org, desk, agent)
    escalated(org, desk, agent, reply_status="responded")
    use(desk.owner)
    page = text(client.get("/"))
    assert 'id="escalation-inboxes"' in page
    assert page.index('id="escalation-inboxes"') < page.index("My queue</h1>")
    start = page.index('id="inbox-summary-%d"' % desk.inbox.id)
    summary = page[start:page.index("</article>", start)]
    assert 'data-count="total">2<' in summary and 'data-count="needs-response">1<' in summary
    assert 'data-count="unclaimed">2<' in summary and 'data-count="mine">0<' in summary
    assert "Servicedesk" in summary and "Claim next" in summary


def test_the_landing_has_no_inbox_panel_for_members_who_own_none(client, use, agent, desk):
    use(agent)
    assert 'id="escalation-inboxes"' not in text(client.get("/"))


def test_the_overview_refreshes_with_conditional_responses(client, use, org, agent, desk):
    escalated(org, desk, agent)
    use(desk.owner)
    page = client.get("/inboxes/")
    assert page.status_code == 200 and "<html" in text(page)
    first = client.get("/inboxes/", htmx=True)
    assert first.status_code == 200 and "<html" not in text(first)
    etag = first.headers["ETag"]
    assert "no-cache" in first.headers["Cache-Control"]
    again = client.get("/inboxes/", htmx=True, headers={"If-None-Match": etag})
    if again.status_code == 200:  # the minute turned between the two requests
        etag = again.headers["ETag"]
        again = client.get("/inboxes/", htmx=True, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    service.claim_batch(desk.inbox, desk.owner, now=utcnow())
    changed = client.get("/inboxes/", htmx=True, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert 'data-count="mine">1<' in text(changed)


def test_the_overview_observes_a_lapsed_claim_once(client, use, org, agent, desk):
    case = escalated(org, desk, agent)
    service.claim_case(case, desk.owner, now=utcnow() - timedelta(hours=2))
    use(desk.owner)
    client.get("/inboxes/", htmx=True)
    client.get("/")
    lapses = AuditEvent.select().where((AuditEvent.case == case.id)
                                       & (AuditEvent.action == "escalation.claim_lapsed"))
    assert lapses.count() == 1
    assert fresh(case).claimed_by_id is None


def next_up(page, inbox):
    """The case ids of an inbox summary's "Next up" list, in the order shown."""
    start = page.index('id="inbox-summary-%d"' % inbox.id)
    summary = page[start:page.index("</article>", start)]
    if 'class="waiting"' not in summary:
        return []
    listed = summary[summary.index('class="waiting"'):summary.index("</ol>")]
    return [int(i) for i in re.findall(r'<a href="/cases/(\d+)">#\1 ', listed)]


def test_next_up_lists_each_inbox_in_claim_order(client, use, org, agent, desk):
    """The overview's lists (one query for every inbox) are what "Claim next" would take, in
    the same order: needs-response first, then priority, then the longest waiting."""
    now = utcnow()
    made = [escalated(org, desk, agent, reply_status=reply, priority=priority,
                      waiting_since=now - timedelta(minutes=minutes))
            for reply, priority, minutes in [("responded", 4, 500), ("needs_response", 1, 400),
                                             ("needs_response", 4, 10), ("needs_response", 4, 90),
                                             ("needs_response", 2, 300), ("responded", 2, 900),
                                             ("needs_response", 3, 5)]]
    held = escalated(org, desk, agent, priority=4, waiting_since=now - timedelta(days=3))
    service.claim_case(held, desk.owner, now=now)
    spanish = [make_escalated(org, desk.spanish, agent,
                              case=make_agent_case(org, agent, queue=desk.queue,
                                                   waiting_since=now - timedelta(minutes=m)))
               for m in (30, 60)]
    use(desk.owner)
    page = text(client.get("/"))
    claim_order = [c.id for c in Case.waiting_in(desk.inbox.id, utcnow()).limit(5)]
    assert next_up(page, desk.inbox) == claim_order
    assert held.id not in claim_order and len(claim_order) == 5
    assert claim_order[:3] == [made[3].id, made[2].id, made[6].id]
    assert next_up(page, desk.spanish) == [spanish[1].id, spanish[0].id]
    # "My claimed" names the inbox of each claim.
    mine = page[page.index('class="my-claims"'):]
    assert "#%d " % held.id in mine and "Hardware L2 · Needs response" in mine
    taken = service.claim_batch(desk.inbox, desk.owner, now=utcnow())  # room for 2 of 3
    assert [c.id for c in taken] == claim_order[:2]


def test_origin_groups_add_open_and_waiting_cases(client, use, org, agent, desk):
    escalated(org, desk, agent)
    escalated(org, desk, agent, status="waiting", reply_status="responded")
    other = make_queue(org, name="Another queue", members=[agent])
    make_escalated(org, desk.inbox, agent, case=make_agent_case(org, agent, queue=other))
    resolved = escalated(org, desk, agent)  # resolved inside the inbox: not counted
    Case.update(status="resolved", reply_status="closed").where(Case.id == resolved.id).execute()
    use(desk.owner)
    page = text(client.get("/"))
    start = page.index('id="inbox-summary-%d"' % desk.inbox.id)
    summary = page[start:page.index("</article>", start)]
    rows = re.findall(r"<tr><td>([^<]*)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td></tr>",
                      summary)
    assert rows == [("Another queue", "1", "1", "1"), ("Servicedesk", "2", "1", "2")]
    assert 'data-count="total">3<' in summary


# ------------------------------------------------------------------------------------------------
# Claim next

def test_claim_next_plain(client, use, org, agent, desk):
    for _ in range(4):
        escalated(org, desk, agent)
    use(desk.owner)
    response = client.post(f"/inboxes/{desk.inbox.id}/claim", data={"next": "/inboxes/"})
    assert response.status_code == 303 and response.headers["Location"] == "/inboxes/"
    assert "You claimed 3 cases from Hardware L2." in flashed(client)
    assert "You claimed 3 cases" in text(client.get("/inboxes/"))
    response = client.post(f"/inboxes/{desk.inbox.id}/claim")
    assert response.headers["Location"] == "/"
    assert "You already hold 3 cases from Hardware L2, its batch size." in flashed(client)


def test_claim_next_htmx_returns_the_overview(client, use, org, agent, desk):
    escalated(org, desk, agent)
    use(desk.owner, "sv")
    response = client.post(f"/inboxes/{desk.inbox.id}/claim", htmx=True)
    assert_fragment(response)
    assert 'id="escalation-inboxes"' in text(response)
    assert "Du tog 1 ärende från Hardware L2." in text(response)
    assert "Mina tagna ärenden" in text(response)
    empty = client.post(f"/inboxes/{desk.spanish.id}/claim", htmx=True)
    assert "Det finns inga otagna ärenden i Spanish speaking just nu." in text(empty)


def test_claim_next_is_for_owners_of_the_inbox(client, use, org, agent, supervisor, outsider,
                                              desk):
    escalated(org, desk, agent)
    use(supervisor)
    assert client.post(f"/inboxes/{desk.inbox.id}/claim").status_code == 403
    use(outsider)
    assert client.post(f"/inboxes/{desk.inbox.id}/claim").status_code == 404
    assert Claim.select().count() == 0


# ------------------------------------------------------------------------------------------------
# Claim one case, release

def test_claim_and_release_one_case(client, use, org, agent, desk):
    case = escalated(org, desk, agent)
    use(desk.owner)
    response = client.post(f"/inboxes/cases/{case.id}/claim")
    assert response.status_code == 303 and response.headers["Location"] == f"/cases/{case.id}"
    assert "You claimed case #%d." % case.id in flashed(client)
    assert fresh(case).claimed_by_id == desk.owner.id
    response = client.post(f"/inboxes/cases/{case.id}/release", htmx=True)
    assert_fragment(response)
    assert json.loads(response.headers["HX-Trigger"]).get("case-changed")
    assert "Case #%d is back in its inbox, unclaimed." % case.id in text(response)
    assert fresh(case).claimed_by_id is None


def test_claiming_a_claimed_case_is_a_409_shown_in_flash(client, use, org, agent, desk):
    case, second = claimed_with_a_second_owner(org, desk, agent)
    use(second, "sv")
    response = client.post(f"/inboxes/cases/{case.id}/claim", htmx=True)
    assert response.status_code == 409 and "<html" not in text(response)
    assert "Ärendet är redan taget." in text(response)
    page = client.post(f"/inboxes/cases/{case.id}/claim")
    assert page.status_code == 409 and "<html" in text(page)


def test_release_is_for_the_claimant_and_leads(client, use, org, agent, supervisor, desk):
    case, other_owner = claimed_with_a_second_owner(org, desk, agent)
    use(other_owner)
    assert client.post(f"/inboxes/cases/{case.id}/release").status_code == 403
    use(agent)
    assert client.post(f"/inboxes/cases/{case.id}/claim").status_code == 403
    use(supervisor)
    assert client.post(f"/inboxes/cases/{case.id}/release").status_code == 303
    assert client.post(f"/inboxes/cases/{case.id}/release").status_code == 409


def test_a_claimants_reply_keeps_and_extends_the_claim(client, use, org, agent, desk):
    case = escalated(org, desk, agent)
    start = utcnow() - timedelta(minutes=30)
    service.claim_case(case, desk.owner, now=start)
    use(desk.owner)
    response = client.post(f"/cases/{case.id}/reply", data={"reply-body": "We are on it."})
    assert response.status_code == 303, text(response)[:500]
    row = fresh(case)
    assert row.claimed_by_id == desk.owner.id
    assert row.claim_expires_at > start + timedelta(minutes=60)


# ------------------------------------------------------------------------------------------------
# Move

def test_move_plain_and_htmx(client, use, org, agent, desk):
    case = escalated(org, desk, agent)
    other = escalated(org, desk, agent)
    use(desk.owner)
    page = client.get(f"/inboxes/cases/{case.id}/move")
    assert page.status_code == 200 and "Spanish speaking" in text(page)
    response = client.post(f"/inboxes/cases/{case.id}/move",
                           data={"move-inbox": desk.spanish.id, "move-reason": "Speaks Spanish"})
    assert response.status_code == 303
    assert "Case #%d is moved to Spanish speaking." % case.id in flashed(client)
    assert fresh(case).inbox_id == desk.spanish.id
    response = client.post(f"/inboxes/cases/{other.id}/move",
                           data={"move-inbox": desk.spanish.id}, htmx=True)
    assert_fragment(response)
    assert 'id="escalation-panel"' in text(response)


@pytest.mark.parametrize("locale, same, choose", [
    ("en", "The case is already in that inbox.", "Choose an inbox."),
    ("sv", "Ärendet ligger redan i den inkorgen.", "Välj en inkorg."),
])
def test_move_invalid_and_to_the_same_inbox_is_422(client, use, org, agent, desk, locale, same,
                                                   choose):
    case = escalated(org, desk, agent)
    use(desk.owner, locale)
    response = client.post(f"/inboxes/cases/{case.id}/move",
                           data={"move-inbox": desk.inbox.id, "move-reason": "Typed reason"})
    assert response.status_code == 422 and same in text(response)
    assert "Typed reason" in text(response)
    response = client.post(f"/inboxes/cases/{case.id}/move", data={"move-inbox": ""}, htmx=True)
    assert response.status_code == 422 and choose in text(response)
    assert "<html" not in text(response) and 'id="move-form"' in text(response)
    assert fresh(case).inbox_id == desk.inbox.id


def test_move_and_de_escalate_are_for_owners_of_the_inbox_and_leads(client, use, org, agent,
                                                                    outsider, desk):
    case = escalated(org, desk, agent)
    not_owner = make_member(org, "agent")
    use(not_owner)
    assert client.get(f"/inboxes/cases/{case.id}/move").status_code == 403
    assert client.post(f"/inboxes/cases/{case.id}/move",
                       data={"move-inbox": desk.spanish.id}).status_code == 403
    assert client.post(f"/inboxes/cases/{case.id}/de-escalate",
                       data={"back-to": "pool"}).status_code == 403
    use(outsider)
    assert client.post(f"/inboxes/cases/{case.id}/move",
                       data={"move-inbox": desk.spanish.id}).status_code == 404


# ------------------------------------------------------------------------------------------------
# De-escalate

def test_de_escalate_back_to_the_origin_agent(client, use, org, agent, desk):
    case = escalated(org, desk, agent)
    use(desk.owner)
    page = text(client.get(f"/inboxes/cases/{case.id}/de-escalate"))
    assert "Back to Alice Agent in Servicedesk" in page
    assert "Back to the pool of Servicedesk" in page
    response = client.post(f"/inboxes/cases/{case.id}/de-escalate",
                           data={"back-to": "agent", "back-reason": "Solved by phone"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/cases/{case.id}"
    assert "Case #%d is de-escalated." % case.id in flashed(client)
    row = fresh(case)
    assert row.inbox_id is None and row.assignee_id == agent.id


def test_de_escalate_htmx_to_the_pool(client, use, org, agent, supervisor, desk):
    case = escalated(org, desk, agent)
    use(supervisor)
    response = client.post(f"/inboxes/cases/{case.id}/de-escalate", data={"back-to": "pool"},
                           htmx=True)
    assert_fragment(response)
    row = fresh(case)
    assert row.inbox_id is None and row.assignee_id is None


@pytest.mark.parametrize("locale, message", [
    ("en", "Choose where the case goes back to."),
    ("sv", "Välj vart ärendet ska tillbaka."),
])
def test_de_escalate_without_a_choice_is_422(client, use, org, agent, desk, locale, message):
    case = escalated(org, desk, agent)
    use(desk.owner, locale)
    response = client.post(f"/inboxes/cases/{case.id}/de-escalate",
                           data={"back-reason": "Typed reason"})
    assert response.status_code == 422 and message in text(response)
    assert "Typed reason" in text(response)
    assert fresh(case).inbox_id == desk.inbox.id


def test_acting_on_a_case_no_longer_escalated_is_409(client, use, org, agent, supervisor, desk):
    case = escalated(org, desk, agent)
    service.de_escalate(case, supervisor, now=utcnow(), to="pool")
    use(desk.owner)
    for action, data in (("claim", {}), ("move", {"move-inbox": desk.spanish.id}),
                         ("de-escalate", {"back-to": "pool"}), ("resolve", {})):
        response = client.post(f"/inboxes/cases/{case.id}/{action}", data=data, htmx=True)
        assert response.status_code == 409, action
        assert "This case is not escalated (any more)." in text(response)


# ------------------------------------------------------------------------------------------------
# Resolve

def test_the_claimant_resolves_in_the_inbox(client, use, org, agent, desk):
    case = escalated(org, desk, agent)
    service.claim_case(case, desk.owner, now=utcnow())
    use(desk.owner)
    assert client.get(f"/inboxes/cases/{case.id}/resolve").status_code == 200
    response = client.post(f"/inboxes/cases/{case.id}/resolve",
                           data={"resolve-note": "Screen replaced"})
    assert response.status_code == 303
    assert "Case #%d is resolved. The requester is asked to confirm." % case.id in flashed(client)
    row = fresh(case)
    assert row.status == "resolved" and row.inbox_id == desk.inbox.id
    # The note is the resolution note the requester is asked to confirm (not an internal note).
    from escalation.sla.models import Resolution
    resolution = Resolution.get(Resolution.case == case.id)
    assert resolution.note == "Screen replaced" and resolution.answered_at is None
    assert not Message.select().where((Message.case == case.id)
                                      & (Message.kind == "note")).exists()


@pytest.mark.parametrize("locale", ["en", "sv"])
def test_resolve_htmx_invalid_and_forbidden(client, use, org, agent, supervisor, desk, locale):
    case, other_owner = claimed_with_a_second_owner(org, desk, agent)
    use(other_owner)
    assert client.post(f"/inboxes/cases/{case.id}/resolve").status_code == 403
    use(supervisor, locale)
    too_long = client.post(f"/inboxes/cases/{case.id}/resolve",
                           data={"resolve-note": "x" * 10001}, htmx=True)
    assert too_long.status_code == 422 and 'id="resolve-form"' in text(too_long)
    assert ("10000" in text(too_long)) and ("<html" not in text(too_long))
    missing = client.post(f"/inboxes/cases/{case.id}/resolve", data={"resolve-note": "  "},
                          htmx=True)
    assert missing.status_code == 422 and 'id="resolve-form"' in text(missing)
    assert {"en": "Write what solved the problem: the resolution note.",
            "sv": "Skriv vad som löste problemet: lösningsanteckningen."}[locale] in text(missing)
    assert fresh(case).status == "open"
    response = client.post(f"/inboxes/cases/{case.id}/resolve", data={"resolve-note": "Fixed"},
                           htmx=True)
    assert_fragment(response)
    assert fresh(case).status == "resolved"


# ------------------------------------------------------------------------------------------------
# The threads view: "Escalate selected"

def test_the_threads_view_offers_escalate_selected_to_leads(client, use, org, agent, supervisor,
                                                            desk):
    make_agent_case(org, agent, queue=desk.queue)
    use(supervisor)
    page = text(client.get("/threads"))
    assert 'id="bulk-escalate"' in page and 'formaction="/inboxes/escalate-selected"' in page


def test_escalate_selected_plain_and_htmx(client, use, org, agent, supervisor, outsider, desk):
    first, second = (make_agent_case(org, agent, queue=desk.queue) for _ in range(2))
    third = make_agent_case(org, agent, queue=desk.queue)
    foreign = make_case(outsider.organisation)
    use(supervisor)
    response = client.post("/inboxes/escalate-selected",
                           data={"case_id": [first.id, second.id, foreign.id],
                                 "bulk-inbox": desk.inbox.id, "bulk-reason": "Hardware",
                                 "next": "/threads?status=open"})
    assert response.status_code == 303 and response.headers["Location"] == "/threads?status=open"
    assert "2 cases escalated to Hardware L2." in flashed(client)
    assert fresh(first).inbox_id == fresh(second).inbox_id == desk.inbox.id
    assert fresh(foreign).inbox_id is None
    response = client.post("/inboxes/escalate-selected",
                           data={"case_id": [first.id, third.id], "bulk-inbox": desk.spanish.id,
                                 "bulk-reason": "Spanish"}, htmx=True)
    assert_fragment(response)
    assert "1 case escalated to Spanish speaking." in text(response)
    assert "1 case was skipped" in text(response)
    assert fresh(first).inbox_id == desk.inbox.id


@pytest.mark.parametrize("locale, choose, select", [
    ("en", "Choose an inbox.", "Select at least one case."),
    ("sv", "Välj en inkorg.", "Markera minst ett ärende."),
])
def test_escalate_selected_invalid_is_422(client, use, org, agent, supervisor, desk, locale,
                                          choose, select):
    case = make_agent_case(org, agent, queue=desk.queue)
    use(supervisor, locale)
    response = client.post("/inboxes/escalate-selected",
                           data={"case_id": [case.id], "bulk-inbox": "", "bulk-reason": "Typed"})
    assert response.status_code == 422 and choose in text(response)
    assert "Typed" in text(response) and f'value="{case.id}" checked' in text(response)
    response = client.post("/inboxes/escalate-selected",
                           data={"bulk-inbox": desk.inbox.id, "bulk-reason": "x"}, htmx=True)
    assert response.status_code == 422 and select in text(response)
    assert "<html" not in text(response)
    assert fresh(case).inbox_id is None


def test_escalate_selected_is_for_leads(client, use, org, agent, desk):
    case = make_agent_case(org, agent, queue=desk.queue)
    use(agent)
    response = client.post("/inboxes/escalate-selected",
                           data={"case_id": [case.id], "bulk-inbox": desk.inbox.id,
                                 "bulk-reason": "x"})
    assert response.status_code == 403 and fresh(case).inbox_id is None


# ------------------------------------------------------------------------------------------------
# Agent view

def test_leads_switch_to_the_agent_view_and_back(client, use, org, agent, supervisor, desk):
    InboxOwner.create(inbox=desk.inbox, member=supervisor)
    escalated(org, desk, agent)
    use(supervisor)
    landing = text(client.get("/"))
    assert "Switch to agent view" in landing and 'id="escalation-inboxes"' in landing
    response = client.post("/inboxes/agent-view", data={"next": "/"})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    landing = text(client.get("/"))
    assert "You see Eskalera as an agent does." in landing
    assert 'id="escalation-inboxes"' not in landing and "Back to my own view" in landing
    response = client.post("/inboxes/agent-view", data={"next": "/"}, htmx=True)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/"
    assert 'id="escalation-inboxes"' in text(client.get("/"))


def test_agents_have_no_agent_view_switch(client, use, agent, desk):
    use(agent)
    assert "Switch to agent view" not in text(client.get("/"))
    assert client.post("/inboxes/agent-view").status_code == 403


# ------------------------------------------------------------------------------------------------
# Admin → Inboxes

def test_the_inbox_list_is_for_admins_and_owners(client, use, org, admin, owner, supervisor,
                                                 desk):
    use(supervisor)
    assert client.get("/inboxes/manage").status_code == 403
    assert "/inboxes/manage" not in text(client.get("/"))
    use(owner)
    assert client.get("/inboxes/manage").status_code == 200
    use(admin)
    page = text(client.get("/inboxes/manage"))
    assert "Hardware L2" in page and "Ines Inboxowner" in page and 'href="/inboxes/manage"' in page


def test_create_an_inbox(client, use, org, admin, agent, desk):
    use(admin)
    assert client.get("/inboxes/manage/new").status_code == 200
    response = client.post("/inboxes/manage/new", data={
        "name": "Printers", "description": "Paper and toner", "tier": "1", "owners": [agent.id],
        "batch_size": "10", "duration_amount": "2", "duration_unit": "days"})
    assert response.status_code == 303 and response.headers["Location"] == "/inboxes/manage"
    assert "The inbox Printers is saved." in flashed(client)
    inbox = Inbox.get(Inbox.name == "Printers")
    assert (inbox.tier, inbox.batch_size, inbox.assignment_minutes) == (1, 10, 2 * 24 * 60)
    assert [o.member_id for o in inbox.owners] == [agent.id]
    response = client.post("/inboxes/manage/new", data={
        "name": "Monitors", "tier": "2", "owners": [agent.id], "batch_size": "5",
        "duration_amount": "45", "duration_unit": "minutes"}, htmx=True)
    assert_htmx_redirect(response, "/inboxes/manage")


@pytest.mark.parametrize("locale, messages", [
    ("en", ["Choose at least one owner.", "Give a number from 1 to 100.",
            "The assignment duration must be between 5 minutes and 7 days."]),
    ("sv", ["Välj minst en ägare.", "Ange ett tal från 1 till 100.",
            "Tilldelningstiden måste vara mellan 5 minuter och 7 dagar."]),
])
def test_create_invalid_is_422_with_every_error(client, use, org, owner, desk, locale, messages):
    use(owner, locale)
    data = {"name": "Typed name", "tier": "2", "batch_size": "0", "duration_amount": "8",
            "duration_unit": "days"}
    for htmx in (False, True):
        response = client.post("/inboxes/manage/new", data=data, htmx=htmx)
        assert response.status_code == 422
        assert ("<html" in text(response)) is not htmx
        for message in messages:
            assert message in text(response)
        assert 'value="Typed name"' in text(response)
    response = client.post("/inboxes/manage/new", data={
        "name": "hardware l2", "tier": "2", "owners": [desk.owner.id], "batch_size": "3",
        "duration_amount": "1", "duration_unit": "hours"})
    assert response.status_code == 422
    assert ("Another inbox already has that name." if locale == "en"
            else "En annan inkorg har redan det namnet.") in text(response)
    assert Inbox.select().count() == 2


def test_create_and_edit_are_forbidden_to_lower_roles_and_other_orgs(client, use, supervisor,
                                                                     outsider, desk):
    use(supervisor)
    assert client.post("/inboxes/manage/new", data={"name": "X"}).status_code == 403
    assert client.get(f"/inboxes/manage/{desk.inbox.id}/edit").status_code == 403
    use(outsider)
    assert client.get(f"/inboxes/manage/{desk.inbox.id}/edit").status_code == 404
    assert client.get(f"/inboxes/manage/{desk.inbox.id}/delete").status_code == 404


def test_edit_an_inbox_and_remove_an_owner_who_loses_their_claims(client, use, org, agent, admin,
                                                                  desk):
    case = escalated(org, desk, agent)
    service.claim_case(case, desk.owner, now=utcnow())
    new_owner = make_member(org, "agent", name="Nils Newowner")
    use(admin)
    form = text(client.get(f"/inboxes/manage/{desk.inbox.id}/edit"))
    assert 'value="Hardware L2"' in form
    assert re.search(rf'<input checked[^>]*value="{desk.owner.id}"', form)
    response = client.post(f"/inboxes/manage/{desk.inbox.id}/edit", data={
        "name": "Hardware L2", "tier": "2", "owners": [new_owner.id], "batch_size": "4",
        "duration_amount": "90", "duration_unit": "minutes"})
    assert response.status_code == 303
    inbox = Inbox.get_by_id(desk.inbox.id)
    assert (inbox.batch_size, inbox.assignment_minutes) == (4, 90)
    assert fresh(case).claimed_by_id is None
    use(desk.owner)
    assert client.post(f"/inboxes/{desk.inbox.id}/claim").status_code == 403


def test_delete_an_inbox_after_confirming_the_count(client, use, org, agent, admin, desk):
    first, second = escalated(org, desk, agent), escalated(org, desk, agent)
    service.claim_case(first, desk.owner, now=utcnow())
    use(admin, "sv")
    page = text(client.get(f"/inboxes/manage/{desk.inbox.id}/delete"))
    assert "Om du tar bort Hardware L2 förs 2 ärenden tillbaka till köerna de kom från." in page
    token = page.split('name="token" type="hidden" value="')[1].split('"')[0]
    response = client.post(f"/inboxes/manage/{desk.inbox.id}/delete", data={"token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/inboxes/manage"
    assert "2 ärenden fördes tillbaka" in flashed(client)
    assert Inbox.get_by_id(desk.inbox.id).deleted_at is not None
    assert fresh(first).inbox_id is None and fresh(second).assignee_id == agent.id
    assert client.get(f"/inboxes/manage/{desk.inbox.id}/delete").status_code == 404
    assert "Hardware L2" not in text(client.get("/inboxes/manage"))


def test_a_deletion_confirmed_before_a_change_is_a_409(client, use, org, agent, admin, desk):
    case = escalated(org, desk, agent)
    use(admin)
    page = text(client.get(f"/inboxes/manage/{desk.inbox.id}/delete"))
    token = page.split('name="token" type="hidden" value="')[1].split('"')[0]
    service.claim_case(case, desk.owner, now=utcnow())
    response = client.post(f"/inboxes/manage/{desk.inbox.id}/delete", data={"token": token},
                           htmx=True)
    assert response.status_code == 409
    assert "The inbox changed after you confirmed." in text(response)
    assert Inbox.get_by_id(desk.inbox.id).deleted_at is None


def test_delete_is_forbidden_to_lower_roles(client, use, supervisor, desk):
    use(supervisor)
    assert client.get(f"/inboxes/manage/{desk.inbox.id}/delete").status_code == 403
    assert client.post(f"/inboxes/manage/{desk.inbox.id}/delete").status_code == 403


# ------------------------------------------------------------------------------------------------
# Cost: the overview's queries do not grow with the cases shown

def count_queries(client, url, **kwargs):
    from escalation.db import database
    statements = []
    hook = lambda event: statements.append(event.sql)  # noqa: E731
    database.obj.query_hooks.append(hook)
    try:
        response = client.get(url, **kwargs)
    finally:
        database.obj.query_hooks.remove(hook)
    return len(statements), response


def test_the_overview_costs_the_same_for_4_or_60_cases(client, use, org, agent, desk):
    def add(n):
        cases = [escalated(org, desk, agent) for _ in range(n)]
        service.claim_batch(desk.inbox, desk.owner, now=utcnow())
        return cases
    add(4)
    use(desk.owner)
    small, _ = count_queries(client, "/inboxes/", htmx=True)
    add(56)
    large, response = count_queries(client, "/inboxes/", htmx=True)
    assert 'data-count="total">60<' in text(response)
    assert large == small
    unchanged, response = count_queries(client, "/inboxes/", htmx=True,
                                        headers={"If-None-Match": response.headers["ETag"]})
    if response.status_code == 304:
        assert unchanged < large
