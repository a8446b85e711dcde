"""HTTP mode: a WSGI app serving Bolt at POST /slack/events, GET /healthz, GET /metrics and POST /alerts/<source>,
run by waitress.

In Socket Mode the same server runs without /slack/events (Slack's requests come over the socket), and
/healthz also answers 503 while the socket is down.

The edge refuses what cannot be Slack's before Bolt sees it: bodies over MAX_BODY (413), requests
whose signature headers are missing or malformed (401), and signed bodies that do not parse (400).
Each refusal is one log line, never the body.
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from functools import partial
from typing import Any
from urllib.parse import parse_qs

from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from waitress import wasyncore
from waitress.server import create_server

from ircbot.app import IrcBot
from ircbot.domain.alert_receiving import GroupCommit, receive
from ircbot.domain.alert_sources import READERS, NormalisedAlert, read_alerts
from ircbot.errors import InvalidInput
from ircbot.slack.markup import neutral
from ircbot.telemetry import CONTENT_TYPE as METRICS_CONTENT_TYPE

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
EVENTS_PATH = "/slack/events"
ALERTS_PREFIX = "/alerts/"  # POST /alerts/<source>, served in Socket Mode too
MAX_BODY = 1024 * 1024  # Slack's requests are a few kilobytes; the largest view submissions stay far below this
HEALTH_TIMEOUT = 1.0  # seconds a health probe waits for the database
# Slow or idle clients are dropped after this long, so trickled bodies cannot hold every connection.
CHANNEL_TIMEOUT = 15
CONNECTION_LIMIT = 1000

log = logging.getLogger("ircbot.web")


class HealthProbe:
    """Answers within HEALTH_TIMEOUT on a thread budget of its own, so hung probes never take request threads."""

    def __init__(self, bot: IrcBot, socket_connected: Callable[[], bool] | None = None):
        self.bot = bot
        self.socket_connected = socket_connected
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ircbot-health")
        self._running: Any = None
        self._lock = threading.Lock()

    def problem(self) -> str | None:
        """What makes the bot unhealthy (the Slack socket is down, the database does not answer), or None."""
        if self.socket_connected is not None and not self.socket_connected():
            return "Slack socket not connected"
        return None if self.healthy() else "database unavailable"

    def healthy(self) -> bool:
        """True when the database answered within the time allowed."""
        with self._lock:
            if self._running is None or self._running.done():
                self._running = self._pool.submit(self.bot.ready)
            running = self._running  # a probe still waiting on the database is shared, not queued again
        try:
            return bool(running.result(timeout=HEALTH_TIMEOUT))
        except FutureTimeout:
            return False

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _refuse(start_response: Callable[..., Any], status: str, reason: str, environ: dict[str, Any]) -> list[bytes]:
    log.warning(
        "refused %s %s from %s: %s",
        environ.get("REQUEST_METHOD"),
        environ.get("PATH_INFO"),
        environ.get("REMOTE_ADDR"),
        reason,
    )
    start_response(status, [("Content-Type", "text/plain")])
    return [f"{reason}\n".encode()]


def _problem(environ: dict[str, Any], body: bytes, verifier: SignatureVerifier | None) -> tuple[str, str] | None:
    """(HTTP status, reason) when the request cannot be Slack's; None when Bolt should have it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "400 Bad Request", "request body is not UTF-8"
    if verifier is not None:
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if not timestamp.strip().isdigit() or not signature:
            return "401 Unauthorized", "missing or malformed Slack signature headers"
        if not verifier.is_valid(body=text, timestamp=timestamp, signature=signature):
            return "401 Unauthorized", "invalid or stale Slack signature"
    try:
        if environ.get("CONTENT_TYPE", "").startswith("application/json"):
            json.loads(text or "{}")
        elif "payload" in (form := parse_qs(text)):
            json.loads(form["payload"][0])
    except ValueError:
        return "400 Bad Request", "the body does not parse"
    return None


def wsgi_app(bot: IrcBot, probe: HealthProbe, *, slack_events: bool = True) -> WsgiApp:
    """Route /healthz here and everything else, once it passes the edge's checks, to Bolt's WSGI adapter.

    Without `slack_events` (Socket Mode) /slack/events answers 404: Slack's requests come over the socket.
    """
    slack = SlackRequestHandler(bot.bolt, path=EVENTS_PATH)
    secret = bot.settings.slack_signing_secret
    verifier = SignatureVerifier(secret) if secret else None
    intake = alert_intake(bot)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/metrics" and environ.get("REQUEST_METHOD") == "GET":
            body = bot.telemetry.exposition()
            start_response("200 OK", [("Content-Type", METRICS_CONTENT_TYPE), ("Content-Length", str(len(body)))])
            return [body]
        if environ.get("PATH_INFO") == "/healthz":
            unhealthy = probe.problem()
            start_response("503 Service Unavailable" if unhealthy else "200 OK", [("Content-Type", "text/plain")])
            return [f"{unhealthy or 'ok'}\n".encode()]
        if str(environ.get("PATH_INFO", "")).startswith(ALERTS_PREFIX):
            return intake(environ, start_response)
        if not slack_events and environ.get("PATH_INFO") == EVENTS_PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not served: in Socket Mode Slack's requests come over the socket\n"]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _refuse(start_response, "400 Bad Request", "Content-Length is not a number", environ)
        if length > MAX_BODY:
            return _refuse(start_response, "413 Payload Too Large", f"body over {MAX_BODY} bytes", environ)
        body = environ["wsgi.input"].read(length)
        problem = _problem(environ, body, verifier)
        if problem is not None:
            return _refuse(start_response, *problem, environ)
        environ["wsgi.input"] = io.BytesIO(body)
        return slack(environ, start_response)

    return app


def alert_tokens(bot: IrcBot) -> dict[str, str]:
    """The token each alert source must send: its own (alerts.yaml's token_env) or IRCBOT_ALERT_TOKEN."""
    tokens = {}
    for source in READERS:
        own = bot.config.alerts.token_env.get(source)
        token = os.environ.get(own, "") if own else bot.settings.alert_token or ""
        if own and not token:
            log.warning("alerts.yaml names %s for %s alerts, but it is not set: they are refused", own, source)
        if token:
            tokens[source] = token
    return tokens


def alert_intake(bot: IrcBot) -> WsgiApp:
    """POST /alerts/<source> (token as `Authorization: Bearer …` or as /alerts/<source>/<token>): 202 once stored.

    The requests arriving together are stored in one commit (GroupCommit), each answered once it is in.
    """
    tokens = alert_tokens(bot)
    commits = GroupCommit(partial(receive, bot.services))

    def answer(start_response: Callable[..., Any], status: str, body: dict[str, Any]) -> list[bytes]:
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        source, _, path_token = str(environ["PATH_INFO"])[len(ALERTS_PREFIX) :].partition("/")
        if source not in READERS or "/" in path_token:
            sources = ", ".join(READERS)
            return answer(start_response, "404 Not Found", {"error": f"no alert source here; sources are {sources}"})
        if environ.get("REQUEST_METHOD") != "POST":
            return answer(start_response, "405 Method Not Allowed", {"error": "alerts are sent with POST"})
        scheme, _, bearer = str(environ.get("HTTP_AUTHORIZATION", "")).partition(" ")
        given = bearer.strip() if scheme.lower() == "bearer" else path_token
        expected = tokens.get(source)
        if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
            log.warning("refused %s alerts from %s: wrong or missing token", source, environ.get("REMOTE_ADDR"))
            return answer(start_response, "401 Unauthorized", {"error": "wrong or missing token"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return answer(start_response, "400 Bad Request", {"error": "Content-Length is not a number"})
        if length > MAX_BODY:
            return answer(start_response, "413 Payload Too Large", {"error": f"body over {MAX_BODY} bytes"})
        try:
            alerts = _storable(read_alerts(source, environ["wsgi.input"].read(length)))
        except InvalidInput as exc:
            log.warning("refused %s alerts from %s: %s", source, environ.get("REMOTE_ADDR"), exc.message)
            return answer(start_response, "400 Bad Request", {"error": exc.message})
        # What a sender writes reaches Slack: it pings nobody and disguises no link.
        alerts = [replace(a, title=neutral(a.title), description=neutral(a.description)) for a in alerts]
        try:
            stored = commits.store(alerts)
        except Exception:  # the sender keeps the alert and retries; nothing half-stored (one commit)
            log.exception("could not store %d %s alert(s)", len(alerts), source)
            return answer(start_response, "503 Service Unavailable", {"error": "could not store the alerts; retry"})
        return answer(start_response, "202 Accepted", {"accepted": len(stored), "ids": stored})

    return app


def _storable(alerts: list[NormalisedAlert]) -> list[NormalisedAlert]:
    """The alerts, or InvalidInput when one holds text no database column takes: PostgreSQL refuses a NUL
    character in text where SQLite keeps it, and a refusal at commit would be a 503 the sender retries forever."""
    for n, alert in enumerate(alerts):
        if any("\x00" in text for text in (alert.title, alert.description, alert.fingerprint, alert.group_key)):
            where = f"alert {n + 1}" if len(alerts) > 1 else "the alert"
            raise InvalidInput(f"{where} holds a NUL character (\\u0000) in its text; send it without")
    return alerts


class HttpServer:
    """A waitress server for the bot; `start()` runs it in a thread (demo, tests), `run()` in the foreground."""

    def __init__(
        self,
        bot: IrcBot,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        threads: int = 16,
        socket_connected: Callable[[], bool] | None = None,
    ):
        """With `socket_connected` (Socket Mode) /slack/events is not served and /healthz also checks the socket."""
        self.probe = HealthProbe(bot, socket_connected)
        self._connections: dict[int, Any] = {}  # waitress's socket map: the listener and every open connection
        self.server = create_server(
            wsgi_app(bot, self.probe, slack_events=socket_connected is None),
            map=self._connections,
            host=host,
            port=port,
            threads=threads,
            ident="ircbot",
            max_request_body_size=MAX_BODY,
            channel_timeout=CHANNEL_TIMEOUT,
            connection_limit=CONNECTION_LIMIT,
        )
        self._thread: threading.Thread | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        host, port = self.server.effective_host, self.server.effective_port  # type: ignore[union-attr]
        return f"http://{host}:{port}"

    def run(self) -> None:
        """Serve until interrupted."""
        self.server.run()

    def start(self) -> str:
        """Serve in a daemon thread; returns the base URL."""
        self._thread = threading.Thread(target=self._run_until_stopped, name="ircbot-http", daemon=True)
        self._thread.start()
        return self.url

    def _run_until_stopped(self) -> None:
        try:
            self.server.run()
        except (OSError, ValueError):
            # Closing the listening socket from another thread can wake select() on a dead descriptor.
            if not self._stopping:
                raise

    def stop(self) -> None:
        """Stop accepting connections, finish the worker threads, wait for the loop to end, and close every
        connection still open (a second call does nothing)."""
        if self._stopping:
            return
        self._stopping = True
        self.server.close()
        self.server.task_dispatcher.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        wasyncore.close_all(self._connections, ignore_all=True)  # closing the listener leaves kept-alive ones open
        self.probe.close()
