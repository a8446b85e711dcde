"""Workspace state of the emulator: users, channels, messages, and what each person has seen."""

from __future__ import annotations

import copy
import random
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ircbot.emulator.blocks import flatten_message, with_block_ids

ID_ALPHABET = string.ascii_uppercase + string.digits


class SlackError(Exception):
    """A Slack API error code to return as {"ok": false, "error": code}."""

    def __init__(self, code: str, messages: list[str] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.messages = messages or []


@dataclass(frozen=True)
class CallRecord:
    """One Web API call as the emulator received and answered it."""

    method: str
    args: dict[str, Any]
    ok: bool
    error: str | None
    at: float


@dataclass(frozen=True)
class Seen:
    """Something a person would have seen in their Slack client."""

    at: float
    where: str
    kind: str
    text: str


@dataclass
class ResponseUrl:
    """A response_url issued for one interaction."""

    user_id: str
    channel_id: str
    message_ts: str | None = None
    ephemeral: bool = False
    payloads: list[dict[str, Any]] = field(default_factory=list)


class State:
    """Thread-safe workspace state; the HTTP layer and the public API both go through it."""

    def __init__(self, seed: int | None = None) -> None:
        self.lock = threading.RLock()
        self.url = ""
        self.socket_url = ""  # ws://host:port of the Socket Mode endpoint, once it serves
        self.generation = 0
        self._retired_tokens: set[str] = set()
        self._retired_files: set[str] = set()
        self._retired_tickets: set[str] = set()
        self.stale_requests = 0
        self._clear(seed)

    def _clear(self, seed: int | None) -> None:
        """An empty workspace: only the bot user; every record, log and setting back to its default."""
        self._seed = seed
        self._rng = random.Random(seed)
        self.clock: Callable[[], float] = time.time
        self.team_id = "T0EMULATOR"
        self.team_domain = "emulator"
        self.team_name = "Emulator Workspace"
        self.bot_token = "xoxb-emulator-token" + (f"-{self.generation}" if self.generation else "")
        self.bot_user_id = "U0EMUBOT00"
        self.bot_id = "B0EMUBOT00"
        self.app_id = "A0EMULATOR"
        self.app_token = f"xapp-1-{self.app_id}-emulator" + (f"-{self.generation}" if self.generation else "")
        # apps.connections.open tickets: each opens one Socket Mode connection (True once used).
        self.socket_tickets: dict[str, bool] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._ephemerals: dict[str, list[dict[str, Any]]] = {}
        self._ims: dict[str, str] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.home_tabs: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.canvases: dict[str, dict[str, Any]] = {}
        self.triggers: dict[str, dict[str, Any]] = {}
        self.view_owners: dict[str, str] = {}
        self.trigger_ttl = 3.0
        self.response_urls: dict[str, ResponseUrl] = {}
        self.calls: list[CallRecord] = []
        self.violations: list[str] = []
        self._seen: dict[str, list[Seen]] = {}
        self._last_ts_us = 0
        self.users[self.bot_user_id] = self._user_record(
            self.bot_user_id, "ircbot", real_name="ircbot", email=None, tz="UTC", is_bot=True
        )

    # ids and timestamps -------------------------------------------------------------------------

    def new_id(self, prefix: str, length: int = 10) -> str:
        """A fresh Slack-style id such as C0123ABCDE."""
        with self.lock:
            while True:
                candidate = prefix + "".join(self._rng.choice(ID_ALPHABET) for _ in range(length))
                if candidate not in self._channels and candidate not in self.users and candidate not in self.files:
                    return candidate

    def next_ts(self) -> str:
        """A message ts "<seconds>.<6 digits>", strictly increasing across the workspace."""
        with self.lock:
            now_us = max(int(self.clock() * 1_000_000), self._last_ts_us + 1)
            self._last_ts_us = now_us
            return f"{now_us // 1_000_000}.{now_us % 1_000_000:06d}"

    # users --------------------------------------------------------------------------------------

    def _user_record(
        self, user_id: str, name: str, *, real_name: str | None, email: str | None, tz: str, is_bot: bool
    ) -> dict[str, Any]:
        """A users.info-shaped user object."""
        offset = _tz_offset(tz)
        real = real_name or name
        profile: dict[str, Any] = {"real_name": real, "display_name": name, "real_name_normalized": real}
        if email:
            profile["email"] = email
        if is_bot:
            profile["bot_id"] = self.bot_id
        return {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "real_name": real,
            "tz": tz,
            "tz_label": tz,
            "tz_offset": offset,
            "profile": profile,
            "is_bot": is_bot,
            "is_admin": False,
            "is_app_user": False,
            "updated": int(self.clock()),
        }

    def is_human(self, user_id: str) -> bool:
        """True for a known, non-bot user."""
        user = self.users.get(user_id)
        return user is not None and not user["is_bot"]

    # channels -----------------------------------------------------------------------------------

    def make_channel(self, name: str, *, is_private: bool, creator: str, members: list[str]) -> dict[str, Any]:
        """Create a channel record (no validation; callers check names)."""
        with self.lock:
            return self._add_channel(self.new_id("C"), name, is_private, creator, [creator, *members], None)

    def im_for(self, user_id: str) -> dict[str, Any]:
        """The bot's DM channel with a user, created on first use."""
        with self.lock:
            if user_id in self._ims:
                return self._channels[self._ims[user_id]]
            channel = self._add_channel(self.new_id("D"), user_id, True, self.bot_user_id, [self.bot_user_id], user_id)
            self._ims[user_id] = channel["id"]
            return channel

    def _add_channel(
        self, channel_id: str, name: str, is_private: bool, creator: str, members: list[str], im_user: str | None
    ) -> dict[str, Any]:
        """Store a channel record (a DM when `im_user` is set) with an empty history; the caller holds the lock."""
        channel = {
            "id": channel_id,
            "name": name,
            "is_private": is_private,
            "is_im": im_user is not None,
            "is_archived": False,
            "topic": "",
            "purpose": "",
            "members": list(dict.fromkeys([*members, *([im_user] if im_user else [])])),
            "created": int(self.clock()),
            "creator": creator,
            "bookmarks": [],
            "user": im_user,
        }
        self._channels[channel_id] = channel
        self._messages[channel_id] = []
        return channel

    def find_channel(self, ref: str, *, loose: bool) -> dict[str, Any]:
        """Resolve a channel id; with loose (chat.* only) also `#name` or a user id (the bot's DM)."""
        with self.lock:
            if ref in self._channels:
                return self._channels[ref]
            if not loose:
                raise SlackError("channel_not_found")
            if ref.startswith(("U", "W")) and self.is_human(ref):
                return self.im_for(ref)
            name = ref.removeprefix("#")
            for channel in self._channels.values():
                if channel["name"] == name and not channel["is_im"]:
                    return channel
            raise SlackError("channel_not_found")

    def require_member(self, channel: dict[str, Any], *, private_only: bool = True) -> None:
        """Raise not_in_channel when the bot may not act in the channel."""
        if self.bot_user_id in channel["members"]:
            return
        if channel["is_private"] or not private_only:
            raise SlackError("not_in_channel")

    def where(self, channel_id: str) -> str:
        """How a person would name the place a channel message appeared."""
        channel = self._channels.get(channel_id)
        if channel is None:
            return channel_id
        return "DM with bot" if channel["is_im"] else f"#{channel['name']}"

    # messages -----------------------------------------------------------------------------------

    def find_message(self, channel_id: str, ts: str) -> dict[str, Any]:
        """A stored message by ts; raise message_not_found."""
        for msg in self._messages.get(channel_id, []):
            if msg["ts"] == ts:
                return msg
        raise SlackError("message_not_found")

    def post(
        self,
        channel_id: str,
        *,
        user: str,
        text: str | None,
        blocks: list[Any] | None = None,
        thread_ts: str | None = None,
        files: list[dict[str, Any]] | None = None,
        attachments: list[Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Store a message, update its thread parent, and note who saw it."""
        with self.lock:
            msg: dict[str, Any] = {
                "type": "message",
                "ts": self.next_ts(),
                "user": user,
                "text": text or "",
                "team": self.team_id,
                "blocks": with_block_ids(blocks),
                "thread_ts": thread_ts,
                "files": files or [],
                "pinned": False,
                "reactions": [],
            }
            if attachments:
                msg["attachments"] = attachments
            if metadata:
                msg["metadata"] = metadata
            if user == self.bot_user_id:
                msg["bot_id"] = self.bot_id
                msg["app_id"] = self.app_id
            if thread_ts is not None:
                parent = self.find_message(channel_id, thread_ts)
                parent["thread_ts"] = parent["ts"]
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = msg["ts"]
            self._messages[channel_id].append(msg)
            kind = "reply" if thread_ts else "message"
            rendered = flatten_message(text, blocks, files)
            for member in self._channels[channel_id]["members"]:
                if member != user:
                    self.note_seen(member, self.where(channel_id), kind, rendered)
            return msg

    def add_ephemeral(
        self,
        channel_id: str,
        user_id: str,
        text: str | None,
        blocks: list[Any] | None,
        kind: str = "ephemeral",
    ) -> dict[str, Any]:
        """Store an ephemeral message shown only to one user."""
        with self.lock:
            record = {
                "ts": self.next_ts(),
                "channel": channel_id,
                "user": user_id,
                "text": text or "",
                "blocks": with_block_ids(blocks),
                "deleted": False,
            }
            self._ephemerals.setdefault(user_id, []).append(record)
            self.note_seen(user_id, self.where(channel_id), kind, flatten_message(text, blocks))
            return record

    def find_ephemeral(self, user_id: str, ts: str) -> dict[str, Any] | None:
        """The ephemeral message shown to a user at ts, if any."""
        for record in self._ephemerals.get(user_id, []):
            if record["ts"] == ts:
                return record
        return None

    def note_seen(self, user_id: str, where: str, kind: str, text: str) -> None:
        """Record that a human saw something (bots' views are not interesting)."""
        if self.is_human(user_id):
            with self.lock:
                self._seen.setdefault(user_id, []).append(Seen(self.clock(), where, kind, text))

    def api_message(self, msg: dict[str, Any]) -> dict[str, Any]:
        """A stored message as the Web API returns it (no empty fields; pins show as pinned_to)."""
        return {k: copy.deepcopy(v) for k, v in msg.items() if v not in (None, []) and k != "pinned"}


def _tz_offset(tz: str) -> int:
    """Current UTC offset in seconds of an IANA zone (0 when unknown)."""
    try:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        delta = datetime.now(ZoneInfo(tz)).utcoffset()
        return int(delta.total_seconds()) if delta else 0
    except Exception:
        return 0
