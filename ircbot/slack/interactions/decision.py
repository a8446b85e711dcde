"""The Approve / Reject buttons on a decision card: the typed `approve` / `reject`, by click."""

from __future__ import annotations

from typing import Any

from ircbot.commands import decide
from ircbot.domain.decisions import decision_incident, decision_number, vote
from ircbot.domain.messages import Text
from ircbot.domain.services import Services
from ircbot.slack import ids
from ircbot.slack.interactions.base import Answer, Interaction, Replace, interaction


def _incident(svc: Services, action: dict[str, Any]) -> int:
    return decision_incident(svc, decision_id=ids.parse_number(ids.carried(action)))


@interaction("action", ids.DECISION_PATTERN, command=decide.approve, locate=_incident)
def vote_on_decision(it: Interaction) -> Answer:
    """Count the clicker's approval or rejection once, and redraw the card to say where the decision stands."""
    approve = it.payload.get("action_id") == ids.DECISION_APPROVE
    number = decision_number(it.svc, decision_id=ids.parse_number(it.value))
    decided = vote(it.svc, incident_id=it.require_incident(), number=number, approve=approve, actor=it.user)
    said = Text(decide.said_of_vote(decided.card, it.user))
    return Replace(decided.card, note=" ".join(decided.warnings), announce=said)
