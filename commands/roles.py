"""`/incident roles`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.domain.incidents import view
from ircbot.domain.messages import Outcome, Reply, RolesCard


@command("roles", "roles")
def run(ctx: Context) -> Outcome:
    """Who holds which role."""
    return Reply(RolesCard(view(ctx.svc, ctx.require_incident())))
