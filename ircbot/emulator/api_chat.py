"""chat.*, pins.add and reactions.add handlers."""

from __future__ import annotations

import re
from typing import Any

from ircbot.emulator.api_conversations import Handler
from ircbot.emulator.blocks import block_problems, flatten_message, with_block_ids
from ircbot.emulator.state import SlackError, State

EMOJI_NAME = re.compile(r"^[a-z0-9_+'-]+$")
EVENT_TYPE = re.compile(r"^[a-zA-Z0-9_]+$")  # Slack's metadata event types: letters, digits, underscores


def check_content(args: dict[str, Any]) -> None:
    """Raise no_text / invalid_blocks_format / invalid_blocks like Slack for message content."""
    if not args.get("text") and not args.get("blocks") and not args.get("attachments"):
        raise SlackError("no_text")
    blocks = args.get("blocks")
    if blocks is None:
        return
    if not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format", ["[ERROR] blocks must be an array"])
    problems = block_problems(blocks)
    if problems:
        raise SlackError("invalid_blocks", [f"[ERROR] {p}" for p in problems])


def _thread_parent(state: State, channel_id: str, thread_ts: str | None) -> str | None:
    """The parent ts to reply under; a reply's ts means its thread (as Slack does)."""
    if thread_ts is None:
        return None
    try:
        msg = state.find_message(channel_id, thread_ts)
    except SlackError:
        # Slack accepts a dangling thread_ts and the reply is then invisible, which is always a bot bug.
        state.violations.append(f"thread_ts {thread_ts} does not match any message in {channel_id}")
        return None
    return str(msg["thread_ts"] or msg["ts"])


def check_metadata(metadata: Any) -> dict[str, Any] | None:
    """Message metadata as Slack stores it: an event_type name and an event_payload object."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("event_payload"), dict):
        raise SlackError("invalid_metadata_format")
    if not EVENT_TYPE.match(str(metadata.get("event_type", ""))):
        raise SlackError("invalid_metadata_schema")
    return {"event_type": metadata["event_type"], "event_payload": metadata["event_payload"]}


def chat_post_message(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Post a message; a user id as channel posts into the bot's DM with that user."""
    channel = state.find_channel(str(args["channel"]), loose=True)
    state.require_member(channel, private_only=True)
    check_content(args)
    metadata = check_metadata(args.get("metadata"))
    with state.lock:
        parent = _thread_parent(state, channel["id"], args.get("thread_ts"))
        msg = state.post(
            channel["id"],
            user=state.bot_user_id,
            text=args.get("text"),
            blocks=args.get("blocks"),
            thread_ts=parent,
            attachments=args.get("attachments"),
            metadata=metadata,
        )
        return {"channel": channel["id"], "ts": msg["ts"], "message": state.api_message(msg)}


def chat_update(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Edit one of the bot's own messages in place; only the bot's messages can be edited by its token."""
    channel = state.find_channel(str(args["channel"]), loose=False)
    state.require_member(channel, private_only=True)
    check_content(args)
    with state.lock:
        msg = state.find_message(channel["id"], str(args["ts"]))
        if msg["user"] != state.bot_user_id:
            raise SlackError("cant_update_message")
        msg.update(
            text=args.get("text") or "",
            blocks=with_block_ids(args.get("blocks")),
            edited={"user": state.bot_user_id, "ts": state.next_ts()},
        )
        rendered = flatten_message(msg["text"], msg["blocks"], msg["files"])
        for member in channel["members"]:
            state.note_seen(member, state.where(channel["id"]), "edit", rendered)
        return {"channel": channel["id"], "ts": msg["ts"], "text": msg["text"], "message": state.api_message(msg)}


def chat_post_ephemeral(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Show a message to one member of a channel."""
    channel = state.find_channel(str(args["channel"]), loose=True)
    state.require_member(channel, private_only=True)
    user_id = str(args["user"])
    if user_id not in channel["members"]:
        raise SlackError("user_not_in_channel")
    check_content(args)
    record = state.add_ephemeral(channel["id"], user_id, args.get("text"), args.get("blocks"))
    return {"message_ts": record["ts"]}


def pins_add(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Pin a message to its channel."""
    channel = state.find_channel(str(args["channel"]), loose=False)
    if not args.get("timestamp"):
        raise SlackError("no_item_specified")
    state.require_member(channel, private_only=False)
    with state.lock:
        msg = state.find_message(channel["id"], str(args["timestamp"]))
        if msg["pinned"]:
            raise SlackError("already_pinned")
        msg["pinned"] = True
        msg["pinned_to"] = [channel["id"]]
        return {}


def reactions_add(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Add the bot's emoji reaction to a message."""
    channel = state.find_channel(str(args["channel"]), loose=False)
    state.require_member(channel, private_only=True)
    name = str(args["name"])
    if not EMOJI_NAME.match(name):
        raise SlackError("invalid_name")
    with state.lock:
        msg = state.find_message(channel["id"], str(args["timestamp"]))
        for reaction in msg["reactions"]:
            if reaction["name"] == name:
                if state.bot_user_id in reaction["users"]:
                    raise SlackError("already_reacted")
                reaction["users"].append(state.bot_user_id)
                reaction["count"] += 1
                return {}
        msg["reactions"].append({"name": name, "users": [state.bot_user_id], "count": 1})
        return {}


HANDLERS: dict[str, Handler] = {
    "chat.postMessage": chat_post_message,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.update": chat_update,
    "pins.add": pins_add,
    "reactions.add": reactions_add,
}
