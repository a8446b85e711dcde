"""HTTP plumbing: routes /api/<method>, /upload/<file_id> and /response/<id> to the emulator."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ircbot.emulator.emulator import SlackEmulator


class EmulatorServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its emulator."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, emulator: SlackEmulator, address: tuple[str, int]) -> None:
        super().__init__(address, EmulatorRequestHandler)
        self.emulator = emulator


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    """Translates HTTP requests into emulator calls."""

    server: EmulatorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet; the emulator keeps its own call log."""

    def _body(self) -> bytes | None:
        """The request body; None when the client hung up before sending all it announced (a killed bot)."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        return body if len(body) == length else None

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> None:
        emulator = self.server.emulator
        path, _, query = self.path.partition("?")
        if emulator.down and path.startswith("/api/"):
            self.close_connection = True  # hang up without a word, as an unreachable Web API does
            return
        body = self._body()
        if body is None:  # Slack never sees a request that did not arrive whole
            self.close_connection = True
            return
        if path.startswith("/api/"):
            status, headers, payload = emulator.handle_api(path[len("/api/") :], dict(self.headers), body, query)
            data = json.dumps(payload).encode() if payload is not None else b""
            self._send(status, data, "application/json; charset=utf-8", headers)
        elif path.startswith("/upload/"):
            status, text = emulator.handle_upload(path[len("/upload/") :], body)
            self._send(status, text.encode(), "text/plain; charset=utf-8")
        elif path.startswith("/response/"):
            status, text = emulator.handle_response_post(path[len("/response/") :], dict(self.headers), body)
            self._send(status, text.encode(), "text/plain; charset=utf-8")
        else:
            emulator.violations.append(f"request to unknown path {self.command} {self.path}")
            self._send(404, b"not found", "text/plain; charset=utf-8")

    def do_POST(self) -> None:
        """Slack clients POST everything."""
        self._route()

    def do_GET(self) -> None:
        """GET with query parameters also works for Web API methods."""
        self._route()
