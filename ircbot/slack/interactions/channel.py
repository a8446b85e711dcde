"""Events from incident channels: who joins and leaves, and messages that belong in the timeline."""

from __future__ import annotations

from typing import Any

from ircbot.domain.capture import capture_message
from ircbot.domain.channel_read import note_activity
from ircbot.domain.joining import record_membership
from ircbot.domain.out_of_band import incident_away
from ircbot.domain.services import Services
from ircbot.slack.interactions.base import Answer, Interaction, interaction


def _in_slack(svc: Services, event: dict[str, Any]) -> bool:
    """Whether the channel's incident (if any) is handled in Slack: while it is away, what happens in its Slack
    channel may be the attacker's, so a join gives no access and nothing there is written into the record."""
    item = event.get("item") or {}
    channel = str(event.get("channel_id") or event.get("channel") or item.get("channel") or "")
    return not incident_away(svc, channel)


@interaction("event", "member_joined_channel", accepts=_in_slack)
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
    return (
        _in_slack(svc, event)
        and event.get("reaction") == svc.timeline_emoji
        and (event.get("item") or {}).get("type") == "message"
    )


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
    return item.get("type") == "message" and bool((item.get("message") or {}).get("ts")) and _in_slack(svc, event)


@interaction("event", "pin_added", accepts=_pinned_message)
def pin_added(it: Interaction) -> Answer:
    """A pinned message goes into the timeline as it reads now."""
    item = it.payload.get("item") or {}
    channel = it.payload.get("channel_id") or item.get("channel", "")
    capture_message(it.svc, channel_id=channel, ts=item["message"]["ts"], actor=it.user or None, via="pin")
    return None


def _kept_or_moved(svc: Services, event: dict[str, Any]) -> bool:
    kept = (_from_a_bot(event) and bool(event.get("ts"))) or _moved_thread(event) is not None
    return kept and _in_slack(svc, event)


def _from_a_bot(event: dict[str, Any]) -> bool:
    return bool(event.get("bot_id")) and not event.get("subtype", "").startswith("message_")


def _moved_thread(event: dict[str, Any]) -> tuple[str | None, bool] | None:
    """(the thread that moved, or None for a top-level message; whether a reply was rewritten), or None if
    nothing a postmortem stored could have changed (a new top-level message is read with the history)."""
    subtype = event.get("subtype")
    if subtype in ("message_changed", "message_deleted"):
        message = event.get("message") or event.get("previous_message") or {}
        if message.get("bot_id"):
            return None  # the bot redrawing its own cards: not part of the channel's record
        thread = message.get("thread_ts")
        return (thread, True) if thread and thread != message.get("ts") else (None, True)
    thread = event.get("thread_ts")
    return (str(thread), False) if thread and thread != event.get("ts") else None


@interaction("event", "message", accepts=_kept_or_moved)
def channel_message(it: Interaction) -> Answer:
    """Other bots' messages (alerts, SIEM) are kept as they arrive; replies, edits and deletions are noted so a
    postmortem recompile reads only what moved (people's messages are read from the history later)."""
    channel = str(it.payload.get("channel", ""))
    moved = _moved_thread(it.payload)
    if moved is not None:
        note_activity(it.svc, channel_id=channel, thread_ts=moved[0], rewritten=moved[1])
    if _from_a_bot(it.payload):
        capture_message(it.svc, channel_id=channel, ts=it.payload["ts"], actor=None, via="bot")
    return None
