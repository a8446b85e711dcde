"""conversations.* handlers: create, invite, setTopic, history, replies, open, list."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from ircbot.emulator.state import SlackError, State

Handler = Callable[[State, dict[str, Any]], dict[str, Any]]

NAME_MAX = 80
TOPIC_MAX = 250
ALLOWED_NAME = re.compile(r"^[a-z0-9_-]+$")


def api_channel(state: State, channel: dict[str, Any]) -> dict[str, Any]:
    """A channel as conversations.* methods return it."""
    return {
        "id": channel["id"],
        "name": channel["name"],
        "name_normalized": channel["name"],
        "is_channel": not channel["is_private"] and not channel["is_im"],
        "is_group": False,
        "is_im": channel["is_im"],
        "is_private": channel["is_private"],
        "is_archived": channel["is_archived"],
        "is_general": False,
        "created": channel["created"],
        "creator": channel["creator"],
        "is_member": state.bot_user_id in channel["members"],
        "num_members": len(channel["members"]),
        "topic": {"value": channel["topic"], "creator": channel["creator"], "last_set": 0},
        "purpose": {"value": channel["purpose"], "creator": channel["creator"], "last_set": 0},
    }


def name_error(name: str) -> str | None:
    """The error Slack gives for a bad channel name, or None when the name is acceptable."""
    if not name:
        return "invalid_name_required"
    if len(name) > NAME_MAX:
        return "invalid_name_maxlength"
    if not ALLOWED_NAME.match(name):
        return "invalid_name_specials"
    if not re.search(r"[a-z0-9]", name):
        return "invalid_name_punctuation"
    return None


def conversations_create(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Create a channel; the bot is its creator and first member."""
    name = args["name"]
    error = name_error(name)
    if error:
        raise SlackError(error)
    with state.lock:
        if any(c["name"] == name for c in state._channels.values() if not c["is_im"]):
            raise SlackError("name_taken")
        channel = state.make_channel(
            name, is_private=bool(args.get("is_private", False)), creator=state.bot_user_id, members=[]
        )
        return {"channel": api_channel(state, channel)}


def conversations_invite(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Add users (comma-separated ids) to a channel."""
    channel = state.find_channel(args["channel"], loose=False)
    if channel["is_im"]:
        raise SlackError("method_not_supported_for_channel_type")
    state.require_member(channel, private_only=True)
    user_ids = [u.strip() for u in str(args["users"]).split(",") if u.strip()]
    if not user_ids:
        raise SlackError("no_user")
    with state.lock:
        for user_id in user_ids:
            if user_id == state.bot_user_id:
                raise SlackError("cant_invite_self")
            if user_id not in state.users:
                raise SlackError("user_not_found")
        new = [u for u in user_ids if u not in channel["members"]]
        if not new:
            raise SlackError("already_in_channel")
        channel["members"].extend(dict.fromkeys(new))
        for user_id in new:
            state.note_seen(user_id, state.where(channel["id"]), "invited", f"You were added to #{channel['name']}")
        return {"channel": api_channel(state, channel)}


def conversations_set_topic(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Set a channel topic (the bot must be a member)."""
    channel = state.find_channel(args["channel"], loose=False)
    state.require_member(channel, private_only=False)
    topic = str(args["topic"])
    if len(topic) > TOPIC_MAX:
        raise SlackError("too_long")
    with state.lock:
        channel["topic"] = topic
        return {"channel": api_channel(state, channel)}


def _ts(value: Any, error: str) -> Decimal | None:
    """Parse a ts bound exactly (floats would lose the microseconds)."""
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise SlackError(error) from None


def encode_cursor(ts: str) -> str:
    """An opaque cursor in Slack's format (base64 of next_ts:<ts digits>)."""
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def decode_cursor(cursor: str) -> Decimal:
    """The ts a cursor points at; invalid_cursor when it was not issued by us."""
    try:
        raw = base64.b64decode(cursor.encode(), validate=True).decode()
        prefix, _, ts = raw.partition(":")
        if prefix != "next_ts":
            raise ValueError(raw)
        return Decimal(ts)
    except (ValueError, binascii.Error, InvalidOperation, UnicodeDecodeError):
        raise SlackError("invalid_cursor") from None


def _window(state: State, messages: list[dict[str, Any]], args: dict[str, Any]) -> list[dict[str, Any]]:
    """Messages inside the oldest/latest bounds (exclusive unless inclusive=true)."""
    oldest = _ts(args.get("oldest"), "invalid_ts_oldest") or Decimal(0)
    latest = _ts(args.get("latest"), "invalid_ts_latest") or Decimal(str(state.clock() + 86400))
    inclusive = bool(args.get("inclusive", False))

    def inside(ts: Decimal) -> bool:
        return oldest <= ts <= latest if inclusive else oldest < ts < latest

    return [m for m in messages if inside(Decimal(m["ts"]))]


def _limit(args: dict[str, Any], default: int, maximum: int) -> int:
    """The page size Slack would use for a requested limit."""
    limit = int(args.get("limit") or default)
    return min(max(limit, 1), maximum)


def _page(state: State, selected: list[dict[str, Any]], limit: int, *, metadata: bool = False) -> dict[str, Any]:
    """One page of messages plus has_more/next_cursor pointing at the first message of the next page.

    Message metadata is returned only when asked for (include_all_metadata), as Slack does.
    """
    page = selected[:limit]
    has_more = len(selected) > limit
    shown = [state.api_message(m) for m in page]
    if not metadata:
        for message in shown:
            message.pop("metadata", None)
    return {
        "messages": shown,
        "has_more": has_more,
        "response_metadata": {"next_cursor": encode_cursor(selected[limit]["ts"]) if has_more else ""},
    }


def conversations_history(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Top-level messages, newest first, cursor-paginated (limit default 100, max 999)."""
    channel = state.find_channel(args["channel"], loose=False)
    state.require_member(channel, private_only=False)
    with state.lock:
        top = [m for m in state._messages[channel["id"]] if m["thread_ts"] in (None, m["ts"])]
        selected = list(reversed(_window(state, top, args)))
        if args.get("cursor"):
            start = decode_cursor(args["cursor"])
            selected = [m for m in selected if Decimal(m["ts"]) <= start]
        result = _page(state, selected, _limit(args, 100, 999), metadata=bool(args.get("include_all_metadata")))
        result["pin_count"] = sum(1 for m in state._messages[channel["id"]] if m["pinned"])
        return result


def conversations_replies(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """A thread (parent first, then replies oldest first), cursor-paginated (limit default/max 1000)."""
    channel = state.find_channel(args["channel"], loose=False)
    state.require_member(channel, private_only=False)
    with state.lock:
        try:
            msg = state.find_message(channel["id"], str(args["ts"]))
        except SlackError:
            raise SlackError("thread_not_found") from None
        parent_ts = msg["thread_ts"] or msg["ts"]
        thread = [m for m in state._messages[channel["id"]] if m["ts"] == parent_ts or m["thread_ts"] == parent_ts]
        selected = _window(state, thread, args) if ("oldest" in args or "latest" in args) else thread
        if args.get("cursor"):
            start = decode_cursor(args["cursor"])
            selected = [m for m in selected if Decimal(m["ts"]) >= start]
        return _page(state, selected, _limit(args, 1000, 1000), metadata=bool(args.get("include_all_metadata")))


def conversations_open(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Open (or find) the bot's DM with one user; group DMs are not emulated."""
    if args.get("channel"):
        channel = state.find_channel(str(args["channel"]), loose=False)
        if not channel["is_im"]:
            raise SlackError("method_not_supported_for_channel_type")
        return {"channel": {"id": channel["id"]}, "no_op": True, "already_open": True}
    users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
    if not users:
        raise SlackError("users_list_not_supplied")
    if len(users) > 1:
        raise SlackError("invalid_user_combination", ["[ERROR] the emulator opens DMs with one user only"])
    if users[0] not in state.users:
        raise SlackError("user_not_found")
    with state.lock:
        existed = users[0] in state._ims
        if not existed and args.get("prevent_creation"):
            raise SlackError("channel_not_found")
        channel = state.im_for(users[0])
        shown = api_channel(state, channel) if args.get("return_im") else {"id": channel["id"]}
        return {"channel": shown, **({"no_op": True, "already_open": True} if existed else {})}


CHANNEL_TYPES = {"public_channel", "private_channel", "im", "mpim"}


def conversations_list(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Channels the bot can see (public ones, private ones it is in, its DMs), cursor-paginated by id."""
    types = {t.strip() for t in str(args.get("types") or "public_channel").split(",") if t.strip()}
    if not types <= CHANNEL_TYPES:
        raise SlackError("invalid_types")
    exclude_archived = bool(args.get("exclude_archived", False))

    def shown(channel: dict[str, Any]) -> bool:
        if channel["is_im"]:
            kind = "im"
        elif channel["is_private"]:
            kind = "private_channel"
            if state.bot_user_id not in channel["members"]:
                return False
        else:
            kind = "public_channel"
        return kind in types and not (exclude_archived and channel["is_archived"])

    with state.lock:
        channels = sorted((c for c in state._channels.values() if shown(c)), key=lambda c: str(c["id"]))
        if args.get("cursor"):
            start = _channel_cursor(str(args["cursor"]))
            channels = [c for c in channels if str(c["id"]) >= start]
        limit = _limit(args, 100, 1000)
        page, rest = channels[:limit], channels[limit:]
        cursor = base64.b64encode(f"id:{rest[0]['id']}".encode()).decode() if rest else ""
        return {"channels": [api_channel(state, c) for c in page], "response_metadata": {"next_cursor": cursor}}


def _channel_cursor(cursor: str) -> str:
    try:
        prefix, _, channel_id = base64.b64decode(cursor.encode(), validate=True).decode().partition(":")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise SlackError("invalid_cursor") from None
    if prefix != "id" or not channel_id:
        raise SlackError("invalid_cursor")
    return channel_id


HANDLERS: dict[str, Handler] = {
    "conversations.open": conversations_open,
    "conversations.list": conversations_list,
    "conversations.create": conversations_create,
    "conversations.invite": conversations_invite,
    "conversations.setTopic": conversations_set_topic,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
}
