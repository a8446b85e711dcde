"""SlackEmulator: a stateful local stand-in for the Slack Web API that the real WebClient can talk to."""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ircbot.emulator import api_chat, api_conversations, api_misc
from ircbot.emulator.blocks import flatten_message
from ircbot.emulator.responses import handle_response
from ircbot.emulator.server import EmulatorServer
from ircbot.emulator.socket_mode import SocketModeServer
from ircbot.emulator.spec import ArgumentError, MethodSpec, check_args, load_specs
from ircbot.emulator.state import CallRecord, ResponseUrl, Seen, SlackError, State
from ircbot.emulator.wire import arguments_of, token_of

HANDLERS: dict[str, api_conversations.Handler] = {
    **api_conversations.HANDLERS,
    **api_chat.HANDLERS,
    **api_misc.HANDLERS,
}

ApiResult = tuple[int, dict[str, str], dict[str, Any] | None]


class SlackEmulator(State):
    """Local Slack workspace + Web API server; see the package docstring for the public API."""

    def __init__(self, methods_json: str | None = None, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        self.specs: dict[str, MethodSpec] = load_specs(methods_json)
        # Every emulated method is documented; documented methods not emulated yet refuse loudly (below).
        undocumented = set(HANDLERS) - set(self.specs)
        if undocumented:
            raise RuntimeError(f"handlers for methods methods.json does not document: {sorted(undocumented)}")
        self.latency = 0.0  # seconds before each Web API call or response_url post is answered
        self.in_flight = 0  # requests being answered right now, and the most at once since the reset
        self.most_in_flight = 0
        self.down = False
        self._faults: dict[str, list[dict[str, Any]]] = {}
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None
        self.socket = SocketModeServer(self)

    # lifecycle ----------------------------------------------------------------------------------

    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1 (a free port unless given) in a daemon thread; returns the Web API base URL."""
        self._server = EmulatorServer(self, ("127.0.0.1", port))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="slack-emulator",
            daemon=True,
        )
        self._thread.start()
        self.socket_url = self.socket.start()
        return self.base_url

    @property
    def base_url(self) -> str:
        """The base_url to give slack_sdk.WebClient."""
        return f"{self.url}/api/"

    def stop(self) -> None:
        """Stop serving and release the ports."""
        self.socket.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def reset(self, seed: int | None = None) -> None:
        """Back to an empty workspace while the server keeps serving (one emulator can serve many tests).

        Users, channels, messages, views, files, response URLs, triggers, faults, latency, the call
        log, violations and the clock all return to a fresh emulator's state; `most_in_flight` starts again from
        the requests still being answered. The bot token changes:
        a client still holding the old one (a bot closed while work was in flight) gets invalid_auth,
        and its calls, like uploads to files from before the reset, are counted in `stale_requests`
        instead of landing in the new workspace's log. The app-level token changes too, every Socket Mode
        connection is dropped, and a connection opened with a ticket from before is refused and counted.
        """
        self.socket.reset()
        with self.lock:
            self._retired_tokens.update((self.bot_token, self.app_token))
            self._retired_files.update(self.files)
            self._retired_tickets.update(self.socket_tickets)
            self.generation += 1
            self._clear(seed)
            self.latency = 0.0
            self.most_in_flight = self.in_flight
            self.down = False
            self._faults = {}

    # workspace setup ----------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        email: str | None = None,
        tz: str = "UTC",
        is_bot: bool = False,
    ) -> dict[str, Any]:
        """Add a workspace member and return its users.info record."""
        with self.lock:
            user = self._user_record(user_id, name, real_name=real_name, email=email, tz=tz, is_bot=is_bot)
            self.users[user_id] = user
            return user

    def add_usergroup(self, group_id: str, handle: str, users: list[str]) -> dict[str, Any]:
        """Add a user group (subteam) such as @oncall."""
        with self.lock:
            group = {"id": group_id, "handle": handle, "users": list(users)}
            self.usergroups[group_id] = group
            return group

    def add_channel(
        self,
        name: str,
        *,
        is_private: bool = False,
        members: list[str] | None = None,
        bot_member: bool = False,
    ) -> str:
        """Add an existing channel created by a person (the bot joins only if bot_member); returns its id."""
        members = list(members or [])
        creator = members[0] if members else self.bot_user_id
        if bot_member:
            members.append(self.bot_user_id)
        channel = self.make_channel(name, is_private=is_private, creator=creator, members=members)
        if not bot_member and creator == self.bot_user_id:
            channel["members"].remove(self.bot_user_id)
        return str(channel["id"])

    # inspection ---------------------------------------------------------------------------------

    def channel(self, channel_id: str) -> dict[str, Any]:
        """A copy of a channel's state (id, name, is_private, topic, members, created, bookmarks...)."""
        with self.lock:
            return copy.deepcopy(self._channels[channel_id])

    def channel_by_name(self, name: str) -> dict[str, Any] | None:
        """A copy of the non-DM channel with this name, or None."""
        with self.lock:
            for channel in self._channels.values():
                if channel["name"] == name and not channel["is_im"]:
                    return copy.deepcopy(channel)
            return None

    def channels(self) -> list[dict[str, Any]]:
        """Copies of all channels, DMs included, in creation order."""
        with self.lock:
            return copy.deepcopy(list(self._channels.values()))

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Copies of a channel's messages, oldest first, top-level and replies together."""
        with self.lock:
            return copy.deepcopy(self._messages[channel_id])

    def ephemerals(self, user_id: str) -> list[dict[str, Any]]:
        """Copies of the ephemeral messages shown to a user, oldest first."""
        with self.lock:
            return copy.deepcopy(self._ephemerals.get(user_id, []))

    def im_channel(self, user_id: str) -> str | None:
        """The bot's DM channel id with a user, if the bot ever wrote to them."""
        return self._ims.get(user_id)

    def calls_to(self, method: str) -> list[CallRecord]:
        """Calls to one Web API method, in order."""
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def seen_by(self, user_id: str) -> list[Seen]:
        """Everything a person would have seen, in order, flattened to plain text."""
        with self.lock:
            return list(self._seen.get(user_id, []))

    def transcript(self) -> str:
        """A readable per-person account of what every human user saw."""
        out: list[str] = []
        with self.lock:
            for user_id, user in self.users.items():
                if user["is_bot"]:
                    continue
                out.append(f"=== {user['real_name']} ({user_id}) ===")
                for seen in self._seen.get(user_id, []):
                    stamp = time.strftime("%H:%M:%S", time.localtime(seen.at))
                    body = seen.text.replace("\n", "\n" + " " * 11)
                    out.append(f"{stamp} {seen.where} [{seen.kind}]\n           {body}")
                out.append("")
        return "\n".join(out)

    # interactions -------------------------------------------------------------------------------

    def issue_trigger_id(self, user_id: str | None = None) -> str:
        """A trigger id as Slack attaches to interactions; views.open accepts it once within trigger_ttl."""
        trigger_id = f"{int(time.time())}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
        with self.lock:
            self.triggers[trigger_id] = {"issued_at": time.time(), "user_id": user_id, "used": False}
        return trigger_id

    def new_response_url(
        self, user_id: str, channel_id: str, message_ts: str | None = None, ephemeral: bool = False
    ) -> str:
        """Issue a response_url for an interaction by user_id in channel_id (from message_ts if a click)."""
        response_id = secrets.token_hex(12)
        with self.lock:
            self.response_urls[response_id] = ResponseUrl(user_id, channel_id, message_ts, ephemeral)
        return f"{self.url}/response/{response_id}"

    def responses(self, url: str) -> list[dict[str, Any]]:
        """Payloads POSTed to a response_url so far."""
        with self.lock:
            record = self.response_urls.get(url.rstrip("/").rsplit("/", 1)[-1])
            return copy.deepcopy(record.payloads) if record else []

    def message_text(self, msg: Mapping[str, Any]) -> str:
        """Plain text of a stored message as a reader would see it."""
        return flatten_message(msg.get("text"), msg.get("blocks"), msg.get("files"))

    # fault injection ----------------------------------------------------------------------------

    def fail_next(self, method: str, error: str, times: int = 1) -> None:
        """Make the next `times` calls to method return {"ok": false, "error": error}."""
        self._add_fault(method, {"kind": "error", "error": error, "left": times})

    def rate_limit_next(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Make the next `times` calls to method answer HTTP 429 with Retry-After."""
        self._add_fault(method, {"kind": "ratelimit", "retry_after": retry_after, "left": times})

    def server_error_next(self, method: str, status: int = 500, times: int = 1) -> None:
        """Make the next `times` calls to method answer with an HTTP 5xx."""
        self._add_fault(method, {"kind": "server", "status": status, "left": times})

    def lose_answer_next(self, method: str, status: int = 500, times: int = 1) -> None:
        """Do the next `times` calls' work, then answer HTTP `status` as if it failed (the answer is lost)."""
        self._add_fault(method, {"kind": "lost", "status": status, "left": times})

    def answer_late_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Do the next `times` calls' work, then hold the answer for `seconds` (past a client's timeout)."""
        self._add_fault(method, {"kind": "late", "seconds": seconds, "left": times})

    def go_down(self) -> None:
        """Web API unreachable until come_back(): calls are dropped unanswered (response URLs still work)."""
        self.down = True

    def come_back(self) -> None:
        """End an outage started by go_down()."""
        self.down = False

    def _add_fault(self, method: str, fault: dict[str, Any]) -> None:
        with self.lock:
            self._faults.setdefault(method, []).append(fault)

    def _take_fault(self, method: str) -> dict[str, Any] | None:
        with self.lock:
            queue = self._faults.get(method, [])
            if not queue:
                return None
            fault = queue[0]
            fault["left"] -= 1
            if fault["left"] <= 0:
                queue.pop(0)
            return fault

    # HTTP entry points --------------------------------------------------------------------------

    def handle_api(self, method: str, headers: Mapping[str, str], body: bytes, query: str = "") -> ApiResult:
        """Answer one Web API call: (HTTP status, extra headers, JSON payload)."""
        if token_of(headers, query, body) in self._retired_tokens:
            with self.lock:
                self.stale_requests += 1
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        with self._answering():
            status, extra, payload, args = self._answer(method, headers, body, query)
        with self.lock:
            ok = bool(payload and payload.get("ok"))
            error = None if ok else (payload or {}).get("error", f"http_{status}")
            self.calls.append(CallRecord(method, args, ok, error, self.clock()))
        return status, extra, payload

    def _answer(
        self, method: str, headers: Mapping[str, str], body: bytes, query: str
    ) -> tuple[int, dict[str, str], dict[str, Any] | None, dict[str, Any]]:
        spec = self.specs.get(method)
        if spec is None:
            self.violations.append(f"call to unknown/unsupported method {method}")
            return 404, {}, {"ok": False, "error": "unknown_method"}, {}
        fault = self._take_fault(method)
        if fault and fault["kind"] == "ratelimit":
            return 429, {"Retry-After": str(fault["retry_after"])}, {"ok": False, "error": "ratelimited"}, {}
        if fault and fault["kind"] == "server":
            return int(fault["status"]), {}, None, {}
        raw: dict[str, Any] = {}
        try:
            self._check_auth(method, headers, query, body)
            if method in api_misc.DEPRECATED_METHODS:
                raise SlackError("method_deprecated")
            raw, from_form = arguments_of(method, headers, body, query, self.violations)
            raw.pop("token", None)
            if raw.get("team_id") not in (None, self.team_id):
                self.violations.append(f"{method}: team_id {raw['team_id']!r} is not this workspace's")
            args = check_args(spec, raw, from_form)
            if fault and fault["kind"] == "error":
                raise SlackError(fault["error"])
            handler = HANDLERS.get(method)
            if handler is None:
                self.violations.append(f"call to unknown/unsupported method {method}")  # documented, not emulated yet
                raise SlackError("unknown_method")
            result = handler(self, args)
            if fault and fault["kind"] == "lost":
                return int(fault["status"]), {}, None, args
            if fault and fault["kind"] == "late":
                time.sleep(float(fault["seconds"]))
        except ArgumentError as exc:
            self.violations.extend(f"{method}: {m}" for m in exc.messages)
            messages = [f"[ERROR] {m}" for m in exc.messages]
            return (
                200,
                {},
                {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": messages}},
                raw,
            )
        except SlackError as exc:
            if exc.code == "invalid_arguments":
                # Handler-level schema failures (views, files) are bot bugs just like bad arguments.
                self.violations.append(f"{method}: {'; '.join(exc.messages) or exc.code}")
            payload: dict[str, Any] = {"ok": False, "error": exc.code}
            if exc.messages:
                payload["response_metadata"] = {"messages": exc.messages}
            return 200, {}, payload, raw
        return 200, {}, {"ok": True, **result}, raw

    def _check_auth(self, method: str, headers: Mapping[str, str], query: str, body: bytes) -> None:
        """not_authed without a token, invalid_auth with an unknown one, not_allowed_token_type with the wrong kind.

        apps.connections.open takes the app-level token (xapp-…); every other method the bot token.
        """
        token = token_of(headers, query, body)
        if not token:
            raise SlackError("not_authed")
        wanted = self.app_token if method in api_misc.APP_LEVEL_METHODS else self.bot_token
        if token != wanted:
            raise SlackError("not_allowed_token_type" if token in (self.app_token, self.bot_token) else "invalid_auth")

    def handle_upload(self, file_id: str, data: bytes) -> tuple[int, str]:
        """Store the bytes POSTed to an upload_url (slack_sdk sends them raw)."""
        with self.lock:
            f = self.files.get(file_id)
            if f is None and file_id in self._retired_files:
                self.stale_requests += 1
                return 404, "file_not_found"
            if f is None:
                self.violations.append(f"upload to unknown file id {file_id}")
                return 404, "file_not_found"
            f["content"] = data
        return 200, f"OK - {len(data)}"

    def handle_response_post(self, response_id: str, headers: Mapping[str, str], body: bytes) -> tuple[int, str]:
        """Apply a POST to a response_url (JSON body, as Bolt's respond() sends)."""
        try:
            payload = json.loads(body or b"null")
        except json.JSONDecodeError:
            self.violations.append(f"response_url {response_id}: body is not JSON: {body[:200]!r}")
            return 400, "invalid_payload"
        with self._answering():
            return handle_response(self, response_id, payload)

    @contextmanager
    def _answering(self) -> Iterator[None]:
        """One request being answered: counted while in flight, after `latency` seconds."""
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            yield
        finally:
            with self.lock:
                self.in_flight -= 1
