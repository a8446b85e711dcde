"""`/incident severity`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.commands.parsing import severity
from ircbot.domain.escalation import change_severity
from ircbot.domain.messages import Outcome, Reply, Text
from ircbot.errors import UsageError

USAGE = "severity <sev1-4>"


@command("severity", USAGE, permission="severity", aliases=("sev",))
def run(ctx: Context) -> Outcome:
    """Change the severity; escalation is re-planned from the new severity's policy."""
    if len(ctx.args) != 1:
        raise UsageError("Give one severity: sev1 (critical) to sev4 (low).", USAGE)
    changed = change_severity(
        ctx.svc, incident_id=ctx.require_incident(), severity=severity(ctx.args[0], USAGE), actor=ctx.user
    )
    current = changed.incident
    paging = f"{changed.planned} escalation step(s) planned" if changed.planned else "no escalation steps pending"
    text = (
        f":warning: <@{ctx.user}> changed {current.label} severity {changed.old.upper()} → "
        f"*{current.severity.upper()}* ({paging})."
    )
    text += "".join(f"\n:warning: {w}" for w in changed.warnings)
    return Reply(Text(text), visibility="in_channel")
