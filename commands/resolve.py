"""`/incident resolve`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.commands.parsing import split_flags
from ircbot.domain.incidents import resolve
from ircbot.domain.messages import Outcome, Reply, Text

USAGE = "resolve [summary] [--false-positive]"


@command("resolve", USAGE, permission="resolve", aliases=("close",))
def run(ctx: Context) -> Outcome:
    """Resolve the incident: stop the clock, post a summary, compile and upload the postmortem."""
    flags = split_flags(ctx.args, switches={"false-positive", "fp"}, valued=set(), usage=USAGE)
    result = resolve(
        ctx.svc,
        incident_id=ctx.require_incident(),
        summary=" ".join(flags.words),
        false_positive=bool(flags.switches & {"false-positive", "fp"}),
        actor=ctx.user,
    )
    lines = [f"{result.incident.label} is resolved; the postmortem is in <#{result.incident.channel_id}>."]
    lines += [f":warning: {w}" for w in result.warnings]
    return Reply(Text("\n".join(lines)))
