"""The case page's reply, note and inbound forms (``cases/_actions.html``) and its settings
region (take, status, priority: ``cases/_controls_section.html``), kept rendered per worker
process while they are unbound.

WTForms builds every field, label and option in Python on each rendering: about a millisecond
for these three forms, the same HTML on every view of every case but for a few inputs. Unbound
(no input, no errors, no notice), the section depends only on:

- the case's id (the forms' URLs) and the application root;
- whether the member works through their queue (the hidden ``next``, the reply's button and
  whether it posts with htmx);
- the language (labels, help texts, choices);
- for the settings: which of the take, status and priority forms the member has, and the case's
  status and priority (the selected options);
- the CSRF token, which differs per session and request: it is stored as a marker and the
  request's own token (``generate_csrf``, the one WTForms would render) is put in its place.

Those make the key (see ``timeline_cache`` for the technique); a bound form (a 422 page keeps
what the member typed) or a notice is always rendered afresh, and so is a settings region with
the reassign form (its choices are the organisation's members). Bounded like the timeline
cache.
"""
from flask import render_template, request
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from .timeline_cache import FragmentCache

TEMPLATE = "cases/_actions.html"
EXTENSION = "eskalera.action_forms_cache"
MAX_ENTRIES = 2000  # ~6 KB each
MARK = "\x00csrf-token\x00"


def cache_of(app=None) -> FragmentCache:
    from flask import current_app
    app = app or current_app
    found = app.extensions.get(EXTENSION)
    if found is None:
        found = app.extensions.setdefault(EXTENSION, FragmentCache(max_entries=MAX_ENTRIES,
                                                                   max_chars=16_000_000))
    return found


def key_for(case, from_queue, *more) -> tuple:
    return (case.id, bool(from_queue), str(get_locale()), request.script_root) + more


def _cached(key, template, **context) -> Markup:
    token = generate_csrf()
    cache = cache_of()
    found = cache.get(key, None)
    if found is not None:
        return Markup(found.replace(MARK, token))
    html = render_template(template, **context)
    if token in html and MARK not in html:
        cache.put(key, None, html.replace(token, MARK))
    return Markup(html)


def actions_html(case, forms, from_queue) -> Markup:
    """The rendered section for unbound ``forms`` (reply, note, inbound) of ``case``."""
    return _cached(key_for(case, from_queue, "actions"), TEMPLATE, case=case, forms=forms,
                   from_queue=from_queue)


CONTROLS = "cases/_controls_section.html"
CONTROL_FORMS = ("take", "status", "priority")


def controls_html(case, forms, from_queue) -> Markup | None:
    """The case settings region (take, status, priority) for unbound forms, or None when it
    must be rendered afresh: the reassign form lists the organisation's members, so a page with
    it is never kept."""
    if "reassign" in forms:
        return None
    shown = tuple(name for name in CONTROL_FORMS if name in forms)
    key = key_for(case, from_queue, "controls", shown, case.status, case.priority)
    return _cached(key, CONTROLS, case=case, forms=forms, from_queue=from_queue)
