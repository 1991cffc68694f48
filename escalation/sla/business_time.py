"""Business-time arithmetic: how much working time lies between two instants, and which instant
lies a given amount of working time after another.

An organisation's calendar is its weekly hours (local wall-clock times per weekday), its time
zone, the public holidays of a country (the ``holidays`` package; Sweden by default) and its own
closed days. Instants are naive UTC datetimes, as stored. Each local working interval is turned
into UTC separately for its own date, so daylight-saving changes are handled by ``zoneinfo``: a
working day that spans a change is one hour shorter or longer in real time, as it is on the wall.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holiday_data

UTC = timezone.utc
WEEKDAYS = range(7)  # Monday = 0
DEFAULT_HOURS = {day: (("08:00", "17:00"),) for day in range(5)}
DEFAULT_COUNTRY = "SE"
MAX_DAYS = 366 * 5  # a target never reaches further than this; guards calendars with no hours


class NoBusinessHours(ValueError):
    """The calendar has no working time at all (no weekly hours)."""


def parse_clock(text: str) -> time | None:
    """"08:30" -> time(8, 30); "24:00" -> None (the end of the day)."""
    hours, minutes = (int(part) for part in text.strip().split(":"))
    if (hours, minutes) == (24, 0):
        return None
    return time(hours, minutes)


def format_clock(value: time | None) -> str:
    return "24:00" if value is None else f"{value.hour:02d}:{value.minute:02d}"


@lru_cache(maxsize=256)
def public_holidays(country: str, year: int) -> frozenset[date]:
    if not country:
        return frozenset()
    return frozenset(holiday_data.country_holidays(country, years=year).keys())


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _to_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str = "Europe/Stockholm"
    # weekday -> ((start, end), ...) as "HH:MM" strings; end "24:00" is midnight at the day's end.
    hours: dict = field(default_factory=lambda: dict(DEFAULT_HOURS))
    country: str | None = DEFAULT_COUNTRY
    closed_days: frozenset = frozenset()

    def __post_init__(self):
        parsed = {}
        for day, spans in (self.hours or {}).items():
            day_spans = []
            for start, end in spans:
                begins, ends = parse_clock(start), parse_clock(end)
                if begins is None or (ends is not None and ends <= begins):
                    raise ValueError(f"bad working hours {start}-{end}")
                day_spans.append((begins, ends))
            if day_spans:
                parsed[int(day)] = tuple(sorted(day_spans))
        object.__setattr__(self, "_spans", parsed)

    # -- days ---------------------------------------------------------------------------------

    def is_closed_day(self, day: date) -> bool:
        return day in self.closed_days or day in public_holidays(self.country or "", day.year)

    def is_business_day(self, day: date) -> bool:
        return bool(self._spans.get(day.weekday())) and not self.is_closed_day(day)

    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working intervals of one local date, as naive UTC (start, end) pairs."""
        if not self.is_business_day(day):
            return []
        zone = _zone(self.timezone)
        found = []
        for begins, ends in self._spans[day.weekday()]:
            start = _to_utc(datetime.combine(day, begins, tzinfo=zone))
            end = _to_utc(datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
                          if ends is None else datetime.combine(day, ends, tzinfo=zone))
            if end > start:
                found.append((start, end))
        return found

    def local_date(self, instant: datetime) -> date:
        return instant.replace(tzinfo=UTC).astimezone(_zone(self.timezone)).date()

    def _intervals_from(self, start: datetime):
        """Working intervals that end after ``start`` (clipped to it), in order, without end."""
        if not self._spans:
            raise NoBusinessHours("the calendar has no working hours")
        day = self.local_date(start) - timedelta(days=1)
        for _ in range(MAX_DAYS):
            for begins, ends in self.intervals_on(day):
                if ends > start:
                    yield max(begins, start), ends
            day += timedelta(days=1)

    # -- arithmetic -----------------------------------------------------------------------------

    def seconds_between(self, start: datetime, end: datetime) -> int:
        """Working seconds in [start, end); 0 when end is not after start."""
        if end <= start or not self._spans:
            return 0
        total = 0
        for begins, ends in self._intervals_from(start):
            if begins >= end:
                break
            total += int((min(ends, end) - begins).total_seconds())
        return total

    def add(self, start: datetime, seconds: int) -> datetime:
        """The instant at which ``seconds`` of working time have passed since ``start``."""
        if seconds <= 0:
            return start
        remaining = seconds
        for begins, ends in self._intervals_from(start):
            length = int((ends - begins).total_seconds())
            if remaining <= length:
                return begins + timedelta(seconds=remaining)
            remaining -= length
        raise NoBusinessHours("no working time within reach")

    def is_open(self, instant: datetime) -> bool:
        day = self.local_date(instant)
        return any(begins <= instant < ends for begins, ends in self.intervals_on(day))

    def add_days(self, start: datetime, days: int) -> datetime:
        """The end of the ``days``-th business day after the local day of ``start`` (auto-close)."""
        day = self.local_date(start)
        counted = 0
        for _ in range(MAX_DAYS):
            day += timedelta(days=1)
            if self.is_business_day(day):
                counted += 1
                if counted >= days:
                    return self.intervals_on(day)[-1][1]
        raise NoBusinessHours("no business days within reach")

    @property
    def seconds_per_week(self) -> int:
        total = 0
        for spans in self._spans.values():
            for begins, ends in spans:
                end_minutes = 24 * 60 if ends is None else ends.hour * 60 + ends.minute
                total += (end_minutes - begins.hour * 60 - begins.minute) * 60
        return total
