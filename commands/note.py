"""`/incident note`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.domain.incidents import add_note
from ircbot.domain.messages import Outcome, Reply, Text


@command("note", "note <text>")
def run(ctx: Context) -> Outcome:
    """Add a note to the incident's timeline."""
    label = add_note(ctx.svc, incident_id=ctx.require_incident(), text=ctx.rest, actor=ctx.user)
    return Reply(Text(f":memo: <@{ctx.user}> noted in {label}: {ctx.rest.strip()}"), visibility="in_channel")
