"""HTTP mode: a WSGI app serving Bolt at POST /slack/events and GET /healthz, run by waitress."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

from ircbot.app import IrcBot

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
EVENTS_PATH = "/slack/events"


def wsgi_app(bot: IrcBot) -> WsgiApp:
    """Route /healthz here and everything else to Bolt's WSGI adapter."""
    slack = SlackRequestHandler(bot.bolt, path=EVENTS_PATH)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            ok = bot.ready()
            start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"ok\n" if ok else b"database unavailable\n"]
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            # Bolt decodes the body as UTF-8 before verifying it; anything else is not from Slack.
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"request body is not UTF-8\n"]
        environ["wsgi.input"] = io.BytesIO(body)
        return slack(environ, start_response)

    return app


class HttpServer:
    """A waitress server for the bot; `start()` runs it in a thread (demo, tests), `run()` in the foreground."""

    def __init__(self, bot: IrcBot, *, host: str = "127.0.0.1", port: int = 3000, threads: int = 16):
        self.server = create_server(wsgi_app(bot), host=host, port=port, threads=threads, ident="ircbot")
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
        """Stop accepting connections, finish the worker threads, and wait for the loop to end."""
        self._stopping = True
        self.server.close()
        self.server.task_dispatcher.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
