"""Locale and time zone selection, and formatting helpers for templates."""
from datetime import datetime, timezone

from flask import current_app, request, session
from flask_babel import format_datetime, format_timedelta, get_locale
from flask_babel import lazy_gettext as _l  # noqa: F401  (re-exported for modules)
from flask_login import current_user

from .clock import utcnow


def select_locale():
    """The member's saved choice, else a choice made in this session, else the browser's
    Accept-Language, else the organisation's default."""
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.user.locale in languages:
        return current_user.user.locale
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    best = request.accept_languages.best_match(languages) if request else None
    if best:
        return best
    if current_user and current_user.is_authenticated:
        return current_user.organisation.default_locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone():
    if current_user and current_user.is_authenticated:
        return current_user.user.timezone or current_user.organisation.timezone
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def when(value: datetime | None, format="short"):
    """A stored UTC time in the viewer's time zone and language."""
    if value is None:
        return ""
    return format_datetime(_as_utc(value), format)


def ago(value: datetime | None, now: datetime | None = None):
    """'3 minutes ago' / 'för 3 minuter sedan'."""
    if value is None:
        return ""
    now = now or utcnow()
    return format_timedelta(value - now, add_direction=True, granularity="minute",
                            threshold=0.9)


def locale_code():
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def _escape_lazy_strings():
    """Flask-Babel's LazyString declares itself safe HTML (``__html__`` returns the text as is),
    so a lazy message carrying user input would reach the page unescaped. Our lazy messages are
    plain text: escape them like any other string."""
    from flask_babel.speaklater import LazyString
    from markupsafe import escape

    LazyString.__html__ = lambda self: str(escape(str(self)))


def init_app(app):
    _escape_lazy_strings()
    app.add_template_filter(when, "when")
    app.add_template_filter(ago, "ago")
    app.add_template_global(locale_code)
    app.jinja_env.policies["ext.i18n.trimmed"] = True
