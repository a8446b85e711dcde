"""`/incident started TIME`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.commands.times import echo, typed_time, typer_zone
from ircbot.domain.incidents import mark_started
from ircbot.domain.messages import Outcome, Reply, Text
from ircbot.errors import UsageError

USAGE = "started <TIME|2h>"


@command("started", USAGE)
def run(ctx: Context) -> Outcome:
    """Record when impact began (a time in your zone, or `2h` ago): MTTD counts from it to detection."""
    if not ctx.rest.strip():
        raise UsageError("Say when impact began: a time such as `2026-12-01 22:40`, or `3h` for three hours ago.")
    zone = typer_zone(ctx)
    at = typed_time(ctx, ctx.rest.strip(), what="the start of impact", usage=USAGE, zone=zone)
    before = mark_started(ctx.svc, incident_id=ctx.require_incident(), at=at, actor=ctx.user)
    corrected = f" (it said {echo(before, zone)} before)" if before else ""
    return Reply(
        Text(f":hourglass: <@{ctx.user}> recorded that impact began {echo(at, zone)}{corrected}."),
        visibility="in_channel",
    )
