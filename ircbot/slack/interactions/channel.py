"""Events from incident channels: who joins and leaves, and messages that belong in the timeline."""

from __future__ import annotations

from typing import Any

from ircbot.domain.capture import capture_message
from ircbot.domain.joining import record_membership
from ircbot.domain.services import Services
from ircbot.slack.interactions.base import Answer, Interaction, interaction


@interaction("event", "member_joined_channel")
def member_joined(it: Interaction) -> Answer:
    """Record that someone joined an incident channel (they may now see the incident)."""
    record_membership(it.svc, channel_id=str(it.payload.get("channel", "")), user_id=it.user, joined=True)
    return None


@interaction("event", "member_left_channel")
def member_left(it: Interaction) -> Answer:
    """Record that someone left an incident channel."""
    record_membership(it.svc, channel_id=str(it.payload.get("channel", "")), user_id=it.user, joined=False)
    return None


def _marked(svc: Services, event: dict[str, Any]) -> bool:
    return event.get("reaction") == svc.timeline_emoji and (event.get("item") or {}).get("type") == "message"


@interaction("event", "reaction_added", accepts=_marked)
def reaction_added(it: Interaction) -> Answer:
    """A message marked with the timeline emoji goes into the timeline as it reads now."""
    item = it.payload.get("item") or {}
    capture_message(
        it.svc, channel_id=item.get("channel", ""), ts=item.get("ts", ""), actor=it.user or None, via="reaction"
    )
    return None


def _pinned_message(svc: Services, event: dict[str, Any]) -> bool:
    item = event.get("item") or {}
    return item.get("type") == "message" and bool((item.get("message") or {}).get("ts"))


@interaction("event", "pin_added", accepts=_pinned_message)
def pin_added(it: Interaction) -> Answer:
    """A pinned message goes into the timeline as it reads now."""
    item = it.payload.get("item") or {}
    channel = it.payload.get("channel_id") or item.get("channel", "")
    capture_message(it.svc, channel_id=channel, ts=item["message"]["ts"], actor=it.user or None, via="pin")
    return None


def _from_a_bot(svc: Services, event: dict[str, Any]) -> bool:
    return bool(event.get("bot_id") and event.get("ts"))


@interaction("event", "message", accepts=_from_a_bot)
def bot_message(it: Interaction) -> Answer:
    """Other bots' messages (alerts, SIEM) are kept as they arrive; people's are read from history later."""
    capture_message(it.svc, channel_id=it.payload.get("channel", ""), ts=it.payload["ts"], actor=None, via="bot")
    return None
