"""A small synchronous Matrix client-server API client: login, rooms, invites, messages and /sync over plain HTTP.

Plain urllib rather than matrix-nio: the bot needs a handful of endpoints (log in, make a room, invite, send,
read the timeline with /sync), its code is synchronous, and the standard library adds no dependency.
matrix-nio is asyncio-based and would pull in its own HTTP stack for these few calls.

Every failure is a GatewayError whose `method` is `matrix.<call>` and whose `error` is the homeserver's
`errcode` (M_FORBIDDEN, M_LIMIT_EXCEEDED …), `http_<status>` when it gave none, or `unreachable: <reason>`.
A rate limit carries `retry_after`; a 5xx, a timeout or a dropped connection is `uncertain` (the homeserver
may have done the work). The access token travels in the Authorization header, never in a URL.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from ircbot.errors import GatewayError

CLIENT_API = "/_matrix/client/v3"
MAX_RETRY_AFTER = 3600.0  # seconds: a longer wait asked for is clipped; the backoff decides beyond it
SYNC_TIMELINE_LIMIT = 50  # events per joined room in one /sync answer (Synapse's default is 10)
# Only what the bot reads: the timeline of joined rooms and its invites; no presence, account data,
# receipts or typing, and the rooms' state only as far as the timeline carries it.
SYNC_FILTER = {
    "presence": {"not_types": ["*"]},
    "account_data": {"not_types": ["*"]},
    "room": {
        "timeline": {"limit": SYNC_TIMELINE_LIMIT},
        "state": {"not_types": ["*"]},
        "ephemeral": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
        "include_leave": False,
    },
}
SYNC_FILTER_JSON = json.dumps(SYNC_FILTER, separators=(",", ":"))
KEY_FIELD = "org.ircbot.key"  # the content field a message's idempotency key rides in (namespaced, as the spec asks)
GAP_PAGE = 100  # events per /messages page when a sync answer left some out (its timeline was `limited`)


@dataclass(frozen=True)
class RoomEvent:
    """One timeline event of a joined room, flattened to the fields the bot reads."""

    room_id: str
    event_id: str
    sender: str
    type: str  # e.g. "m.room.message", "m.room.member"
    body: str  # content.body for messages, "" otherwise
    msgtype: str  # content.msgtype or ""
    membership: str  # content.membership for m.room.member, "" otherwise
    state_key: str | None
    origin_server_ts: int


@dataclass(frozen=True)
class SyncBatch:
    """One /sync answer: the token to sync from next, the new timeline events, and the rooms we are invited to."""

    next_batch: str
    events: tuple[RoomEvent, ...]  # timeline events of joined rooms, in order, room by room, none left out
    invited_rooms: tuple[str, ...]  # rooms the bot has been invited to


class MatrixClient:
    """The bot's account on one homeserver, by access token; every call is one HTTP request."""

    def __init__(self, homeserver: str, access_token: str, *, timeout: float = 10.0) -> None:
        self.homeserver = homeserver.rstrip("/")
        self.access_token = access_token
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"MatrixClient({self.homeserver!r})"  # never the token

    @classmethod
    def login(
        cls, homeserver: str, user: str, password: str, *, device_id: str = "IRCBOT", timeout: float = 10.0
    ) -> MatrixClient:
        """Log in with a password (m.login.password, m.id.user); the fixed device id keeps txn ids meaningful."""
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
            "device_id": device_id,
            "initial_device_display_name": "ircbot",
        }
        answer = _request("matrix.login", "POST", homeserver.rstrip("/") + _path("login"), body, None, timeout)
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise GatewayError("matrix.login", "bad_response: no access_token")
        return cls(homeserver, token, timeout=timeout)

    # --- the account ------------------------------------------------------------------------------------

    def whoami(self) -> str:
        """The user id the access token belongs to."""
        return _text(self._call("whoami", "GET", _path("account", "whoami")), "user_id", "matrix.whoami")

    def logout(self) -> None:
        """Invalidate the access token (the device goes with it)."""
        self._call("logout", "POST", _path("logout"), {})

    # --- rooms ------------------------------------------------------------------------------------------

    def create_room(self, *, name: str, topic: str, invite: list[str]) -> str:
        """A private, invite-only, unfederated room that only its creator may invite to or change; history only from
        one's invite on; returns its room id."""
        body: dict[str, Any] = {
            "preset": "private_chat",
            "visibility": "private",
            "name": name,
            "invite": list(invite),
            "creation_content": {"m.federate": False},
            # Only the bot invites, removes and changes the room: members talk, the bot keeps the door.
            "power_level_content_override": {
                "invite": 100,
                "kick": 100,
                "ban": 100,
                "redact": 100,
                "state_default": 100,
            },
            "initial_state": [
                {"type": "m.room.history_visibility", "state_key": "", "content": {"history_visibility": "invited"}},
                {"type": "m.room.guest_access", "state_key": "", "content": {"guest_access": "forbidden"}},
            ],
        }
        if topic:
            body["topic"] = topic
        return _text(self._call("create_room", "POST", _path("createRoom"), body), "room_id", "matrix.create_room")

    def create_dm(self, user_id: str) -> str:
        """A direct room with one person (is_direct, trusted_private_chat), who is invited; returns its room id."""
        body = {"preset": "trusted_private_chat", "visibility": "private", "is_direct": True, "invite": [user_id]}
        return _text(self._call("create_dm", "POST", _path("createRoom"), body), "room_id", "matrix.create_dm")

    def invite(self, room_id: str, user_id: str) -> None:
        """Invite a person; one who is already in the room, or already invited, is no error."""
        try:
            self._call("invite", "POST", _path("rooms", room_id, "invite"), {"user_id": user_id})
        except GatewayError as exc:
            if exc.error != "M_FORBIDDEN":
                raise
            try:  # Synapse refuses to invite a member with M_FORBIDDEN: see whether that is the reason
                membership = self.members(room_id).get(user_id)
            except GatewayError:
                raise exc from None
            if membership not in ("join", "invite"):
                raise

    def kick(self, room_id: str, user_id: str, reason: str = "") -> None:
        """Remove a person from the room (or withdraw their invite)."""
        body = {"user_id": user_id, **({"reason": reason} if reason else {})}
        self._call("kick", "POST", _path("rooms", room_id, "kick"), body)

    def join(self, room_id: str) -> None:
        """Join a room the bot was invited to."""
        self._call("join", "POST", _path("rooms", room_id, "join"), {})

    def set_topic(self, room_id: str, topic: str) -> None:
        """The room's topic (its m.room.topic state)."""
        self._call("set_topic", "PUT", _path("rooms", room_id, "state", "m.room.topic", ""), {"topic": topic})

    def set_name(self, room_id: str, name: str) -> None:
        """The room's name (its m.room.name state)."""
        self._call("set_name", "PUT", _path("rooms", room_id, "state", "m.room.name", ""), {"name": name})

    def members(self, room_id: str) -> dict[str, str]:
        """User id -> membership (join, invite, leave, ban) of everyone the room's member list names."""
        answer = self._call("members", "GET", _path("rooms", room_id, "members"))
        found: dict[str, str] = {}
        for event in answer.get("chunk") or []:
            if isinstance(event, dict) and isinstance(event.get("state_key"), str):
                found[event["state_key"]] = str((event.get("content") or {}).get("membership", ""))
        return found

    # --- messages ---------------------------------------------------------------------------------------

    def send(
        self,
        room_id: str,
        body: str,
        *,
        html: str | None = None,
        txn_id: str,
        notice: bool = False,
        key: str | None = None,
    ) -> str:
        """Send an m.text (or m.notice) message, with HTML if given, tagged with `key` if given; its event id.

        The homeserver remembers `txn_id` per device for a while (Synapse: in memory, minutes): the same send
        repeated soon with the same txn_id is a no-op that returns the first event's id. For longer, `find_key`
        looks for the tag.
        """
        content: dict[str, Any] = {"msgtype": "m.notice" if notice else "m.text", "body": body}
        if key is not None:
            content[KEY_FIELD] = key
        if html is not None:
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = html
        path = _path("rooms", room_id, "send", "m.room.message", txn_id)
        return _text(self._call("send", "PUT", path, content), "event_id", "matrix.send")

    def find_key(self, room_id: str, key: str, *, within: int = 200) -> str | None:
        """The id of a message of this account tagged `key` among a room's last `within` events, or None."""
        query = urllib.parse.urlencode({"dir": "b", "limit": str(within)})
        page = self._call("messages", "GET", _path("rooms", room_id, "messages") + "?" + query)
        for raw in page.get("chunk") or []:
            if isinstance(raw, dict) and (raw.get("content") or {}).get(KEY_FIELD) == key:
                return str(raw.get("event_id", "")) or None
        return None

    def sync(self, since: str | None, *, timeout_ms: int = 30000) -> SyncBatch:
        """Long-poll /sync: what happened since `since` (None: the start), waiting up to timeout_ms for news."""
        query = {"filter": SYNC_FILTER_JSON, "timeout": str(max(timeout_ms, 0))}
        if since is not None:
            query["since"] = since
        path = _path("sync") + "?" + urllib.parse.urlencode(query)
        answer = self._call("sync", "GET", path, timeout=self.timeout + max(timeout_ms, 0) / 1000)
        rooms = answer.get("rooms") or {}
        events: list[RoomEvent] = []
        for room_id, room in (rooms.get("join") or {}).items():
            timeline = (room or {}).get("timeline") or {}
            if since is not None and timeline.get("limited") and timeline.get("prev_batch"):
                # More happened than one answer holds: read the rest back to where the last sync ended.
                events.extend(self._between(room_id, since, str(timeline["prev_batch"])))
            for raw in timeline.get("events") or []:
                if isinstance(raw, dict):
                    events.append(_event(room_id, raw))
        return SyncBatch(
            next_batch=_text(answer, "next_batch", "matrix.sync"),
            events=tuple(events),
            invited_rooms=tuple(rooms.get("invite") or {}),
        )

    def _between(self, room_id: str, since: str, before: str) -> list[RoomEvent]:
        """The events of a room after the sync token `since` and before the pagination token `before`, oldest first."""
        found: list[RoomEvent] = []
        token: str | None = before
        while token:
            query = urllib.parse.urlencode({"dir": "b", "from": token, "to": since, "limit": str(GAP_PAGE)})
            page = self._call("messages", "GET", _path("rooms", room_id, "messages") + "?" + query)
            chunk = [_event(room_id, raw) for raw in page.get("chunk") or [] if isinstance(raw, dict)]
            found.extend(chunk)
            token = page.get("end") if chunk and page.get("end") != token else None
        return found[::-1]

    # --- HTTP -------------------------------------------------------------------------------------------

    def _call(
        self, name: str, verb: str, path: str, body: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        url = self.homeserver + path
        return _request(f"matrix.{name}", verb, url, body, self.access_token, timeout or self.timeout)


def _path(*segments: str) -> str:
    """The client API path of these segments, each quoted whole (room ids hold `!` and `:`)."""
    return CLIENT_API + "".join("/" + urllib.parse.quote(s, safe="") for s in segments)


def _request(
    method: str, verb: str, url: str, body: dict[str, Any] | None, token: str | None, timeout: float
) -> dict[str, Any]:
    """One JSON request; the JSON object answered, or GatewayError."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=verb)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            raw = answer.read()
    except urllib.error.HTTPError as exc:
        with exc:
            raise _refusal(method, exc) from exc
    except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as exc:
        reason = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
        raise GatewayError(method, f"unreachable: {reason}"[:200], uncertain=True) from exc
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise GatewayError(method, "bad_response: not a JSON object", uncertain=True)
    return parsed


def _refusal(method: str, exc: urllib.error.HTTPError) -> GatewayError:
    """The GatewayError of an HTTP error answer: its errcode, how long to wait, whether it may have happened."""
    try:
        detail = json.loads(exc.read() or b"{}")
    except (ValueError, OSError, http.client.HTTPException):
        detail = {}
    if not isinstance(detail, dict):
        detail = {}
    errcode = detail.get("errcode")
    error = errcode if isinstance(errcode, str) and errcode else f"http_{exc.code}"
    retry_after = None
    if error == "M_LIMIT_EXCEEDED" or exc.code == 429:
        retry_after = _retry_after(detail.get("retry_after_ms"), exc.headers.get("Retry-After"))
    return GatewayError(method, error, uncertain=exc.code >= 500, retry_after=retry_after)


def _retry_after(milliseconds: object, header: str | None) -> float | None:
    """Seconds to wait: retry_after_ms from the body, else a Retry-After header in seconds; None if neither."""
    if isinstance(milliseconds, int | float) and not isinstance(milliseconds, bool) and milliseconds >= 0:
        return min(milliseconds / 1000, MAX_RETRY_AFTER)
    try:
        return min(max(float(header), 0.0), MAX_RETRY_AFTER) if header else None
    except ValueError:
        return None  # an HTTP date: the backoff decides


def _text(answer: dict[str, Any], key: str, method: str) -> str:
    """A string field the homeserver must answer with; its absence is a bad (uncertain) answer."""
    value = answer.get(key)
    if not isinstance(value, str) or not value:
        raise GatewayError(method, f"bad_response: no {key}", uncertain=True)
    return value


def _event(room_id: str, raw: dict[str, Any]) -> RoomEvent:
    """A timeline event of /sync (which leaves out the room id) as a RoomEvent."""
    content = raw.get("content")
    content = content if isinstance(content, dict) else {}
    kind = str(raw.get("type", ""))
    state_key = raw.get("state_key")
    timestamp = raw.get("origin_server_ts")
    return RoomEvent(
        room_id=room_id,
        event_id=str(raw.get("event_id", "")),
        sender=str(raw.get("sender", "")),
        type=kind,
        body=str(content.get("body", "")) if kind == "m.room.message" else "",
        msgtype=str(content.get("msgtype", "")),
        membership=str(content.get("membership", "")) if kind == "m.room.member" else "",
        state_key=state_key if isinstance(state_key, str) else None,
        origin_server_ts=timestamp if isinstance(timestamp, int) else 0,
    )
