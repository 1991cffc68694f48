"""An organisation's business calendar, loaded from its settings (three small queries)."""
from flask import g, has_request_context

from ..models import Organisation
from .business_time import BusinessCalendar
from .models import ClosedDay, SlaSettings


def settings_for(org_id) -> SlaSettings:
    """The organisation's SLA settings; an unsaved row with the defaults if it has none yet."""
    found = SlaSettings.get_or_none(SlaSettings.organisation == org_id)
    return found or SlaSettings(organisation=org_id)


def calendar_for(org_id, *, settings: SlaSettings | None = None) -> BusinessCalendar:
    settings = settings or settings_for(org_id)
    zone = (Organisation.select(Organisation.timezone).where(Organisation.id == org_id)
            .scalar()) or "Europe/Stockholm"
    closed = frozenset(row.day for row in
                       ClosedDay.select(ClosedDay.day).where(ClosedDay.organisation == org_id))
    return BusinessCalendar(timezone=zone, hours=settings.hours,
                            country=settings.holiday_country or None, closed_days=closed)


class Calendars(dict):
    """Calendars by organisation id, loaded once each (for a sweep or a list page)."""

    def __missing__(self, org_id):
        self[org_id] = calendar_for(org_id)
        return self[org_id]


def request_calendars() -> Calendars:
    """The calendars of this request, each loaded once: a request that records several events (a
    claim of a batch) reconciles each case's clocks with the same calendar. Saving the settings
    or a closed day forgets them (``forget_request_calendars``). Outside a request: a fresh set."""
    if not has_request_context():
        return Calendars()
    return g.setdefault("_sla_calendars", Calendars())


def forget_request_calendars(event=None):
    if has_request_context():
        g.pop("_sla_calendars", None)
