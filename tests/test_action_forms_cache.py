"""The case page's reply, note and inbound forms kept rendered (escalation/cases/
action_forms_cache.py): the same HTML as a fresh rendering in both languages, the request's own
CSRF token in every form, the queue flow rendered apart, and bound forms always fresh."""
import html
import re
from datetime import timedelta

import pytest

from escalation.cases import action_forms_cache
from escalation.cases.timeline_cache import FragmentCache
from escalation.models import Message, User

from . import factories
from .factories import NOW

TOKEN = re.compile(r"[\w-]{20,}\.[\w-]{4,}\.[\w-]{20,}")  # signed CSRF tokens


@pytest.fixture
def case(org, agent):
    queue = factories.make_queue(org, members=[agent], name="Servicedesk")
    contact = factories.make_contact(org, name="Lena Lind", email="lena@example.test")
    return factories.make_case(org, queue, requester=contact, assignee=agent, subject="Skrivaren",
                               created_at=NOW - timedelta(hours=3),
                               first_message="Den skriver inte ut")


def actions(page):
    start = page.index('<section class="case-actions"')
    return page[start:page.index("</section>", start) + len("</section>")]


def masked(page):
    return TOKEN.sub("TOKEN", page)


@pytest.mark.parametrize("locale", ["en", "sv"])
def test_cached_forms_are_the_fresh_forms(app, client, case, agent, login, locale, monkeypatch):
    User.update(locale=locale).where(User.id == agent.user_id).execute()
    login(agent)
    action_forms_cache.cache_of(app).clear()
    first = client.get(f"/cases/{case.id}").get_data(as_text=True)
    hits = action_forms_cache.cache_of(app).hits
    second = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert action_forms_cache.cache_of(app).hits == hits + 2  # the forms and the settings
    monkeypatch.setattr(action_forms_cache, "cache_of", lambda app=None: FragmentCache(0))
    fresh = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert masked(first) == masked(second) == masked(fresh)
    label = "Save the note" if locale == "en" else "Spara anteckningen"
    assert label in html.unescape(actions(second))
    # Every form of the cached page carries this request's token (the one in <meta>).
    token = re.search(r'name="csrf-token" content="([^"]+)"', second).group(1)
    assert set(TOKEN.findall(actions(second))) == {token}
    assert "\x00" not in second


def test_a_form_from_the_cached_page_posts(app, client, case, agent, login):
    login(agent)
    client.get(f"/cases/{case.id}")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    token = re.search(r'name="note-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(f"/cases/{case.id}/note", data={"note-csrf_token": token,
                                                           "note-body": "Ringde upp"},
                           csrf=False)
    assert response.status_code == 303
    assert Message.select().where(Message.body == "Ringde upp").count() == 1


def test_queue_flow_renders_its_own_forms(app, client, case, agent, login):
    login(agent)
    plain = actions(client.get(f"/cases/{case.id}").get_data(as_text=True))
    queued = actions(client.get(f"/cases/{case.id}?from=queue").get_data(as_text=True))
    assert "Send the reply" in plain and "Send and go to the next case" not in plain
    assert "Send and go to the next case" in queued and 'value="queue"' in queued
    again = actions(client.get(f"/cases/{case.id}").get_data(as_text=True))
    assert masked(again) == masked(plain)


def test_bound_form_with_errors_is_rendered_as_typed(app, client, case, agent, login):
    login(agent)
    client.get(f"/cases/{case.id}")  # the unbound forms are cached now
    response = client.post(f"/cases/{case.id}/inbound",
                           data={"inbound-body": "", "inbound-channel": "email"})
    assert response.status_code == 422
    section = html.unescape(actions(response.get_data(as_text=True)))
    assert "Write down what the contact said." in section
    assert 'value="email" selected' in section or 'selected value="email"' in section
    after = actions(client.get(f"/cases/{case.id}").get_data(as_text=True))
    assert "Write down what the contact said." not in html.unescape(after)


def controls(page):
    start = page.index('<section id="case-controls"')
    return page[start:page.index("</section>", start) + len("</section>")]


def test_settings_region_follows_the_case_status_and_priority(app, client, case, agent, login,
                                                              monkeypatch):
    login(agent)
    first = controls(client.get(f"/cases/{case.id}").get_data(as_text=True))
    assert 'value="open" selected' in first or 'selected value="open"' in first
    region = client.get(f"/cases/{case.id}/controls", htmx=True).get_data(as_text=True)
    assert masked(controls(region)) == masked(first)
    response = client.post(f"/cases/{case.id}/status", data={"status-status": "waiting"})
    assert response.status_code == 303
    response = client.post(f"/cases/{case.id}/priority", data={"priority-priority": "4"})
    assert response.status_code == 303
    after = controls(client.get(f"/cases/{case.id}").get_data(as_text=True))
    assert 'value="waiting" selected' in after or 'selected value="waiting"' in after
    assert 'value="4" selected' in after or 'selected value="4"' in after
    monkeypatch.setattr(action_forms_cache, "cache_of", lambda app=None: FragmentCache(0))
    fresh = controls(client.get(f"/cases/{case.id}").get_data(as_text=True))
    assert masked(fresh) == masked(after)


def test_take_and_reassign_are_shown_to_whoever_may_use_them(app, client, org, agent,
                                                             supervisor, login):
    queue = factories.make_queue(org, members=[agent], name="Pool")
    pooled = factories.make_case(org, queue, subject="Ingen har den")
    login(agent)
    as_agent = controls(client.get(f"/cases/{pooled.id}").get_data(as_text=True))
    assert "Take this case" in as_agent and "reassign-assignee" not in as_agent
    login(supervisor)
    as_lead = controls(client.get(f"/cases/{pooled.id}").get_data(as_text=True))
    assert "reassign-assignee" in as_lead and "Alice Agent" in as_lead
    login(agent)
    again = controls(client.get(f"/cases/{pooled.id}").get_data(as_text=True))
    assert masked(again) == masked(as_agent)
