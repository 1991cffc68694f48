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


def _moments():
    """Times around midnight, noon and both DST switches in Stockholm, spread over a year."""
    from datetime import datetime, timedelta

    start = datetime(2026, 3, 28, 21, 59, 59)
    moments = [start + timedelta(minutes=37 * i, seconds=11 * i) for i in range(400)]
    moments += [datetime(2026, 10, 25, 0, 30) + timedelta(minutes=20 * i) for i in range(12)]
    moments += [datetime(2026, 1, 1, 0, 0), datetime(2026, 12, 31, 23, 59, 59),
                datetime(2026, 6, 15, 11, 59, 59, 999999)]
    return moments


def test_when_matches_flask_babel_for_every_locale_format_and_zone(app):
    from flask import g
    from flask_babel import force_locale, format_datetime, get_timezone
    from pytz import timezone

    from escalation.i18n import NAMED_FORMATS, _as_utc, when
    for zone in ("Europe/Stockholm", "America/New_York", "UTC"):
        with app.test_request_context():
            get_timezone()
            g._flask_babel.babel_tzinfo = timezone(zone)  # as a member's own time zone would
            for locale in ("sv", "en"):
                with force_locale(locale):
                    for format in NAMED_FORMATS:
                        for moment in _moments():
                            assert when(moment, format) == format_datetime(
                                _as_utc(moment), format), (zone, locale, format, moment)


def test_ago_matches_flask_babel_format_timedelta(app):
    from datetime import datetime, timedelta

    from flask_babel import force_locale, format_timedelta

    from escalation.i18n import ago
    now = datetime(2026, 11, 2, 8, 30)
    seconds = sorted({0, 1, 29, 30, 31, 53, 54, 59, 60, 89, 90, 91, 149, 150, 3239, 3240, 3600,
                      5399, 5400, 77759, 77760, 86400, 544319, 544320, 2332799, 2332800,
                      28382400, 31535999, 31536000, 10 ** 9}
                     | {int(1.37 ** n) for n in range(70)})
    with app.test_request_context():
        for locale in ("sv", "en"):
            with force_locale(locale):
                for s in seconds:
                    for delta in (timedelta(seconds=s), timedelta(seconds=-s),
                                  timedelta(seconds=s, microseconds=700000)):
                        expected = format_timedelta(delta, add_direction=True,
                                                    granularity="minute", threshold=0.9)
                        assert ago(now + delta, now=now) == expected, (locale, delta)


def test_template_messages_match_flask_babel_and_follow_the_locale(app):
    from flask import render_template_string
    from flask_babel import force_locale, gettext, ngettext

    page = ("{{ _('Reply') }}|{{ _('Gave the case to %(name)s.', name=who) }}|"
            "{{ ngettext('%(num)d case waits for your reply.',"
            " '%(num)d cases wait for your reply.', n) }}|"
            "{% trans %}Reply{% endtrans %}|{{ gettext('100%% sure') }}")
    with app.test_request_context():
        for locale in ("sv", "en", "sv"):
            with force_locale(locale):
                for n in (1, 3):
                    html = render_template_string(page, who="<b>Ann</b>", n=n)
                    expected = "|".join([
                        gettext("Reply"),
                        gettext("Gave the case to %(name)s.", name="&lt;b&gt;Ann&lt;/b&gt;"),
                        ngettext("%(num)d case waits for your reply.",
                                 "%(num)d cases wait for your reply.", n),
                        gettext("Reply"), "100% sure"])
                    assert html == expected
    with app.test_request_context():
        with force_locale("sv"):
            assert render_template_string("{{ _('Reply') }}") == "Svar"
        with force_locale("en"):
            assert render_template_string("{{ _('Reply') }}") == "Reply"


def test_lazy_labels_in_templates_follow_the_locale(app):
    from flask import render_template_string
    from flask_babel import force_locale, lazy_gettext

    from escalation.models import CASE_STATUS_LABELS
    with app.test_request_context():
        for locale, expected in (("sv", "Väntar"), ("en", "Waiting"), ("sv", "Väntar")):
            with force_locale(locale):
                assert render_template_string("{{ label }}",
                                              label=CASE_STATUS_LABELS["waiting"]) == expected
        with force_locale("en"):
            message = lazy_gettext("Gave the case to %(name)s.", name="<i>Ann</i>")
            assert (render_template_string("{{ m }}", m=message)
                    == "Gave the case to &lt;i&gt;Ann&lt;/i&gt;.")
            assert str(message) == "Gave the case to <i>Ann</i>." and len(message) == 28
        with force_locale("sv"):
            assert str(CASE_STATUS_LABELS["waiting"]) == "Väntar"
            assert str(message) == "Gav ärendet till <i>Ann</i>."
    # Outside a request: the source text, as Flask-Babel gives it.
    assert str(CASE_STATUS_LABELS["waiting"]) == "Waiting"


def test_numberformat_matches_flask_babel_and_follows_the_locale(app):
    from decimal import Decimal

    from flask import render_template_string
    from flask_babel import force_locale, format_number

    from escalation.i18n import _NumberFormatter
    numbers = sorted({0, 1, 7, 42, 999, 1000, 1001, 9999, 10000, 12345, 99999, 100000, 123456,
                      999999, 1000000, 2 ** 31, 10 ** 12 + 7} | {int(1.9 ** n) for n in range(60)})
    others = [-1, -1234, -1234567, 0.5, 1234.5, -98765.4321, Decimal("1234567.891")]
    with app.test_request_context():
        for locale in ("sv", "en", "sv"):
            with force_locale(locale):
                for number in numbers + others:
                    shown = render_template_string("{{ n|numberformat }}", n=number)
                    assert shown == format_number(number), (locale, number)
        with force_locale("sv"):
            assert render_template_string("{{ 1234567|numberformat }}") == "1\xa0234\xa0567"
        with force_locale("en"):
            assert render_template_string("{{ 1234567|numberformat }}") == "1,234,567"
    # A locale whose grouping Python's cannot follow (Indian: 12,34,567) keeps Babel's.
    from babel import Locale
    indian = _NumberFormatter(Locale.parse("en_IN"))
    assert not indian.fast and indian(1234567) == "12,34,567"
