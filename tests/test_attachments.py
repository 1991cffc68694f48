"""Attachments on the escalation form: kept across a failed submit, checked from their content,
refused when hostile, served only as downloads to members who may see the case."""
import io
import re

import pytest

from escalation.escalations import attachments as files
from escalation.escalations.models import Attachment
from escalation.models import Case

from . import factories
from . import factories_escalations as fx
from .factories_escalations import desk  # noqa: F401  (fixture)


def _url(desk):
    return f"/escalations/form?item={desk.item.id}"


def _text(response):
    return response.get_data(as_text=True)


def _token(html):
    return re.search(r'name="form_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="form_token"',
                     html).group(1)


def _post(client, desk, data, uploads, **kwargs):
    data = dict(data)
    data["attachments"] = [(io.BytesIO(content), name) for name, content in uploads]
    return client.post(_url(desk), data=data, content_type="multipart/form-data", **kwargs)


def _sign_out(client):
    client.post("/auth/logout")
    client.refresh_csrf()


# ------------------------------------------------------------------------------------------------
# Kept across a failed submit

def test_uploads_survive_an_invalid_submit_and_are_attached_on_success(client, login, desk):
    requester = factories.make_contact(desk.org)
    login(desk.agent)
    token = _token(_text(client.get(_url(desk))))
    data = fx.form_data(requester, serial_number="", form_token=token)
    first = _post(client, desk, data, [("skärmbild.png", fx.png()), ("kernel.log", fx.LOG)])
    assert first.status_code == 422
    html = _text(first)
    assert "skärmbild.png" in html and "kernel.log" in html
    assert "These files are kept with the form" in html
    assert _token(html) == token
    assert Attachment.count_pending(desk.agent, token) == 2

    done = _post(client, desk, dict(data, serial_number=fx.SERIAL), [])
    assert done.status_code == 303
    case = Case.select().first()
    names = sorted(a.name for a in Attachment.select().where(Attachment.case == case))
    assert names == ["kernel.log", "skärmbild.png"]
    assert Attachment.count_pending(desk.agent, token) == 0


def test_a_pending_file_can_be_removed_before_sending(client, login, desk):
    requester = factories.make_contact(desk.org)
    login(desk.agent)
    data = fx.form_data(requester, serial_number="", form_token="k" * 24)
    _post(client, desk, data, [("a.png", fx.png()), ("b.pdf", fx.PDF)])
    pdf = Attachment.get(Attachment.name == "b.pdf")
    removed = client.post(_url(desk), data=dict(data, discard=str(pdf.id)))
    assert removed.status_code == 200
    assert "b.pdf" not in _text(removed) and "a.png" in _text(removed)
    assert Attachment.count_pending(desk.agent, "k" * 24) == 1


def test_required_attachment_is_enforced(client, login, desk, admin):
    from escalation.escalations import service
    service.update_item(desk.item, admin, service.ItemSettings(
        name="", required_fields=["attachments"]), now=fx.NOW)
    login(desk.agent)
    response = client.post(_url(desk), data=fx.form_data(factories.make_contact(desk.org)))
    assert response.status_code == 422
    assert "Attach at least one file: a photo, screenshot or log." in _text(response)


# ------------------------------------------------------------------------------------------------
# Attacks

ATTACKS = [
    ("holiday.png", fx.HTML, "is a web page or SVG drawing"),
    ("holiday.jpg", b"Just some text pretending to be a photo.", "is not what its name says"),
    ("logo.png", fx.SVG, "is a web page or SVG drawing"),
    ("drawing.svg", fx.SVG, "is a web page or SVG drawing"),
    ("page.html", fx.HTML, "is a web page or SVG drawing"),
    ("report.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "is not a file type we accept"),
    ("notes.txt", b"\x00\x01binary", "is not a file type we accept"),
    ("anim.gif", fx.GIF_POLYGLOT, "has web page code hidden in it"),
    ("photo.png", fx.png(extra=b"\x00\x00\x00\x10tEXt<html><script>x</script>"),
     "has web page code hidden in it"),
    ("photo.jpg", fx.png(), "is not what its name says"),
]


@pytest.mark.parametrize("name,content,message", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_hostile_files_are_refused(client, login, desk, name, content, message):
    login(desk.agent)
    response = _post(client, desk, fx.form_data(factories.make_contact(desk.org)),
                     [(name, content)])
    assert response.status_code == 422
    assert message in _text(response)
    assert Attachment.select().count() == 0 and Case.select().count() == 0


def test_hostile_files_are_refused_in_swedish(client, login, desk):
    desk.agent.user.locale = "sv"
    desk.agent.user.save()
    login(desk.agent)
    response = _post(client, desk, fx.form_data(factories.make_contact(desk.org)),
                     [("semester.jpg", fx.png()), ("sida.png", fx.HTML)])
    assert response.status_code == 422
    html = _text(response)
    assert "”semester.jpg” är inte vad namnet säger: innehållet är inte en JPG-fil." in html
    assert "”sida.png” är en webbsida eller en SVG-bild, och sådana tas inte emot." in html


def test_oversize_and_too_many_files_are_refused(client, login, desk, app):
    app.config.update(ATTACHMENT_MAX_BYTES=3000, ATTACHMENT_MAX_COUNT=2)
    login(desk.agent)
    data = fx.form_data(factories.make_contact(desk.org), serial_number="", form_token="m" * 24)
    response = _post(client, desk, data, [("huge.log", b"a" * 3001), ("a.png", fx.png()),
                                          ("b.pdf", fx.PDF), ("c.log", fx.LOG)])
    assert response.status_code == 422
    html = _text(response)
    assert "“huge.log” is too large: a file may be at most 2.9 kB." in html \
        or "“huge.log” is too large" in html
    assert "At most 2 files can be attached; “c.log” was not added." in html
    assert Attachment.count_pending(desk.agent, "m" * 24) == 2


def test_a_request_above_the_server_limit_is_413(client, login, desk, app):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    login(desk.agent)
    response = _post(client, desk, fx.form_data(factories.make_contact(desk.org)),
                     [("big.log", b"a" * 20_000)])
    assert response.status_code == 413


@pytest.mark.parametrize("raw,expected", [
    ("../../etc/passwd.png", "passwd.png"),
    ("..\\..\\windows\\evil.png", "evil.png"),
    ("<script>alert(1)</script>.png", "script.png"),
    ("<b onmouseover=alert(1)>x.png", "b onmouseover=alert(1)x.png"),
    ("\u202egnp.exe.png", "gnp.exe.png"),
    (".hidden.png", "hidden.png"),
    ("Skärmavbild 2026-11-02 kl. 10.30.12.png", "Skärmavbild 2026-11-02 kl. 10.30.12.png"),
    ("photo", "photo.png"),
])
def test_file_names_are_neutralised(raw, expected):
    assert files.check(raw, fx.png(), max_bytes=10_000).name == expected


def test_a_name_with_script_is_stored_and_shown_harmlessly(client, login, desk):
    login(desk.agent)
    data = fx.form_data(factories.make_contact(desk.org), serial_number="", form_token="s" * 24)
    response = _post(client, desk, data, [("%22><img src=x onerror=alert(1)>.png", fx.png())])
    html = _text(response)
    assert "<img src=x" not in html and "onerror=alert(1)>" not in html
    attachment = Attachment.get()
    assert "/" not in attachment.name and "<" not in attachment.name and '"' not in attachment.name


# ------------------------------------------------------------------------------------------------
# Downloads

def _attached(client, login, desk, uploads):
    requester = factories.make_contact(desk.org)
    case = factories.make_case(desk.org, desk.queue, requester=requester, assignee=desk.agent)
    login(desk.agent)
    response = _post(client, desk, fx.form_data(requester), uploads)
    assert response.status_code == 303, _text(response)[:2000]
    return Attachment.select().order_by(Attachment.id)


def test_downloads_are_attachments_with_the_checked_type_and_nosniff(client, login, desk):
    png, log = _attached(client, login, desk, [("Bild på felet.png", fx.png()),
                                               ("kernel.log", fx.LOG)])
    response = client.get(f"/escalations/attachments/{png.id}")
    assert response.status_code == 200 and response.data == fx.png()
    assert response.mimetype == "image/png"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "Bild" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    text = client.get(f"/escalations/attachments/{log.id}")
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert text.headers["Content-Disposition"].startswith("attachment;")


def test_the_packet_shows_image_previews_and_download_links(client, login, desk):
    png, = _attached(client, login, desk, [("photo.png", fx.png())])
    html = _text(client.get(f"/escalations/cases/{png.case_id}/tiers"))
    assert f'<img src="/escalations/attachments/{png.id}"' in html


def test_other_organisations_get_404_and_members_who_cannot_see_the_case_403(
        client, login, desk, outsider):
    png, = _attached(client, login, desk, [("photo.png", fx.png())])
    other_agent = factories.make_member(desk.org, "agent", name="Otto Other",
                                        email="otto.other@example.test")
    _sign_out(client)
    login(other_agent)  # the case is in L2 now: an agent who is no owner of it may not see it
    assert client.get(f"/escalations/attachments/{png.id}").status_code == 403
    _sign_out(client)
    login(outsider)
    assert client.get(f"/escalations/attachments/{png.id}").status_code == 404
    _sign_out(client)
    login(desk.l2_owner)
    assert client.get(f"/escalations/attachments/{png.id}").status_code == 200


def test_pending_files_are_only_for_their_uploader(client, login, desk, supervisor):
    login(desk.agent)
    _post(client, desk, fx.form_data(factories.make_contact(desk.org), serial_number="",
                                     form_token="p" * 24), [("a.png", fx.png())])
    pending = Attachment.get()
    assert client.get(f"/escalations/attachments/{pending.id}").status_code == 200
    _sign_out(client)
    login(supervisor)
    assert client.get(f"/escalations/attachments/{pending.id}").status_code == 403


def test_anonymous_downloads_go_to_sign_in(client, desk):
    response = client.get("/escalations/attachments/1")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
