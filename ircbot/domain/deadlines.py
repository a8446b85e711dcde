"""When a regulatory report is due, and when to remind its owner: pure arithmetic on aware datetimes.

How each kind of window is counted (the regime's zone is its cut-off's zone, else `zone`, else UTC):

- seconds, minutes, hours: elapsed time. Hours run through nights, weekends and public holidays, and a
  change of clocks neither adds nor removes one (Regulation (EEC, Euratom) No 1182/71, Art. 3(3) and 3(4):
  only periods expressed otherwise than in hours are extended past a holiday).
- days and months: the same local time of day N calendar days or months later in the regime's zone, so a
  day is 23 or 25 hours across a change of clocks; a month from the 31st ends on the last day of a shorter
  month. This is never later than the reading that such a period runs to the end of its last day
  (1182/71 Art. 3(2)), and it does not extend a period that ends on a weekend or holiday (1182/71 Art. 3(4)):
  where the law is more generous the clock errs early, never late.
- business days: counted from the day after the start's local date, skipping Saturdays, Sundays and the
  public holidays of the regime's calendar; the last one ends at the regime's cut-off (for the SEC,
  17:30 America/New_York, 17 CFR 232.13(a)(2)).

A regime's `weekend_rule: next_working_day_noon` then moves a deadline that falls on a weekend or a holiday
of its calendar to 12:00 of the next working day (DORA, Delegated Regulation (EU) 2025/301, Art. 5(4)).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays
from dateutil.relativedelta import relativedelta

from ircbot.domain.regulations import Regime, ReportRule, zone_named

NOON = time(12, 0)
_ELAPSED = {"seconds", "minutes", "hours"}
_DATE_ONLY = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-/]*$")  # Europe/Berlin, UTC; never a time such as 08:00Z


def deadline(regime: Regime, report: ReportRule, start: datetime) -> datetime:
    """When `report` is due if its window opened at `start` (awareness, or the previous report's submission); UTC."""
    _require_aware(start, "start")
    window = report.within
    zone = regime.local_zone
    if window.unit in _ELAPSED:
        due = start.astimezone(UTC) + timedelta(**{window.unit: window.amount})
    elif window.unit == "days":
        due = start.astimezone(zone) + timedelta(days=window.amount)  # aware + timedelta: wall-clock arithmetic
    elif window.unit == "months":
        due = start.astimezone(zone) + relativedelta(months=window.amount)
    else:
        due = _business_days_later(regime, start, window.amount)
    if regime.weekend_rule == "next_working_day_noon":
        due = _next_working_day_noon(regime, due)
    # A local time that a change of clocks skips is read with the offset before the change: the hour after it.
    return due.astimezone(UTC)


def reminder_times(regime: Regime, start: datetime, due: datetime) -> list[datetime]:
    """The regime's remind points (fractions of the time from `start` to `due`), in UTC, ascending, before `due`."""
    _require_aware(start, "start")
    _require_aware(due, "due")
    span = due.astimezone(UTC) - start.astimezone(UTC)
    points = {start.astimezone(UTC) + span * fraction for fraction in regime.remind}
    return sorted(point for point in points if start < point < due)


def parse_time(text: str, default_zone: str, now: datetime) -> datetime:
    """A time as typed after `--aware`: `now`, ISO 8601 with or without an offset, or followed by a zone; UTC.

    Without an offset or zone the time is read in `default_zone`. Raises ValueError naming the accepted forms.
    """
    _require_aware(now, "now")
    typed = str(text).strip()
    forms = (
        f"write now, 2026-12-01T09:00 (read in {default_zone}), 2026-12-01 09:00+01:00, 2026-12-01T08:00Z "
        "or 2026-12-01 09:00 Europe/Berlin"
    )
    if typed.lower() == "now":
        return now.astimezone(UTC)
    stamp, zone_name = typed, None
    head, _, tail = typed.rpartition(" ")
    if head and _ZONE_NAME.match(tail):
        stamp, zone_name = head.strip(), tail
    if _DATE_ONLY.match(stamp):
        raise ValueError(f"{text!r} has no time of day; {forms}")
    try:
        parsed = datetime.fromisoformat(stamp)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a time; {forms}") from exc
    try:
        zone = zone_named(zone_name or default_zone)
    except ValueError as exc:
        raise ValueError(f"{exc}; {forms}") from exc
    if zone_name is not None and parsed.tzinfo is not None:
        raise ValueError(f"{text!r} gives both an offset and a zone; give one; {forms}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def is_working_day(regime: Regime, day: date) -> bool:
    """Monday to Friday, and not a public holiday of the regime's calendar (no calendar: every weekday works)."""
    return day.weekday() < 5 and (regime.calendar is None or day not in _holidays_in(regime.calendar, day.year))


def _business_days_later(regime: Regime, start: datetime, count: int) -> datetime:
    if regime.cutoff is None:  # the regime's validation makes a cut-off part of every business-day window
        raise ValueError(f"{regime.name}: business days need a cut-off")
    zone = zone_named(regime.cutoff.zone)
    day = start.astimezone(zone).date()
    while count:
        day += timedelta(days=1)
        count -= is_working_day(regime, day)
    return datetime.combine(day, regime.cutoff.at, tzinfo=zone)


def _next_working_day_noon(regime: Regime, due: datetime) -> datetime:
    zone = regime.local_zone
    day = due.astimezone(zone).date()
    if is_working_day(regime, day):
        return due
    day += timedelta(days=1)
    while not is_working_day(regime, day):
        day += timedelta(days=1)
    return datetime.combine(day, NOON, tzinfo=zone)


@lru_cache(maxsize=128)
def _holidays_in(calendar: str, year: int) -> frozenset[date]:
    """The public holidays of a calendar (`US`, `DE-BY`, `NYSE`) in one year."""
    if calendar in holidays.list_supported_financial():
        return frozenset(holidays.financial_holidays(calendar, years=year))
    country, _, subdivision = calendar.partition("-")
    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year))


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} {moment.isoformat()} has no time zone; give an aware datetime")
