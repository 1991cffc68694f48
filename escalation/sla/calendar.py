"""An organisation's business calendar, loaded from its settings (two small queries)."""
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
