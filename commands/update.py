"""`/incident update`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.domain.messages import OpenModal, Outcome, Reply, Text
from ircbot.domain.updates import UpdateRequest, post_update

USAGE = "update <text>"


@command("update", USAGE)
def run(ctx: Context) -> Outcome:
    """Post a status update to the channel, the stakeholder channel and e-mail (no text: a form)."""
    incident_id = ctx.require_incident()
    if not ctx.rest.strip():
        return OpenModal("update", private_metadata=str(incident_id))
    delivered = post_update(ctx.svc, incident_id=incident_id, actor=ctx.user, request=UpdateRequest(status=ctx.rest))
    return Reply(Text(update_summary(delivered.places, delivered.warnings)))


def update_summary(places: list[str], warnings: list[str]) -> str:
    """What the sender is told about where the update went."""
    lines = [f"Update sent to {', '.join(places)}." if places else "The update was recorded but not delivered."]
    lines += [f":warning: {w}" for w in warnings]
    return "\n".join(lines)
