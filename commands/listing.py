"""`/incident list`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.domain.incidents import visible_open
from ircbot.domain.messages import IncidentList, Outcome, Reply


@command("list", "list", needs_incident=False)
def run(ctx: Context) -> Outcome:
    """Open incidents you may see."""
    return Reply(IncidentList(visible_open(ctx.svc, ctx.user)))
