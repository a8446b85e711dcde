"""`/incident status`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.domain.incidents import view
from ircbot.domain.messages import IncidentCard, Outcome, Reply


@command("status", "status")
def run(ctx: Context) -> Outcome:
    """Severity, stage, roles, checklist progress and age of the incident."""
    current = view(ctx.svc, ctx.require_incident())
    return Reply(IncidentCard(current, heading=f"Status of {current.label}: {current.title}", purpose="status"))
