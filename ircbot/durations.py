"""Durations written the way people write them in config and commands: 30s, 5m, 1h30m, 90d."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)([dhms])")
_WHOLE = re.compile(r"^(?:\d+[dhms])+$")
_UNIT = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> timedelta:
    """Parse `5m`, `1h30m`, `0s`, `90d`; raise ValueError naming the accepted form."""
    cleaned = str(text).strip().lower().replace(" ", "")
    if not _WHOLE.match(cleaned):
        raise ValueError(f"{text!r} is not a duration; write e.g. 30s, 5m, 1h or 1h30m")
    total = timedelta()
    try:
        for amount, unit in _PART.findall(cleaned):
            total += timedelta(**{_UNIT[unit]: int(amount)})
    except OverflowError as exc:
        raise ValueError(f"{text!r} is too long a duration") from exc
    return total


def format_duration(delta: timedelta | None) -> str:
    """Short human form: `2h 05m`, `4m 10s`, `12s`; `—` when unknown."""
    if delta is None:
        return "—"
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h {minutes:02d}m"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"
