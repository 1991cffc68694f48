"""Checklists curated by admins: create, edit, steps (add, edit, reorder, remove), archive; only
owners and admins; another organisation's checklist is a 404; running sessions keep their copy."""
import pytest

from escalation.handoff import checklists
from escalation.handoff.models import Checklist, ChecklistStep, SessionStep

from .factories import NOW, make_member
from .factories_handoff import make_checklist, make_worked_case, start


def text(response):
    return response.get_data(as_text=True)


def test_admins_create_a_checklist_then_add_steps(client, login, admin):
    login(admin)
    assert client.get("/handoff/admin/checklists").status_code == 200
    response = client.post("/handoff/admin/checklists", data={"name": "Forklift check", "applies_to": "Trucks",
                                                              "description": ""})
    assert response.status_code == 303
    checklist = Checklist.get()
    assert response.headers["Location"].endswith(f"/handoff/admin/checklists/{checklist.id}")
    assert "Now add its steps." in text(client.get(response.headers["Location"]))
    for data in ({"step-title": "Check the oil", "step-value_kind": "yesno"},
                 {"step-title": "Fork height", "step-value_kind": "number", "step-photo_required": "y"},
                 {"step-title": "Tyres", "step-value_kind": "choice", "step-choices_text": "Good\n\nWorn\n"}):
        assert client.post(f"/handoff/admin/checklists/{checklist.id}/steps", data=data).status_code == 303
    steps = list(ChecklistStep.of(checklist))
    assert [(s.position, s.title, s.value_kind) for s in steps] == [
        (1, "Check the oil", "yesno"), (2, "Fork height", "number"), (3, "Tyres", "choice")]
    assert steps[1].photo_required and steps[2].choices == ["Good", "Worn"]


@pytest.mark.parametrize("locale, message", [("en", "Give at least two choices, one per line."),
                                             ("sv", "Ange minst två alternativ, ett per rad.")])
def test_a_choice_step_needs_two_choices(client, login, admin, org, locale, message):
    admin.user.locale = locale
    admin.user.save()
    checklist = make_checklist(org, admin, steps=[])
    login(admin)
    response = client.post(f"/handoff/admin/checklists/{checklist.id}/steps",
                           data={"step-title": "Tyres", "step-value_kind": "choice", "step-choices_text": "Good"})
    assert response.status_code == 422
    assert message in text(response) and 'value="Tyres"' in text(response)
    assert not ChecklistStep.select().exists()


def test_a_checklist_needs_a_name(client, login, admin):
    login(admin)
    response = client.post("/handoff/admin/checklists", data={"name": "", "applies_to": "Trucks"})
    assert response.status_code == 422 and 'value="Trucks"' in text(response)
    partial = client.post("/handoff/admin/checklists", data={"name": "", "applies_to": "Trucks"}, htmx=True)
    assert partial.status_code == 422 and "<html" not in text(partial) and 'id="checklist-form"' in text(partial)


def test_editing_reordering_and_removing_steps(client, login, admin, org):
    checklist = make_checklist(org, admin)
    login(admin)
    first, second = list(ChecklistStep.of(checklist))[:2]
    assert client.get(f"/handoff/admin/checklists/steps/{second.id}").status_code == 200
    response = client.post(f"/handoff/admin/checklists/steps/{second.id}",
                           data={"step-title": "Read the counter", "step-value_kind": "number"})
    assert response.status_code == 303
    assert client.post(f"/handoff/admin/checklists/steps/{second.id}/move", data={"direction": "up"}).status_code == 303
    titles = [s.title for s in ChecklistStep.of(checklist)]
    assert titles[:2] == ["Read the counter", "Power cycle the printer"]
    assert client.post(f"/handoff/admin/checklists/steps/{first.id}/remove").status_code == 303
    assert [s.position for s in ChecklistStep.of(checklist)] == [1, 2, 3, 4, 5]
    assert client.post(f"/handoff/admin/checklists/steps/{first.id}/move", data={"direction": "up"}).status_code == 404
    assert client.post(f"/handoff/admin/checklists/steps/{second.id}/move", data={"direction": "sideways"}).status_code == 400


def test_editing_and_archiving_the_checklist(client, login, admin, org, agent):
    checklist = make_checklist(org, admin)
    case = make_worked_case(org, agent)
    session = start(case, agent, checklist)
    login(admin)
    response = client.post(f"/handoff/admin/checklists/{checklist.id}",
                           data={"name": "Printer jam v2", "applies_to": "Printers", "description": ""})
    assert response.status_code == 303 and Checklist.get_by_id(checklist.id).name == "Printer jam v2"
    checklists.update_step(list(ChecklistStep.of(checklist))[0], admin, title="Changed", now=NOW)
    assert client.post(f"/handoff/admin/checklists/{checklist.id}/archive").status_code == 303
    assert Checklist.get_by_id(checklist.id).archived_at is not None
    # The running session kept its copy of the steps.
    assert SessionStep.of(session).first().title == "Power cycle the printer"
    login(agent)
    other = make_worked_case(org, agent)
    assert "Printer jam v2" not in text(client.get(f"/handoff/cases/{other.id}/session"))


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_only_owners_and_admins_curate_checklists(client, login, org, admin, role):
    checklist = make_checklist(org, admin)
    login(make_member(org, role))
    assert client.get("/handoff/admin/checklists").status_code == 403
    assert client.post("/handoff/admin/checklists", data={"name": "x"}).status_code == 403
    assert client.post(f"/handoff/admin/checklists/{checklist.id}/steps", data={"step-title": "x"}).status_code == 403
    assert client.post(f"/handoff/admin/checklists/{checklist.id}/archive").status_code == 403


def test_owners_curate_too(client, login, owner):
    login(owner)
    assert client.get("/handoff/admin/checklists").status_code == 200


def test_another_organisations_checklist_is_404(client, login, admin, org, outsider):
    checklist = make_checklist(org, admin)
    login(outsider)
    assert client.get(f"/handoff/admin/checklists/{checklist.id}").status_code == 404
    step = ChecklistStep.select().first()
    assert client.post(f"/handoff/admin/checklists/steps/{step.id}/remove").status_code == 404


def test_the_checklists_link_is_for_admins(app, client, login, admin, agent):
    from .conftest import AuthActions
    login(admin)
    assert 'href="/handoff/admin/checklists"' in text(client.get("/handoff/directory"))
    other = app.test_client()
    AuthActions(other).login(agent)
    assert 'href="/handoff/admin/checklists"' not in text(other.get("/handoff/directory"))


# -- Linking a checklist to the service catalog ----------------------------------------------

def _catalog(org):
    from .factories_handoff import make_catalog_item
    laptops = make_catalog_item(org, category="Hardware", name="Laptops")
    return laptops, laptops.category


def test_admins_link_a_checklist_to_an_item_or_a_category(client, login, admin, org, other_org):
    from .factories_handoff import make_catalog_item
    laptops, hardware = _catalog(org)
    elsewhere = make_catalog_item(other_org, category="Their hardware", name="Their laptops")
    login(admin)
    page = text(client.get("/handoff/admin/checklists"))
    # The select lists the organisation's own categories (as optgroups) and items only.
    assert '<optgroup label="Hardware">' in page
    assert f'<option value="item-{laptops.id}">Laptops</option>' in page
    assert f'<option value="category-{hardware.id}">Hardware (whole category)</option>' in page
    assert "Their laptops" not in page and f"item-{elsewhere.id}" not in page

    assert client.post("/handoff/admin/checklists", data={
        "name": "Laptop will not boot", "catalog": f"item-{laptops.id}"}).status_code == 303
    assert client.post("/handoff/admin/checklists", data={
        "name": "Any hardware", "catalog": f"category-{hardware.id}"}).status_code == 303
    assert client.post("/handoff/admin/checklists", data={"name": "Anything", "catalog": ""}).status_code == 303
    rows = {c.name: c for c in Checklist.select()}
    assert (rows["Laptop will not boot"].catalog_item_id, rows["Laptop will not boot"].catalog_category_id) == (laptops.id, None)
    assert (rows["Any hardware"].catalog_item_id, rows["Any hardware"].catalog_category_id) == (None, hardware.id)
    assert (rows["Anything"].catalog_item_id, rows["Anything"].catalog_category_id) == (None, None)

    listing = text(client.get("/handoff/admin/checklists"))
    def row_of(name):
        return listing.split(f">{name}</a>")[1].split("</tr>")[0]
    assert "Laptops (Hardware)" in row_of("Laptop will not boot")
    assert "Hardware (whole category)" in row_of("Any hardware")
    assert "General" in row_of("Anything")

    # The edit page shows the link chosen; changing it to the category is saved.
    checklist = rows["Laptop will not boot"]
    edit = text(client.get(f"/handoff/admin/checklists/{checklist.id}"))
    assert f'<option selected value="item-{laptops.id}">' in edit
    assert client.post(f"/handoff/admin/checklists/{checklist.id}", data={
        "name": checklist.name, "catalog": f"category-{hardware.id}"}).status_code == 303
    saved = Checklist.get_by_id(checklist.id)
    assert (saved.catalog_item_id, saved.catalog_category_id) == (None, hardware.id)


@pytest.mark.parametrize("locale, message", [
    ("en", "Choose one of your organisation's catalog items or categories."),
    ("sv", "Välj en av din organisations katalogposter eller kategorier.")])
def test_another_organisations_catalog_is_refused(client, login, admin, org, other_org, locale, message):
    from .factories_handoff import make_catalog_item
    elsewhere = make_catalog_item(other_org, category="Their hardware", name="Their laptops")
    admin.user.locale = locale
    admin.user.save()
    login(admin)
    for value in (f"item-{elsewhere.id}", f"category-{elsewhere.category_id}", "item-999999", "shelf-1"):
        response = client.post("/handoff/admin/checklists", data={
            "name": "Forklift check", "applies_to": "Trucks", "catalog": value})
        assert response.status_code == 422, value
        body = text(response)
        assert message.replace("'", "&#39;") in body
        assert 'value="Forklift check"' in body and 'value="Trucks"' in body
    assert not Checklist.select().exists()
    checklist = make_checklist(org, admin)
    response = client.post(f"/handoff/admin/checklists/{checklist.id}", data={
        "name": "Renamed", "catalog": f"item-{elsewhere.id}"})
    assert response.status_code == 422 and 'value="Renamed"' in text(response)
    assert Checklist.get_by_id(checklist.id).catalog_item_id is None


def test_the_catalog_link_in_swedish(client, login, admin, org):
    laptops, hardware = _catalog(org)
    checklists.create_checklist(org, admin, name="Hårdvara", catalog=f"category-{hardware.id}", now=NOW)
    checklists.create_checklist(org, admin, name="Reservrutin", now=NOW)
    admin.user.locale = "sv"
    admin.user.save()
    login(admin)
    page = text(client.get("/handoff/admin/checklists"))
    assert "Katalogpost eller kategori" in page
    assert "Hardware (hela kategorin)" in page
    assert "Ingen: en allmän checklista" in page
    assert "<td>Allmän</td>" in page.split(">Reservrutin</a>")[1].split("</tr>")[0]


def test_an_archived_link_is_kept_but_cannot_be_chosen_anew(org, admin):
    from escalation.errors import Invalid
    from escalation.escalations.models import CatalogItem
    laptops, hardware = _catalog(org)
    checklist = checklists.create_checklist(org, admin, name="Boot", catalog=f"item-{laptops.id}", now=NOW)
    CatalogItem.update(archived_at=NOW).where(CatalogItem.id == laptops.id).execute()
    kept = checklists.update_checklist(checklist, admin, name="Boot v2", catalog=f"item-{laptops.id}", now=NOW)
    assert kept.catalog_item_id == laptops.id
    with pytest.raises(Invalid) as refused:
        checklists.create_checklist(org, admin, name="New", catalog=f"item-{laptops.id}", now=NOW)
    assert refused.value.reasons[0][0] == "catalog"
