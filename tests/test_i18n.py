"""The catalogs: complete Swedish, a .pot that matches the code, and Swedish actually served."""
from pathlib import Path

from babel.messages.pofile import read_po

from escalation.catalogs import POT, SV_PO, extract_catalog

ROOT = Path(__file__).resolve().parent.parent


def _ids(catalog):
    return {message.id for message in catalog if message.id}


def test_swedish_catalog_has_no_empty_or_fuzzy_entries():
    with SV_PO.open("rb") as handle:
        catalog = read_po(handle, locale="sv")
    problems = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(message.id)
    assert problems == []
    assert len(_ids(catalog)) > 50


def test_committed_pot_matches_a_fresh_extraction():
    with POT.open("rb") as handle:
        committed = read_po(handle)
    assert _ids(committed) == _ids(extract_catalog()), (
        "run: .venv/bin/python -m escalation.catalogs extract")


def test_swedish_catalog_covers_the_template():
    with POT.open("rb") as handle:
        template = read_po(handle)
    with SV_PO.open("rb") as handle:
        swedish = read_po(handle, locale="sv")
    assert _ids(template) <= _ids(swedish)


def test_mo_is_built_not_committed():
    ignored = (ROOT / ".gitignore").read_text()
    assert "*.mo" in ignored
    assert (SV_PO.with_suffix(".mo")).exists(), "the session fixture compiles the catalogs"


def test_a_swedish_browser_gets_swedish(client):
    page = client.get("/auth/login", headers={"Accept-Language": "sv-SE,sv;q=0.9,en;q=0.5"})
    text = page.get_data(as_text=True)
    assert '<html lang="sv"' in text
    assert "Logga in" in text
    assert "Sign in" not in text


def test_an_english_browser_gets_english(client):
    page = client.get("/auth/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    text = page.get_data(as_text=True)
    assert '<html lang="en"' in text
    assert "Sign in" in text


def test_wtforms_own_messages_are_swedish(client):
    response = client.post("/auth/login", data={"email": "", "password": ""},
                           headers={"Accept-Language": "sv"})
    assert response.status_code == 422
    assert "Det här fältet är obligatoriskt" in response.get_data(as_text=True)


def test_member_preference_beats_the_browser(client, owner, login):
    # owner prefers Swedish (fixture); the browser asks for English
    login(owner)
    page = client.get("/auth/account", headers={"Accept-Language": "en"})
    assert "Ditt konto" in page.get_data(as_text=True)


def test_language_switcher_is_remembered_for_anonymous_visitors(client):
    client.get("/auth/login")
    response = client.post("/auth/language", data={"locale": "sv", "next": "/auth/login"},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 303
    page = client.get("/auth/login", headers={"Accept-Language": "en"})
    assert "Logga in" in page.get_data(as_text=True)


def test_dates_are_formatted_for_the_locale(app):
    from datetime import datetime

    from flask_babel import force_locale

    from escalation.i18n import ago, when
    with app.test_request_context():
        moment = datetime(2026, 11, 2, 8, 30)  # UTC; 09:30 in Stockholm
        with force_locale("sv"):
            assert "09:30" in when(moment)
            assert ago(datetime(2026, 11, 2, 8, 27), now=moment) == "för 3 minuter sedan"
        with force_locale("en"):
            assert ago(datetime(2026, 11, 2, 8, 27), now=moment) == "3 minutes ago"


def test_lazy_messages_with_user_input_are_escaped_in_templates(app):
    from flask import render_template_string
    from flask_babel import lazy_gettext

    with app.test_request_context():
        message = lazy_gettext("You are now working in %(org)s.", org="<script>alert(1)</script>")
        html = render_template_string("{{ message }}", message=message)
    assert "<script>" not in html and "&lt;script&gt;" in html
