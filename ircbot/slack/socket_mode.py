"""Socket Mode: Slack's requests arrive over a WebSocket that ircbot opens, and are acknowledged on it.

Which slack_sdk client, and why. Slack's end can vanish without a close frame (a hang-up) or stop
answering altogether (a partition); until the client notices, every slash command fails. The four
clients notice differently; measured against the emulator, from the drop to the first acknowledged
command (hang-up / silence):

- ``builtin``, Bolt's default ``SocketModeHandler`` (ping every 10 s): 60 s / 52 s. After a hang-up
  its reader spins on empty reads; the connection is given up only after five failed pings or four
  ping intervals without a pong, checked once per interval. With a 2 s interval: 10 s / 12 s.
- ``websocket_client``: 0.6 s / never. It sees a hang-up at once but runs without a pong timeout.
- ``websockets`` (2 s interval): 2 s / 32 s. A silent peer is given up only after websockets' own
  20 s pong timeout, which the SDK does not let us set.
- ``aiohttp``, chosen (2 s interval): 2 s / 4 s. aiohttp's heartbeat pings after each quiet interval
  and closes the connection when no pong came within half of it; the SDK's monitor, once per
  interval, reconnects through a new apps.connections.open when the session is closed or its own pings
  go unanswered. A ``disconnect`` (refresh_requested) reconnects at once: the first command after a
  refresh was acknowledged in 3 ms. (`ircbot serve --socket-mode`, tests/test_socket_mode.py.)

The client is asyncio-based, so it runs on an event loop in a thread of its own; Bolt's dispatch (the
ack listeners) runs on worker threads, so a slow ack never holds up the loop that answers pings.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import aiohttp
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from ircbot.errors import ConfigError

# Seconds between pings; a pong later than half of it counts as a lost connection (a reconnect of a few
# milliseconds, never a lost ack: Slack redelivers an event it did not see acknowledged).
PING_INTERVAL = 2.0
STATE_TIMEOUT = 0.5  # seconds a health probe waits for the event loop to say whether the socket is up
# apps.connections.open errors that say the token itself is wrong: `serve` stops rather than retry forever.
TOKEN_REFUSED = frozenset(
    {"invalid_auth", "not_authed", "not_allowed_token_type", "token_revoked", "token_expired", "account_inactive"}
)


def ack_payload(response: BoltResponse) -> dict[str, Any] | None:
    """What Bolt's ack said, as the payload of the Socket Mode acknowledgement (None for a bare ack)."""
    if not response.body:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    if content_type.startswith("application/json"):
        decoded = json.loads(response.body)
        return decoded if isinstance(decoded, dict) else {"text": response.body}
    return {"text": response.body}


def retry_headers(request: SocketModeRequest) -> dict[str, str | Sequence[str]]:
    """A redelivered event's attempt and reason, as the headers Slack sends with an HTTP retry."""
    headers: dict[str, str | Sequence[str]] = {}
    if request.retry_attempt:
        headers["x-slack-retry-num"] = [str(request.retry_attempt)]
    if request.retry_reason:
        headers["x-slack-retry-reason"] = [request.retry_reason]
    return headers


class SocketModeLink:
    """The bot's Socket Mode connection to Slack: opened by `start()`, kept open (reconnecting) until `close()`."""

    def __init__(self, bolt: App, *, app_token: str, api_url: str, workers: int = 16, timeout: int = 15) -> None:
        self.bolt = bolt
        self.app_token = app_token
        self.api_url = api_url
        self.timeout = timeout
        self.log = logging.getLogger("ircbot.socket_mode")
        self._workers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ircbot-socket")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ircbot-socket-mode", daemon=True)
        self._client: SocketModeClient | None = None
        self._connecting: asyncio.Future[None] | None = None

    def start(self) -> None:
        """Start connecting; raises ConfigError when Slack refuses the app-level token.

        Returns without waiting for the socket when Slack cannot be reached: the client keeps trying, and
        /healthz answers 503 until it is connected.
        """
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), self._loop).result()

    def connected(self) -> bool:
        """Whether the socket is open and Slack answers its pings (False while reconnecting)."""
        client = self._client
        if client is None:
            return False
        state = asyncio.run_coroutine_threadsafe(client.is_connected(), self._loop)
        try:
            return bool(state.result(timeout=STATE_TIMEOUT))
        except FutureTimeout:  # a loop too busy to answer is not serving Slack either
            state.cancel()
            return False

    def close(self) -> None:
        """Close the connection and stop the loop and the workers."""
        if self._client is not None:
            asyncio.run_coroutine_threadsafe(self._client.close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._workers.shutdown(wait=True)

    async def _open(self) -> None:
        web = AsyncWebClient(base_url=self.api_url, timeout=self.timeout, logger=self.log)
        client = SocketModeClient(
            app_token=self.app_token, web_client=web, ping_interval=PING_INTERVAL, logger=self.log
        )
        client.socket_mode_request_listeners.append(self._on_request)
        try:
            client.wss_uri = await client.issue_new_wss_url()
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error not in TOKEN_REFUSED:
                self.log.warning("Slack did not open the socket (%s); trying again", error)
                return await self._keep_connecting(client)
            await client.close()
            raise ConfigError(
                [
                    f"SLACK_APP_TOKEN: Slack refused it for Socket Mode ({error}); give an app-level token with the "
                    "connections:write scope from Basic Information → App-Level Tokens"
                ]
            ) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self.log.warning("Slack could not be reached to open the socket (%s); trying again", exc)
        await self._keep_connecting(client)

    async def _keep_connecting(self, client: SocketModeClient) -> None:
        """Connect in the background; the client's own loop retries, and later reconnects."""
        self._client = client
        self._connecting = asyncio.ensure_future(client.connect())  # held, so the task is not collected

    async def _on_request(self, client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        ack = await self._loop.run_in_executor(self._workers, self._dispatch, request)
        if ack is not None:
            await client.send_socket_mode_response(ack)

    def _dispatch(self, request: SocketModeRequest) -> SocketModeResponse | None:
        """Run Bolt on one envelope; the acknowledgement to send, or None when Bolt did not acknowledge it."""
        bolt_request = BoltRequest(mode="socket_mode", body=request.payload, headers=retry_headers(request))
        response = self.bolt.dispatch(bolt_request)
        if response.status != 200:
            self.log.warning("a %s envelope is not acknowledged: Bolt answered %s", request.type, response.status)
            return None
        return SocketModeResponse(envelope_id=request.envelope_id, payload=ack_payload(response))
