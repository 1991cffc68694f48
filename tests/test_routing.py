"""The routing directory: search as you type, curation by admins only, routing a case to an
entry (timeline event and a mail link with the case summary), escalating into an entry's inbox
with the work session, and the counts (uses; solved after a lookup without escalating)."""
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from escalation.db import database
from escalation.errors import Invalid
from escalation.handoff import routing
from escalation.handoff.models import RoutingEntry, RoutingUse
from escalation.models import AuditEvent, Case

from .factories import NOW, make_inbox, make_member
from .factories_handoff import make_entry, make_worked_case


@pytest.fixture
def case(org, agent):
    return make_worked_case(org, agent, subject="Laser printer jams")


@pytest.fixture
def inbox(org, supervisor):
    return make_inbox(org, owners=[supervisor], name="Hardware L2")


@pytest.fixture
def entries(org, admin, inbox):
    return {
        "printer": make_entry(org, admin),
        "forklift": make_entry(org, admin, asset_type="Truck", issue="Hydraulik läcker",
                               keywords="gaffeltruck olja", contact_name="Örjan Öberg",
                               email="orjan@example.test", phone="", department="Lager"),
        "laptop": make_entry(org, admin, asset_type="Laptop", issue="Will not boot",
                             keywords="bios disk", contact_name="", department="", email="",
                             phone="", inbox=inbox),
    }


def text(response):
    return response.get_data(as_text=True)


# -- Search -----------------------------------------------------------------------------------

def test_search_matches_every_word_in_any_field(org, entries):
    def found(q):
        return {e.id for e in routing.search(org, q)}
    assert found("printer") == {entries["printer"].id}
    assert found("PAPER jam") == {entries["printer"].id}
    assert found("gaffeltruck ÖRJAN") == {entries["forklift"].id}  # Swedish letters fold on both backends
    assert found("lager") == {entries["forklift"].id}
    assert found("printer bios") == set()
    assert found("") == {e.id for e in entries.values()}
    assert found("100%") == set() and found("_") == set()


def test_search_is_scoped_to_the_organisation_and_skips_archived(org, other_org, admin, entries, outsider):
    make_entry(other_org, outsider, asset_type="Laser printer elsewhere")
    routing.archive_entry(entries["printer"], admin, now=NOW)
    assert [e.id for e in routing.search(org, "printer")] == []


def test_search_as_you_type(client, login, agent, entries):
    login(agent)
    page = client.get("/handoff/directory")
    assert page.status_code == 200
    assert 'hx-trigger="input changed delay:300ms, search"' in text(page)
    results = client.get("/handoff/directory?q=hydraulik", htmx=True)
    body = text(results)
    assert results.status_code == 200 and "<html" not in body and 'id="directory-results"' in body
    assert "Örjan Öberg" in body and "Pia Print" not in body
    assert "HX-Request" in results.headers["Vary"]
    assert "Nothing in the directory matches" in text(client.get("/handoff/directory?q=zebra", htmx=True))


def test_the_directory_is_in_the_header(client, login, agent):
    login(agent)
    assert 'href="/handoff/directory"' in text(client.get("/handoff/directory"))


# -- Using an entry from a case ---------------------------------------------------------------

def test_from_a_case_each_entry_offers_route_and_escalate(client, login, agent, case, entries):
    login(agent)
    body = text(client.get(f"/handoff/directory?case={case.id}&q="))
    assert f'action="/handoff/directory/{entries["printer"].id}/route"' in body
    assert f'action="/handoff/directory/{entries["laptop"].id}/escalate"' in body
    assert "Escalate into Hardware L2" in body
    assert f'action="/handoff/directory/{entries["laptop"].id}/route"' not in body  # nobody to route to


def test_routing_records_the_event_and_offers_a_prefilled_mail(client, login, agent, case, entries):
    from escalation.handoff import worksession
    from .factories_handoff import start
    session = start(case, agent)
    worksession.save_notes(session, agent, notes="Tried a new toner.", now=NOW)
    login(agent)
    entry = entries["printer"]
    response = client.post(f"/handoff/directory/{entry.id}/route", data={"case_id": case.id})
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    assert f"Case #{case.id} is routed to Pia Print" in page
    use = RoutingUse.get()
    assert use.action == "routed" and use.outcome is None and use.member_id == agent.id
    event = AuditEvent.get(AuditEvent.action == "handoff.routed")
    assert event.case_id == case.id and event.data["who"] == "Pia Print"
    mailto = next(part for part in page.split('"') if part.startswith("mailto:"))
    parts = urlsplit(mailto.replace("&amp;", "&"))
    assert parts.path == "pia@example.test"
    query = parse_qs(parts.query)
    assert query["subject"] == [f"Case #{case.id}: Laser printer jams"]
    assert "Tried a new toner." in unquote(query["body"][0]) and "Troubleshooting done:" in query["body"][0]


def test_routing_another_organisations_case_is_404(client, login, outsider, case, entries):
    login(outsider)
    assert client.post(f"/handoff/directory/{entries['printer'].id}/route",
                       data={"case_id": case.id}).status_code == 404


def test_routing_needs_a_case_the_member_may_work(client, login, org, case, entries):
    login(make_member(org, "agent"))
    assert client.post(f"/handoff/directory/{entries['printer'].id}/route",
                       data={"case_id": case.id}).status_code == 403


def test_escalating_through_an_entry(client, login, agent, case, entries, inbox):
    login(agent)
    entry = entries["laptop"]
    response = client.post(f"/handoff/directory/{entry.id}/escalate",
                           data={"case_id": case.id, "reason": "Needs a new disk"})
    assert response.status_code == 303
    escalated = Case.get_by_id(case.id)
    assert escalated.inbox_id == inbox.id
    use = RoutingUse.get()
    assert use.action == "escalated" and use.outcome == "escalated"
    actions = [e.action for e in AuditEvent.select().where(AuditEvent.case == case).order_by(AuditEvent.id)]
    assert actions == ["escalation.escalated", "handoff.routed"]


def test_escalating_without_a_reason_is_422_and_changes_nothing(client, login, agent, case, entries):
    login(agent)
    response = client.post(f"/handoff/directory/{entries['laptop'].id}/escalate",
                           data={"case_id": case.id, "reason": " "})
    assert response.status_code == 422
    assert "This field is required." in text(response)
    assert Case.get_by_id(case.id).inbox_id is None and not RoutingUse.select().exists()


# -- Counts -----------------------------------------------------------------------------------

def _status(case, actor, status):
    from escalation.cases import service as cases
    note = "Solved with the directory's advice" if status == "resolved" else None
    cases.change_status(Case.get_by_id(case.id), actor, status=status, now=NOW, note=note)


def test_solved_after_a_lookup_without_escalating_is_counted(org, agent, admin, supervisor, case, entries, inbox):
    printer = entries["printer"]
    routing.route_case(printer, case, agent, now=NOW)
    _status(case, agent, "resolved")
    # Routed, then escalated, then resolved: not "solved after a lookup".
    other = make_worked_case(org, agent)
    routing.route_case(printer, other, agent, now=NOW)
    from escalation.inboxes import service as inboxes
    inboxes.escalate(Case.get_by_id(other.id), inbox, agent, reason="Still broken", now=NOW)
    # Routed and still open.
    routing.route_case(printer, make_worked_case(org, agent), agent, now=NOW)
    stats = routing.entry_stats(org)[printer.id]
    assert stats == {"uses": 3, "solved": 1, "escalated": 1}


def test_a_closed_status_change_also_counts(org, agent, case, entries):
    routing.route_case(entries["printer"], case, agent, now=NOW)
    with database.atomic():
        from escalation import audit
        audit.record(agent, "case.status_changed", organisation=org, case=case, now=NOW,
                     **{"from": "open", "to": "closed"})
    assert RoutingUse.get().outcome == "solved"


def test_admins_see_the_counts(client, login, admin, org, agent, case, entries):
    routing.route_case(entries["printer"], case, agent, now=NOW)
    _status(case, agent, "closed")
    login(admin)
    page = text(client.get("/handoff/admin/directory"))
    row = page.split(f'id="entry-{entries["printer"].id}"')[1].split("</tr>")[0]
    assert '<td class="uses">1</td>' in row and '<td class="solved">1</td>' in row


# -- Curation ---------------------------------------------------------------------------------

def test_admins_add_an_entry(client, login, admin, org, inbox):
    login(admin)
    assert client.get("/handoff/admin/directory/new").status_code == 200
    response = client.post("/handoff/admin/directory/new", data={
        "asset_type": "Scanner", "issue": "Lines on scans", "keywords": "glas", "contact_name": "",
        "department": "IT-support", "email": "it@example.test", "phone": "", "help_url":
        "https://wiki.example.test/scanner", "notes": "", "inbox": str(inbox.id)})
    assert response.status_code == 303
    entry = RoutingEntry.get()
    assert entry.department == "IT-support" and entry.inbox_id == inbox.id
    assert "The entry is added" in text(client.get(response.headers["Location"]))


@pytest.mark.parametrize("locale, message", [
    ("en", "Say what the entry covers"), ("sv", "Ange vad posten gäller"),
])
def test_an_entry_must_say_what_it_covers_and_where_to_turn(client, login, admin, locale, message):
    admin.user.locale = locale
    admin.user.save()
    login(admin)
    bad_email = client.post("/handoff/admin/directory/new", data={"issue": "x", "email": "bad"})
    assert bad_email.status_code == 422 and 'value="bad"' in text(bad_email)
    response = client.post("/handoff/admin/directory/new", data={"notes": "kept"})
    assert response.status_code == 422
    assert message in text(response) and "kept</textarea>" in text(response)
    partial = client.post("/handoff/admin/directory/new", data={"notes": "kept"}, htmx=True)
    assert partial.status_code == 422 and "<html" not in text(partial)
    assert not RoutingEntry.select().exists()


def test_an_entry_cannot_point_at_another_organisations_inbox(org, admin, other_org):
    foreign = make_inbox(other_org)
    with pytest.raises(Invalid):
        routing.create_entry(org, admin, values={"issue": "x", "department": "y"}, inbox=foreign, now=NOW)


def test_admins_edit_and_archive(client, login, admin, entries):
    login(admin)
    entry = entries["printer"]
    assert client.get(f"/handoff/admin/directory/{entry.id}").status_code == 200
    response = client.post(f"/handoff/admin/directory/{entry.id}", data={
        "asset_type": "Laser printer", "issue": "Paper jam", "keywords": "toner", "contact_name": "Per",
        "department": "", "email": "", "phone": "", "help_url": "", "notes": "", "inbox": ""})
    assert response.status_code == 303 and RoutingEntry.get_by_id(entry.id).contact_name == "Per"
    assert client.post(f"/handoff/admin/directory/{entry.id}/archive").status_code == 303
    assert RoutingEntry.get_by_id(entry.id).archived_at is not None
    assert client.post(f"/handoff/admin/directory/{entry.id}/archive").status_code == 404


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_only_admins_curate(client, login, org, entries, role):
    login(make_member(org, role))
    assert client.get("/handoff/admin/directory").status_code == 403
    assert client.post("/handoff/admin/directory/new", data={"issue": "x", "department": "y"}).status_code == 403
    assert client.post(f"/handoff/admin/directory/{entries['printer'].id}/archive").status_code == 403


def test_another_organisations_entry_is_404(client, login, outsider, entries):
    login(outsider)
    assert client.get(f"/handoff/admin/directory/{entries['printer'].id}").status_code == 404

