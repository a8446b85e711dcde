"""The Acknowledge button on an escalation page."""

from __future__ import annotations

from ircbot.commands import ack as ack_command
from ircbot.domain.escalation import acknowledge
from ircbot.domain.messages import PageCard
from ircbot.domain.outbox import local_time
from ircbot.errors import GatewayError
from ircbot.slack import ids
from ircbot.slack.interactions.base import Answer, Interaction, Replace, from_value, interaction


@interaction("action", ids.ACK, command=ack_command.run, locate=from_value)
def acknowledge_page(it: Interaction) -> Answer:
    """Acknowledge the page, and turn it into a record of who acknowledged."""
    result = acknowledge(it.svc, incident_id=it.require_incident(), actor=it.user)
    try:
        zone = it.svc.chat.profile(it.user).tz  # the page stays in the reader's own time zone
    except GatewayError:
        zone = None
    view = result.incident
    page = PageCard(
        view, reason="Acknowledged", declared_local=local_time(view.declared_at, zone), acknowledged_by=result.by
    )
    return Replace(page, note=" ".join(result.warnings))  # as the typed `ack` says them
