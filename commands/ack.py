"""`/incident ack`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.domain.escalation import acknowledge
from ircbot.domain.messages import Outcome, Reply, Text


@command("ack", "ack", aliases=("acknowledge",))
def run(ctx: Context) -> Outcome:
    """Acknowledge the page: stops every pending escalation tier."""
    result = acknowledge(ctx.svc, incident_id=ctx.require_incident(), actor=ctx.user)
    if not result.first and not result.cancelled:
        return Reply(Text(f"{result.key} was already acknowledged by <@{result.by}>."))
    lines = [f"You acknowledged {result.key}; {result.cancelled} pending tier(s) cancelled."]
    lines += [f":warning: {w}" for w in result.warnings]
    return Reply(Text("\n".join(lines)))
