"""`/incident impact`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.commands.times import echo, typed_time, typer_zone
from ircbot.domain.impact import record_impact
from ircbot.domain.messages import Outcome, Reply, Text
from ircbot.durations import format_duration
from ircbot.errors import UsageError

USAGE = "impact <system> <from|2h> <to|now>"
EXAMPLE = (
    "e.g. `/incident impact mail 3h now` or `impact mail 2026-03-29T01:30+01:00 now` "
    "(your Slack time zone unless a time carries an offset)"
)


@command("impact", USAGE, aliases=("downtime",))
def run(ctx: Context) -> Outcome:
    """Record downtime of an affected system for the metrics (`2h` ago, or times in your zone unless with an offset)."""
    if len(ctx.args) != 3:
        raise UsageError(
            f"Give the system, when its downtime began and when it ended ({len(ctx.args)} words given); {EXAMPLE}. "
            'Quote a time that has a space in it: `"2026-03-29 01:30"`.',
            USAGE,
        )
    system, start_text, end_text = ctx.args
    zone = typer_zone(ctx)
    started_at = typed_time(ctx, start_text, what="the downtime's start", usage=USAGE, zone=zone)
    ended_at = typed_time(ctx, end_text, what="the downtime's end", usage=USAGE, zone=zone)
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
    span = f"{echo(started_at, zone)} – {echo(ended_at, zone)}"
    text = (
        f":chart_with_downwards_trend: <@{ctx.user}> recorded downtime of *{recorded.system}*: {span} "
        f"({format_duration(ended_at - started_at)})."
    )
    return Reply(Text(text), visibility="in_channel")
