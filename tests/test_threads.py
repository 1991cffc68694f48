"""The threads view through the test client: who sees it, each filter, the counts, keyset
paging, the escalation filter and badge, active search (full page vs fragment) and its cost."""
import re
from datetime import timedelta

import pytest

from escalation import nav
from escalation.db import database
from escalation.models import Case

from . import factories
from .factories import NOW

CASE_ID = re.compile(r'name=case_id value=(\d+)>')


def shown_ids(response):
    return [int(i) for i in CASE_ID.findall(response.get_data(as_text=True))]


@pytest.fixture
def world(org, agent, supervisor):
    """Two queues, a few contacts and cases covering every filter value."""
    queue_a = factories.make_queue(org, name="Servicedesk", members=[agent])
    queue_b = factories.make_queue(org, name="Hardware L2")
    lena = factories.make_contact(org, name="Lena Lind", email="lena@kund.test")
    per = factories.make_contact(org, name="Per Persson", email="per@kund.test")
    cases = {
        "printer": factories.make_case(org, queue_a, requester=lena, subject="Printer jammed",
                                       assignee=agent),
        "vpn": factories.make_case(org, queue_a, requester=per, subject="VPN drops",
                                   status="waiting", reply_status="responded", priority=3),
        "mouse": factories.make_case(org, queue_b, requester=per, requested_for=lena,
                                     subject="New mouse", status="resolved",
                                     reply_status="closed", priority=1, assignee=supervisor),
        "phone": factories.make_case(org, queue_b, requester=per, subject="Phone restarts",
                                     priority=4),
    }
    return {"queues": (queue_a, queue_b), "contacts": (lena, per), "cases": cases}


def escalate(case, inbox, *, claimant=None, until=None):
    """Put a case into an inbox directly through the core model (the inboxes area's services
    do this for real)."""
    (Case.update(inbox=inbox, escalation_id=900 + case.id, claimed_by=claimant,
                 claim_expires_at=until).where(Case.id == case.id).execute())


# ------------------------------------------------------------------------------------------------
# Who may see it


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/threads")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_anonymous_htmx_gets_401_with_redirect(client):
    response = client.get("/threads", htmx=True)
    assert response.status_code == 401
    assert "/auth/login" in response.headers["HX-Redirect"]


def test_agents_are_forbidden(client, login, agent):
    login(agent)
    assert client.get("/threads").status_code == 403
    assert client.get("/threads", htmx=True).status_code == 403
    assert client.get("/threads/escalations", htmx=True).status_code == 403


@pytest.mark.parametrize("role", ["supervisor", "admin", "owner"])
def test_leads_see_the_threads_view(client, login, request, role, world):
    login(request.getfixturevalue(role))
    response = client.get("/threads")
    assert response.status_code == 200
    assert len(shown_ids(response)) == 4


def test_who_sees_the_threads_view(agent, supervisor, admin, owner):
    from escalation.threads.views import can_see_threads
    assert not can_see_threads(agent)
    assert all(can_see_threads(m) for m in (supervisor, admin, owner))
    supervisor.active = False
    assert not can_see_threads(supervisor)


def test_leads_in_agent_view_still_see_it(client, login, supervisor, world):
    login(supervisor)
    with client.session_transaction() as session:
        session["agent_view"] = True
    assert client.get("/threads").status_code == 200


def test_another_organisations_cases_are_not_listed(client, login, outsider, world):
    login(outsider)
    response = client.get("/threads")
    assert response.status_code == 200
    assert shown_ids(response) == []
    assert "Printer jammed" not in response.get_data(as_text=True)


def test_nav_link_only_for_leads(client, login, agent, supervisor):
    login(agent)
    assert 'href="/threads"' not in client.get("/auth/account").get_data(as_text=True)
    login(supervisor)
    assert 'href="/threads"' in client.get("/auth/account").get_data(as_text=True)


# ------------------------------------------------------------------------------------------------
# Full page, fragment, plain form


def test_full_page_is_a_plain_get_form_with_active_search(client, login, supervisor, world):
    login(supervisor)
    response = client.get("/threads")
    html = response.get_data(as_text=True)
    assert "<html" in html
    form = re.search(r'<form method="get" action="/threads" id="threads-filter".*?</form>', html,
                     re.S).group(0)
    assert 'hx-target="#threads-list"' in form and 'hx-push-url="true"' in form
    search = re.search(r"<input[^>]*name=\"q\"[^>]*>", form).group(0)
    assert 'hx-get="/threads"' in search
    assert 'hx-trigger="input changed delay:300ms, search"' in search
    status = re.search(r"<select[^>]*name=\"status\"[^>]*>", form).group(0)
    assert 'hx-trigger="change"' in status
    assert '<button type="submit">Filter</button>' in form
    assert 'id="threads-list"' in html
    assert response.vary and "HX-Request" in response.headers["Vary"]


def test_plain_get_with_filters_renders_the_full_filtered_page(client, login, supervisor, world):
    login(supervisor)
    response = client.get("/threads?q=vpn&status=&queue=&reply=&assignee=&priority=")
    assert response.status_code == 200
    assert "<html" in response.get_data(as_text=True)
    assert shown_ids(response) == [world["cases"]["vpn"].id]
    assert 'value="vpn"' in response.get_data(as_text=True)  # the search kept as typed


def test_htmx_gets_the_list_fragment(client, login, supervisor, world):
    login(supervisor)
    response = client.get("/threads?q=printer", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and 'id="threads-filter"' not in html
    assert 'id="threads-bulk"' not in html  # the bulk form wraps the region on the page
    assert shown_ids(response) == [world["cases"]["printer"].id]
    assert "HX-Request" in response.headers["Vary"]


def test_boosted_and_history_requests_get_the_full_page(client, login, supervisor, world):
    login(supervisor)
    assert "<html" in client.get("/threads", htmx="boosted").get_data(as_text=True)
    restore = client.get("/threads", headers={"HX-Request": "true",
                                              "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)


def test_rows_link_to_the_case_page_when_there_is_one(client, login, supervisor, world, app):
    login(supervisor)
    html = client.get("/threads", htmx=True).get_data(as_text=True)
    case = world["cases"]["printer"]
    if "cases.show" in app.view_functions:
        from flask import url_for
        with app.test_request_context():
            target = url_for("cases.show", **{next(iter(next(app.url_map.iter_rules("cases.show"))
                                                          .arguments)): case.id})
        assert f"<a href={target}>Printer jammed</a>" in html
    else:
        assert "Printer jammed" in html


# ------------------------------------------------------------------------------------------------
# Filters


def ids_for(client, query):
    response = client.get("/threads?" + query, htmx=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    return set(shown_ids(response))


def test_each_filter(client, login, supervisor, agent, world):
    login(supervisor)
    c = {name: case.id for name, case in world["cases"].items()}
    queue_a, queue_b = world["queues"]
    assert ids_for(client, "") == set(c.values())
    assert ids_for(client, f"queue={queue_b.id}") == {c["mouse"], c["phone"]}
    assert ids_for(client, "status=waiting") == {c["vpn"]}
    assert ids_for(client, "reply=needs_response") == {c["printer"], c["phone"]}
    assert ids_for(client, f"assignee={agent.id}") == {c["printer"]}
    assert ids_for(client, "assignee=none") == {c["vpn"], c["phone"]}
    assert ids_for(client, "priority=4") == {c["phone"]}
    assert ids_for(client, f"queue={queue_a.id}&reply=responded") == {c["vpn"]}


def test_search_on_subject_and_contacts(client, login, supervisor, world):
    login(supervisor)
    c = {name: case.id for name, case in world["cases"].items()}
    assert ids_for(client, "q=jammed") == {c["printer"]}
    assert ids_for(client, "q=JAMMED") == {c["printer"]}
    # Lena requested the printer case and is the person the mouse is for.
    assert ids_for(client, "q=Lena") == {c["printer"], c["mouse"]}
    assert ids_for(client, "q=per%40kund") == {c["vpn"], c["mouse"], c["phone"]}
    assert ids_for(client, "q=nothing+like+this") == set()


def test_no_match_says_so(client, login, supervisor, world):
    login(supervisor)
    html = client.get("/threads?q=zzz", htmx=True).get_data(as_text=True)
    assert "No cases match the filter." in html


def test_counts_per_status_ignore_the_status_filter(client, login, supervisor, world):
    login(supervisor)
    queue_a, queue_b = world["queues"]
    html = client.get(f"/threads?queue={queue_b.id}&status=resolved",
                      htmx=True).get_data(as_text=True)
    counts = dict(re.findall(r'status=(\w+)[^"]*"[^>]*>[^<]+ \((\d+)\)</a>', html))
    assert counts == {"open": "1", "waiting": "0", "resolved": "1", "closed": "0"}
    assert re.search(r'>All \(2\)</a>', html)
    # The count links keep the other filters and drop the cursor.
    link = re.search(r'href="([^"]*status=open[^"]*)"', html).group(1)
    assert f"queue={queue_b.id}" in link and "older" not in link
    assert shown_ids_in(html) == [world["cases"]["mouse"].id]


def test_counts_stop_at_the_cap(client, login, supervisor, org, app):
    """Counting stops above THREADS_COUNT_CAP (1 000 by default), so counts cost the same at any
    table size; a capped count reads "N+"."""
    app.config["THREADS_COUNT_CAP"] = 3
    queue = factories.make_queue(org)
    contact = factories.make_contact(org)
    add_cases(org, queue, contact, 5)
    add_cases(org, queue, contact, 3, status="waiting")
    add_cases(org, queue, contact, 1, status="closed")
    login(supervisor)
    html = client.get("/threads", htmx=True).get_data(as_text=True)
    counts = dict(re.findall(r'status=(\w+)[^"]*"[^>]*>[^<]+ \(([\d+]+)\)</a>', html))
    assert counts == {"open": "3+", "waiting": "3", "resolved": "0", "closed": "1"}
    assert ">All (7+)</a>" in html


def shown_ids_in(html):
    return [int(i) for i in CASE_ID.findall(html)]


def test_invalid_filter_is_422_with_errors(client, login, supervisor, world):
    login(supervisor)
    response = client.get("/threads?priority=9&queue=abc&inbox=x")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Not a valid choice" in html
    assert "Choose escalation inboxes from the list." in html
    assert shown_ids(response) == []
    partial = client.get("/threads?priority=9", htmx=True)
    assert partial.status_code == 422
    assert "<html" not in partial.get_data(as_text=True)
    assert "Not a valid choice" in partial.get_data(as_text=True)


def test_invalid_filter_in_swedish(client, login, owner, world):
    login(owner)  # prefers Swedish
    response = client.get("/threads?priority=9&inbox=x")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Inte ett giltigt val" in html
    assert "Välj eskaleringsinkorgar i listan." in html
    assert "Alla ärenden" in html


# ------------------------------------------------------------------------------------------------
# Escalations: filter panel, filter and badge


@pytest.fixture
def escalated(org, world, admin):
    spanish = factories.make_inbox(org, name="Spanish speaking", owners=[admin])
    hardware = factories.make_inbox(org, name="Hardware L2 inbox", owners=[admin])
    gone = factories.make_inbox(org, name="Old inbox", deleted_at=NOW)
    cases = world["cases"]
    escalate(cases["printer"], spanish, claimant=admin, until=NOW + timedelta(days=3650))
    escalate(cases["vpn"], spanish)
    escalate(cases["phone"], hardware, claimant=admin, until=NOW - timedelta(minutes=1))
    return {"spanish": spanish, "hardware": hardware, "gone": gone}


def test_escalation_panel_lists_live_inboxes_with_counts(client, login, supervisor, escalated):
    login(supervisor)
    html = client.get("/threads").get_data(as_text=True)
    panel = re.search(r'<fieldset id="escalation-filter">.*?</fieldset>', html, re.S).group(0)
    assert "Old inbox" not in panel
    spanish = re.search(r'value="%d"[^>]*>\s*Spanish speaking <span[^>]*>· ([^<]*)</span>'
                        % escalated["spanish"].id, panel).group(1)
    # printer (needs response) and vpn (responded); both open.
    assert spanish == "2 cases, 1 needs a response"
    hardware = re.search(r'value="%d"[^>]*>\s*Hardware L2 inbox <span[^>]*>· ([^<]*)</span>'
                         % escalated["hardware"].id, panel).group(1)
    assert hardware == "1 case, 1 needs a response"


def test_escalation_panel_counts_only_open_cases(client, login, supervisor, escalated, world):
    Case.update(status="resolved").where(Case.id == world["cases"]["vpn"].id).execute()
    login(supervisor)
    html = client.get("/threads").get_data(as_text=True)
    assert re.search(r"Spanish speaking <span[^>]*>· 1 case, 1 needs a response</span>", html)


def test_filter_by_one_several_or_any_inbox(client, login, supervisor, escalated, world):
    login(supervisor)
    c = {name: case.id for name, case in world["cases"].items()}
    spanish, hardware = escalated["spanish"].id, escalated["hardware"].id
    assert ids_for(client, f"inbox={spanish}") == {c["printer"], c["vpn"]}
    assert ids_for(client, f"inbox={spanish}&inbox={hardware}") == {c["printer"], c["vpn"],
                                                                    c["phone"]}
    assert ids_for(client, "inbox=any") == {c["printer"], c["vpn"], c["phone"]}
    assert ids_for(client, f"inbox={hardware}&reply=responded") == set()


def row_html(html):
    """{case id: that row's markup} (rows leave out their optional end tags)."""
    return {int(m.group(1)): m.group(0) for m in re.finditer(
        r"<tr><td><label><input type=checkbox name=case_id value=(\d+)>.*?(?=<tr>|</table>)",
        html, re.S)}


def test_escalation_badge_shows_inbox_and_claim(client, login, supervisor, escalated, world):
    login(supervisor)
    html = client.get("/threads", htmx=True).get_data(as_text=True)
    rows = row_html(html)
    cases = world["cases"]
    assert "Spanish speaking · claimed by Ada Admin" in rows[cases["printer"].id]
    assert "Spanish speaking · unclaimed" in rows[cases["vpn"].id]
    # A lapsed claim counts as unclaimed, with no job needed to free it.
    assert "Hardware L2 inbox · unclaimed" in rows[cases["phone"].id]
    assert "badge escalated" not in rows[cases["mouse"].id]


def test_rows_name_what_left_the_filter_lists(client, login, supervisor, org, admin, world,
                                              escalated):
    """The rows name their queue, assignee, contact, inbox and claimant by id (one lookup for
    the page), so an archived queue, a deactivated member or a deleted inbox is still named,
    though the filter no longer offers them."""
    cases = world["cases"]
    queue_b = world["queues"][1]
    queue_b.archived_at = NOW
    queue_b.save()
    gone = escalated["gone"]
    escalate(cases["mouse"], gone, claimant=admin, until=NOW + timedelta(days=3650))
    Case.update(assignee=admin.id).where(Case.id == cases["vpn"].id).execute()
    admin.active = False
    admin.save()
    login(supervisor)
    html = client.get("/threads").get_data(as_text=True)
    rows = row_html(html)
    offered = html.split('id="threads-list"')[0]
    assert ">Hardware L2</option>" not in offered and ">Servicedesk</option>" in offered
    assert ">Ada Admin</option>" not in offered
    assert "<td>Hardware L2<td>" in rows[cases["mouse"].id]
    assert "Old inbox · claimed by Ada Admin" in rows[cases["mouse"].id]
    assert "Per Persson" in rows[cases["mouse"].id]
    assert "Spanish speaking · unclaimed" in rows[cases["vpn"].id]
    assert "Lena Lind" in rows[cases["printer"].id]
    fragment = client.get("/threads", htmx=True).get_data(as_text=True)
    assert row_html(fragment) == rows


def test_escalation_badge_in_swedish(client, login, owner, escalated, world):
    login(owner)
    html = client.get("/threads", htmx=True).get_data(as_text=True)
    assert "Spanish speaking · taget av Ada Admin" in html
    assert "Spanish speaking · ej taget" in html


def test_escalation_panel_refresh_url(client, login, supervisor, escalated):
    login(supervisor)
    response = client.get(f"/threads/escalations?inbox={escalated['spanish'].id}", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith("<fieldset") or 'id="escalation-filter"' in html
    assert "<html" not in html
    assert re.search(r'value="%d"[^>]*checked' % escalated["spanish"].id, html)
    plain = client.get("/threads/escalations?inbox=any")
    assert plain.status_code == 303
    assert plain.headers["Location"].endswith("/threads?inbox=any")


# ------------------------------------------------------------------------------------------------
# Extension points: the bulk form's panels and row annotations


def test_bulk_form_wraps_rows_and_renders_panels(client, login, supervisor, world, monkeypatch):
    monkeypatch.setitem(nav._panels, "threads_bulk", {})
    nav.register_panel("threads_bulk", "probe", "_partials/flashes.html",
                       context=lambda member, obj, now: {"seen": member.id})
    calls = []
    monkeypatch.setitem(nav._annotators, "threads", {})
    nav.register_annotator("threads", "probe", lambda ids, member, now: calls.append(list(ids))
                           or {ids[0]: [{"label": "bounced", "kind": "overdue", "title": "Why"}]})
    login(supervisor)
    html = client.get("/threads").get_data(as_text=True)
    bulk = re.search(r'<form method="post" id="threads-bulk">.*?</form>', html, re.S).group(0)
    assert 'name="csrf_token"' in bulk
    assert '<section id="threads-list">' in bulk and len(CASE_ID.findall(bulk)) == 4
    assert len(calls) == 1 and sorted(calls[0]) == sorted(c.id for c in world["cases"].values())
    assert '<span class="badge overdue" title="Why">bounced</span>' in bulk
    # The panel (here the flashes partial, with its own variables) renders inside the form,
    # after the list region: fragments for the region do not repeat it.
    assert bulk.index('<section id="threads-list">') < bulk.rindex("</section>")
    fragment = client.get("/threads", htmx=True).get_data(as_text=True)
    assert '<span class="badge overdue" title="Why">bounced</span>' in fragment
    assert len(calls) == 2


# ------------------------------------------------------------------------------------------------
# Keyset paging


def add_cases(org, queue, contact, count, **fields):
    base = dict(organisation=org.id, queue=queue.id, requester=contact.id, status="open",
                reply_status="needs_response", priority=2, waiting_since=NOW, created_at=NOW,
                updated_at=NOW)
    rows = [{**base, "subject": f"Bulk case {i}", **fields} for i in range(count)]
    with database.atomic():
        for start in range(0, len(rows), 200):
            Case.insert_many(rows[start:start + 200]).execute()


def follow(client, url):
    response = client.get(url, htmx=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    older = re.search(r'href="([^"]*older=\d+[^"]*)"[^>]*rel="next"', html)
    newer = re.search(r'href="([^"]*newer=\d+[^"]*)"[^>]*rel="prev"', html)
    return (shown_ids_in(html), older and older.group(1).replace("&amp;", "&"),
            newer and newer.group(1).replace("&amp;", "&"))


def test_keyset_pages_have_no_duplicates_or_gaps(client, login, supervisor, org, app):
    app.config["PAGE_SIZE"] = 7
    queue = factories.make_queue(org)
    contact = factories.make_contact(org)
    add_cases(org, queue, contact, 30)
    every = sorted((c.id for c in Case.select(Case.id)), reverse=True)
    login(supervisor)
    seen, url, pages = [], "/threads", 0
    while url:
        ids, url, _newer = follow(client, url)
        assert len(ids) == 7 or url is None
        seen += ids
        pages += 1
    assert seen == every and pages == 5


def test_new_cases_do_not_shift_the_next_page(client, login, supervisor, org, app):
    app.config["PAGE_SIZE"] = 5
    queue = factories.make_queue(org)
    contact = factories.make_contact(org)
    add_cases(org, queue, contact, 12)
    every = sorted((c.id for c in Case.select(Case.id)), reverse=True)
    login(supervisor)
    first, older_url, newer_url = follow(client, "/threads")
    assert first == every[:5] and newer_url is None
    add_cases(org, queue, contact, 3)  # arrive while the supervisor reads page one
    second, older_url, newer_url = follow(client, older_url)
    assert second == every[5:10]
    # Back to newer: the page just above, full, then the newest cases.
    back, _older, newer_again = follow(client, newer_url)
    assert back == every[:5]
    top, _older, none = follow(client, newer_again)
    assert len(top) == 5 and top[0] > every[0] and none is None


def test_paging_keeps_the_filter(client, login, supervisor, org, app):
    app.config["PAGE_SIZE"] = 3
    queue = factories.make_queue(org)
    contact = factories.make_contact(org)
    add_cases(org, queue, contact, 5, priority=4)
    add_cases(org, queue, contact, 5, priority=1)
    login(supervisor)
    ids, older_url, _ = follow(client, "/threads?priority=4")
    assert "priority=4" in older_url
    more, last, _ = follow(client, older_url)
    assert last is None
    assert {c.priority for c in Case.select().where(Case.id.in_(ids + more))} == {4}
    assert len(ids + more) == 5


def test_plain_pager_links_render_full_pages(client, login, supervisor, org, app):
    app.config["PAGE_SIZE"] = 2
    queue = factories.make_queue(org)
    add_cases(org, queue, factories.make_contact(org), 3)
    login(supervisor)
    html = client.get("/threads").get_data(as_text=True)
    older = re.search(r'href="([^"]*older=\d+)"', html).group(1)
    page_two = client.get(older)
    assert "<html" in page_two.get_data(as_text=True) and len(shown_ids(page_two)) == 1


# ------------------------------------------------------------------------------------------------
# Cost: query count and fragment size


class QueryCounter:
    def __init__(self):
        self.statements = []

    def __call__(self, event):
        self.statements.append(event.sql)


def count_queries(client, url, status=200, **kwargs):
    counter = QueryCounter()
    database.obj.query_hooks.append(counter)
    try:
        response = client.get(url, **kwargs)
    finally:
        database.obj.query_hooks.remove(counter)
    assert response.status_code == status
    return len(counter.statements), response


def escalated_fields(inbox, claimant):
    return dict(inbox=inbox.id, claimed_by=claimant.id, assignee=claimant.id,
                claim_expires_at=NOW + timedelta(days=3650))


def test_query_count_does_not_grow_with_rows(client, login, supervisor, org, admin, app):
    """With every area's annotators and panels as registered: the same number of queries for
    3 rows as for a full page of 50 out of 300, and for a deep page."""
    queue = factories.make_queue(org)
    contact = factories.make_contact(org)
    inbox = factories.make_inbox(org, owners=[admin])
    add_cases(org, queue, contact, 2, assignee=admin.id)
    add_cases(org, queue, contact, 1, **escalated_fields(inbox, admin))
    login(supervisor)
    small_page, _ = count_queries(client, "/threads")
    small_fragment, _ = count_queries(client, "/threads", htmx=True)
    add_cases(org, queue, contact, 150, assignee=admin.id)
    add_cases(org, queue, contact, 150, **escalated_fields(inbox, admin))
    large_page, response = count_queries(client, "/threads")
    assert len(shown_ids(response)) == app.config["PAGE_SIZE"]
    large_fragment, _ = count_queries(client, "/threads", htmx=True)
    deep, _ = count_queries(client, f"/threads?older={min(shown_ids(response)) - 100}",
                            htmx=True)
    assert large_page == small_page
    assert large_fragment == small_fragment == deep


def test_the_threads_view_itself_makes_few_queries(client, login, supervisor, org, admin,
                                                   monkeypatch):
    """Without other areas' annotators and panels: the fragment is the signed-in member, the
    rows (``support_case`` alone) and the counts with the rows' names; the full page adds one
    query for the filter choices and the escalation panel to what the layout costs on any page
    (here: a 404 page)."""
    monkeypatch.setattr(nav, "_annotators", {})
    monkeypatch.setattr(nav, "_panels", {})
    queue = factories.make_queue(org)
    contact = factories.make_contact(org)
    inbox = factories.make_inbox(org, owners=[admin])
    add_cases(org, queue, contact, 60, assignee=admin.id)
    add_cases(org, queue, contact, 60, **escalated_fields(inbox, admin))
    login(supervisor)
    fragment, _ = count_queries(client, "/threads?q=Bulk&inbox=any", htmx=True)
    page, _ = count_queries(client, "/threads")
    layout, _ = count_queries(client, "/no-such-page", status=404)
    assert fragment == 3
    assert page == layout + 3


SUBJECTS = ["Skrivaren på plan 3 skriver inte ut", "VPN kopplar ner var tionde minut",
            "Ny mus till Karin", "Kan inte logga in i lönesystemet", "Mobilen startar om hela tiden",
            "Outlook synkar inte kalendern", "Laptop overheating during meetings",
            "Cannot reach the shared drive", "Screen flickers on the docking station",
            "Request for a second monitor", "Teams audio drops", "Password reset loop"]
NAMES = ["Lena Lind", "Per Persson", "Maja Magnusson", "Olof Olsson", "Sara Sandberg",
         "John Smith", "Maria Garcia", "Ahmed Hassan"]


@pytest.mark.parametrize("language", ["en", "sv"])
def test_fragment_for_fifty_rows_stays_under_10_kb(client, login, supervisor, org, admin, app,
                                                   language):
    """Realistic rows (the demo's subjects and names, six-digit case numbers, one in ten
    escalated and claimed) in both languages."""
    assert app.config["PAGE_SIZE"] == 50
    queue = factories.make_queue(org, name="Servicedesk")
    agent = factories.make_member(org, "agent", name="Karin Karlsson")
    inbox = factories.make_inbox(org, name="Spanish speaking", owners=[admin])
    contacts = [factories.make_contact(org, name=name) for name in NAMES]
    rows = [dict(id=123400 + i, organisation=org.id, subject=SUBJECTS[i % len(SUBJECTS)],
                 queue=queue.id, requester=contacts[i % len(contacts)].id, status="open",
                 reply_status=("needs_response", "responded")[i % 2], priority=(2, 2, 3, 1)[i % 4],
                 assignee=agent.id, waiting_since=NOW, created_at=NOW, updated_at=NOW,
                 inbox=inbox.id if i % 10 == 0 else None, claimed_by=admin.id if i % 10 == 0 else None,
                 claim_expires_at=NOW + timedelta(days=3650))
            for i in range(60)]
    Case.insert_many(rows).execute()
    supervisor.user.locale = language
    supervisor.user.save()
    login(supervisor)
    response = client.get("/threads", htmx=True)
    assert len(shown_ids(response)) == 50
    assert len(response.data) < 10 * 1024, len(response.data)
