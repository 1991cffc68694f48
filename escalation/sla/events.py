"""The SLA area listens to the audit trail: every event on a case reconciles its clocks and sends
the notifications that follow from what changed. It runs inside the event's own transaction, in a
savepoint, so a failure here is logged and never undoes the work of the area that recorded it."""
import logging
from datetime import timedelta

from peewee import JOIN

from ..audit import subscribe
from ..db import database, is_postgres
from ..models import Case, Inbox, InboxOwner, Member
from .calendar import forget_request_calendars, request_calendars, settings_for
from .clocks import reconcile, reconcile_many
from .models import CaseTrack
from .notifications import notify_contact, notify_member, requesters_of

log = logging.getLogger("escalation.sla.events")

# Tests turn this on so that a bug here fails loudly instead of being logged.
STRICT = False
LAPSE_WARNING = timedelta(minutes=10)
# Events that resolve a case (with the resolution note in their data).
RESOLVING = ("case.resolved", "escalation.resolved")


def on_event(event):
    on_events([event])


def on_events(events):
    """Reconcile the clocks of the cases these events (recorded together, at one time) touched,
    each case once, and send what follows from it."""
    events = [event for event in events if event.case_id is not None]
    if not events:
        return
    first = events[0]
    try:
        with database.atomic():
            seen = reconcile_many([event.case_id for event in events], first.created_at,
                                  calendars=request_calendars())
            for observed in seen.values():
                inform(observed, first.actor_id, first.created_at)
            for event in events:
                if event.action in RESOLVING:
                    from .resolution import fill_note
                    fill_note(event)
    except Exception:  # noqa: BLE001 - never break the recording area's transaction
        if STRICT:
            raise
        log.exception("SLA bookkeeping failed for events %s (%s)",
                      [event.id for event in events], first.action)


def inform(seen, actor_id, now):
    """Notifications that follow from what reconcile saw."""
    case = seen.case
    if seen.escalated is not None:
        _new_escalation(case, seen, actor_id, now)
    if seen.replied_at is not None:
        settings = settings_for(case.organisation_id)
        for contact in requesters_of(case, settings):
            notify_contact(contact, "replied", now=now, case=case, reply_at=seen.replied_at,
                           dedupe=f"reply:{case.id}:{seen.replied_at.isoformat()}")
    if seen.resolved:
        from .resolution import on_resolved
        on_resolved(case, actor_id, now)


def _new_escalation(case, seen, actor_id, now):
    escalation = seen.escalated
    inbox = Inbox.get_by_id(escalation.inbox_id)
    owners = (Member.select().join(InboxOwner, on=(InboxOwner.member == Member.id))
              .where((InboxOwner.inbox == inbox.id) & (Member.id != (actor_id or 0))))
    for owner in owners:
        notify_member(owner, "new_escalation", now=now, case=case, inbox=inbox.name,
                      dedupe=f"escalation:{escalation.id}")
    if seen.previous_tier is not None and inbox.tier != seen.previous_tier:
        settings = settings_for(case.organisation_id)
        for contact in requesters_of(case, settings):
            notify_contact(contact, "escalated_tier", now=now, case=case, tier=inbox.tier,
                           dedupe=f"escalation:{escalation.id}")


def register():
    subscribe("*", on_event, many=on_events)
    for action in CALENDAR_CHANGES:
        subscribe(action, forget_request_calendars)


# Events after which a calendar loaded earlier in the request is out of date.
CALENDAR_CHANGES = ("sla.settings_saved", "sla.closed_day_added", "sla.closed_day_removed",
                    "organisation.updated")


# ---------------------------------------------------------------------------------------------
# Sweep helpers


def _lock_case(case_id):
    query = Case.select(Case.id).where(Case.id == case_id)
    if is_postgres():
        query = query.for_update()
    return query.first()


def catch_up(now, cals, *, limit=500) -> int:
    """Reconcile cases changed without an event reaching us (or never seen while open)."""
    stale = (Case.select(Case.id, Case.organisation)
             .join(CaseTrack, JOIN.LEFT_OUTER, on=(CaseTrack.case == Case.id))
             .where((CaseTrack.id.is_null() & Case.is_open_expr())
                    | (CaseTrack.case_version != Case.version))
             .order_by(Case.id).limit(limit))
    done = 0
    for row in list(stale):
        with database.atomic():
            if _lock_case(row.id) is None:
                continue
            seen = reconcile(row.id, now, cal=cals[row.organisation_id])
            if seen is not None:
                inform(seen, None, now)
            done += 1
    return done


def warn_lapsing_claims(now) -> int:
    """Tell claimants whose claim lapses within ten minutes (or a fifth of the assignment time,
    if shorter). Once per claim: the dedupe key holds the claim's expiry."""
    soon = now + LAPSE_WARNING
    rows = (Case.select(Case, Inbox.assignment_minutes).join(Inbox)
            .where(Case.claim_live_expr(now) & Case.is_open_expr()
                   & (Case.claim_expires_at <= soon)))
    made = 0
    for case in rows:
        window = min(LAPSE_WARNING, timedelta(minutes=case.inbox.assignment_minutes / 5))
        if case.claim_expires_at - now > window:
            continue
        holder = Member.get_or_none(Member.id == case.claimed_by_id)
        with database.atomic():
            made += notify_member(holder, "claim_lapsing", now=now, case=case,
                                  expires_at=case.claim_expires_at,
                                  dedupe=f"lapse:{case.id}:{case.claim_expires_at.isoformat()}") \
                is not None
    return made
