"""`/incident page`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.domain.joining import page_role
from ircbot.domain.messages import Outcome, Reply, Text
from ircbot.errors import UsageError

USAGE = "page <role>"


@command("page", USAGE)
def run(ctx: Context) -> Outcome:
    """Bring a role's on-call (legal, comms, forensics …) into the channel, with a DM saying why."""
    if len(ctx.args) != 1:
        raise UsageError(f"Name one role. Roles: {', '.join(ctx.svc.config.roles.roles)}.", USAGE)
    joined = page_role(ctx.svc, incident_id=ctx.require_incident(), role=ctx.args[0], actor=ctx.user)
    role = ctx.args[0].lower()
    lines = [
        f":telephone_receiver: <@{ctx.user}> paged the {joined.title} on call, <@{joined.user_id}>, into this channel "
        f"(not assigned the role: `/incident assign {role} <@{joined.user_id}>` gives it)."
    ]
    lines += [f":warning: {w}" for w in joined.warnings]
    return Reply(Text("\n".join(lines)), visibility="in_channel")
