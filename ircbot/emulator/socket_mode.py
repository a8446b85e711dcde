"""Slack's end of Socket Mode: a WebSocket endpoint that sends envelopes to the app and waits for its acks.

A client opens a connection with a URL from apps.connections.open (one ticket per connection) and is
greeted with `hello`. Envelopes go to the newest open connection; an unacknowledged `events_api`
envelope is sent again with `retry_attempt` incremented, as Slack does. The endpoint can ask a client
to reconnect (`disconnect`, reason `refresh_requested`), hang up without a close frame, or fall silent.

It runs websockets' sans-I/O protocol over its own sockets and threads rather than websockets' threaded
server, so that a connection can fall silent: reads and writes stop, pongs included, the way a network
partition looks to the client.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State as ProtocolState
from websockets.server import ServerProtocol

from ircbot.emulator.state import State

ACK_TIMEOUT = 3.0  # seconds Slack waits for an envelope's acknowledgement
EVENT_RETRIES = 3  # an unacknowledged event is delivered this many more times
NO_CONNECTION, NO_ACK = "dispatch_failed", "operation_timeout"  # what Slack shows when an envelope was not acked

log = logging.getLogger("ircbot.emulator.socket_mode")


@dataclass
class Delivery:
    """What became of an envelope: the ack's payload, or why there was none (`error`)."""

    acked: bool
    payload: dict[str, Any] | None
    elapsed: float
    envelopes: list[dict[str, Any]]
    error: str | None = None


@dataclass
class _Waiting:
    """An envelope sent and not acknowledged yet."""

    envelope: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    payload: dict[str, Any] | None = None
    acked_at: float = 0.0


class Link:
    """One client connection: its socket, its protocol state, and the thread reading it."""

    def __init__(self, server: SocketModeServer, sock: socket.socket, number: int) -> None:
        self.server = server
        self.sock = sock
        self.number = number
        self.protocol = ServerProtocol(logger=log)
        self.write_lock = threading.Lock()
        self.open = False
        self.silent = False
        self.thread = threading.Thread(target=self._run, name=f"socket-mode-link-{number}", daemon=True)

    def send_json(self, message: dict[str, Any]) -> bool:
        """Send one text frame; False when the connection is gone."""
        with self.write_lock:
            if not self.open or self.silent:
                return False
            self.protocol.send_text(json.dumps(message).encode())
            return self._flush()

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake; the client answers and the reading thread ends."""
        with self.write_lock:
            if self.protocol.state is ProtocolState.OPEN:
                self.protocol.send_close(code, reason)
                self._flush()

    def hang_up(self) -> None:
        """Close the TCP connection without a close frame (the reading thread sees it and ends)."""
        self.open = False
        with contextlib.suppress(OSError):  # already gone
            self.sock.shutdown(socket.SHUT_RDWR)

    def _flush(self) -> bool:
        try:
            for chunk in self.protocol.data_to_send():
                if chunk:
                    self.sock.sendall(chunk)
                else:  # the protocol ends its side of the stream
                    self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self.open = False
            return False
        return True

    def _run(self) -> None:
        try:
            if self._handshake():
                self.server.opened(self)
                self._read()
        except OSError:
            pass  # the connection broke; the client reconnects
        finally:
            self.open = False
            self.sock.close()
            self.server.ended(self)

    def _handshake(self) -> bool:
        while True:
            data = self.sock.recv(65536)
            if not data:
                return False
            self.protocol.receive_data(data)
            requests = [e for e in self.protocol.events_received() if isinstance(e, Request)]
            if requests:
                break
        refusal = self.server.refusal(requests[0])
        response = self.protocol.accept(requests[0]) if refusal is None else self.protocol.reject(401, refusal)
        with self.write_lock:
            self.protocol.send_response(response)
            self.open = response.status_code == 101
            self._flush()
        return self.open

    def _read(self) -> None:
        while True:
            data = self.sock.recv(65536)
            if self.silent:  # read and forget: no pong, no ack reaches the emulator
                if not data:
                    return
                continue
            with self.write_lock:
                if data:
                    self.protocol.receive_data(data)
                else:
                    self.protocol.receive_eof()
                events = self.protocol.events_received()
                self._flush()  # pongs and the answer to a close frame
            for event in events:
                if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                    self.server.received(self, bytes(event.data).decode())
            if not data or self.protocol.close_expected() or self.protocol.state is ProtocolState.CLOSED:
                return


class SocketModeServer:
    """The Socket Mode endpoint of an emulated workspace (`emulator.socket`)."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.ack_timeout = ACK_TIMEOUT
        self.links: list[Link] = []
        self.opened_count = 0
        self.late_acks = 0  # acks that came after Slack had given up on their envelope
        self._lost_acks = 0
        self._expired: set[str] = set()
        self._waiting: dict[str, _Waiting] = {}
        self._changed = threading.Condition()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ----------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1") -> str:
        """Listen on a free port in a daemon thread; returns the ws:// base URL."""
        self._listener = socket.create_server((host, 0))
        self._thread = threading.Thread(target=self._accept, name="socket-mode-accept", daemon=True)
        self._thread.start()
        return f"ws://{host}:{self._listener.getsockname()[1]}"

    def stop(self) -> None:
        """Stop listening and hang up every connection."""
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
            self._listener.close()
            self._listener = None
        self._hang_up_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def reset(self) -> None:
        """Drop every connection; forget the envelopes waiting for acks, the lost acks and the ack timeout."""
        with self._changed:
            self._waiting, self._expired, self._lost_acks, self.late_acks = {}, set(), 0, 0
            self.ack_timeout = ACK_TIMEOUT
        self._hang_up_all()

    def _hang_up_all(self) -> None:
        with self._changed:
            links = list(self.links)
        for link in links:
            link.hang_up()
        for link in links:
            link.thread.join(timeout=5)

    def _accept(self) -> None:
        listener = self._listener
        while listener is not None:
            try:
                sock, _ = listener.accept()
            except OSError:
                return  # stop() closed the listening socket
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._changed:
                self.opened_count += 1
                link = Link(self, sock, self.opened_count)
                self.links.append(link)
            link.thread.start()

    # connections --------------------------------------------------------------------------------

    def refusal(self, request: Request) -> str | None:
        """Why a handshake is refused (an unknown or used ticket), or None to accept it."""
        url = urlsplit(request.path)
        ticket = (parse_qs(url.query).get("ticket") or [""])[0]
        with self.state.lock:
            used = self.state.socket_tickets.get(ticket)
            if url.path.rstrip("/") == "/link" and used is False:
                self.state.socket_tickets[ticket] = True
                return None
            if ticket in self.state._retired_tickets:  # a client from before a reset, like a retired token
                self.state.stale_requests += 1
                return "invalid_ticket"
            problem = "a used ticket" if used else "no ticket from apps.connections.open"
            self.state.violations.append(f"Socket Mode: a connection came with {problem} ({request.path})")
            return "invalid_ticket"

    def opened(self, link: Link) -> None:
        """Greet a new connection with `hello`, as Slack does."""
        with self._changed:
            count = sum(1 for lk in self.links if lk.open)
            self._changed.notify_all()
        link.send_json(
            {
                "type": "hello",
                "num_connections": count,
                "debug_info": {"host": "applink-emulator", "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": self.state.app_id},
            }
        )

    def ended(self, link: Link) -> None:
        """A connection's reading thread is done."""
        with self._changed:
            if link in self.links:
                self.links.remove(link)
            self._changed.notify_all()

    def current(self) -> Link | None:
        """The connection envelopes go to: the newest open one that still answers."""
        with self._changed:
            live = [lk for lk in self.links if lk.open and not lk.silent]
            return live[-1] if live else None

    @property
    def connected(self) -> bool:
        """Whether a client holds an open connection that answers."""
        return self.current() is not None

    def wait_connected(self, timeout: float = 10.0, newer_than: int = 0) -> bool:
        """Block until a connection opened after connection number `newer_than` is open; False on timeout."""
        with self._changed:
            return self._changed.wait_for(
                lambda: any(lk.open and not lk.silent and lk.number > newer_than for lk in self.links), timeout
            )

    def wait_disconnected(self, timeout: float = 10.0) -> bool:
        """Block until no connection is open; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: not any(lk.open for lk in self.links), timeout)

    # controls -----------------------------------------------------------------------------------

    def refresh(self, timeout: float = 10.0) -> bool:
        """Send `disconnect` (refresh_requested), wait for the client's new connection, then close the old one.

        Returns whether the client connected again within `timeout`.
        """
        old = self._require_current("refresh")
        old.send_json({"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "applink-emulator"}})
        again = self.wait_connected(timeout, newer_than=old.number)
        old.close(1000, "refresh_requested")
        return again

    def drop(self, *, silent: bool = False) -> None:
        """Lose the current connection: hang up without a close frame, or (`silent`) stop reading and answering."""
        link = self._require_current("drop")
        if silent:
            link.silent = True
            with self._changed:
                self._changed.notify_all()
        else:
            link.hang_up()

    def lose_acks(self, count: int = 1) -> None:
        """The next `count` acks are lost on the way, so their envelopes count as unacknowledged."""
        with self._changed:
            self._lost_acks += count

    def _require_current(self, what: str) -> Link:
        link = self.current()
        if link is None:
            raise AssertionError(f"socket mode {what}: no client is connected")
        return link

    # envelopes ----------------------------------------------------------------------------------

    def deliver(
        self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False, retry_attempt: int = 0
    ) -> Delivery:
        """Send an envelope and wait for its ack; an `events_api` one is sent again while unacknowledged."""
        started = time.monotonic()
        sent: list[dict[str, Any]] = []
        attempt = retry_attempt
        while True:
            link = self.current()
            if link is None:
                return Delivery(False, None, time.monotonic() - started, sent, NO_CONNECTION)
            envelope: dict[str, Any] = {
                "envelope_id": str(uuid.uuid4()),
                "payload": payload,
                "type": kind,
                "accepts_response_payload": accepts_response_payload,
            }
            if kind == "events_api":
                envelope.update(retry_attempt=attempt, retry_reason="timeout" if attempt else "")
            waiting = _Waiting(envelope)
            with self._changed:
                self._waiting[envelope["envelope_id"]] = waiting
            if link.send_json(envelope):
                sent.append(envelope)
                if waiting.done.wait(self.ack_timeout):
                    return Delivery(True, waiting.payload, waiting.acked_at - started, sent)
            with self._changed:
                if self._waiting.pop(envelope["envelope_id"], None) is not None:
                    self._expired.add(envelope["envelope_id"])
            if kind != "events_api" or attempt >= retry_attempt + EVENT_RETRIES:
                return Delivery(False, None, time.monotonic() - started, sent, NO_ACK)
            attempt += 1

    def received(self, link: Link, text: str) -> None:
        """A text frame from the client: it must acknowledge an envelope (on any of the app's connections)."""
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            message = None
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        with self._changed:
            waiting = self._waiting.pop(envelope_id, None) if isinstance(envelope_id, str) else None
            if waiting is None and envelope_id in self._expired:
                self._expired.discard(envelope_id)
                self.late_acks += 1
                return
            if waiting is None:
                self.state.violations.append(f"Socket Mode: not the ack of an envelope in flight: {text[:200]}")
                return
            if self._lost_acks:
                self._lost_acks -= 1
                return
        payload = message.get("payload") if isinstance(message, dict) else None
        if payload is not None and not waiting.envelope["accepts_response_payload"]:
            self.state.violations.append(
                f"Socket Mode: an ack carries a payload its {waiting.envelope['type']} envelope does not accept: {text}"
            )
        waiting.payload, waiting.acked_at = payload, time.monotonic()
        waiting.done.set()
