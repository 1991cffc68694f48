"""Business-time arithmetic: weekends, Swedish holidays, the organisation's own days, DST."""
from datetime import date, datetime, timedelta

import pytest

from escalation.sla.business_time import BusinessCalendar, NoBusinessHours

HOUR = 3600
ALWAYS = {day: (("00:00", "24:00"),) for day in range(7)}


@pytest.fixture
def office():
    """Mon-Fri 08:00-17:00 in Stockholm, Swedish public holidays."""
    return BusinessCalendar()


def utc(*parts):
    return datetime(*parts)


def test_within_one_day(office):
    # Monday 2 Nov 2026, 09:30 UTC = 10:30 in Stockholm (CET, UTC+1)
    assert office.seconds_between(utc(2026, 11, 2, 9, 30), utc(2026, 11, 2, 11, 0)) == 90 * 60


def test_outside_hours_counts_nothing(office):
    # 17:00-08:00 local is 16:00-07:00 UTC in winter
    assert office.seconds_between(utc(2026, 11, 2, 16, 0), utc(2026, 11, 3, 7, 0)) == 0
    assert not office.is_open(utc(2026, 11, 2, 16, 0))
    assert office.is_open(utc(2026, 11, 2, 15, 59))


def test_across_a_weekend(office):
    # Friday 6 Nov 16:00 local (15:00 UTC) to Monday 9 Nov 09:00 local (08:00 UTC): 1 h + 1 h
    assert office.seconds_between(utc(2026, 11, 6, 15, 0), utc(2026, 11, 9, 8, 0)) == 2 * HOUR


def test_a_whole_week_is_45_hours(office):
    assert office.seconds_between(utc(2026, 11, 2), utc(2026, 11, 9)) == 45 * HOUR
    assert office.seconds_per_week == 45 * HOUR


def test_swedish_easter_holidays(office):
    # Maundy Thursday 2 Apr 2026 16:00 CEST (14:00 UTC) to Tuesday 7 Apr 09:00 CEST (07:00 UTC):
    # Good Friday and Easter Monday are holidays: 1 h + 1 h.
    assert office.seconds_between(utc(2026, 4, 2, 14, 0), utc(2026, 4, 7, 7, 0)) == 2 * HOUR
    assert not office.is_business_day(date(2026, 4, 3))
    assert not office.is_business_day(date(2026, 4, 6))


def test_swedish_national_day_and_christmas(office):
    assert not office.is_business_day(date(2026, 12, 25))
    assert office.is_business_day(date(2026, 12, 24))  # not a public holiday
    # Wed 6 June 2029 is National Day
    assert not office.is_business_day(date(2029, 6, 6))


def test_organisation_closed_days(office):
    midsummer_eve = date(2026, 6, 19)
    assert office.is_business_day(midsummer_eve)
    closed = BusinessCalendar(closed_days=frozenset({midsummer_eve}))
    assert not closed.is_business_day(midsummer_eve)
    # Thu 18 June 16:00 CEST to Mon 22 June 09:00 CEST: Friday is closed, the weekend too.
    assert closed.seconds_between(utc(2026, 6, 18, 14, 0), utc(2026, 6, 22, 7, 0)) == 2 * HOUR


def test_no_country_holidays():
    calendar = BusinessCalendar(country=None)
    assert calendar.is_business_day(date(2026, 4, 3))


def test_dst_spring_forward_keeps_local_hours(office):
    # Sunday 29 March 2026 the clocks go forward: Monday 08:00 local is 06:00 UTC (CEST).
    assert office.intervals_on(date(2026, 3, 30)) == [(utc(2026, 3, 30, 6), utc(2026, 3, 30, 15))]
    assert office.intervals_on(date(2026, 3, 27)) == [(utc(2026, 3, 27, 7), utc(2026, 3, 27, 16))]
    # Friday 16:00 CET to Monday 09:00 CEST: 2 hours of business time.
    assert office.seconds_between(utc(2026, 3, 27, 15), utc(2026, 3, 30, 7)) == 2 * HOUR


def test_dst_days_are_23_and_25_hours_long():
    always = BusinessCalendar(hours=ALWAYS, country=None)
    spring = always.intervals_on(date(2026, 3, 29))
    autumn = always.intervals_on(date(2026, 10, 25))
    assert sum((end - start for start, end in spring), timedelta()) == timedelta(hours=23)
    assert sum((end - start for start, end in autumn), timedelta()) == timedelta(hours=25)
    # Around the clock, business time is real time, across both changes.
    assert always.seconds_between(utc(2026, 3, 28, 12), utc(2026, 3, 30, 12)) == 48 * HOUR
    assert always.seconds_between(utc(2026, 10, 24, 12), utc(2026, 10, 26, 12)) == 48 * HOUR


def test_working_hours_inside_the_dst_gap():
    # Sunday hours 01:00-04:00 local on 29 March: 02:00-03:00 does not exist, so 2 real hours.
    night = BusinessCalendar(hours={6: (("01:00", "04:00"),)}, country=None)
    assert night.seconds_between(utc(2026, 3, 28), utc(2026, 3, 30)) == 2 * HOUR
    # ... and 4 real hours on 25 October (02:00-03:00 happens twice).
    assert night.seconds_between(utc(2026, 10, 24), utc(2026, 10, 26)) == 4 * HOUR


def test_add_within_a_day(office):
    assert office.add(utc(2026, 11, 2, 9, 30), 2 * HOUR) == utc(2026, 11, 2, 11, 30)


def test_add_lands_on_the_end_of_the_day_not_the_next_morning(office):
    # Monday 15:00 UTC = 16:00 local; one hour left of the day
    assert office.add(utc(2026, 11, 2, 15), HOUR) == utc(2026, 11, 2, 16)
    assert office.add(utc(2026, 11, 2, 15), HOUR + 1) == utc(2026, 11, 3, 7, 0, 1)


def test_add_over_the_weekend_and_from_outside_hours(office):
    # Friday 16:30 local + 1 h = Monday 08:30 local (07:30 UTC)
    assert office.add(utc(2026, 11, 6, 15, 30), HOUR) == utc(2026, 11, 9, 7, 30)
    # From Saturday: the clock starts on Monday morning
    assert office.add(utc(2026, 11, 7, 12), 30 * 60) == utc(2026, 11, 9, 7, 30)


def test_add_over_easter_and_dst(office):
    # Thursday 2 April 2026 16:00 CEST + 2 h = Tuesday 7 April 09:00 CEST
    assert office.add(utc(2026, 4, 2, 14), 2 * HOUR) == utc(2026, 4, 7, 7)
    # Friday 27 March 16:00 CET + 2 h = Monday 30 March 09:00 CEST (07:00 UTC)
    assert office.add(utc(2026, 3, 27, 15), 2 * HOUR) == utc(2026, 3, 30, 7)


@pytest.mark.parametrize("start", [utc(2026, 3, 26, 10, 17), utc(2026, 10, 23, 18, 5),
                                   utc(2026, 12, 23, 6), utc(2026, 4, 1, 15, 59, 59)])
@pytest.mark.parametrize("seconds", [1, 59, HOUR, 9 * HOUR, 9 * HOUR + 1, 50 * HOUR, 200 * HOUR])
def test_add_and_seconds_between_agree(office, start, seconds):
    due = office.add(start, seconds)
    assert office.seconds_between(start, due) == seconds
    assert office.seconds_between(start, due - timedelta(seconds=1)) == seconds - 1


def test_zero_and_negative(office):
    start = utc(2026, 11, 2, 9)
    assert office.add(start, 0) == start
    assert office.seconds_between(start, start - timedelta(hours=1)) == 0


def test_add_days_for_auto_close(office):
    # Resolved Thursday 2 April 2026: Good Friday and Easter Monday do not count, so the second
    # business day is Wednesday 8 April; it ends at 17:00 CEST.
    assert office.add_days(utc(2026, 4, 2, 10), 1) == utc(2026, 4, 7, 15)
    assert office.add_days(utc(2026, 4, 2, 10), 2) == utc(2026, 4, 8, 15)


def test_a_calendar_without_hours_refuses_to_add():
    closed = BusinessCalendar(hours={})
    assert closed.seconds_between(utc(2026, 11, 2), utc(2026, 11, 9)) == 0
    with pytest.raises(NoBusinessHours):
        closed.add(utc(2026, 11, 2), 60)


def test_bad_hours_are_refused():
    with pytest.raises(ValueError):
        BusinessCalendar(hours={0: (("17:00", "08:00"),)})


def test_split_days_and_other_time_zones():
    # Lunch closed 12-13, in Helsinki (UTC+2 in winter)
    split = BusinessCalendar(timezone="Europe/Helsinki", country="FI",
                             hours={0: (("08:00", "12:00"), ("13:00", "16:00"))})
    assert split.seconds_between(utc(2026, 11, 2), utc(2026, 11, 3)) == 7 * HOUR
    assert split.add(utc(2026, 11, 2, 9, 30), HOUR) == utc(2026, 11, 2, 11, 30)
