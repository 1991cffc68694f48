"""The audit trail: ``record`` is called by services inside their own transaction.

Other areas can react to recorded events with ``subscribe`` (for example, handoff codes are revoked
when who holds a case changes). Subscribers run inside the same transaction as the event.
"""
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable
from datetime import date, datetime

from .models import AuditEvent

_subscribers = defaultdict(list)

# Actions that change who holds a case. Areas that add such actions extend this set.
HOLDER_CHANGES = {"case.assigned", "case.reassigned", "case.unassigned", "case.resolved",
                  "case.closed", "escalation.escalated", "escalation.claimed",
                  "escalation.released", "escalation.moved", "escalation.de_escalated",
                  "escalation.resolved", "escalation.claim_lapsed", "handoff.redeemed"}


def _default(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "id"):
        return value.id
    return str(value)


def _fields(actor, action, organisation, case, subject, now, data):
    fields = dict(
        organisation=organisation,
        case=case,
        actor=actor,
        action=action,
        subject_type=type(subject).__name__.lower() if subject is not None else "",
        subject_id=getattr(subject, "id", None),
        data_json=json.dumps(data, default=_default, ensure_ascii=False, sort_keys=True),
    )
    if now is not None:
        fields["created_at"] = now
    return fields


def record(actor, action, *, organisation, case=None, subject=None, now=None, **data):
    """Append one event. ``actor`` may be None for the system (sweeps, lapses)."""
    event = AuditEvent.create(**_fields(actor, action, organisation, case, subject, now, data))
    _dispatch(action, [event])
    return event


def record_many(actor, action, entries, *, organisation, now):
    """Append one event per entry, each ``dict(case=..., subject=..., **data)``, in one INSERT,
    and let subscribers that take a batch handle them at once (a claim of five cases reconciles
    five cases' clocks in a few queries rather than a few dozen). Returns the events in order."""
    if not entries:
        return []
    rows = []
    for entry in entries:
        entry = dict(entry)
        case, subject = entry.pop("case", None), entry.pop("subject", None)
        rows.append(_fields(actor, action, organisation, case, subject, now, entry))
    ids = [row[0] for row in
           AuditEvent.insert_many(rows).returning(AuditEvent.id).tuples().execute()]
    events = []
    for ident, row in zip(ids, rows):
        values = {key: getattr(value, "id", value) for key, value in row.items()}
        event = AuditEvent(id=ident, **{f"{key}_id" if key in ("organisation", "case", "actor")
                                        else key: value for key, value in values.items()})
        events.append(event)
    _dispatch(action, events)
    return events


def _dispatch(action, events):
    for subscriber in _subscribers[action] + _subscribers["*"]:
        if subscriber.many is not None:
            subscriber.many(events)
        else:
            for event in events:
                subscriber.callback(event)


@dataclass(frozen=True)
class Subscriber:
    callback: Callable
    many: Callable | None = None


def subscribe(action, callback, *, many=None):
    """Call ``callback(event)`` after every recorded event with this action ("*": every event).
    With ``many``, events recorded together (``record_many``) go to ``many(events)`` at once."""
    subscriber = Subscriber(callback, many)
    if subscriber not in _subscribers[action]:
        _subscribers[action].append(subscriber)
