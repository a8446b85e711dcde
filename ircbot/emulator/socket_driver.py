"""SocketModeDriver: acts as Slack over Socket Mode, sending what SlackDriver POSTs as envelopes instead.

The same calls (`slash`, `click`, `click_in_view`, `submit_view`, `event`, `resend`) return the same result
objects, so a scenario runs over HTTP or over the socket unchanged. The ack's payload stands in for the
HTTP response body: status 200 and the payload as JSON when the envelope was acknowledged; 503 with
body `dispatch_failed` when no client was connected; 504 with body `operation_timeout` when no ack came
within the socket's `ack_timeout` (an event only after Slack's redeliveries).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from ircbot.emulator.driver import RawResponse, SlackDriver
from ircbot.emulator.socket_mode import NO_CONNECTION, Delivery

if TYPE_CHECKING:
    from ircbot.emulator.emulator import SlackEmulator

# Interactions whose ack may carry a payload Slack acts on (a view submission's response_action).
ANSWERED_IN_ACK = frozenset({"view_submission", "block_suggestion"})


def envelope_of(body: bytes, content_type: str) -> tuple[str, dict[str, Any]]:
    """The Socket Mode envelope type and payload for a body Slack would POST over HTTP."""
    if content_type.startswith("application/json"):
        return "events_api", json.loads(body)
    form = dict(parse_qsl(body.decode(), keep_blank_values=True))
    if set(form) == {"payload"}:
        return "interactive", json.loads(form["payload"])
    return "slash_commands", form


def response_of(delivery: Delivery) -> RawResponse:
    """The HTTP response the delivery's outcome stands for."""
    if not delivery.acked:
        status = 503 if delivery.error == NO_CONNECTION else 504
        return RawResponse(status, delivery.error or "", {}, delivery.elapsed)
    if delivery.payload is None:
        return RawResponse(200, "", {}, delivery.elapsed)
    headers = {"Content-Type": "application/json"}
    return RawResponse(200, json.dumps(delivery.payload), headers, delivery.elapsed)


class SocketModeDriver(SlackDriver):
    """Acts as Slack over the emulator's Socket Mode endpoint; see the module docstring."""

    def __init__(self, emulator: SlackEmulator) -> None:
        super().__init__(bot_url="", signing_secret="", emulator=emulator)
        self.socket = emulator.socket
        self.deliveries: list[Delivery] = []

    def post_raw(self, body: bytes, headers: Mapping[str, str], timeout: float = 10) -> RawResponse:
        """Socket Mode has no request URL, so nothing can be posted to one."""
        raise AssertionError("Socket Mode delivers envelopes; there is no request URL to post to")

    def _send(
        self, body: bytes, content_type: str, *, retry_num: int | None, timestamp: int | None, timeout: float
    ) -> RawResponse:
        kind, payload = envelope_of(body, content_type)
        accepts = kind == "slash_commands" or payload.get("type") in ANSWERED_IN_ACK
        delivery = self.socket.deliver(kind, payload, accepts_response_payload=accepts, retry_attempt=retry_num or 0)
        self.deliveries.append(delivery)
        return response_of(delivery)

    @property
    def connected(self) -> bool:
        """Whether the bot holds an open connection that answers."""
        return self.socket.connected

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until the bot is connected; fails the test when it does not connect in time."""
        if not self.socket.wait_connected(timeout):
            raise AssertionError(f"the bot did not open a Socket Mode connection within {timeout}s")

    def drop(self, *, silent: bool = False) -> None:
        """Lose the bot's connection: hang up without a close frame, or (`silent`) stop answering, pings too."""
        self.socket.drop(silent=silent)

    def refresh(self, timeout: float = 10.0) -> None:
        """Ask the bot to reconnect (`disconnect`, refresh_requested) and wait until it has."""
        if not self.socket.refresh(timeout):
            raise AssertionError(f"the bot did not reconnect within {timeout}s of refresh_requested")
