"""Locale and time zone selection, and formatting helpers for templates."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import current_app, g, has_request_context, request, session
from flask_babel import (format_datetime, format_timedelta, get_locale, get_timezone,
                         get_translations)
from flask_babel import format_number as babel_format_number
from flask_babel import gettext as _babel_gettext
from flask_babel import lazy_gettext as _l  # noqa: F401  (re-exported for modules)
from flask_login import current_user
from jinja2 import pass_eval_context
from markupsafe import Markup

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


NAMED_FORMATS = ("short", "medium", "long", "full")


# Pattern letters whose text depends only on the local date, or only on the local time of day
# (no time zone, no fractions of a second): a formatted part can then be reused for every value
# with the same date, or the same hour, minute and second.
_DATE_LETTERS = frozenset("GyYuUQqMLlwWdDFgEec")
_TIME_LETTERS = frozenset("ahHKkmsbB")


def _part(pattern, locale, letters, key):
    """``pattern.apply`` for one locale, remembering each text by ``key(local time)`` when the
    pattern only uses ``letters`` (a time of day written with digits only, as "HH:mm", is put
    together directly: a list shows a different time on each row)."""
    fields = {value[0] for kind, value in babel_dates.tokenize_pattern(pattern.pattern)
              if kind == "field"}
    if not fields <= letters:
        return lambda local: pattern.apply(local, locale)
    if letters is _TIME_LETTERS:
        known = (pattern.pattern, str(locale))
        if known not in _quick_times:
            _quick_times[known] = _quick_time(pattern, locale)
        if _quick_times[known] is not None:
            return _quick_times[known]
    texts = {}

    def apply(local):
        at = key(local)
        try:
            return texts[at]
        except KeyError:
            texts[at] = text = pattern.apply(local, locale)
            return text
    return apply


_QUICK_TIME = {("H", 1): "{h}", ("H", 2): "{h:02d}", ("h", 1): "{h12}", ("h", 2): "{h12:02d}",
               ("m", 1): "{m}", ("m", 2): "{m:02d}", ("s", 1): "{s}", ("s", 2): "{s:02d}"}


_quick_times: dict = {}  # (pattern, locale) -> ``_quick_time``'s answer, per process


def _quick_time(pattern, locale):
    """A function giving ``pattern.apply``'s text for a time of day of hours, minutes, seconds
    and an AM/PM marker, without Babel's per-field machinery; used only when it gives Babel's
    own text for every minute of a day (else None)."""
    parts = []
    for kind, value in babel_dates.tokenize_pattern(pattern.pattern):
        if kind == "chars":
            parts.append(value.replace("{", "{{").replace("}", "}}"))
        elif value in _QUICK_TIME:
            parts.append(_QUICK_TIME[value])
        elif value == ("a", 1):
            parts.append("{period}")
        else:
            return None
    template = "".join(parts)
    try:
        periods = locale.day_periods["format"]["abbreviated"]
        am, pm = periods["am"], periods["pm"]
    except (KeyError, TypeError):
        return None

    def quick(local):
        h = local.hour
        return template.format(h=h, h12=h % 12 or 12, m=local.minute, s=local.second,
                               period=am if h < 12 else pm)
    probe = datetime(2026, 3, 29, 0, 0, 7)
    for minute in range(0, 24 * 60, 7):
        at = probe.replace(hour=minute // 60, minute=minute % 60)
        if quick(at) != pattern.apply(at, locale):
            return None
    return quick


def _fast_zone(tzinfo):
    """The same time zone from the standard library (``zoneinfo``), whose conversions cost a
    fraction of pytz's, when it gives the same offsets over a few years of DST changes; else
    ``tzinfo`` itself."""
    name = getattr(tzinfo, "zone", None)
    if not name:
        return tzinfo
    try:
        fast = ZoneInfo(name)
    except (KeyError, ValueError):  # no such zone in the system's data (ZoneInfoNotFoundError)
        return tzinfo
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    for hours in range(0, 3 * 366 * 24, 11):
        at = start + timedelta(hours=hours)
        if at.astimezone(fast).utcoffset() != at.astimezone(tzinfo).utcoffset():
            return tzinfo
    return fast


_fast_zones: dict = {}  # pytz zone -> the same zone from zoneinfo (or itself), per process


def _day(local):
    return local.toordinal()


def _second_of_day(local):
    return local.hour * 3600 + local.minute * 60 + local.second


def _ago_key(seconds):
    """What Babel's ``format_timedelta(granularity="minute", threshold=0.9, add_direction=True)``
    writes depends only on this: the direction, the unit it picks and the rounded count (its
    own loop, step by step)."""
    for unit, unit_seconds in babel_dates.TIMEDELTA_UNITS:
        value = abs(seconds) / unit_seconds
        if value >= 0.9 or unit == "minute":
            if unit == "minute" and value > 0:
                value = max(1, value)
            return seconds >= 0, unit, int(round(value))
    raise AssertionError("the minute unit always answers")  # pragma: no cover


class _DateTimeFormatter:
    """Babel's ``format_datetime`` and ``format_timedelta`` for one locale and time zone, with the
    patterns parsed once: a list page formats a time per row, and resolving the locale, the time
    zone and the pattern for each of them cost more than the formatting itself. Within a request
    the texts of a date, a time of day and a relative time are reused too (a timeline shows many
    events of the same day)."""

    def __init__(self, locale, tzinfo):
        self.locale, self.tzinfo = locale, tzinfo
        self._patterns = {}
        self._ago = {}
        if tzinfo not in _fast_zones:
            _fast_zones[tzinfo] = _fast_zone(tzinfo)
        self._zone = _fast_zones[tzinfo]  # for patterns that do not name the zone

    def _pattern(self, format):
        if format not in self._patterns:
            date = babel_dates.parse_pattern(babel_dates.get_date_format(format, self.locale))
            time = babel_dates.parse_pattern(babel_dates.get_time_format(format, self.locale))
            letters = {value[0] for pattern in (date, time)
                       for kind, value in babel_dates.tokenize_pattern(pattern.pattern)
                       if kind == "field"}
            self._patterns[format] = (
                str(babel_dates.get_datetime_format(format, locale=self.locale)).replace("'", ""),
                _part(date, self.locale, _DATE_LETTERS, _day),
                _part(time, self.locale, _TIME_LETTERS, _second_of_day),
                # A pattern naming the zone keeps Babel's own (pytz) zone object.
                self._zone if letters <= _DATE_LETTERS | _TIME_LETTERS else self.tzinfo)
        return self._patterns[format]

    def __call__(self, value: datetime, format: str) -> str:
        whole, date_part, time_part, zone = self._pattern(format)
        local = value.astimezone(zone)
        return whole.replace("{0}", time_part(local)).replace("{1}", date_part(local))

    def ago(self, delta) -> str:
        key = _ago_key(int(delta.days * 86400 + delta.seconds))
        try:
            return self._ago[key]
        except KeyError:
            self._ago[key] = text = babel_dates.format_timedelta(
                delta, "minute", threshold=0.9, add_direction=True, locale=self.locale)
            return text


def _babel_context():
    """Flask-Babel's namespace for this request (where it keeps the locale, the time zone and the
    domain it resolved), or None before it made one or outside a request."""
    try:
        return g._flask_babel
    except (AttributeError, RuntimeError):
        return None


def _formatter():
    """This request's formatter for the current locale and time zone (``force_locale``, as mail
    uses, gets its own)."""
    ctx = _babel_context()
    locale, tzinfo = getattr(ctx, "babel_locale", None), getattr(ctx, "babel_tzinfo", None)
    last = getattr(ctx, "eskalera_formatter", None)
    if last is not None and last.locale is locale and last.tzinfo is tzinfo:
        return last
    key = (get_locale() if locale is None else locale,
           get_timezone() if tzinfo is None else tzinfo)
    cache = g.setdefault("_datetime_formatters", {})
    if key not in cache:
        cache[key] = _DateTimeFormatter(*key)
    if ctx is not None:
        ctx.eskalera_formatter = cache[key]
    return cache[key]


def when(value: datetime | None, format="short"):
    """A stored UTC time in the viewer's time zone and language."""
    if value is None:
        return ""
    if format in NAMED_FORMATS and has_request_context():
        return _formatter()(_as_utc(value), format)
    return format_datetime(_as_utc(value), format)


class _NumberFormatter:
    """``format_decimal`` for one locale, as Flask-Babel's ``numberformat`` calls it, with a
    shortcut for whole numbers: Python's own grouping with the locale's separator, used only
    where it gives Babel's output for every probe below (a locale that does not group four
    digits, say, keeps Babel). A page with a few hundred counts paid ~10 µs for each."""

    PROBES = (0, 7, 42, 999, 1000, 9999, 10000, 12345, 99999, 100000, 999999, 1234567,
              1000000000)

    def __init__(self, locale):
        self.locale = locale
        self.group = babel_numbers.get_group_symbol(locale)
        self.fast = all(self._grouped(n) == babel_numbers.format_decimal(n, locale=locale)
                        for n in self.PROBES)

    def _grouped(self, number: int) -> str:
        return f"{number:,}".replace(",", self.group)

    def __call__(self, number) -> str:
        if self.fast and type(number) is int and number >= 0:
            return self._grouped(number)
        return babel_numbers.format_decimal(number, locale=self.locale)


_SMALL = tuple(str(n) for n in range(1000))
_number_formatters: dict = {}  # by locale name: derived from Babel's data, kept for the process


def format_number(number) -> str:
    """A number in the viewer's language (``|numberformat``): the same text as Flask-Babel's
    ``format_number``, faster (an overview shows some two hundred counts)."""
    if type(number) is int and 0 <= number < 1000:
        return _SMALL[number]  # no grouping, Latin digits (Babel's default) in every locale
    ctx = _babel_context()
    last = getattr(ctx, "eskalera_numbers", None)  # (the request's Locale, its formatter)
    if last is not None and last[0] is getattr(ctx, "babel_locale", None):
        return last[1](number)
    if not has_request_context():
        return babel_format_number(number)
    locale = get_locale()
    formatter = _number_formatters.get(str(locale))
    if formatter is None or formatter.locale != locale:
        formatter = _number_formatters[str(locale)] = _NumberFormatter(locale)
    ctx = _babel_context()
    if ctx is not None:
        ctx.eskalera_numbers = (getattr(ctx, "babel_locale", None), formatter)
    return formatter(number)


def ago(value: datetime | None, now: datetime | None = None):
    """'3 minutes ago' / 'för 3 minuter sedan'."""
    if value is None:
        return ""
    now = now or utcnow()
    if has_request_context():
        return _formatter().ago(value - now)
    return format_timedelta(value - now, add_direction=True, granularity="minute",
                            threshold=0.9)


# ---------------------------------------------------------------------------------------------
# Messages in templates. Flask-Babel's gettext finds the request's catalog through the request
# context several times per message, and Jinja's i18n extension wraps it twice more (``_`` calls
# ``gettext`` which calls Flask-Babel's): ~15 µs per message, and a case page shows hundreds.
# These do what Jinja's new-style callables do (always a format string, escaped variables when
# autoescaping) with the catalog looked up once per request and locale.

def _translations():
    """The current catalog: Flask-Babel's, remembered for the locale (and domain) it was found
    for, so ``force_locale`` and ``refresh`` still switch it."""
    ctx = _babel_context()
    cached = getattr(ctx, "eskalera_translations", None)
    if (cached is not None and cached[0] is getattr(ctx, "babel_locale", None)
            and cached[1] is getattr(ctx, "babel_domain", None)):
        return cached[2]
    translations = get_translations()
    ctx = _babel_context()
    if ctx is not None:
        ctx.eskalera_translations = (get_locale(), getattr(ctx, "babel_domain", None),
                                     translations)
    return translations


@pass_eval_context
def template_gettext(eval_ctx, string, **variables):
    text = _translations().ugettext(string)
    if eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


@pass_eval_context
def template_ngettext(eval_ctx, singular, plural, num, **variables):
    variables.setdefault("num", num)
    text = _translations().ungettext(singular, plural, num)
    if eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


def locale_code():
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def _escape_lazy_strings():
    """Flask-Babel's LazyString declares itself safe HTML (``__html__`` returns the text as is),
    so a lazy message carrying user input would reach the page unescaped. Our lazy messages are
    plain text: escape them like any other string."""
    from flask_babel.speaklater import LazyString
    from markupsafe import escape

    global _lazy_str
    if _lazy_str is None:
        _lazy_str = LazyString.__str__
    LazyString.__str__ = _lazy_text
    LazyString.__html__ = lambda self: str(escape(_lazy_text(self)))


_lazy_str = None  # Flask-Babel's own LazyString.__str__


def _lazy_text(lazy):
    """``str(lazy)``, with the catalog of this request for the common case (``lazy_gettext`` of a
    message with keyword variables: exactly what Flask-Babel's ``gettext`` does, without finding
    the catalog again). Status, priority and form labels are lazy, and pages show many (WTForms
    asks for a label's text several times: ``text or default`` calls ``__len__``)."""
    if lazy._func is _babel_gettext and len(lazy._args) == 1:
        text = _translations().ugettext(lazy._args[0])
        return text % lazy._kwargs if lazy._kwargs else text
    return _lazy_str(lazy)


def init_app(app):
    _escape_lazy_strings()
    app.add_template_filter(when, "when")
    app.add_template_filter(ago, "ago")
    app.add_template_filter(format_number, "numberformat")  # replaces Flask-Babel's
    app.add_template_global(locale_code)
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    # After Flask-Babel installed its callables (``{% trans %}`` blocks call these too).
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext,
                                 ngettext=template_ngettext)
