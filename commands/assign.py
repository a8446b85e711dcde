"""`/incident assign`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.commands.parsing import mention
from ircbot.domain.messages import Outcome, Reply, Text
from ircbot.domain.roles import assign, check_role
from ircbot.errors import UsageError

USAGE = "assign <role> [@user]"


@command("assign", USAGE, permission="assign")
def run(ctx: Context) -> Outcome:
    """Give a role to someone (no one named: the role's on-call from roles.yaml) and invite them."""
    if not ctx.args:
        roles = ", ".join(ctx.svc.config.roles.roles)
        raise UsageError(f"Name the role to assign. Roles: {roles}.", USAGE)
    if len(ctx.args) > 2:
        raise UsageError("Assign one role to one person at a time.", USAGE)
    role = check_role(ctx.svc, ctx.args[0])
    user = mention(ctx.args[1], USAGE) if len(ctx.args) == 2 else None
    result = assign(ctx.svc, incident_id=ctx.require_incident(), role=role, user_id=user, actor=ctx.user)
    title = ctx.svc.config.roles.roles[result.role].title
    if result.previous == result.user_id:
        return Reply(Text(f"<@{result.user_id}> already is {title}."))
    lines = [f"<@{result.user_id}> is now {title} in {result.incident.label}."]
    lines += [f":warning: {w}" for w in result.warnings]
    return Reply(Text("\n".join(lines)))
