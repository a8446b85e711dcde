"""The Tick / Untick button beside each checklist item."""

from __future__ import annotations

from typing import Any

from ircbot.commands import check
from ircbot.domain.cards import pinned_card
from ircbot.domain.checklist import set_item
from ircbot.domain.messages import ChecklistCard, IncidentCard, Message
from ircbot.domain.services import Services
from ircbot.slack import ids
from ircbot.slack.interactions.base import Answer, Interaction, Replace, interaction


def _incident(svc: Services, action: dict[str, Any]) -> int:
    return ids.parse_tick(str(action.get("value"))).incident_id


@interaction("action", ids.TICK_PATTERN, command=check.check, locate=_incident)
def toggle(it: Interaction) -> Answer:
    """Tick or untick a checklist item, and redraw the card it sits on."""
    value = ids.parse_tick(it.value)
    ticked = set_item(
        it.svc, incident_id=value.incident_id, position=value.position, checked=None, actor=it.user, stage=value.stage
    )
    view = ticked.incident
    line = check.tick_line(it.user, value.position, ticked)
    card: Message
    if value.card == "c":
        card = ChecklistCard(view, note=line.text)
    elif value.card == "s":
        card = IncidentCard(view, heading=f"Status of {view.label}: {view.title}", purpose="status")
    else:
        card = pinned_card(view)
    return Replace(card, announce=line if ticked.changed else None)
