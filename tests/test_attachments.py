"""Attachments on the escalation form: kept across a failed submit, checked from their content,
refused when hostile, served only as downloads to members who may see the case."""
import io
import re
import struct
import zlib

import pytest
from PIL import Image

from escalation.db import database
from escalation.escalations import attachments as files
from escalation.escalations import service, thumbnails
from escalation.escalations.models import Attachment, AttachmentThumbnail
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


def test_the_packet_shows_thumbnails_file_icons_and_download_links(client, login, desk):
    photo, broken, pdf = _attached(client, login, desk, [
        ("photo.png", fx.png()), ("trasig.png", CORRUPT_PNG), ("manual.pdf", fx.PDF)])
    html = _text(client.get(f"/escalations/cases/{photo.case_id}/tiers"))
    assert f'<img src="/escalations/attachments/{photo.id}/thumbnail"' in html
    assert 'width="2" height="2"' in html  # the thumbnail's own size (never enlarged)
    # The full file is a download, never the preview's source.
    assert f'<img src="/escalations/attachments/{photo.id}"' not in html
    for other, label in ((broken, "PNG"), (pdf, "PDF")):
        assert f"/escalations/attachments/{other.id}/thumbnail" not in html
        assert f'href="/escalations/attachments/{other.id}"' in html
    assert html.count('<span class="file-icon" aria-hidden="true">PNG</span>') == 1
    assert '<span class="file-icon" aria-hidden="true">PDF</span>' in html
    assert "trasig.png" in html


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


# ------------------------------------------------------------------------------------------------
# Thumbnails: made on the server, small, upright, without metadata; none for what does not decode

CORRUPT_PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
TRUNCATED_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x13\x37" * 400


def _jpeg_photo(width=4000, height=3000, orientation=6):
    """A large camera photo stored sideways: red left half, blue right half, with the EXIF
    orientation saying "turn 90° clockwise to show", and a camera name and GPS position."""
    image = Image.new("RGB", (width, height), (220, 30, 30))
    image.paste((30, 30, 220), (width // 2, 0, width, height))
    exif = Image.Exif()
    exif[0x0112] = orientation          # Orientation
    exif[0x010F] = "EskaleraCam"        # Make
    exif[0x8825] = {1: "N", 2: (59.0, 19.0, 0.0)}  # GPS position
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def _transparent_png():
    """800 × 400: the left half fully transparent, the right half opaque green."""
    image = Image.new("RGBA", (800, 400), (0, 0, 0, 0))
    image.paste((20, 160, 60, 255), (400, 0, 800, 400))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _bomb_png(width, height):
    """A real 1-bit PNG of ``width`` × ``height`` black pixels: a few hundred kilobytes that would
    decode into hundreds of megabytes."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def _open(thumb):
    return Image.open(io.BytesIO(thumb.data))


def test_a_large_sideways_jpeg_gets_a_small_upright_thumbnail_without_exif():
    data = _jpeg_photo()
    assert len(data) < files.DEFAULT_MAX_BYTES
    thumb = thumbnails.make(data, "image/jpeg")
    assert thumb.content_type == "image/jpeg"
    assert (thumb.width, thumb.height) == (240, 320)  # turned upright, long side 320
    image = _open(thumb)
    assert image.format == "JPEG" and image.size == (240, 320)
    rgb = image.convert("RGB")
    top, bottom = rgb.getpixel((120, 40)), rgb.getpixel((120, 280))
    assert top[0] > 150 and top[2] < 100      # the red half is on top once turned
    assert bottom[2] > 150 and bottom[0] < 100
    assert len(image.getexif()) == 0 and "exif" not in image.info
    assert b"Exif" not in thumb.data and b"EskaleraCam" not in thumb.data
    assert "icc_profile" not in image.info


def test_a_png_with_transparency_stays_a_transparent_png():
    thumb = thumbnails.make(_transparent_png(), "image/png")
    assert thumb.content_type == "image/png" and (thumb.width, thumb.height) == (320, 160)
    image = _open(thumb)
    assert image.format == "PNG" and image.mode == "RGBA"
    assert image.getpixel((10, 80))[3] == 0 and image.getpixel((310, 80))[3] == 255


@pytest.mark.parametrize("fmt,content_type,mode", [
    ("GIF", "image/gif", "P"), ("WEBP", "image/webp", "RGB"), ("PNG", "image/png", "L")])
def test_every_previewable_type_gets_a_thumbnail(fmt, content_type, mode):
    out = io.BytesIO()
    Image.new(mode, (640, 480), 90).save(out, fmt)
    thumb = thumbnails.make(out.getvalue(), content_type)
    assert (thumb.width, thumb.height) == (320, 240)
    assert _open(thumb).format in ("JPEG", "PNG")


@pytest.mark.parametrize("data,content_type", [
    (CORRUPT_PNG, "image/png"), (TRUNCATED_JPEG, "image/jpeg"), (fx.JPEG, "image/jpeg"),
    (_jpeg_photo(400, 300)[:1500], "image/jpeg"), (fx.PDF, "application/pdf"),
    (fx.png(), "image/heic"), (b"", "image/png")],
    ids=["corrupt-png", "truncated-jpeg", "header-only-jpeg", "cut-jpeg", "pdf", "heic", "empty"])
def test_what_does_not_decode_gets_no_thumbnail(data, content_type):
    assert thumbnails.make(data, content_type) is None


@pytest.mark.parametrize("width,height", [(8000, 7000), (10_000, 10_000), (20_000, 20_000)],
                         ids=["above-our-limit", "pillow-warns", "pillow-refuses"])
def test_pixel_bombs_get_no_thumbnail_and_no_crash(width, height):
    bomb = _bomb_png(width, height)
    assert len(bomb) < files.DEFAULT_MAX_BYTES
    assert width * height > thumbnails.DEFAULT_MAX_PIXELS
    assert thumbnails.make(bomb, "image/png") is None  # no warning escapes (warnings are errors)


def test_the_pixel_limit_is_a_setting():
    photo = _jpeg_photo(400, 300, orientation=1)
    assert thumbnails.make(photo, "image/jpeg", max_pixels=400 * 300) is not None
    assert thumbnails.make(photo, "image/jpeg", max_pixels=400 * 300 - 1) is None


def test_thumbnails_are_made_as_files_are_stored(desk, db):
    bomb = _bomb_png(10_000, 10_000)
    stored, refused = service.store_uploads(
        desk.agent, "q" * 20, [("foto.jpg", _jpeg_photo()), ("trasig.png", CORRUPT_PNG),
                               ("bomb.png", bomb), ("log.txt", fx.LOG)],
        limits=service.UploadLimits(), now=fx.NOW)
    assert refused == [] and [a.name for a in stored] == ["foto.jpg", "trasig.png", "bomb.png",
                                                          "log.txt"]
    photo, broken, bombed, log = stored
    made = AttachmentThumbnail.get_by_id(photo.id)
    assert made.has_image and (made.width, made.height) == (240, 320)
    assert made.content_type == "image/jpeg"
    # Images that do not decode are stored all the same, marked as having no thumbnail.
    for attachment in (broken, bombed):
        row = AttachmentThumbnail.get_by_id(attachment.id)
        assert not row.has_image
        assert service.attachment_content(attachment) in (CORRUPT_PNG, bomb)
    assert AttachmentThumbnail.get_or_none(AttachmentThumbnail.attachment == log.id) is None
    states = service.thumbnail_states([photo.id, broken.id, log.id])
    ready = states[photo.id]
    assert ready.ready and (ready.width, ready.height) == (240, 320)
    assert not states[broken.id].ready and log.id not in states


def test_the_thumbnail_route_serves_the_thumbnail_privately(client, login, desk):
    photo, = _attached(client, login, desk, [("foto.jpg", _jpeg_photo())])
    response = client.get(f"/escalations/attachments/{photo.id}/thumbnail")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    cache = response.headers["Cache-Control"]
    assert "private" in cache and "public" not in cache and "max-age=" in cache
    assert "attachment" not in response.headers.get("Content-Disposition", "")
    assert Image.open(io.BytesIO(response.data)).size == (240, 320)
    again = client.get(f"/escalations/attachments/{photo.id}/thumbnail",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_no_thumbnail_is_404_and_the_form_shows_the_file_name(client, login, desk):
    login(desk.agent)
    data = fx.form_data(factories.make_contact(desk.org), serial_number="", form_token="b" * 24)
    response = _post(client, desk, data, [("trasig.png", CORRUPT_PNG), ("foto.jpg", _jpeg_photo()),
                                          ("logg.txt", fx.LOG)])
    assert response.status_code == 422
    broken, photo, log = Attachment.select().order_by(Attachment.id)
    html = _text(response)
    assert f'<img src="/escalations/attachments/{photo.id}/thumbnail"' in html
    assert f"/escalations/attachments/{broken.id}/thumbnail" not in html
    assert "trasig.png" in html and '<span class="file-icon" aria-hidden="true">PNG</span>' in html
    assert '<span class="file-icon" aria-hidden="true">TXT</span>' in html
    assert client.get(f"/escalations/attachments/{broken.id}/thumbnail").status_code == 404
    assert client.get(f"/escalations/attachments/{log.id}/thumbnail").status_code == 404
    assert client.get(f"/escalations/attachments/{photo.id}/thumbnail").status_code == 200


def test_thumbnails_are_only_for_members_who_may_see_the_case(client, login, desk, outsider,
                                                              supervisor):
    photo, = _attached(client, login, desk, [("foto.jpg", _jpeg_photo(400, 300))])
    url = f"/escalations/attachments/{photo.id}/thumbnail"
    other_agent = factories.make_member(desk.org, "agent", name="Otto Other",
                                        email="otto.other@example.test")
    _sign_out(client)
    login(other_agent)
    assert client.get(url).status_code == 403
    _sign_out(client)
    login(outsider)
    assert client.get(url).status_code == 404
    _sign_out(client)
    login(desk.l2_owner)
    assert client.get(url).status_code == 200
    _sign_out(client)
    assert client.get(url).status_code == 302  # to sign-in
    # A pending file's thumbnail: only its uploader.
    login(desk.agent)
    _post(client, desk, fx.form_data(factories.make_contact(desk.org), serial_number="",
                                     form_token="v" * 24), [("ny.jpg", _jpeg_photo(300, 200))])
    pending = Attachment.get(Attachment.name == "ny.jpg")
    assert client.get(f"/escalations/attachments/{pending.id}/thumbnail").status_code == 200
    _sign_out(client)
    login(supervisor)
    assert client.get(f"/escalations/attachments/{pending.id}/thumbnail").status_code == 403


def test_files_stored_before_thumbnails_get_theirs_on_first_request(client, login, desk):
    photo, broken = _attached(client, login, desk, [("foto.jpg", _jpeg_photo(800, 600)),
                                                    ("trasig.png", CORRUPT_PNG)])
    AttachmentThumbnail.delete().execute()  # as if stored before thumbnails existed
    html = _text(client.get(f"/escalations/cases/{photo.case_id}/tiers"))
    # Not known yet: both images are offered as thumbnails, made on first request.
    assert f'<img src="/escalations/attachments/{photo.id}/thumbnail"' in html
    assert f'<img src="/escalations/attachments/{broken.id}/thumbnail"' in html
    response = client.get(f"/escalations/attachments/{photo.id}/thumbnail")
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/jpeg"
    assert AttachmentThumbnail.get_by_id(photo.id).has_image
    assert client.get(f"/escalations/attachments/{broken.id}/thumbnail").status_code == 404
    assert not AttachmentThumbnail.get_by_id(broken.id).has_image  # not tried again
    html = _text(client.get(f"/escalations/cases/{photo.case_id}/tiers"))
    assert 'width="240" height="320"' in html  # turned upright
    assert f'<img src="/escalations/attachments/{broken.id}/thumbnail"' not in html


def test_the_thumbnails_command_makes_the_missing_ones(app, client, login, desk):
    photo, broken, pdf = _attached(client, login, desk, [
        ("foto.jpg", _jpeg_photo(800, 600)), ("trasig.png", CORRUPT_PNG), ("manual.pdf", fx.PDF)])
    AttachmentThumbnail.delete().execute()
    database.close()
    result = app.test_cli_runner().invoke(args=["escalations", "thumbnails"])
    database.connect(reuse_if_open=True)
    assert result.exit_code == 0, result.output
    assert "Thumbnails made: 1;" in result.output and "have none" in result.output
    assert "): 1." in result.output
    assert AttachmentThumbnail.get_by_id(photo.id).has_image
    assert not AttachmentThumbnail.get_by_id(broken.id).has_image
    assert AttachmentThumbnail.get_or_none(AttachmentThumbnail.attachment == pdf.id) is None
    again = app.test_cli_runner().invoke(args=["escalations", "thumbnails"])
    database.connect(reuse_if_open=True)
    assert "Thumbnails made: 0;" in again.output
