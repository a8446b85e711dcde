"""`/incident action`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.commands.parsing import MENTION
from ircbot.domain.incidents import add_action_item
from ircbot.domain.messages import Outcome, Reply, Text
from ircbot.errors import UsageError

USAGE = "action <text> [@owner]"


@command("action", USAGE, aliases=("ai", "todo"))
def run(ctx: Context) -> Outcome:
    """Record an action item for the postmortem, optionally with an owner."""
    words = ctx.rest.split()
    owner = None
    if words and MENTION.match(words[-1]):
        match = MENTION.match(words.pop())
        owner = match.group(1) if match else None
    text = " ".join(words)
    if not text:
        raise UsageError(
            "An action item needs text, e.g. `/incident action Rotate the VPN certificates @alice`.", USAGE
        )
    add_action_item(ctx.svc, incident_id=ctx.require_incident(), text=text, owner=owner, actor=ctx.user)
    who = f" (owner <@{owner}>)" if owner else ""
    return Reply(Text(f":clipboard: Action item recorded{who}: {text}"), visibility="in_channel")
