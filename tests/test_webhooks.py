"""Outbound webhooks: signed like Slack's requests, delivered through the outbox, retried, kept across a restart."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from ircbot.adapters.webhooks import HttpWebhooks
from ircbot.config import load_config
from ircbot.errors import ConfigError, GatewayError
from ircbot.store.models import OutboxMessage
from tests.conftest import Harness
from tests.factories import BOB, write_config

SECRET = "whsec-3b9d2f1e7a"
SECRET_ENV = "IRCBOT_SOAR_SECRET"


@dataclass
class Delivery:
    """One POST the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))

    def signed_with(self, secret: str) -> bool:
        """Check the signature the way a receiver would: HMAC-SHA256 over v0:{timestamp}:{body}."""
        timestamp = self.headers["X-Ircbot-Request-Timestamp"]
        base = b"v0:" + timestamp.encode() + b":" + self.body
        expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers["X-Ircbot-Signature"])


@dataclass
class Receiver:
    """A local HTTP endpoint that answers the statuses queued per path (then 200) and keeps every request."""

    url: str
    failures: dict[str, list[int]] = field(default_factory=dict)
    slow: dict[str, float] = field(default_factory=dict)  # path -> seconds before answering
    received: list[Delivery] = field(default_factory=list)

    def fail(self, path: str, *statuses: int) -> None:
        """Answer the next requests to `path` with these statuses."""
        self.failures.setdefault(path, []).extend(statuses)

    def at(self, path: str) -> list[Delivery]:
        """What arrived at `path`."""
        return [d for d in self.received if d.path == path]

    def accepted(self, path: str) -> list[Delivery]:
        """What `path` answered with 2xx."""
        return [d for d in self.at(path) if d.status < 300]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An http.server on 127.0.0.1 in a thread."""
    state: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            time.sleep(state.slow.get(self.path, 0))
            queued = state.failures.get(self.path) or []
            status = queued.pop(0) if queued else 200
            state.received.append(Delivery(self.path, dict(self.headers.items()), body, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = False  # server_close() then waits for requests in flight, closing their sockets
    state = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(autouse=True)
def webhook_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """The endpoint's secret, in the environment the way an operator would give it."""
    monkeypatch.setenv(SECRET_ENV, SECRET)


def endpoint(receiver: Receiver, path: str, *events: str, include_private: bool = False) -> dict[str, object]:
    """One entry of webhooks.yaml."""
    return {
        "url": receiver.url + path,
        "secret_env": SECRET_ENV,
        "events": list(events),
        "include_private": include_private,
    }


def outbox_webhooks(h: Harness) -> list[OutboxMessage]:
    """The webhook rows of the outbox."""
    with h.bot.db.transaction() as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.kind == "webhook")).all())


def test_public_incident_webhooks_are_signed_retried_with_one_delivery_id_and_carry_the_title(
    make_harness: Callable[..., Harness], receiver: Receiver
) -> None:
    receiver.fail("/soar", 500)
    h = make_harness(webhooks=[endpoint(receiver, "/soar", "declared", "resolved")])
    _, channel = h.declare("Phishing wave against finance sev2 --public")
    assert receiver.received == [], "the POST waits for the outbox, after the declare's commit"
    h.run_timers()
    assert [d.status for d in receiver.at("/soar")] == [500]
    h.advance(seconds=1)
    assert len(receiver.at("/soar")) == 1, "the retry waits for its backoff"
    h.advance(seconds=1)
    first, retry = receiver.at("/soar")
    assert retry.status == 200
    assert first.headers["X-Ircbot-Delivery"] == retry.headers["X-Ircbot-Delivery"]
    assert first.body == retry.body
    declared = retry.json
    assert declared["event"] == "declared" and declared["key"] == "INC-1"
    assert declared["severity"] == "sev2" and declared["stage"] == "detection"
    assert declared["title"] == "Phishing wave against finance" and declared["channel"] == channel
    assert declared["time"] and declared["facts"]["title"] == "Phishing wave against finance"

    h.slash("resolve Mailboxes cleaned, rule blocked", channel=channel)
    h.run_timers()
    resolved = receiver.accepted("/soar")[-1]
    assert resolved.json["event"] == "resolved" and resolved.json["title"] == "Phishing wave against finance"
    assert resolved.headers["X-Ircbot-Delivery"] != first.headers["X-Ircbot-Delivery"]
    assert [d.json["event"] for d in receiver.accepted("/soar")] == ["declared", "resolved"], "no other events"
    for delivery in receiver.received:
        assert delivery.signed_with(SECRET)
        assert not delivery.signed_with("another secret")
        assert delivery.headers["Content-Type"] == "application/json"
        assert abs(int(delivery.headers["X-Ircbot-Request-Timestamp"]) - h.clock.peek().timestamp()) < 60
    assert {m.status for m in outbox_webhooks(h)} == {"sent"}


def test_a_private_incident_says_only_key_severity_stage_and_event_unless_include_private(
    make_harness: Callable[..., Harness], receiver: Receiver
) -> None:
    h = make_harness(
        webhooks=[
            endpoint(receiver, "/ticketing", "declared", "severity_changed"),
            endpoint(receiver, "/soar", "declared", include_private=True),
        ]
    )
    _, channel = h.declare("Exfiltration from HR share sev3")
    h.slash("severity sev1", channel=channel)
    h.run_timers()
    minimal = sorted((d.json for d in receiver.accepted("/ticketing")), key=lambda d: d["event"])  # unordered
    assert minimal == [
        {"event": "declared", "key": "INC-1", "severity": "sev3", "stage": "detection"},
        {"event": "severity_changed", "key": "INC-1", "severity": "sev1", "stage": "detection"},
    ]
    assert b"Exfiltration" not in b"".join(d.body for d in receiver.at("/ticketing"))
    (full,) = receiver.accepted("/soar")
    assert full.json["title"] == "Exfiltration from HR share" and full.json["channel"] == channel
    assert all(d.signed_with(SECRET) for d in receiver.received)


def test_a_delivery_refused_before_a_restart_is_sent_by_the_next_bot_with_the_same_delivery_id(
    make_harness: Callable[..., Harness], receiver: Receiver
) -> None:
    hooks = [endpoint(receiver, "/soar", "declared")]
    receiver.fail("/soar", 503)
    crashed = make_harness(webhooks=hooks)
    crashed.declare("Webshell on the intranet sev2 --public")
    crashed.run_timers()
    assert [d.status for d in receiver.at("/soar")] == [503]
    crashed.bot.close()

    restarted = make_harness(webhooks=hooks)
    restarted.advance(seconds=2)
    refused, delivered = receiver.at("/soar")
    assert delivered.status == 200 and delivered.json["title"] == "Webshell on the intranet"
    assert delivered.headers["X-Ircbot-Delivery"] == refused.headers["X-Ircbot-Delivery"]
    restarted.advance(minutes=5)
    assert len(receiver.at("/soar")) == 2, "delivered once"


def test_a_dead_endpoint_is_given_up_after_a_day_with_a_warning_and_holds_up_no_other(
    make_harness: Callable[..., Harness], receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.fail("/dead", *([500] * 1000))
    h = make_harness(webhooks=[endpoint(receiver, "/dead", "declared"), endpoint(receiver, "/alive", "declared")])
    h.declare("Credential stuffing on the VPN sev4 --public")
    h.run_timers()
    assert len(receiver.accepted("/alive")) == 1
    with caplog.at_level(logging.WARNING, logger="ircbot"):
        h.advance(hours=23, minutes=50)
        assert "pending" in {m.status for m in outbox_webhooks(h)}
        assert not [r for r in caplog.records if "gave up" in r.getMessage()]
        h.advance(minutes=30)
    tries = len(receiver.at("/dead"))
    assert 50 < tries < 200, f"backed off to minutes between tries, not every second: {tries}"
    assert {m.status for m in outbox_webhooks(h)} == {"sent", "failed"}
    (warning,) = [r.getMessage() for r in caplog.records if "gave up" in r.getMessage()]
    assert "INC-1" in warning and "/dead" in warning and "http_500" in warning
    h.advance(hours=1)
    assert len(receiver.at("/dead")) == tries, "given up means no more tries"


def test_a_bad_webhooks_yaml_is_refused_naming_file_line_and_field(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config")
    path = folder / "webhooks.yaml"
    path.write_text(
        "- url: https://soar.example.com/hooks/ircbot\n"  # 1
        f"  secret_env: {SECRET_ENV}\n"  # 2
        "  events:\n"  # 3
        "    - declared\n"  # 4
        "    - incident_exploded\n"  # 5
        "- url: https://tickets.example.com/in\n"  # 6
        "  secret_env: IRCBOT_TICKETS_SECRET\n"  # 7
        "  events: [resolved]\n"  # 8
        "- url: ftp://files.example.com\n"  # 9
        f"  secret_env: {SECRET_ENV}\n"  # 10
        "  events: [declared]\n"  # 11
        "  include_privat: true\n"  # 12
    )
    with pytest.raises(ConfigError) as refused:
        load_config(folder)
    problems = refused.value.problems
    assert any(p.startswith(f"{path}:5: 0.events.1: unknown event 'incident_exploded'; events are") for p in problems)
    assert f"{path}:7: 1.secret_env: the environment variable IRCBOT_TICKETS_SECRET is not set" in "\n".join(problems)
    assert any(p.startswith(f"{path}:9: 2.url: 'ftp://files.example.com' is not an http") for p in problems)
    assert any(p.startswith(f"{path}:12: 2.include_privat:") for p in problems)


def test_a_good_webhooks_yaml_is_loaded_and_the_file_is_optional(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config")
    assert load_config(folder).webhooks.root == []
    (folder / "webhooks.yaml").write_text(
        f"- url: https://soar.example.com/hooks\n  secret_env: {SECRET_ENV}\n  events: [declared, resolved]\n"
    )
    (hook,) = load_config(folder).webhooks.root
    assert hook.events == ["declared", "resolved"] and not hook.include_private and hook.secret == SECRET
    assert SECRET not in repr(hook)


def test_the_http_port_turns_a_timeout_a_non_2xx_and_a_refused_connection_into_errors_to_retry(
    receiver: Receiver,
) -> None:
    port = HttpWebhooks(timeout=0.2)
    port.post(receiver.url + "/ok", b"{}", {"Content-Type": "application/json"})
    receiver.slow["/slow"] = 1.0
    with pytest.raises(GatewayError) as slow:
        port.post(receiver.url + "/slow", b"{}", {})
    assert slow.value.uncertain and slow.value.error.startswith("unreachable")
    receiver.fail("/busy", 503)
    with pytest.raises(GatewayError) as busy:
        port.post(receiver.url + "/busy", b"{}", {})
    assert busy.value.error == "http_503"
    with pytest.raises(GatewayError) as refused:
        port.post("http://127.0.0.1:9/", b"{}", {})
    assert refused.value.error.startswith("unreachable")


def test_an_approved_decision_is_announced_with_who_approved_it(
    make_harness: Callable[..., Harness], receiver: Receiver
) -> None:
    h = make_harness(webhooks=[endpoint(receiver, "/soar", "decision_approved", include_private=True)])
    _, channel = h.declare("Ransomware on FS01 sev1")
    h.slash(f"assign analyst <@{BOB}|bob>", channel=channel)
    h.slash("decide Isolate FS01 from the network", channel=channel)
    h.run_timers()
    assert receiver.accepted("/soar") == [], "not approved yet: one of two approvals"
    h.slash("approve D-1", channel=channel, user=BOB)
    h.run_timers()
    (approved,) = [d.json for d in receiver.accepted("/soar")]
    assert approved["event"] == "decision_approved" and approved["key"] == "INC-1"
    assert approved["facts"]["approved_by"] == ["U0ALICE", BOB]
    assert approved["facts"]["text"] == "Isolate FS01 from the network"
