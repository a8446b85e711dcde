"""Times people type (`--started`, `--detected`, `contained`): an instant, or a duration ago, in their own zone."""

from __future__ import annotations

from datetime import UTC, datetime

from dateutil import tz

from ircbot.commands.base import Context
from ircbot.domain.date_token import slack_date
from ircbot.domain.deadlines import parse_time
from ircbot.domain.services import Services
from ircbot.durations import parse_duration
from ircbot.errors import GatewayError, UsageError


def typer_zone(ctx: Context) -> str:
    """The typer's Slack time zone, else the bot's (IRCBOT_TIMEZONE)."""
    return zone_of(ctx.svc, ctx.user)


def zone_of(svc: Services, user_id: str) -> str:
    """A person's Slack time zone, else the bot's (IRCBOT_TIMEZONE)."""
    try:
        return svc.chat.profile(user_id).tz or svc.timezone
    except GatewayError:
        return svc.timezone


def typed_time(ctx: Context, text: str, *, what: str, usage: str, zone: str | None = None) -> datetime:
    """`2h` (ago), `now`, or a date and time read in the typer's zone unless it carries an offset or zone (UTC)."""
    return read_time(ctx.svc, text, what=what, usage=usage, zone=zone or typer_zone(ctx))


def read_time(svc: Services, text: str, *, what: str, usage: str, zone: str) -> datetime:
    """`typed_time` for a known zone (a form's field, or before Slack is acknowledged)."""
    now = svc.clock()
    problem = (
        f"`{text}` is not a time for {what}; write e.g. `2h` (ago), `2026-11-29 04:10` (your Slack time "
        "zone), `2026-11-29 04:10+01:00` or `2026-11-29T03:10Z`."
    )
    try:
        when = now - parse_duration(text.removesuffix("ago").strip())
    except ValueError:
        try:
            when = parse_time(text, zone, now)
        except (ValueError, OverflowError):
            raise UsageError(problem, usage) from None
    except OverflowError:
        raise UsageError(problem, usage) from None
    if when.year < 1970:  # a typo, and not storable as a UTC timestamp on every database
        raise UsageError(problem, usage)
    if when > now:
        raise UsageError(f"The time given for {what} ({echo(when, zone)}) is in the future.", usage)
    return when.astimezone(UTC)


def echo(when: datetime, zone: str) -> str:
    """How a typed time was read, as a date token: each reader sees the moment in their own zone.

    The typer's Slack zone is the one a typed time is read in, so they see the wall time they typed back; others
    in the channel see it in theirs. The fallback is in the zone it was read in: `2026-11-29 04:10 CET`.
    """
    return slack_date(when, f"{when.astimezone(tz.gettz(zone) or tz.UTC):%Y-%m-%d %H:%M %Z}")
