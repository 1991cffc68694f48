"""The routing directory: admin-curated entries saying, for a machine or an issue, which person,
address, phone or help site, or which inbox, is the right one.

From a case an entry is *used* in one of two ways:
- "routed": the case is pointed at the entry's person or address (an event on the timeline, and
  a mail link prefilled with the case summary);
- "escalated": the case is escalated into the entry's inbox (with its work session, which
  belongs to the case and so goes along).

"Solved after a lookup" means: the case was resolved or closed after it was routed through an
entry, with no escalation in between. Each use starts with no outcome; an escalation of the case
settles its open uses as "escalated", a resolve or close as "solved" (audit subscribers below, in
the same transaction as the event that settles them).
"""
import importlib

from flask_babel import lazy_gettext as _l
from peewee import fn

from .. import audit
from ..db import database
from ..errors import Conflict, Invalid
from ..models import Inbox
from . import catalog_links
from .models import RoutingEntry, RoutingUse

ENTRY_FIELDS = ("asset_type", "issue", "keywords", "contact_name", "department", "email", "phone",
                "help_url", "notes")
SEARCHED = ("asset_type", "issue", "keywords", "contact_name", "department", "notes")
SOLVED_STATUSES = ("resolved", "closed")


# ---------------------------------------------------------------------------------------------
# Curation (admins)


def _entry_fields(org, values, inbox, catalog="", current=""):
    """The columns to store; ``catalog`` is the link's form value (see ``catalog_links``): the
    organisation's own catalog item or category the entry is for, or "" for none."""
    fields = {name: (values.get(name) or "").strip() for name in ENTRY_FIELDS}
    reasons = []
    try:
        fields.update(catalog_links.resolve(org, catalog, current=current).fields())
    except Invalid as invalid:
        reasons += invalid.reasons
        linked = False
    else:
        linked = bool(fields["catalog_item_id"] or fields["catalog_category_id"])
    if not (fields["asset_type"] or fields["issue"] or fields["keywords"] or linked):
        reasons.append(("asset_type", _l("Say what the entry covers: a machine or asset type, "
                                         "an issue or keywords.")))
    if not (fields["contact_name"] or fields["department"] or fields["email"] or fields["phone"]
            or fields["help_url"] or inbox is not None):
        reasons.append(("contact_name", _l("Say where to turn: a person, a department, an "
                                           "address, a phone number, a help site or an inbox.")))
    if fields["help_url"] and not fields["help_url"].lower().startswith(("https://", "http://")):
        reasons.append(("help_url", _l("A help site address starts with https:// or http://.")))
    if inbox is not None and (inbox.organisation_id != getattr(org, "id", org)
                              or inbox.deleted_at is not None):
        reasons.append(("inbox", _l("Choose one of your organisation's inboxes.")))
    if reasons:
        raise Invalid(reasons)
    fields["inbox"] = inbox
    fields["search_text"] = search_text_of(fields)
    return fields


def create_entry(org, actor, *, values: dict, inbox=None, catalog="", now) -> RoutingEntry:
    fields = _entry_fields(org, values, inbox, catalog)
    with database.atomic():
        entry = RoutingEntry.create(organisation=org, created_at=now, updated_at=now, **fields)
        audit.record(actor, "handoff.routing_entry_created", organisation=org, subject=entry,
                     now=now, entry=str(entry))
    return entry


def update_entry(entry, actor, *, values: dict, inbox=None, catalog="", now) -> RoutingEntry:
    fields = _entry_fields(entry.organisation_id, values, inbox, catalog,
                           current=catalog_links.value_of(entry))
    with database.atomic():
        RoutingEntry.update(updated_at=now, **fields).where(RoutingEntry.id == entry.id).execute()
        audit.record(actor, "handoff.routing_entry_updated", organisation=entry.organisation_id,
                     subject=entry, now=now)
    return RoutingEntry.get_by_id(entry.id)


def archive_entry(entry, actor, *, now):
    with database.atomic():
        changed = (RoutingEntry.update(archived_at=now, updated_at=now)
                   .where((RoutingEntry.id == entry.id) & RoutingEntry.archived_at.is_null())
                   .execute())
        if not changed:
            raise Conflict(_l("That entry is already archived."))
        audit.record(actor, "handoff.routing_entry_archived", organisation=entry.organisation_id,
                     subject=entry, now=now, entry=str(entry))


# ---------------------------------------------------------------------------------------------
# Search


def search_text_of(fields) -> str:
    """What search matches against: the searched fields, case-folded (SQLite's LIKE and LOWER
    fold ASCII only, so folding is done here, the same way for entries and for typed words)."""
    return " ".join(fields.get(name) or "" for name in SEARCHED).casefold()


def search(org, text, *, limit=50):
    """Entries matching every word of ``text`` in what they cover or whom they name."""
    query = RoutingEntry.for_org(org)
    for term in (text or "").casefold().split()[:8]:
        query = query.where(RoutingEntry.search_text.contains(term))
    return query.limit(limit)


def suggested_for_case(case) -> list[catalog_links.Group]:
    """The entries for the case's catalog item ("Suggested for <item>"), then those for its
    category; empty when the case came in through no catalog item or nothing is linked to it."""
    item, category = catalog_links.case_catalog(case)
    if item is None:
        return []
    rows = RoutingEntry.for_org(case.organisation_id).where(
        (RoutingEntry.catalog_item_id == item.id)
        | ((RoutingEntry.catalog_category_id == category.id)
           & RoutingEntry.catalog_item_id.is_null()))
    return catalog_links.group(list(rows), item, category, general_label="", other_label="")


# ---------------------------------------------------------------------------------------------
# Use from a case


def route_case(entry, case, actor, *, now) -> RoutingUse:
    """Point the case at the entry's person or address: a "routed to" event on the timeline."""
    with database.atomic():
        use = RoutingUse.create(organisation=case.organisation_id, entry=entry, case=case,
                                member=actor, action="routed", created_at=now)
        audit.record(actor, "handoff.routed", organisation=case.organisation_id, case=case,
                     subject=entry, now=now, **_summary(entry))
    return use


def inbox_service():
    """The escalation inboxes' service module, or None where that area is not installed."""
    try:
        module = importlib.import_module("escalation.inboxes.service")
    except ModuleNotFoundError:
        return None
    return module if hasattr(module, "escalate") else None


def escalate_via_entry(entry, case, actor, *, reason, message=None, now) -> RoutingUse:
    """Escalate the case into the entry's inbox (the inboxes' own service does it and checks who
    may), and count the use, in one transaction."""
    service = inbox_service()
    if entry.inbox_id is None or service is None:
        raise Conflict(_l("This entry has no inbox to escalate into."))
    inbox = Inbox.get_or_none((Inbox.id == entry.inbox_id) & Inbox.deleted_at.is_null())
    if inbox is None:
        raise Conflict(_l("This entry's inbox no longer exists."))
    with database.atomic():
        service.escalate(case, inbox, actor, reason=reason, now=now, message=message)
        use = RoutingUse.create(organisation=case.organisation_id, entry=entry, case=case,
                                member=actor, action="escalated", outcome="escalated",
                                created_at=now, settled_at=now)
        audit.record(actor, "handoff.routed", organisation=case.organisation_id, case=case,
                     subject=entry, now=now, inbox=inbox.name, **_summary(entry))
    return use


def _summary(entry):
    return {"entry": str(entry), "who": entry.who, "email": entry.email, "phone": entry.phone,
            "help_url": entry.help_url}


# ---------------------------------------------------------------------------------------------
# Counting


def entry_stats(org) -> dict:
    """{entry id: {"uses": n, "solved": n, "escalated": n}} for the organisation's entries."""
    rows = (RoutingUse.select(RoutingUse.entry, RoutingUse.outcome,
                              fn.COUNT(RoutingUse.id).alias("n"))
            .where(RoutingUse.organisation == org)
            .group_by(RoutingUse.entry, RoutingUse.outcome).dicts())
    stats = {}
    for row in rows:
        entry = stats.setdefault(row["entry"], {"uses": 0, "solved": 0, "escalated": 0})
        entry["uses"] += row["n"]
        if row["outcome"] in ("solved", "escalated"):
            entry[row["outcome"]] += row["n"]
    return stats


def _settle(case_id, outcome, now):
    (RoutingUse.update(outcome=outcome, settled_at=now)
     .where((RoutingUse.case == case_id) & RoutingUse.outcome.is_null()).execute())


def _on_escalated(event):
    if event.case_id is not None:
        _settle(event.case_id, "escalated", event.created_at)


def _on_status(event):
    data = event.data
    status = data.get("status") or data.get("to") or data.get("new_status")
    if event.case_id is not None and (event.action in ("case.resolved", "case.closed")
                                      or status in SOLVED_STATUSES):
        _settle(event.case_id, "solved", event.created_at)


audit.subscribe("escalation.escalated", _on_escalated)
for _action in ("case.status_changed", "case.resolved", "case.closed"):
    audit.subscribe(_action, _on_status)
