"""The admin area through the test client: every route plain, htmx, invalid and forbidden, in
English and Swedish where text matters; deactivation ending a session at once."""
import json
import re
from html import unescape

import pytest

from escalation.models import AuditEvent, Member, Organisation, Queue, QueueMember, User

from . import factories


@pytest.fixture
def queue(org, agent):
    return factories.make_queue(org, name="Servicedesk", members=[agent])


def routes(member, queue):
    """Every admin route, with input that would be valid (method, url, data)."""
    return [
        ("GET", "/admin/", None),
        ("GET", "/admin/members", None),
        ("POST", "/admin/members", {"name": "Nina", "email": "nina@example.test", "role": "agent",
                                    "locale": "", "password": "a long initial password"}),
        ("GET", f"/admin/members/{member.id}", None),
        ("POST", f"/admin/members/{member.id}", {"role": "agent", "locale": "sv"}),
        ("POST", f"/admin/members/{member.id}/deactivate", {}),
        ("POST", f"/admin/members/{member.id}/reactivate", {}),
        ("GET", "/admin/queues", None),
        ("POST", "/admin/queues", {"name": "New queue", "tier": "1"}),
        ("GET", f"/admin/queues/{queue.id}", None),
        ("POST", f"/admin/queues/{queue.id}", {"name": "Renamed", "tier": "2"}),
        ("POST", f"/admin/queues/{queue.id}/agents", {"agents": [str(member.id)]}),
        ("POST", f"/admin/queues/{queue.id}/archive", {}),
        ("POST", f"/admin/queues/{queue.id}/unarchive", {}),
        ("GET", "/admin/organisation", None),
        ("POST", "/admin/organisation", {"name": "Acme", "default_locale": "sv",
                                         "timezone": "UTC"}),
    ]


def call(client, method, url, data, **kwargs):
    if method == "GET":
        return client.get(url, **kwargs)
    return client.post(url, data=data, **kwargs)


def flashes(client, url):
    html = client.get(url).get_data(as_text=True)
    return [unescape(m) for m in
            re.findall(r'<p class="flash flash-\w+" role="status">([^<]*)</p>', html)]


def trigger(response):
    return json.loads(response.headers["HX-Trigger"])


def assert_fragment(response):
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:800]
    assert "<html" not in html
    assert "HX-Request" in response.headers["Vary"]
    return html


# ------------------------------------------------------------------------------------------------
# Who may use it: every route


def test_every_admin_route_is_covered_here(app, agent, queue):
    listed = {(method, re.sub(r"/\d+", "/<id>", url)) for method, url, _ in routes(agent, queue)}
    registered = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                registered.add((method, re.sub(r"<int:\w+>", "<id>", rule.rule)))
    assert listed == registered


def test_anonymous_is_sent_to_sign_in(client, agent, queue):
    for method, url, data in routes(agent, queue):
        response = call(client, method, url, data)
        assert response.status_code == 302, (method, url)
        assert "/auth/login" in response.headers["Location"]
        htmx = call(client, method, url, data, htmx=True)
        assert htmx.status_code == 401 and "/auth/login" in htmx.headers["HX-Redirect"]


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_lower_roles_are_forbidden(client, login, request, role, queue):
    actor = request.getfixturevalue(role)
    target = factories.make_member(actor.organisation, "agent")
    login(actor)
    for method, url, data in routes(target, queue):
        assert call(client, method, url, data).status_code == 403, (method, url)
    assert Member.get_by_id(target.id).active is True
    assert Queue.get_by_id(queue.id).name == "Servicedesk"


def test_another_organisations_members_and_queues_are_404(client, login, admin, outsider,
                                                          other_org):
    their_queue = factories.make_queue(other_org)
    login(admin)
    for method, url, data in routes(outsider, their_queue):
        if "/members/" in url or "/queues/" in url:
            assert call(client, method, url, data).status_code == 404, (method, url)
    assert Member.get_by_id(outsider.id).active is True


def test_post_without_csrf_token_is_refused(client, login, admin, agent):
    login(admin)
    response = client.post(f"/admin/members/{agent.id}/deactivate", csrf=False)
    assert response.status_code == 400
    assert Member.get_by_id(agent.id).active is True


def test_nav_link_only_for_owners_and_admins(client, login, supervisor, admin):
    login(supervisor)
    assert 'href="/admin/"' not in client.get("/auth/account").get_data(as_text=True)
    login(admin)
    assert 'href="/admin/"' in client.get("/auth/account").get_data(as_text=True)


def test_pages_render_in_both_languages(client, login, admin, owner, agent, queue):
    login(admin)
    for url in ("/admin/", "/admin/members", f"/admin/members/{agent.id}", "/admin/queues",
                f"/admin/queues/{queue.id}", "/admin/organisation"):
        response = client.get(url)
        assert response.status_code == 200 and "<html" in response.get_data(as_text=True)
        assert assert_fragment(client.get(url, htmx=True))
    members = client.get("/admin/members").get_data(as_text=True)
    for text in ("Alice Agent", "alice@example.test", "Agent", "English", "Add a member"):
        assert text in members
    login(owner)  # prefers Swedish
    members = client.get("/admin/members").get_data(as_text=True)
    assert "Lägg till en medlem" in members and "Handläggare" in members


# ------------------------------------------------------------------------------------------------
# Members


NEW = {"name": "Nina Ny", "email": "nina@example.test", "role": "supervisor", "locale": "sv",
       "password": "a long initial password"}


def test_add_member_plain(client, login, admin):
    login(admin)
    response = client.post("/admin/members", data=NEW)
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/members")
    assert flashes(client, "/admin/members") == ["Nina Ny is added."]
    member = Member.select().join(User).where(User.email == "nina@example.test").get()
    assert member.role == "supervisor"


def test_add_member_htmx(client, login, admin):
    login(admin)
    response = client.post("/admin/members", data=NEW, htmx=True)
    html = assert_fragment(response)
    assert html.lstrip().startswith('<section id="members">')
    assert "Nina Ny is added." in html and "nina@example.test" in html
    member = Member.select().join(User).where(User.email == "nina@example.test").get()
    assert trigger(response) == {"member-added": {"id": member.id}}
    assert 'value="Nina Ny"' not in html  # a fresh form for the next person


def test_add_member_with_an_existing_account(client, login, admin, other_org):
    factories.make_member(other_org, "agent", name="Kim Kvist", email="kim@x.test")
    login(admin)
    client.post("/admin/members", data=NEW | {"email": "kim@x.test", "password": ""})
    assert flashes(client, "/admin/members") == [
        "Kim Kvist already had an account and is now a member."]


@pytest.mark.parametrize("language, messages", [
    ("en", ["This person has no account yet: give an initial password of at least 10 "
            "characters.", "Not a valid choice."]),
    ("sv", ["Personen har inget konto än: ange ett första lösenord på minst 10 tecken.",
            "Inte ett giltigt val"]),
])
def test_add_member_invalid(client, login, admin, language, messages):
    User.update(locale=language).where(User.id == admin.user_id).execute()
    login(admin)
    response = client.post("/admin/members", data=NEW | {"password": "", "role": "owner"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" in html
    assert 'value="Nina Ny"' in html and 'value="nina@example.test"' in html
    assert messages[1] in html  # an admin is not offered "owner"
    assert not User.select().where(User.email == "nina@example.test").exists()
    response = client.post("/admin/members", data=NEW | {"password": ""}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html
    assert messages[0] in html and 'value="Nina Ny"' in html
    assert 'aria-invalid="true"' in html


def test_update_member_plain_and_htmx(client, login, admin, agent):
    login(admin)
    response = client.post(f"/admin/members/{agent.id}", data={"role": "supervisor",
                                                              "locale": "sv"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/members/{agent.id}")
    assert flashes(client, f"/admin/members/{agent.id}") == [
        "The changes to Alice Agent are saved."]
    assert Member.get_by_id(agent.id).role == "supervisor"
    response = client.post(f"/admin/members/{agent.id}", data={"role": "agent", "locale": ""},
                           htmx=True)
    html = assert_fragment(response)
    assert html.lstrip().startswith(f'<section id="member-{agent.id}">')
    assert trigger(response) == {"member-changed": {"id": agent.id}}
    assert User.get_by_id(agent.user_id).locale is None


@pytest.mark.parametrize("language, message", [
    ("en", "Olle Owner is the last active owner. Make someone else an owner first."),
    ("sv", "Olle Owner är den sista aktiva ägaren. Gör någon annan till ägare först."),
])
def test_the_last_owner_cannot_be_demoted_through_the_form(client, login, owner, language,
                                                          message):
    User.update(locale=language).where(User.id == owner.user_id).execute()
    login(owner)
    response = client.post(f"/admin/members/{owner.id}", data={"role": "admin", "locale": "en"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert re.search(r'<option selected value="admin">', html)  # as typed
    assert Member.get_by_id(owner.id).role == "owner"


def test_an_admin_cannot_change_an_owner(client, login, admin, owner):
    login(admin)
    page = client.get(f"/admin/members/{owner.id}").get_data(as_text=True)
    assert "Only an owner can change an owner." in page
    for path in ("", "/deactivate"):
        response = client.post(f"/admin/members/{owner.id}{path}",
                               data={"role": "agent", "locale": "en"})
        assert response.status_code == 403
    assert Member.get_by_id(owner.id).role == "owner"


def test_deactivate_and_reactivate_plain(client, login, admin, agent):
    login(admin)
    response = client.post(f"/admin/members/{agent.id}/deactivate")
    assert response.status_code == 303
    assert flashes(client, f"/admin/members/{agent.id}") == [
        "Alice Agent is deactivated and signed out."]
    assert Member.get_by_id(agent.id).active is False
    response = client.post(f"/admin/members/{agent.id}/reactivate")
    assert response.status_code == 303
    assert flashes(client, f"/admin/members/{agent.id}") == ["Alice Agent is active again."]


def test_deactivate_and_reactivate_htmx(client, login, admin, agent):
    login(admin)
    response = client.post(f"/admin/members/{agent.id}/deactivate", htmx=True)
    html = assert_fragment(response)
    assert trigger(response) == {"member-changed": {"id": agent.id}}
    assert "Reactivate" in html and "Alice Agent is deactivated and signed out." in html
    response = client.post(f"/admin/members/{agent.id}/reactivate", htmx=True)
    html = assert_fragment(response)
    assert "Deactivate" in html


@pytest.mark.parametrize("language, message", [
    ("en", "You cannot deactivate yourself."),
    ("sv", "Du kan inte inaktivera dig själv."),
])
def test_deactivating_yourself_is_refused(client, login, admin, language, message):
    User.update(locale=language).where(User.id == admin.user_id).execute()
    login(admin)
    page = client.get(f"/admin/members/{admin.id}").get_data(as_text=True)
    assert f"/admin/members/{admin.id}/deactivate" not in page  # no such button
    response = client.post(f"/admin/members/{admin.id}/deactivate", htmx=True)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert Member.get_by_id(admin.id).active is True


def test_deactivating_twice_is_a_conflict_shown_in_flash(client, login, admin, agent):
    login(admin)
    client.post(f"/admin/members/{agent.id}/deactivate")
    response = client.post(f"/admin/members/{agent.id}/deactivate", htmx=True)
    assert response.status_code == 409
    assert "Alice Agent is already deactivated." in response.get_data(as_text=True)


def test_deactivation_ends_an_active_session_on_the_next_request(app, client, login, admin,
                                                                 agent):
    agents_browser = app.test_client()
    from .conftest import AuthActions
    AuthActions(agents_browser).login(agent)
    assert agents_browser.get("/auth/account").status_code == 200
    login(admin)
    client.post(f"/admin/members/{agent.id}/deactivate")
    response = agents_browser.get("/auth/account")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert agents_browser.get("/auth/account", htmx=True).status_code == 401
    # Reactivating does not bring that old session back.
    client.post(f"/admin/members/{agent.id}/reactivate")
    assert agents_browser.get("/auth/account").status_code == 302


# ------------------------------------------------------------------------------------------------
# Queues


def test_create_queue_plain_and_htmx(client, login, admin):
    login(admin)
    response = client.post("/admin/queues", data={"name": "Billing", "tier": "2"})
    assert response.status_code == 303
    assert flashes(client, "/admin/queues") == ["The queue Billing is created."]
    response = client.post("/admin/queues", data={"name": "Returns", "tier": "1"}, htmx=True)
    html = assert_fragment(response)
    queue = Queue.get(Queue.name == "Returns")
    assert trigger(response) == {"queue-added": {"id": queue.id}}
    assert html.lstrip().startswith('<section id="queues">') and "Billing" in html


@pytest.mark.parametrize("language, messages", [
    ("en", ["There is already a queue called billing.", "Not a valid choice."]),
    ("sv", ["Det finns redan en kö som heter billing.", "Inte ett giltigt val"]),
])
def test_create_queue_invalid(client, login, admin, org, language, messages):
    factories.make_queue(org, name="Billing")
    User.update(locale=language).where(User.id == admin.user_id).execute()
    login(admin)
    response = client.post("/admin/queues", data={"name": "billing", "tier": "1"})
    assert response.status_code == 422
    assert messages[0] in response.get_data(as_text=True)
    assert 'value="billing"' in response.get_data(as_text=True)
    response = client.post("/admin/queues", data={"name": "Tier nine", "tier": "9"}, htmx=True)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert messages[1] in html and "<html" not in html and 'value="Tier nine"' in html


def test_update_queue(client, login, admin, queue):
    login(admin)
    response = client.post(f"/admin/queues/{queue.id}", data={"name": "Service desk",
                                                              "tier": "2"})
    assert response.status_code == 303
    assert flashes(client, f"/admin/queues/{queue.id}") == ["The queue Service desk is saved."]
    response = client.post(f"/admin/queues/{queue.id}", data={"name": "Desk", "tier": "3"},
                           htmx=True)
    assert_fragment(response)
    assert trigger(response) == {"queue-changed": {"id": queue.id}}
    assert (Queue.get_by_id(queue.id).name, Queue.get_by_id(queue.id).tier) == ("Desk", 3)
    response = client.post(f"/admin/queues/{queue.id}", data={"name": "", "tier": "3"})
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)


def test_set_queue_agents(client, login, admin, agent, supervisor, queue):
    login(admin)
    page = client.get(f"/admin/queues/{queue.id}").get_data(as_text=True)
    assert re.search(rf'<input checked id="agents-\d+" name="agents" type="checkbox" '
                     rf'value="{agent.id}">', page)
    response = client.post(f"/admin/queues/{queue.id}/agents",
                           data={"agents": [str(supervisor.id)]})
    assert response.status_code == 303
    assert flashes(client, f"/admin/queues/{queue.id}") == [
        "The agents of Servicedesk are saved."]
    assert {qm.member_id for qm in QueueMember.select().where(QueueMember.queue == queue)} == \
        {supervisor.id}
    response = client.post(f"/admin/queues/{queue.id}/agents",
                           data={"agents": [str(agent.id), str(supervisor.id)]}, htmx=True)
    assert_fragment(response)
    assert trigger(response) == {"queue-changed": {"id": queue.id}}
    response = client.post(f"/admin/queues/{queue.id}/agents", data={"agents": ["x"]})
    assert response.status_code == 422


def test_archive_and_unarchive(client, login, admin, supervisor, queue):
    login(admin)
    response = client.post(f"/admin/queues/{queue.id}/archive")
    assert response.status_code == 303
    assert flashes(client, f"/admin/queues/{queue.id}") == ["The queue Servicedesk is archived."]
    # Out of every choice: here, the threads view's queue filter.
    login(supervisor)
    threads = client.get("/threads").get_data(as_text=True)
    assert f'<option value="{queue.id}">Servicedesk</option>' not in threads
    login(admin)
    response = client.post(f"/admin/queues/{queue.id}/archive", htmx=True)
    assert response.status_code == 409
    response = client.post(f"/admin/queues/{queue.id}/unarchive", htmx=True)
    html = assert_fragment(response)
    assert trigger(response) == {"queue-changed": {"id": queue.id}}
    assert "The queue Servicedesk is in use again." in html
    assert Queue.get_by_id(queue.id).archived_at is None


# ------------------------------------------------------------------------------------------------
# The organisation


def test_organisation_settings(client, login, owner, org):
    login(owner)
    page = client.get("/admin/organisation").get_data(as_text=True)
    assert 'value="Acme Support"' in page and "Europe/Stockholm" in page
    response = client.post("/admin/organisation", data={"name": "Acme Service Desk",
                                                        "default_locale": "en",
                                                        "timezone": "Europe/Helsinki"})
    assert response.status_code == 303
    assert flashes(client, "/admin/organisation") == ["Organisationens inställningar är sparade."]
    org = Organisation.get_by_id(org.id)
    assert (org.name, org.default_locale, org.timezone) == ("Acme Service Desk", "en",
                                                            "Europe/Helsinki")
    response = client.post("/admin/organisation", data={"name": "Acme", "default_locale": "sv",
                                                        "timezone": "UTC"}, htmx=True)
    assert_fragment(response)
    assert trigger(response) == {"organisation-changed": {"id": org.id}}
    assert AuditEvent.select().where(AuditEvent.action == "organisation.updated").count() == 2


@pytest.mark.parametrize("language, message", [("en", "Not a valid choice."),
                                               ("sv", "Inte ett giltigt val")])
def test_organisation_settings_invalid(client, login, admin, org, language, message):
    User.update(locale=language).where(User.id == admin.user_id).execute()
    login(admin)
    response = client.post("/admin/organisation", data={"name": "Typed name",
                                                        "default_locale": "sv",
                                                        "timezone": "Mars/Olympus"}, htmx=True)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'value="Typed name"' in html and "<html" not in html
    assert Organisation.get_by_id(org.id).timezone == "Europe/Stockholm"
