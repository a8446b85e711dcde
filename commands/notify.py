"""`/incident notify`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.domain.messages import Outcome, Reply
from ircbot.domain.notices import draft
from ircbot.errors import UsageError

USAGE = "notify <audience>"


@command("notify", USAGE, permission="notify", aliases=("notice",))
def run(ctx: Context) -> Outcome:
    """Draft a notice to leadership, legal, the insurer or all staff; preview it with Send / Edit / Cancel."""
    if len(ctx.args) != 1:
        audiences = ", ".join(ctx.svc.config.escalation.audiences) or "none configured"
        raise UsageError(f"Name one audience: {audiences}.", USAGE)
    return Reply(draft(ctx.svc, incident_id=ctx.require_incident(), audience=ctx.args[0], actor=ctx.user))
