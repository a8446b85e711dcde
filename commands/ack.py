"""`/incident ack`."""

from __future__ import annotations

from commands.base import Context, command
from ircbot.domain.escalation import acknowledge
from ircbot.domain.messages import Outcome, Reply, Text
from ircbot.errors import GatewayError


@command("ack", "ack", aliases=("acknowledge",))
def run(ctx: Context) -> Outcome:
    """Acknowledge the page: stops every pending escalation tier."""
    result = acknowledge(ctx.svc, incident_id=ctx.require_incident(), actor=ctx.user)
    if not result.first and not result.cancelled:
        return Reply(Text(f"{result.key} was already acknowledged by <@{result.by}>."))
    announce(ctx, result.channel_id, f":white_check_mark: <@{ctx.user}> acknowledged {result.key}; escalation stopped.")
    return Reply(Text(f"You acknowledged {result.key}; {result.cancelled} pending tier(s) cancelled."))


def announce(ctx: Context, channel_id: str | None, text: str) -> None:
    """Say it in the incident channel too; a failure is logged, the command still succeeded."""
    if channel_id:
        try:
            ctx.svc.chat.post(channel_id, Text(text))
        except GatewayError as exc:
            ctx.svc.log.warning("could not announce in %s: %s", channel_id, exc)
