"""`/incident contained [TIME]`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.commands.times import echo, typed_time, typer_zone
from ircbot.domain.incidents import mark_contained
from ircbot.domain.messages import Outcome, Reply, Text

USAGE = "contained [TIME|2h]"


@command("contained", USAGE)
def run(ctx: Context) -> Outcome:
    """Record when containment was reached (now, a time in your zone, or `2h` ago): MTTC counts to it."""
    zone = typer_zone(ctx)
    at = typed_time(ctx, ctx.rest.strip() or "now", what="containment", usage=USAGE, zone=zone)
    before = mark_contained(ctx.svc, incident_id=ctx.require_incident(), at=at, actor=ctx.user)
    corrected = f" (it said {echo(before, zone)} before)" if before else ""
    return Reply(
        Text(f":shield: <@{ctx.user}> recorded containment at {echo(at, zone)}{corrected}."), visibility="in_channel"
    )
