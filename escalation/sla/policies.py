"""Configuring SLAs (owners and admins): business hours and closed days, policies per priority,
tier targets per inbox and the breach ladders. Each function is one transaction with its event."""
import json
from datetime import date

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError, fn

from .. import audit
from ..db import database
from ..errors import Invalid, NotFound
from ..models import PRIORITIES, Inbox
from .business_time import BusinessCalendar
from .clocks import apply_policy, apply_tier_target
from .models import (CLOCK_KINDS, STEP_ACTIONS, ClosedDay, LadderStep, SlaPolicy, SlaSettings,
                     TierTarget)

MAX_MINUTES = 365 * 24 * 60


def _minutes(value, field, *, required=False):
    if value in (None, ""):
        if required:
            raise Invalid([(field, _l("Give a number of minutes."))])
        return None
    if not isinstance(value, int) or not 1 <= value <= MAX_MINUTES:
        raise Invalid([(field, _l("Give a whole number of minutes from 1 to %(max)d.",
                                  max=MAX_MINUTES))])
    return value


# ---------------------------------------------------------------------------------------------
# Business hours and settings


def save_settings(org, actor, *, hours, holiday_country, auto_close_days, confirm_link_days,
                  notify_requested_for, now) -> SlaSettings:
    """``hours``: {weekday: [("08:00", "17:00"), ...]}."""
    try:
        calendar = BusinessCalendar(hours=hours, country=holiday_country or None)
        if holiday_country:
            calendar.is_closed_day(date(now.year, 1, 1))
    except (ValueError, NotImplementedError, KeyError):
        raise Invalid([(None, _l("Those business hours or that country are not valid."))]) \
            from None
    if not calendar.seconds_per_week:
        raise Invalid([(None, _l("Give at least one day with business hours."))])
    if not 0 <= auto_close_days <= 60:
        raise Invalid([("auto_close_days", _l("Give a number of days from 0 to 60."))])
    if not 1 <= confirm_link_days <= 90:
        raise Invalid([("confirm_link_days", _l("Give a number of days from 1 to 90."))])
    fields = dict(hours_json=json.dumps({str(day): [list(span) for span in spans]
                                         for day, spans in sorted(hours.items()) if spans}),
                  holiday_country=holiday_country or None, auto_close_days=auto_close_days,
                  confirm_link_days=confirm_link_days,
                  notify_requested_for=bool(notify_requested_for), updated_at=now)
    with database.atomic():
        updated = SlaSettings.update(**fields).where(SlaSettings.organisation == org.id).execute()
        if not updated:
            SlaSettings.create(organisation=org.id, **fields)
        audit.record(actor, "sla.settings_saved", organisation=org.id, now=now,
                     holiday_country=holiday_country, auto_close_days=auto_close_days)
    return SlaSettings.get(SlaSettings.organisation == org.id)


def add_closed_day(org, actor, *, day, name, now) -> ClosedDay:
    name = (name or "").strip()[:200]
    try:
        with database.atomic():
            closed = ClosedDay.create(organisation=org.id, day=day, name=name)
            audit.record(actor, "sla.closed_day_added", organisation=org.id, subject=closed,
                         now=now, day=day, name=name)
    except IntegrityError:
        raise Invalid([("day", _l("That day is already closed."))]) from None
    return closed


def remove_closed_day(org, actor, closed_day_id, *, now):
    with database.atomic():
        row = ClosedDay.get_or_none((ClosedDay.id == closed_day_id)
                                    & (ClosedDay.organisation == org.id))
        if row is None:
            raise NotFound()
        row.delete_instance()
        audit.record(actor, "sla.closed_day_removed", organisation=org.id, now=now, day=row.day)


# ---------------------------------------------------------------------------------------------
# Policies


def save_policy(org, actor, *, priority, first_response, next_response, resolution, active,
                now) -> SlaPolicy:
    if priority not in PRIORITIES:
        raise Invalid([("priority", _l("Choose a priority from the list."))])
    targets = dict(first_response_minutes=_minutes(first_response, "first_response"),
                   next_response_minutes=_minutes(next_response, "next_response"),
                   resolution_minutes=_minutes(resolution, "resolution"))
    with database.atomic():
        policy = SlaPolicy.get_or_none((SlaPolicy.organisation == org.id)
                                       & (SlaPolicy.priority == priority))
        if policy is None:
            policy = SlaPolicy.create(organisation=org.id, priority=priority, active=bool(active),
                                      updated_at=now, **targets)
        else:
            SlaPolicy.update(active=bool(active), updated_at=now, **targets).where(
                SlaPolicy.id == policy.id).execute()
            policy = SlaPolicy.get_by_id(policy.id)
        _adopt_unpoliced_clocks(org, policy)
        apply_policy(policy, now)
        audit.record(actor, "sla.policy_saved", organisation=org.id, subject=policy, now=now,
                     priority=priority, active=bool(active), **targets)
    return policy


def _adopt_unpoliced_clocks(org, policy):
    """Open clocks of cases of this priority that had no policy when they started get it now."""
    from ..models import Case
    from .models import POLICY_CLOCK_KINDS, Clock
    cases = Case.select(Case.id).where((Case.organisation == org.id)
                                       & (Case.priority == policy.priority))
    (Clock.update(policy=policy.id)
     .where((Clock.organisation == org.id) & Clock.policy.is_null()
            & Clock.kind.in_(POLICY_CLOCK_KINDS) & Clock.stopped_at.is_null()
            & Clock.case.in_(cases)).execute())


def set_policy_active(policy, actor, *, active, now) -> SlaPolicy:
    """Deactivating stops its ladders and clears the warning state of its clocks."""
    with database.atomic():
        SlaPolicy.update(active=bool(active), updated_at=now).where(
            SlaPolicy.id == policy.id).execute()
        policy = SlaPolicy.get_by_id(policy.id)
        apply_policy(policy, now)
        audit.record(actor, "sla.policy_activated" if active else "sla.policy_deactivated",
                     organisation=policy.organisation_id, subject=policy, now=now,
                     priority=policy.priority)
    return policy


def policies_of(org):
    return {p.priority: p for p in SlaPolicy.select().where(SlaPolicy.organisation == org.id)}


# ---------------------------------------------------------------------------------------------
# Tier targets


def save_tier_target(inbox, actor, *, minutes, now):
    minutes = _minutes(minutes, "target_minutes")
    with database.atomic():
        if minutes is None:
            TierTarget.delete().where(TierTarget.inbox == inbox.id).execute()
        elif not TierTarget.update(target_minutes=minutes, updated_at=now).where(
                TierTarget.inbox == inbox.id).execute():
            TierTarget.create(organisation=inbox.organisation_id, inbox=inbox.id,
                              target_minutes=minutes, updated_at=now)
        apply_tier_target(inbox.id, minutes, now)
        audit.record(actor, "sla.tier_target_saved", organisation=inbox.organisation_id,
                     subject=inbox, now=now, minutes=minutes)


def tier_targets_of(org):
    return {t.inbox_id: t.target_minutes
            for t in TierTarget.select().where(TierTarget.organisation == org.id)}


# ---------------------------------------------------------------------------------------------
# Ladders


def add_step(org, actor, *, policy=None, inbox=None, clock_kind, trigger, percent, offset_minutes,
             action, now) -> LadderStep:
    problems = []
    if (policy is None) == (inbox is None):
        problems.append((None, _l("A step belongs to a policy or to an inbox.")))
    if inbox is not None:
        clock_kind = "tier"
    elif clock_kind not in CLOCK_KINDS or clock_kind == "tier":
        problems.append(("clock_kind", _l("Choose a clock from the list.")))
    if action not in STEP_ACTIONS:
        problems.append(("action", _l("Choose an action from the list.")))
    if trigger == "percent":
        if percent is None or not 1 <= percent <= 100:
            problems.append(("percent", _l("Give a percentage from 1 to 100.")))
        offset_minutes = None
    elif trigger == "after_breach":
        if offset_minutes is None or not 0 <= offset_minutes <= MAX_MINUTES:
            problems.append(("offset_minutes", _l("Give the minutes after the breach (0 or more).")))
        percent = None
    else:
        problems.append(("trigger", _l("Choose when the step runs.")))
    if problems:
        raise Invalid(problems)
    owner = dict(policy=policy.id) if policy is not None else dict(inbox=inbox.id)
    with database.atomic():
        mine = (LadderStep.policy == policy.id) if policy is not None \
            else (LadderStep.inbox == inbox.id)
        last = LadderStep.select(fn.MAX(LadderStep.position)).where(mine).scalar()
        step = LadderStep.create(organisation=org.id, clock_kind=clock_kind, trigger=trigger,
                                 percent=percent, offset_minutes=offset_minutes, action=action,
                                 position=(last or 0) + 1, created_at=now, **owner)
        _reschedule(step, now)
        audit.record(actor, "sla.step_added", organisation=org.id, subject=step, now=now,
                     clock=clock_kind, trigger=trigger, percent=percent, offset=offset_minutes,
                     step_action=action, policy=owner.get("policy"), inbox=owner.get("inbox"))
    return step


def remove_step(org, actor, step_id, *, now):
    with database.atomic():
        step = LadderStep.get_or_none((LadderStep.id == step_id)
                                      & (LadderStep.organisation == org.id))
        if step is None:
            raise NotFound()
        step.delete_instance()
        _reschedule(step, now)
        audit.record(actor, "sla.step_removed", organisation=org.id, now=now, step=step_id,
                     step_action=step.action)


def _reschedule(step, now):
    """Open clocks the step applies to get their next check recomputed."""
    from .calendar import Calendars
    from .clocks import schedule
    from .models import Clock
    query = Clock.select().where(Clock.stopped_at.is_null() & (Clock.kind == step.clock_kind))
    query = query.where(Clock.policy == step.policy_id) if step.policy_id \
        else query.where(Clock.inbox == step.inbox_id)
    cals = Calendars()
    for clock in query:
        schedule(clock, cals[clock.organisation_id], now)
        clock.save()


def step_owner_or_404(org, *, policy_id=None, inbox_id=None):
    if policy_id is not None:
        found = SlaPolicy.get_or_none((SlaPolicy.id == policy_id) & (SlaPolicy.organisation == org.id))
    else:
        found = Inbox.get_or_none((Inbox.id == inbox_id) & (Inbox.organisation == org.id)
                                  & Inbox.deleted_at.is_null())
    if found is None:
        raise NotFound()
    return found
