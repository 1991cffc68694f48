"""The case page's timeline as rendered HTML, kept per worker process ("Russian-doll" caching).

A timeline of a few hundred entries costs milliseconds to render on every view of the case
page, yet it rarely changes: messages and audit events are only ever appended, and every time
is shown as an absolute local time (``|when``), never relative to now. So the rendered
``<section id="case-timeline">`` is kept in a bounded LRU per process and reused while nothing
it shows has changed. This is the Russian-doll (key-based) fragment caching of Rails and
Django's ``{% cache %}``: the key carries every input of the fragment, so an entry is never
invalidated, it simply stops being asked for when a new input makes a new key, and the LRU
bound drops it.

What the fragment depends on, and how the key covers it:

- the timeline's rows: the two timeline queries still run on every view (they are cheap and
  compiled once, ``sqlcache``), and an entry is used only when the raw rows are *equal* to the
  rows it was rendered from. A new message or event, and also a renamed member or contact (their
  names come in the same rows), an edited body or event data, all give different rows. Counting
  rows or comparing the newest ids would miss the renames: names are not append-only.
- the language and the time zone the times and labels are shown in (``get_locale`` and
  ``get_timezone``: the member's choice, Accept-Language, the organisation's default);
- the case's id (in the region URL) and the application root the URLs are built under;
- nothing about the viewer: the timeline and the event templates (``timeline/events/*.html``)
  read only ``event``, ``data``, translated labels and the case's id, never the member, their
  role, ``now`` or the request (tests/test_timeline_cache.py checks every event template's
  variables, so an area adding one that needs more fails there rather than showing stale or
  another viewer's content).

The whole section is rendered from the very rows it is stored with, so a write that lands
between the queries and the rendering cannot file newer HTML under older rows.

Bounds: ``MAX_ENTRIES`` fragments and ``MAX_CHARS`` characters (rows and HTML) per process,
least recently used dropped first; one entry per (case, language, time zone, root).
"""
import threading
from collections import OrderedDict

from flask import current_app, render_template, request
from flask_babel import get_locale, get_timezone
from markupsafe import Markup

from . import service

MAX_ENTRIES = 300
MAX_CHARS = 24_000_000  # ~ HTML plus the rows it came from, for all entries together
TEMPLATE = "cases/_timeline_section.html"
EXTENSION = "eskalera.timeline_cache"


class FragmentCache:
    """A bounded LRU of ``key -> (rows, html)``; thread-safe (threaded workers). Also used by
    ``action_forms_cache``."""

    def __init__(self, max_entries=MAX_ENTRIES, max_chars=MAX_CHARS):
        self.max_entries, self.max_chars = max_entries, max_chars
        self._entries: OrderedDict = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __len__(self):
        return len(self._entries)

    @property
    def chars(self):
        return self._chars

    def get(self, key, rows):
        """The HTML stored under ``key`` if it was rendered from rows equal to ``rows`` (None:
        a fragment whose key says it all)."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None and (found[0].same_as(rows) if found[0] is not None
                                      else rows is None):
                self._entries.move_to_end(key)
                self.hits += 1
                return found[1]
            self.misses += 1
            return None

    def put(self, key, rows, html):
        size = _size(rows, html)
        if size > self.max_chars:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._chars -= old[2]
            self._entries[key] = (rows, html, size)
            self._chars += size
            while len(self._entries) > self.max_entries or self._chars > self.max_chars:
                _, dropped = self._entries.popitem(last=False)
                self._chars -= dropped[2]

    def clear(self):
        with self._lock:
            self._entries.clear()
            self._chars = 0


def _size(rows, html):
    """Roughly the characters an entry holds: its HTML and the text of its rows."""
    if rows is None:
        return len(html)
    text = sum(len(value) for row in rows.messages + rows.events for value in row
               if isinstance(value, str))
    return len(html) + text + 16 * (len(rows.messages) + len(rows.events))


def cache_of(app=None) -> FragmentCache:
    """This application's cache (one per app and process: tests build many apps)."""
    app = app or current_app
    found = app.extensions.get(EXTENSION)
    if found is None:
        found = app.extensions.setdefault(EXTENSION, FragmentCache())
    return found


def key_for(case) -> tuple:
    """Everything besides the rows that the rendered timeline depends on."""
    return (case.id, str(get_locale()), str(get_timezone()), request.script_root)


def render(case, rows) -> Markup:
    """The timeline section for ``rows``, without the cache."""
    return Markup(render_template(TEMPLATE, case=case, timeline=service.timeline_of(case, rows)))


def timeline_html(case) -> Markup:
    """The case's timeline section: from the cache when its rows have not changed."""
    rows = service.timeline_rows(case)
    cache, key = cache_of(), key_for(case)
    html = cache.get(key, rows)
    if html is None:
        html = render(case, rows)
        cache.put(key, rows, html)
    return html
