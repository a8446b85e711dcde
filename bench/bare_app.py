"""A Bolt app that only acknowledges `/incident`, served by waitress like ircbot: the baseline for bench/ack.py.

Run as ``python bench/bare_app.py --port 3001 --threads 16`` with SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and
SLACK_API_URL in the environment (the same variables ircbot reads).
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from waitress.server import create_server

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def build_bolt(signing_secret: str, token: str, api_url: str) -> App:
    """A Bolt app whose only listener acks `/incident` and does nothing else."""
    app = App(
        signing_secret=signing_secret,
        client=WebClient(base_url=api_url, token=token),
        token_verification_enabled=False,
        logger=logging.getLogger("bare"),
    )

    @app.command("/incident")
    def on_incident(ack: Ack) -> None:
        ack()

    return app


def wsgi_app(bolt: App) -> WsgiApp:
    """Bolt at /slack/events plus a /healthz that always answers, mirroring ircbot's routes."""
    slack = SlackRequestHandler(bolt, path="/slack/events")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        return slack(environ, start_response)

    return app


def main() -> None:
    """Serve the bare app until killed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    bolt = build_bolt(os.environ["SLACK_SIGNING_SECRET"], os.environ["SLACK_BOT_TOKEN"], os.environ["SLACK_API_URL"])
    server = create_server(wsgi_app(bolt), host=args.host, port=args.port, threads=args.threads, ident="bare")
    server.run()


if __name__ == "__main__":
    main()
