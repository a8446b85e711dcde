"""`/incident escalate`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.domain.escalation import escalate_now
from ircbot.domain.messages import Outcome, Reply, Text


@command("escalate", "escalate", permission="escalate")
def run(ctx: Context) -> Outcome:
    """Page the next escalation tier now."""
    tier = escalate_now(ctx.svc, incident_id=ctx.require_incident(), actor=ctx.user).tier
    return Reply(Text(f":arrow_double_up: <@{ctx.user}> escalated: paging tier {tier} now."), visibility="in_channel")
