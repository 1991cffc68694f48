"""Work sessions through the test client: start, save steps one by one (plain, htmx, invalid),
notes, photos (camera input, type checked from content, served as downloads only to members who
may see the case), progress, finish, the case and landing panels, and who may do what."""
import json

import pytest

from escalation.handoff.models import SessionPhoto, SessionStep, WorkSession
from escalation.models import AuditEvent

from .factories import make_member
from .factories_handoff import HEIC, JPEG, WEBP, make_checklist, make_worked_case, png_bytes, start


@pytest.fixture
def checklist(org, admin):
    return make_checklist(org, admin)


@pytest.fixture
def case(org, agent):
    return make_worked_case(org, agent, subject="Printer jams on floor 3")


@pytest.fixture
def session(case, agent, checklist):
    return start(case, agent, checklist)


def steps_of(session):
    return {s.title: s for s in SessionStep.of(session)}


def step_url(session, step):
    return f"/handoff/sessions/{session.id}/steps/{step.id}"


def text(response):
    return response.get_data(as_text=True)


# -- Starting ---------------------------------------------------------------------------------

def test_the_session_page_offers_the_checklists(client, login, agent, case, checklist):
    login(agent)
    page = client.get(f"/handoff/cases/{case.id}/session")
    assert page.status_code == 200
    assert "Start a work session" in text(page) and "Printer jam (Printers)" in text(page)


def test_starting_a_session_copies_the_checklist(client, login, agent, case, checklist):
    login(agent)
    response = client.post(f"/handoff/cases/{case.id}/session", data={"checklist": str(checklist.id)})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/handoff/cases/{case.id}/session")
    session = WorkSession.get(WorkSession.case == case)
    assert session.title == "Printer jam" and session.worker_id == agent.id
    assert [s.title for s in SessionStep.of(session)][:2] == ["Power cycle the printer", "Read the page counter"]
    page = client.get(response.headers["Location"])
    body = text(page)
    assert "The work session has started." in body
    assert 'capture="environment"' in body and 'accept="image/*"' in body
    assert 'hx-trigger="change"' in body and "<progress" in body


def test_a_second_open_session_is_refused(client, login, agent, case, session):
    login(agent)
    response = client.post(f"/handoff/cases/{case.id}/session", data={"checklist": ""})
    assert response.status_code == 409
    assert WorkSession.select().count() == 1


def test_a_session_without_checklist_is_notes_and_photos(client, login, agent, case):
    login(agent)
    client.post(f"/handoff/cases/{case.id}/session", data={"checklist": ""})
    session = WorkSession.get(WorkSession.case == case)
    assert session.title == "" and not SessionStep.select().exists()


# -- Steps ------------------------------------------------------------------------------------

def test_a_step_saves_on_its_own_plain(client, login, agent, session):
    login(agent)
    step = steps_of(session)["Read the page counter"]
    response = client.post(step_url(session, step), data={f"s{step.id}-value": "1 234,5", f"s{step.id}-done": "y"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"#step-{step.id}")
    saved = SessionStep.get_by_id(step.id)
    assert saved.done and saved.value == "1234.5" and saved.done_by_id == agent.id
    assert "Step 2 is saved." in text(client.get(response.headers["Location"]))


def test_a_step_saves_with_htmx_and_the_progress_reloads(client, login, agent, session):
    login(agent)
    step = steps_of(session)["Power cycle the printer"]
    response = client.post(step_url(session, step), data={f"s{step.id}-done": "y"}, htmx=True)
    assert response.status_code == 200
    body = text(response)
    assert "<html" not in body and f'id="step-{step.id}-status"' in body and "Saved" in body
    assert json.loads(response.headers["HX-Trigger"]) == {"work-session-changed": {"session": session.id}}
    assert "HX-Request" in response.headers["Vary"]
    progress = client.get(f"/handoff/sessions/{session.id}/progress", htmx=True)
    assert "1 of 6 steps done" in text(progress) and "<html" not in text(progress)
    assert client.get(f"/handoff/sessions/{session.id}/progress").status_code == 200  # a full page too


@pytest.mark.parametrize("locale, message", [("en", "Enter a number."), ("sv", "Ange ett tal.")])
def test_an_invalid_value_is_422_as_typed_in_both_languages(client, login, agent, session, locale, message):
    agent.user.locale = locale
    agent.user.save()
    login(agent)
    step = steps_of(session)["Read the page counter"]
    response = client.post(step_url(session, step), data={f"s{step.id}-value": "many"})
    assert response.status_code == 422
    assert message in text(response) and 'value="many"' in text(response)
    assert SessionStep.get_by_id(step.id).value is None
    partial = client.post(step_url(session, step), data={f"s{step.id}-value": "many"}, htmx=True)
    assert partial.status_code == 422 and message in text(partial) and "<html" not in text(partial)


def test_choice_and_yes_no_values_are_checked(client, login, agent, session):
    login(agent)
    steps = steps_of(session)
    tray, toner = steps["Which tray jams"], steps["Toner seated"]
    assert client.post(step_url(session, tray), data={f"s{tray.id}-value": "Tray 9"}, htmx=True).status_code == 422
    assert client.post(step_url(session, tray), data={f"s{tray.id}-value": "Tray 2"}, htmx=True).status_code == 200
    assert client.post(step_url(session, toner), data={f"s{toner.id}-value": "maybe"}, htmx=True).status_code == 422
    assert client.post(step_url(session, toner), data={f"s{toner.id}-value": "yes"}, htmx=True).status_code == 200
    assert SessionStep.get_by_id(tray.id).value == "Tray 2" and SessionStep.get_by_id(toner.id).value == "yes"


def test_a_step_needing_a_value_or_photo_is_not_done_without_it(client, login, agent, session):
    login(agent)
    steps = steps_of(session)
    counter, photo = steps["Read the page counter"], steps["Photo of the error display"]
    response = client.post(step_url(session, counter), data={f"s{counter.id}-done": "y"}, htmx=True)
    assert response.status_code == 422 and "Record the value" in text(response)
    response = client.post(step_url(session, photo), data={f"s{photo.id}-done": "y"}, htmx=True)
    assert response.status_code == 422 and "Take a photo before marking the step done." in text(response)
    assert 'hx-swap-oob="true"' in text(response)  # the box is unticked again
    assert not SessionStep.get_by_id(photo.id).done


def test_every_save_is_on_the_timeline(client, login, agent, session):
    login(agent)
    step = steps_of(session)["Toner seated"]
    client.post(step_url(session, step), data={f"s{step.id}-value": "no", f"s{step.id}-done": "y"}, htmx=True)
    event = AuditEvent.select().where(AuditEvent.action == "worksession.step_saved").get()
    assert event.case_id == session.case_id and event.data["value"] == "no" and event.data["done"]


# -- Notes ------------------------------------------------------------------------------------

def test_notes_save_plain_and_htmx(client, login, agent, session):
    login(agent)
    response = client.post(f"/handoff/sessions/{session.id}/notes", data={"notes": "Fuser hot."})
    assert response.status_code == 303
    assert WorkSession.get_by_id(session.id).notes == "Fuser hot."
    response = client.post(f"/handoff/sessions/{session.id}/notes", data={"notes": "Fuser very hot."}, htmx=True)
    assert response.status_code == 200 and 'id="notes-status"' in text(response) and "<html" not in text(response)
    assert "work-session-changed" in response.headers["HX-Trigger"]
    assert WorkSession.get_by_id(session.id).notes == "Fuser very hot."


def test_too_long_notes_are_422(client, login, agent, session):
    login(agent)
    response = client.post(f"/handoff/sessions/{session.id}/notes", data={"notes": "x" * 20001})
    assert response.status_code == 422
    assert WorkSession.get_by_id(session.id).notes == ""


# -- Photos -----------------------------------------------------------------------------------

def upload(data, name="photo.jpg", field="photo-photo"):
    from io import BytesIO
    return {field: (BytesIO(data), name)}


@pytest.mark.parametrize("data, kind", [(png_bytes(), "image/png"), (JPEG, "image/jpeg"),
                                        (WEBP, "image/webp"), (HEIC, "image/heic")])
def test_photos_are_typed_from_their_content(client, login, agent, session, data, kind):
    login(agent)
    response = client.post(f"/handoff/sessions/{session.id}/photos", data=upload(data, "x.gif"),
                           content_type="multipart/form-data")
    assert response.status_code == 303
    photo = SessionPhoto.get()
    assert photo.content_type == kind and photo.filename.split(".")[-1] in ("png", "jpg", "webp", "heic")


@pytest.mark.parametrize("data", [b"<html><script>alert(1)</script></html>", b"GIF89a" + b"\x00" * 20,
                                  b"%PDF-1.7", b""])
def test_anything_but_an_allowed_image_is_refused(client, login, agent, session, data):
    login(agent)
    response = client.post(f"/handoff/sessions/{session.id}/photos", data=upload(data, "photo.jpg"),
                           content_type="multipart/form-data", htmx=True)
    assert response.status_code == 422
    assert "photo" in text(response).lower() and "<html" not in text(response)
    assert not SessionPhoto.select().exists()


def test_a_step_photo_then_done(client, login, agent, session):
    login(agent)
    step = steps_of(session)["Photo of the error display"]
    response = client.post(f"/handoff/sessions/{session.id}/photos?step={step.id}",
                           data=upload(png_bytes(), "display.png", f"p{step.id}-photo"),
                           content_type="multipart/form-data", htmx=True)
    assert response.status_code == 200 and f'id="photos-step-{step.id}"' in text(response)
    assert "work-session-changed" in response.headers["HX-Trigger"]
    assert client.post(step_url(session, step), data={f"s{step.id}-done": "y"}, htmx=True).status_code == 200
    assert SessionStep.get_by_id(step.id).done


def test_photos_are_downloads_with_nosniff(client, login, agent, session):
    login(agent)
    client.post(f"/handoff/sessions/{session.id}/photos", data=upload(png_bytes(), "../../etc/x.png"),
                content_type="multipart/form-data")
    photo = SessionPhoto.get()
    response = client.get(f"/handoff/photos/{photo.id}")
    assert response.status_code == 200 and response.data == png_bytes()
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "/" not in response.headers["Content-Disposition"].split("filename=")[1]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_photos_are_only_for_members_who_may_see_the_case(app, client, login, agent, org, session, outsider):
    from escalation.models import Case
    from .factories_handoff import escalate_and_claim
    login(agent)
    client.post(f"/handoff/sessions/{session.id}/photos", data=upload(png_bytes()), content_type="multipart/form-data")
    photo = SessionPhoto.get()
    stranger = app.test_client()
    AuthFor(stranger).login(outsider)
    assert stranger.get(f"/handoff/photos/{photo.id}").status_code == 404
    # Escalated into an inbox: an agent with no part in it may no longer see it.
    l2 = make_member(org, "agent")
    escalate_and_claim(Case.get_by_id(session.case_id), l2)
    bystander = make_member(org, "agent")
    other = app.test_client()
    AuthFor(other).login(bystander)
    assert other.get(f"/handoff/photos/{photo.id}").status_code == 403
    owner_client = app.test_client()
    AuthFor(owner_client).login(l2)
    assert owner_client.get(f"/handoff/photos/{photo.id}").status_code == 200


class AuthFor:
    def __init__(self, client):
        from .conftest import AuthActions
        self.actions = AuthActions(client)

    def login(self, member):
        return self.actions.login(member)


def test_removing_a_photo(client, login, agent, session):
    login(agent)
    client.post(f"/handoff/sessions/{session.id}/photos", data=upload(png_bytes()), content_type="multipart/form-data")
    photo = SessionPhoto.get()
    response = client.post(f"/handoff/photos/{photo.id}/remove", htmx=True)
    assert response.status_code == 200 and f'id="photos-session-{session.id}"' in text(response)
    assert not SessionPhoto.select().exists()


# -- Finishing and permissions ----------------------------------------------------------------

def test_finishing_freezes_the_session(client, login, agent, session):
    login(agent)
    assert client.post(f"/handoff/sessions/{session.id}/finish").status_code == 303
    step = steps_of(session)["Power cycle the printer"]
    assert client.post(step_url(session, step), data={f"s{step.id}-done": "y"}).status_code == 409
    page = text(client.get(f"/handoff/cases/{session.case_id}/session"))
    assert "Finished sessions" in page and "Start a work session" in page


def test_another_agent_can_read_but_not_save(app, client, login, org, session):
    other = make_member(org, "agent")
    login(other)
    page = client.get(f"/handoff/cases/{session.case_id}/session")
    assert page.status_code == 200 and "<fieldset disabled>" in text(page)
    step = steps_of(session)["Power cycle the printer"]
    assert client.post(step_url(session, step), data={f"s{step.id}-done": "y"}).status_code == 403
    assert client.post(f"/handoff/sessions/{session.id}/notes", data={"notes": "x"}).status_code == 403


def test_another_organisation_gets_404(client, login, outsider, session):
    login(outsider)
    assert client.get(f"/handoff/cases/{session.case_id}/session").status_code == 404
    step = steps_of(session)["Power cycle the printer"]
    assert client.post(step_url(session, step), data={f"s{step.id}-done": "y"}).status_code == 404
    assert client.get(f"/handoff/sessions/{session.id}/progress").status_code == 404


def test_anonymous_is_sent_to_sign_in(client, session):
    response = client.get(f"/handoff/cases/{session.case_id}/session")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    response = client.post(f"/handoff/sessions/{session.id}/notes", data={"notes": "x"}, htmx=True, csrf=False)
    assert response.status_code in (400, 401)


def test_a_post_without_csrf_token_is_400(client, login, agent, session):
    login(agent)
    response = client.post(f"/handoff/sessions/{session.id}/notes", data={"notes": "x"}, csrf=False)
    assert response.status_code == 400


# -- Panels -----------------------------------------------------------------------------------

def test_the_case_page_shows_the_session_panel(client, login, agent, session):
    login(agent)
    step = steps_of(session)["Power cycle the printer"]
    client.post(step_url(session, step), data={f"s{step.id}-done": "y"}, htmx=True)
    page = client.get(f"/cases/{session.case_id}")
    if page.status_code == 404:
        pytest.skip("the cases area has no case page yet")
    body = text(page)
    assert 'id="handoff-case-panel"' in body and "1 of 6 steps done" in body
    assert f"/handoff/cases/{session.case_id}/escalate" in body


def test_the_work_session_is_on_the_timeline(client, login, agent, session):
    login(agent)
    step = steps_of(session)["Toner seated"]
    client.post(step_url(session, step), data={f"s{step.id}-value": "yes", f"s{step.id}-done": "y"}, htmx=True)
    page = client.get(f"/cases/{session.case_id}")
    if page.status_code == 404:
        pytest.skip("the cases area has no case page yet")
    body = text(page)
    assert "Started a work session: Printer jam." in body
    assert "Step “Toner seated” done: Yes." in body
