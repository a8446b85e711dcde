"""A real SMTP server for tests (aiosmtpd) that keeps every message it accepts."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Inbox:
    """aiosmtpd handler that keeps every envelope it accepts."""

    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        """Messages delivered to one address."""
        return [r.message() for r in self.received if address in r.rcpt_tos]


@dataclass
class SmtpServer:
    port: int
    inbox: Inbox

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?from=ircbot@example.com"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_smtp(**controller_options: Any) -> Iterator[SmtpServer]:
    """Serve SMTP on a free loopback port until the block ends."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **controller_options)
    controller.start()
    try:
        yield SmtpServer(port, inbox)
    finally:
        controller.stop()
