"""The audit trail: ``record`` is called by services inside their own transaction.

Other areas can react to recorded events with ``subscribe`` (for example, handoff codes are revoked
when who holds a case changes). Subscribers run inside the same transaction as the event.
"""
import json
from collections import defaultdict
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


def record(actor, action, *, organisation, case=None, subject=None, now=None, **data):
    """Append one event. ``actor`` may be None for the system (sweeps, lapses)."""
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
    event = AuditEvent.create(**fields)
    for callback in _subscribers[action] + _subscribers["*"]:
        callback(event)
    return event


def subscribe(action, callback):
    """Call ``callback(event)`` after every recorded event with this action ("*": every event)."""
    if callback not in _subscribers[action]:
        _subscribers[action].append(callback)
