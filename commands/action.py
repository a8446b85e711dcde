"""`/incident action`."""

from __future__ import annotations

from datetime import date

from ircbot.commands.base import Context, command
from ircbot.commands.parsing import MENTION, split_flags
from ircbot.domain.incidents import PRIORITIES, add_action_item
from ircbot.domain.messages import Outcome, Reply, Text
from ircbot.errors import UsageError

USAGE = "action <text> [@owner] [--due YYYY-MM-DD] [--priority p1|p2|p3]"


@command("action", USAGE, aliases=("ai", "todo"))
def run(ctx: Context) -> Outcome:
    """Record an action item for the postmortem, optionally with an owner."""
    flags = split_flags(ctx.rest.split(), switches=set(), valued={"due", "priority"}, usage=USAGE)
    words = flags.words
    due = _due(flags.values["due"]) if "due" in flags.values else None
    priority = flags.values.get("priority", "").lower() or None
    if priority is not None and priority not in PRIORITIES:
        raise UsageError(f"`--priority {priority}`: use {', '.join(PRIORITIES)} (p1 is most urgent).", USAGE)
    owner = None
    if words and MENTION.match(words[-1]):
        match = MENTION.match(words.pop())
        owner = match.group(1) if match else None
    text = " ".join(words)
    if not text:
        raise UsageError(
            "An action item needs text, e.g. `/incident action Rotate the VPN certificates @alice`.", USAGE
        )
    add_action_item(
        ctx.svc, incident_id=ctx.require_incident(), text=text, owner=owner, actor=ctx.user, due=due, priority=priority
    )
    extra = [f"owner <@{owner}>"] if owner else []
    extra += [f"due {due.isoformat()}"] if due else []
    extra += [priority.upper()] if priority else []
    who = f" ({', '.join(extra)})" if extra else ""
    return Reply(Text(f":clipboard: Action item recorded{who}: {text}"), visibility="in_channel")


def _due(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"`--due {text}` is not a date; write it as YYYY-MM-DD, e.g. `--due 2026-12-15`.", USAGE
        ) from None
