"""The case page's timeline fragment cache (escalation/cases/timeline_cache.py): the cached HTML is
the HTML a fresh rendering gives, in both languages; anything the timeline shows that changes
(a new message or event, a renamed contact or member, the language, the time zone) renders
anew; the cache stays within its bounds; event templates read nothing the key does not cover."""
import html
import re
from datetime import timedelta

import jinja2.meta
import pytest

from escalation.cases import service, timeline_cache
from escalation.cases.timeline_cache import FragmentCache
from escalation.models import Contact, User

from . import factories
from .factories import NOW

CSRF = re.compile(r"[\w-]{20,}\.[\w-]{4,}\.[\w-]{20,}")  # signed CSRF tokens


@pytest.fixture
def queue(org, agent):
    return factories.make_queue(org, members=[agent], name="Servicedesk")


@pytest.fixture
def contact(org):
    return factories.make_contact(org, name="Lena Lind", email="lena@example.test")


@pytest.fixture
def case(org, queue, agent, contact):
    case = factories.make_case(org, queue, requester=contact, assignee=agent, subject="Skrivaren",
                               created_at=NOW - timedelta(hours=3),
                               first_message="Den skriver inte ut")
    service.add_note(case, agent, body="Ringde upp", now=NOW)
    service.change_priority(case, agent, priority=3, now=NOW + timedelta(minutes=1))
    service.reply(case, agent, body="Vi byter tonern", then_status="waiting",
                  now=NOW + timedelta(minutes=2))
    return case


def timeline(client, case_id, **kwargs):
    page = html.unescape(client.get(f"/cases/{case_id}", **kwargs).get_data(as_text=True))
    start = page.index('<section id="case-timeline"')
    return page[start:page.index("</section>", start) + len("</section>")]


def page_of(client, case_id, **kwargs):
    return CSRF.sub("TOKEN", client.get(f"/cases/{case_id}", **kwargs).get_data(as_text=True))


def cache(app):
    return timeline_cache.cache_of(app)


@pytest.mark.parametrize("locale", ["en", "sv"])
def test_cached_page_is_the_uncached_page(app, client, case, agent, login, locale, monkeypatch):
    User.update(locale=locale).where(User.id == agent.user_id).execute()
    login(agent)
    cache(app).clear()
    first = page_of(client, case.id)  # rendered and stored
    hits = cache(app).hits
    second = page_of(client, case.id)  # from the cache
    assert cache(app).hits == hits + 1
    monkeypatch.setattr(timeline_cache, "cache_of", lambda app=None: FragmentCache(0))
    uncached = page_of(client, case.id)
    assert first == second == uncached
    assert "Vi byter tonern" in uncached and "Ringde upp" in uncached
    assert ("Internal note" if locale == "en" else "Intern anteckning") in html.unescape(uncached)
    region = client.get(f"/cases/{case.id}/timeline", htmx=True).get_data(as_text=True)
    assert region.strip().startswith('<section id="case-timeline"') and region in uncached


def test_new_message_or_event_shows_at_once(app, client, case, agent, login):
    login(agent)
    assert "Noch eine Notiz" not in timeline(client, case.id)
    service.add_note(service.case_with_people(case.organisation_id, case.id), agent,
                     body="Noch eine Notiz", now=NOW + timedelta(minutes=5))
    assert "Noch eine Notiz" in timeline(client, case.id)
    service.change_priority(service.case_with_people(case.organisation_id, case.id), agent,
                            priority=4, now=NOW + timedelta(minutes=6))
    assert timeline(client, case.id).count('class="event case-priority_changed"') == 2
    assert "Noch eine Notiz" in client.get(f"/cases/{case.id}/timeline",
                                           htmx=True).get_data(as_text=True)


def test_renamed_contact_and_member_show_their_new_names(app, client, case, agent, login):
    login(agent)
    shown = timeline(client, case.id)
    assert "Lena Lind" in shown and "Alice Agent" in shown
    Contact.update(name="Lena Lindqvist").where(Contact.name == "Lena Lind").execute()
    User.update(name="Alice Andersson").where(User.id == agent.user_id).execute()
    shown = timeline(client, case.id)
    assert "Lena Lindqvist" in shown and "Alice Andersson" in shown
    assert "Alice Agent" not in shown


def test_each_language_and_time_zone_renders_its_own(app, client, case, agent, login):
    login(agent)
    cache(app).clear()
    english = timeline(client, case.id)
    User.update(locale="sv").where(User.id == agent.user_id).execute()
    swedish = timeline(client, case.id)
    assert "Internal note" in english and "Intern anteckning" in swedish
    User.update(timezone="America/New_York").where(User.id == agent.user_id).execute()
    new_york = timeline(client, case.id)
    # NOW is 09:30 UTC: 10:30 in Stockholm, 04:30 in New York.
    assert "10:30" in swedish and "10:30" not in new_york and "04:30" in new_york
    assert len(cache(app)) == 3


def test_other_viewers_share_the_entry_and_see_the_same_timeline(app, client, case, agent,
                                                                 supervisor, login):
    login(agent)
    cache(app).clear()
    as_agent = timeline(client, case.id)
    login(supervisor)
    hits = cache(app).hits
    assert timeline(client, case.id) == as_agent
    assert cache(app).hits == hits + 1


def _rows(case_id, text):
    return service.TimelineRows(case_id, ((1, "note", text),), (), (), ())


def test_the_cache_is_bounded_by_entries_and_size():
    small = FragmentCache(max_entries=2, max_chars=10_000)
    for case_id in (1, 2, 3):
        small.put((case_id, "en"), _rows(case_id, "x"), f"<p>{case_id}</p>")
    assert len(small) == 2
    assert small.get((1, "en"), _rows(1, "x")) is None  # the oldest went first
    assert small.get((3, "en"), _rows(3, "x")) == "<p>3</p>"
    assert small.get((3, "en"), _rows(3, "y")) is None  # other rows: not this entry
    small.put((4, "en"), _rows(4, "z" * 6000), "a" * 3000)
    small.put((5, "en"), _rows(5, "z" * 6000), "a" * 3000)
    assert len(small) == 1 and small.chars <= 10_000
    small.put((6, "en"), _rows(6, "z" * 20_000), "a")  # bigger than the whole cache
    assert small.get((6, "en"), _rows(6, "z" * 20_000)) is None


# Variables an event template may read: the key covers these (the event's own rows, and the
# language for the labels). Anything else (the member, now, the request...) would need a key.
EVENT_TEMPLATE_VARIABLES = {"event", "data", "case_status_labels", "priority_labels", "_",
                            "gettext", "ngettext"}


def test_event_templates_read_only_what_the_cache_key_covers(app):
    env = app.jinja_env
    names = [name for name in env.list_templates() if name.startswith("timeline/events/")]
    assert len(names) > 10
    for name in names:
        source = env.loader.get_source(env, name)[0]
        used = jinja2.meta.find_undeclared_variables(env.parse(source))
        assert used <= EVENT_TEMPLATE_VARIABLES, (name, used - EVENT_TEMPLATE_VARIABLES)
    source = env.loader.get_source(env, timeline_cache.TEMPLATE)[0]
    used = jinja2.meta.find_undeclared_variables(env.parse(source))
    # (message, event and data are set inside its loop, which jinja2.meta counts as undeclared)
    assert used <= {"case", "timeline", "event_template", "url_for", "_", "message", "event",
                    "data"}, used
