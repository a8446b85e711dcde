"""SlackDriver: sends signed requests to the bot exactly as Slack's servers do."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from ircbot.emulator.blocks import flatten_message

if TYPE_CHECKING:
    from ircbot.emulator.emulator import SlackEmulator

VERIFICATION_TOKEN = "emulator-verification-token"


@dataclass
class RawResponse:
    """The bot's HTTP answer to one request."""

    status: int
    body: str
    headers: dict[str, str]
    elapsed: float

    def json(self) -> Any:
        """The body decoded as JSON (None when empty or not JSON)."""
        try:
            return json.loads(self.body) if self.body else None
        except json.JSONDecodeError:
            return None


@dataclass
class CommandResult:
    """Outcome of a slash command or button click: the ack plus what was posted to its response_url."""

    status: int
    body: str
    elapsed: float
    response_url: str
    trigger_id: str
    raw_body: bytes
    emulator: SlackEmulator = field(repr=False)
    retry_count: int = 0

    @property
    def ack_payload(self) -> dict[str, Any] | None:
        """The message in the ack body, if the bot answered inline (Slack shows it like a response)."""
        return ack_message(self.body)

    @property
    def responses(self) -> list[dict[str, Any]]:
        """Inline ack message (if any) followed by every payload POSTed to the response_url so far."""
        ack = self.ack_payload
        return ([ack] if ack else []) + self.emulator.responses(self.response_url)

    @property
    def text(self) -> str:
        """Plain text of all responses, as the user would read them."""
        return "\n".join(flatten_message(r.get("text"), r.get("blocks")) for r in self.responses)


@dataclass
class ViewSubmissionResult(RawResponse):
    """The bot's answer to a view submission (response_action lives in the JSON body)."""

    view_id: str = ""


def ack_message(body: str) -> dict[str, Any] | None:
    """The message an ack body carries: JSON with text/blocks, or plain text; None for an empty ack."""
    if not body.strip():
        return None
    try:
        decoded = json.loads(body)
    except json.JSONDecodeError:
        return {"text": body}
    if isinstance(decoded, dict) and (decoded.get("text") or decoded.get("blocks")):
        return decoded
    return None


class SlackDriver:
    """Acts as Slack: signs and POSTs slash commands, clicks, view submissions and events to the bot."""

    def __init__(self, bot_url: str, signing_secret: str, emulator: SlackEmulator) -> None:
        self.bot_url = bot_url
        self.signing_secret = signing_secret
        self.emulator = emulator

    # transport ----------------------------------------------------------------------------------

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The X-Slack-Request-Timestamp / X-Slack-Signature headers for a body."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        base = b"v0:" + ts.encode() + b":" + body
        digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}

    def post_raw(self, body: bytes, headers: Mapping[str, str], timeout: float = 10) -> RawResponse:
        """POST bytes with exactly the given headers (for forged or stale signatures)."""
        request = urllib.request.Request(self.bot_url, data=body, headers=dict(headers), method="POST")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return RawResponse(resp.status, resp.read().decode(), dict(resp.headers), time.monotonic() - started)
        except urllib.error.HTTPError as err:
            with err:  # an error response holds the connection open until closed
                return RawResponse(err.code, err.read().decode(), dict(err.headers), time.monotonic() - started)

    def _send(
        self, body: bytes, content_type: str, *, retry_num: int | None, timestamp: int | None, timeout: float
    ) -> RawResponse:
        headers = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
        headers.update(self.sign(body, timestamp))
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return self.post_raw(body, headers, timeout=timeout)

    # helpers ------------------------------------------------------------------------------------

    def _user(self, user_id: str) -> dict[str, Any]:
        user = self.emulator.users.get(user_id)
        if user is None:
            raise AssertionError(f"driver: unknown user {user_id}; add it with emulator.add_user first")
        return {
            "id": user_id,
            "username": user["name"],
            "name": user["name"],
            "team_id": self.emulator.team_id,
        }

    def _channel_name(self, channel_id: str) -> str:
        channel = self.emulator.channel(channel_id)
        return "directmessage" if channel["is_im"] else str(channel["name"])

    def _wait(self, result: CommandResult, timeout: float, what: str) -> None:
        """Block until the bot answered inline or via the response_url."""
        deadline = time.monotonic() + timeout
        while not result.responses:
            if time.monotonic() > deadline:
                calls = [f"{c.method}({'ok' if c.ok else c.error})" for c in self.emulator.calls[-10:]]
                raise AssertionError(
                    f"{what}: nothing was posted to the response_url within {timeout}s "
                    f"(ack status {result.status}, ack body {result.body[:300]!r}); "
                    f"last Web API calls: {calls}; violations: {self.emulator.violations[-5:]}"
                )
            time.sleep(0.01)

    def _show_ack(self, user_id: str, channel_id: str, body: str) -> None:
        """Slack displays an ack body with a message to the user, as it would a response_url post."""
        message = ack_message(body)
        if message is None:
            return
        if message.get("response_type") == "in_channel":
            self.emulator.post(
                channel_id,
                user=self.emulator.bot_user_id,
                text=message.get("text"),
                blocks=message.get("blocks"),
            )
        else:
            self.emulator.add_ephemeral(channel_id, user_id, message.get("text"), message.get("blocks"), "response")

    # Slack → bot requests -----------------------------------------------------------------------

    def slash(
        self,
        user_id: str,
        channel_id: str,
        text: str,
        command: str = "/incident",
        wait: bool = True,
        retry_num: int | None = None,
        timeout: float = 10,
        timestamp: int | None = None,
    ) -> CommandResult:
        """Send a slash command as Slack does; with wait, block until the bot responded."""
        user = self._user(user_id)
        response_url = self.emulator.new_response_url(user_id, channel_id)
        trigger_id = self.emulator.issue_trigger_id(user_id)
        form = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.emulator.team_id,
            "team_domain": self.emulator.team_domain,
            "channel_id": channel_id,
            "channel_name": self._channel_name(channel_id),
            "user_id": user_id,
            "user_name": user["name"],
            "command": command,
            "text": text,
            "api_app_id": self.emulator.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        body = urlencode(form).encode()
        resp = self._send(
            body,
            "application/x-www-form-urlencoded",
            retry_num=retry_num,
            timestamp=timestamp,
            timeout=timeout,
        )
        result = CommandResult(resp.status, resp.body, resp.elapsed, response_url, trigger_id, body, self.emulator)
        if resp.status == 200:
            self._show_ack(user_id, channel_id, resp.body)
        if wait:
            self._wait(result, timeout, f"{command} {text!r}")
        return result

    def resend(self, result: CommandResult, timeout: float = 10) -> RawResponse:
        """Replay a request as Slack's retry: same body (same trigger id), X-Slack-Retry-Num incremented."""
        result.retry_count += 1
        content_type = "application/x-www-form-urlencoded"
        return self._send(result.raw_body, content_type, retry_num=result.retry_count, timestamp=None, timeout=timeout)

    def click(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        wait: bool = True,
        timeout: float = 10,
    ) -> CommandResult:
        """Click a button in a message (channel or ephemeral) as the user; with wait, block for a response."""
        user = self._user(user_id)
        ephemeral = self.emulator.find_ephemeral(user_id, message_ts)
        message: dict[str, Any] | None = None
        if ephemeral is None:
            stored = [m for m in self.emulator.messages(channel_id) if m["ts"] == message_ts]
            if not stored:
                raise AssertionError(f"click: no message {message_ts} in {channel_id} and no ephemeral for {user_id}")
            message = self.emulator.api_message(stored[0])
            blocks = stored[0]["blocks"] or []
        else:
            blocks = ephemeral["blocks"] or []
        block_id, element = _find_action(blocks, action_id)
        response_url = self.emulator.new_response_url(user_id, channel_id, message_ts, ephemeral is not None)
        trigger_id = self.emulator.issue_trigger_id(user_id)
        action = {
            "action_id": action_id,
            "block_id": block_id,
            "type": element.get("type", "button"),
            "value": value if value is not None else element.get("value"),
            "action_ts": f"{self.emulator.clock():.6f}",
        }
        if "text" in element:
            action["text"] = element["text"]
        container = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": ephemeral is not None,
        }
        payload = self._block_actions(user, container, trigger_id, action)
        payload["channel"] = {"id": channel_id, "name": self._channel_name(channel_id)}
        payload["response_url"] = response_url
        if message is not None:
            payload["message"] = message
        body = urlencode({"payload": json.dumps(payload)}).encode()
        resp = self._send(body, "application/x-www-form-urlencoded", retry_num=None, timestamp=None, timeout=timeout)
        result = CommandResult(resp.status, resp.body, resp.elapsed, response_url, trigger_id, body, self.emulator)
        if wait:
            self._wait(result, timeout, f"click {action_id}")
        return result

    def _block_actions(
        self, user: dict[str, Any], container: dict[str, Any], trigger_id: str, action: dict[str, Any]
    ) -> dict[str, Any]:
        """The body of a block_actions interaction, as Slack sends one for a click."""
        return {
            "type": "block_actions",
            "user": user,
            "api_app_id": self.emulator.app_id,
            "token": VERIFICATION_TOKEN,
            "container": container,
            "trigger_id": trigger_id,
            "team": {"id": self.emulator.team_id, "domain": self.emulator.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "state": {"values": {}},
            "actions": [action],
        }

    def click_in_view(
        self, user_id: str, view_id: str, action_id: str, value: str | None = None, timeout: float = 10
    ) -> RawResponse:
        """Click a button in a Home tab or modal the user has open; returns the ack (a view has no response_url)."""
        user = self._user(user_id)
        with self.emulator.lock:
            home = self.emulator.home_tabs.get(user_id)
            view = home if home is not None and home["id"] == view_id else self.emulator.views.get(view_id)
            owner = user_id if view is home else self.emulator.view_owners.get(view_id)
        if view is None or owner != user_id:
            raise AssertionError(f"click_in_view: no view {view_id} open for {user_id}")
        block_id, element = _find_action(view.get("blocks") or [], action_id)
        action = {
            "action_id": action_id,
            "block_id": block_id,
            "type": element.get("type", "button"),
            "action_ts": f"{self.emulator.clock():.6f}",
        }
        chosen = value if value is not None else element.get("value")
        if chosen is not None:
            action["value"] = chosen
        if "text" in element:
            action["text"] = element["text"]
        container = {"type": "view", "view_id": view_id}
        payload = self._block_actions(user, container, self.emulator.issue_trigger_id(user_id), action)
        payload["view"] = view
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self._send(body, "application/x-www-form-urlencoded", retry_num=None, timestamp=None, timeout=timeout)

    def submit_view(
        self, user_id: str, view_id: str, values: dict[str, dict[str, dict[str, Any]]], timeout: float = 10
    ) -> ViewSubmissionResult:
        """Submit a modal opened via views.open with the given state values; returns the bot's ack."""
        user = self._user(user_id)
        view = self.emulator.views.get(view_id)
        if view is None or self.emulator.view_owners.get(view_id) != user_id:
            raise AssertionError(f"submit_view: no view {view_id} open for {user_id}")
        submitted = {**view, "state": {"values": values}}
        payload = {
            "type": "view_submission",
            "team": {"id": self.emulator.team_id, "domain": self.emulator.team_domain},
            "user": user,
            "api_app_id": self.emulator.app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self.emulator.issue_trigger_id(user_id),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        resp = self._send(body, "application/x-www-form-urlencoded", retry_num=None, timestamp=None, timeout=timeout)
        with self.emulator.lock:
            view["state"] = {"values": values}
        return ViewSubmissionResult(resp.status, resp.body, resp.headers, resp.elapsed, view_id=view_id)

    def event(
        self,
        event: dict[str, Any],
        event_id: str | None = None,
        retry_num: int | None = None,
        timestamp: int | None = None,
        timeout: float = 10,
    ) -> RawResponse:
        """Deliver an Events API event_callback; the same event_id with retry_num simulates a retry."""
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.emulator.team_id,
            "api_app_id": self.emulator.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(self.emulator.clock()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.emulator.team_id,
                    "user_id": self.emulator.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        body = json.dumps(envelope).encode()
        return self._send(body, "application/json", retry_num=retry_num, timestamp=timestamp, timeout=timeout)


def _find_action(blocks: list[dict[str, Any]], action_id: str) -> tuple[str, dict[str, Any]]:
    """The block_id and element for an action_id; a user cannot click what is not on screen."""
    for block in blocks:
        candidates = list(block.get("elements", [])) if block.get("type") == "actions" else []
        if "accessory" in block:
            candidates.append(block["accessory"])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id", "")), element
    shown = [e.get("action_id") for b in blocks for e in b.get("elements", []) if isinstance(e, dict)]
    raise AssertionError(f"click: no element with action_id {action_id!r} in the message (have {shown})")
