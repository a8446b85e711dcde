"""The Approve / Deny buttons on a request to join a private incident."""

from __future__ import annotations

from typing import Any

from ircbot.commands import join
from ircbot.domain.access_requests import decide, request_incident
from ircbot.domain.services import Services
from ircbot.slack import ids
from ircbot.slack.interactions.base import Answer, Interaction, Replace, interaction


def _incident(svc: Services, action: dict[str, Any]) -> int:
    return request_incident(svc, request_id=ids.parse_number(ids.carried(action)))


@interaction("action", ids.JOIN_PATTERN, command=join.run, locate=_incident)
def answer_join(it: Interaction) -> Answer:
    """Let the requester in, or turn them down, and show the answer on the prompt."""
    approve = it.payload.get("action_id") == ids.JOIN_APPROVE
    decided = decide(it.svc, request_id=ids.parse_number(it.value), approve=approve, actor=it.user)
    return Replace(decided.prompt, note=" ".join(decided.warnings))
