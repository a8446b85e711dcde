"""`/incident postmortem`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.domain.messages import Outcome, Reply, Text
from ircbot.domain.postmortem import publish_postmortem


@command("postmortem", "postmortem", aliases=("pm",))
def run(ctx: Context) -> Outcome:
    """(Re)compile the postmortem and upload it into the incident channel."""
    published = publish_postmortem(ctx.svc, incident_id=ctx.require_incident(), actor=ctx.user)
    lines = [
        f"Postmortem compiled ({len(published.markdown.splitlines())} lines) and uploaded as {published.filename}."
    ]
    lines += [f":warning: {w}" for w in published.warnings]
    return Reply(Text("\n".join(lines)))
