"""The threads view: every case of the organisation, for owners, admins and supervisors.

Active search: the filter is a plain GET form; with htmx each input asks the same URL for the
list region (``threads/_list.html``: rows, pager and counts) and pushes the URL, so every state
of the list is a link that renders the full page.
"""
import re

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from .. import nav
from ..clock import utcnow
from ..extensions import login_manager
from ..models import (CASE_STATUS_LABELS, CASE_STATUSES, PRIORITY_LABELS, REPLY_STATUS_LABELS,
                      REPLY_STATUSES, Case)
from ..permissions import is_staff_lead
from ..web import render_page_or_partial, wants_partial
from . import queries
from .forms import ThreadFilterForm

bp = Blueprint("threads", __name__, url_prefix="/threads")

# The query arguments that move through pages rather than narrow the list.
CURSORS = ("older", "newer")
DEFAULT_PRIORITY = Case.priority.default
# Counts per status above this read "1 000+": counting stops there, so it costs the same at any
# table size (THREADS_COUNT_CAP in the config overrides it).
COUNT_CAP = 1000


def can_see_threads(member) -> bool:
    """Owners, admins and supervisors (also while they use the agent view: it is only
    navigation)."""
    return is_staff_lead(member)


nav.register_nav("threads.index", _l("Threads"), visible=can_see_threads, order=20)


@bp.before_request
def _only_leads():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not can_see_threads(current_user):
        abort(403)
    return None


@bp.get("")
def index():
    now = utcnow()
    org = current_user.organisation_id
    form = ThreadFilterForm(request.args)
    context = {"form": form, "listing": None, "inboxes": None, "bulk_panels": None}
    if not wants_partial():
        queues, members, context["inboxes"] = queries.filter_panel(org)
        form.set_choices(queues, members)
        # Rendered once with the page, around the list region: a fragment stays lean.
        context["bulk_panels"] = nav.panels_for("threads_bulk", current_user, None, now=now)
    if not form.validate():
        return render_page_or_partial("threads/index.html", "threads/_list.html", status=422,
                                      **context)
    context["listing"] = _listing(form, org, now)
    return render_page_or_partial("threads/index.html", "threads/_list.html", **context)


@bp.get("/escalations")
def escalation_filter():
    """The "Escalations" filter panel alone (its counts refresh when escalations change)."""
    if not wants_partial():
        return redirect(url_for("threads.index", **request.args.to_dict(flat=False)), 303)
    form = ThreadFilterForm(request.args)
    return render_page_or_partial("threads/index.html", "threads/_escalation_filter.html",
                                  form=form, inboxes=queries.inbox_counts(current_user.organisation_id))


def _listing(form, org, now):
    flt = form.thread_filter()
    page = queries.page(org, flt, now=now, size=current_app.config["PAGE_SIZE"],
                        older=form.older.data, newer=form.newer.data)
    cap = current_app.config.get("THREADS_COUNT_CAP", COUNT_CAP)
    counts, page.rows = queries.details(org, flt, page.rows, cap=cap)
    return {
        "page": page,
        "counts": _status_links(counts, flt.status, cap),
        "total": sum(min(n, cap) for n in counts.values()),
        "total_capped": any(n > cap for n in counts.values()),
        "all_url": _url_with(status=None),
        "older_url": _url_with(older=page.older) if page.older else None,
        "newer_url": _url_with(newer=page.newer) if page.newer else None,
        "badges": nav.annotations_for("threads", [row.id for row in page.rows], current_user, now),
        "case_href": _id_url("cases.show"),
        "labels": _labels(),
        "filtered": form.is_filtered(),
    }


def _url_with(**changes):
    """This page's URL with some arguments changed (None removes one); the cursor always goes."""
    args = request.args.to_dict(flat=False)
    for key in CURSORS:
        args.pop(key, None)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for("threads.index", **args)


def _status_links(counts, current, cap):
    return [{"code": code, "label": CASE_STATUS_LABELS[code], "count": min(counts[code], cap),
             "capped": counts[code] > cap, "url": _url_with(status=code),
             "current": code == current}
            for code in CASE_STATUSES]


def _labels():
    """Translated once per request, not once per row."""
    status = {code: str(label) for code, label in CASE_STATUS_LABELS.items()}
    reply = {code: str(label) for code, label in REPLY_STATUS_LABELS.items()}
    priority = {code: str(label) for code, label in PRIORITY_LABELS.items()}
    return {
        "state": {(s, r, p): _state(status, reply, priority, s, r, p)
                  for s in CASE_STATUSES for r in REPLY_STATUSES for p in PRIORITY_LABELS},
        "unclaimed": _("unclaimed"),
        # Formatted per row with the claimant's name (``|format(name=...)``).
        "claimed_by": _("claimed by %(name)s"),
    }


def _state(status_labels, reply_labels, priority_labels, status, reply, priority):
    """One short text for a case's status, reply status and priority that names only what
    asks for attention: "needs response" (an open case shows nothing else), any status but
    open, and any priority but the usual one."""
    parts = [] if status == "open" else [status_labels[status]]
    if reply == "needs_response":
        parts.append(reply_labels[reply])
    if priority != DEFAULT_PRIORITY:
        parts.append(priority_labels[priority])
    return " · ".join(parts)


_SAMPLE_ID = 987654321
_UNQUOTED_SAFE = re.compile(r"^[A-Za-z0-9/_.~-]*$")


def _id_url(endpoint):
    """``(head, tail)`` such that ``head + str(id) + tail`` is the endpoint's URL for that id
    (an attribute value, quoted if it has to be), or None when no such endpoint is registered.
    Saves a ``url_for`` per row."""
    rules = list(current_app.url_map.iter_rules(endpoint)) if nav.has_endpoint(endpoint) else []
    if len(rules) != 1 or len(rules[0].arguments) != 1:
        return None
    (argument,) = rules[0].arguments
    head, _sep, tail = url_for(endpoint, **{argument: _SAMPLE_ID}).partition(str(_SAMPLE_ID))
    if not _UNQUOTED_SAFE.match(head + tail):  # rows write it as an unquoted attribute value
        return Markup('"') + head, tail + Markup('"')
    return head, tail
