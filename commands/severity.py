"""`/incident severity`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.commands.parsing import severity
from ircbot.domain.escalation import change_severity
from ircbot.domain.incidents import view
from ircbot.domain.messages import Outcome, Reply, Text
from ircbot.domain.topic import topic_for
from ircbot.errors import GatewayError, UsageError

USAGE = "severity <sev1-4>"


@command("severity", USAGE, permission="severity", aliases=("sev",))
def run(ctx: Context) -> Outcome:
    """Change the severity; escalation is re-planned from the new severity's policy."""
    if len(ctx.args) != 1:
        raise UsageError("Give one severity: sev1 (critical) to sev4 (low).", USAGE)
    new = severity(ctx.args[0], USAGE)
    incident_id = ctx.require_incident()
    old, new, planned = change_severity(ctx.svc, incident_id=incident_id, severity=new, actor=ctx.user)
    current = view(ctx.svc, incident_id)
    if current.channel_id:
        try:
            ctx.svc.chat.set_topic(current.channel_id, topic_for(current))
        except GatewayError as exc:
            ctx.svc.log.warning("could not update the topic: %s", exc)
    paging = f"{planned} escalation step(s) planned" if planned else "no escalation steps pending"
    text = f":warning: <@{ctx.user}> changed {current.label} severity {old.upper()} → *{new.upper()}* ({paging})."
    return Reply(Text(text), visibility="in_channel")
