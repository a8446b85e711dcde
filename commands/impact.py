"""`/incident impact`."""

from __future__ import annotations

from datetime import UTC, datetime

from dateutil import parser as dateparser

from ircbot.commands.base import Context, command
from ircbot.domain.impact import record_impact
from ircbot.domain.messages import Outcome, Reply, Text
from ircbot.durations import format_duration
from ircbot.errors import UsageError

USAGE = "impact <system> <from> <to|now>"
EXAMPLE = "e.g. `/incident impact mail 2026-03-29T01:30+01:00 now` (UTC unless a time carries an offset)"


@command("impact", USAGE, aliases=("downtime",))
def run(ctx: Context) -> Outcome:
    """Record downtime of an affected system for the metrics (times in UTC unless given an offset)."""
    if len(ctx.args) != 3:
        raise UsageError(
            f"Give the system, when its downtime began and when it ended ({len(ctx.args)} words given); {EXAMPLE}. "
            'Quote a time that has a space in it: `"2026-03-29 01:30"`.',
            USAGE,
        )
    system, start_text, end_text = ctx.args
    now = ctx.svc.clock()
    started_at, ended_at = _when(start_text, now, "from"), _when(end_text, now, "to")
    if ended_at <= started_at:
        raise UsageError(f"`{end_text}` is not after `{start_text}`: the downtime must end after it began.", USAGE)
    recorded = record_impact(
        ctx.svc,
        incident_id=ctx.require_incident(),
        system=system,
        started_at=started_at,
        ended_at=ended_at,
        actor=ctx.user,
    )
    span = f"{started_at:%Y-%m-%d %H:%M} – {ended_at:%Y-%m-%d %H:%M} UTC"
    text = (
        f":chart_with_downwards_trend: <@{ctx.user}> recorded downtime of *{recorded.system}*: {span} "
        f"({format_duration(ended_at - started_at)})."
    )
    return Reply(Text(text), visibility="in_channel")


def _when(token: str, now: datetime, which: str) -> datetime:
    """A time as typed: `now`, an ISO date-time, or a time of day today; UTC unless it has an offset."""
    if token.lower() == "now":
        return now
    # dateutil reads a bare number as a day of the month; insist on something that looks like a date or time.
    if not any(c in token for c in ":-T") or not any(c.isdigit() for c in token):
        raise UsageError(f"`{token}` is not a time; {EXAMPLE}.", USAGE)
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    try:
        parsed = dateparser.parse(token, default=midnight)
        moment = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise UsageError(f"`{token}` is not a time; {EXAMPLE}.", USAGE) from exc
    if moment > now:
        hint = " Use `now` for downtime that is still going on." if which == "to" else ""
        raise UsageError(f"`{token}` ({moment:%Y-%m-%d %H:%M} UTC) is in the future.{hint}", USAGE)
    return moment
