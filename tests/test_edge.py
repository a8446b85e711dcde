"""The HTTP edge refuses what cannot be Slack's with a clear status and one log line, and stays up."""

from __future__ import annotations

import http.client
import logging
import sqlite3
import time
from urllib.parse import urlsplit

import pytest

from ircbot.web import MAX_BODY
from tests.conftest import Harness
from tests.scenario import events, incident

FORM = "application/x-www-form-urlencoded"


def test_malformed_signature_headers_are_401_not_500(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ircbot.web"):
        bad = harness.driver.post_raw(
            b"token=x&text=help",
            {"Content-Type": FORM, "X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": "v0=00"},
        )
    assert bad.status == 401 and "Traceback" not in bad.body
    assert [r.getMessage() for r in caplog.records if "refused" in r.getMessage()] != []


def test_a_signed_body_that_does_not_parse_is_400(harness: Harness) -> None:
    body = b"{not json"
    refused = harness.driver.post_raw(body, {"Content-Type": "application/json", **harness.driver.sign(body)})
    unsigned = harness.driver.post_raw(body, {"Content-Type": "application/json"})
    payload = b"payload=%7Bnot+json"
    form = harness.driver.post_raw(payload, {"Content-Type": FORM, **harness.driver.sign(payload)})

    assert (refused.status, unsigned.status, form.status) == (400, 401, 400)


def test_a_body_over_the_limit_is_refused_before_it_is_read(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    where = urlsplit(harness.driver.bot_url)
    connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=10)
    connection.putrequest("POST", where.path)
    connection.putheader("Content-Type", FORM)
    connection.putheader("Content-Length", str(20 * MAX_BODY))
    connection.endheaders()
    connection.send(b"a=" + b"x" * 1000)  # nowhere near the announced size: the answer must not wait for it
    started = time.monotonic()
    answer = connection.getresponse()
    assert answer.status == 413 and time.monotonic() - started < 5
    connection.close()
    assert not any("xxxxxxxxxx" in r.getMessage() for r in caplog.records), "a refused body is never logged"
    assert harness.slash("help").status == 200, "the bot still answers"


def test_health_answers_within_a_second(harness: Harness) -> None:
    where = urlsplit(harness.driver.bot_url)
    started = time.monotonic()
    connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=5)
    connection.request("GET", "/healthz")
    assert connection.getresponse().status == 200 and time.monotonic() - started < 1.5
    connection.close()


# A SQLite write lock stalls the probe; PostgreSQL's SELECT 1 waits for no lock.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_health_says_503_within_a_second_when_the_database_does_not_answer(harness: Harness) -> None:
    url = harness.bot.settings.database_url
    blocker = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=1)
    blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock, as a long migration would
    try:
        where = urlsplit(harness.driver.bot_url)
        started = time.monotonic()
        connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=5)
        connection.request("GET", "/healthz")
        status = connection.getresponse().status
        connection.close()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert status == 503 and time.monotonic() - started < 1.5


def test_a_nul_character_in_typed_text_is_dropped_on_every_database(harness: Harness) -> None:
    _, channel = harness.declare("Token\x00 leak sev3")
    reply = harness.slash("note saw\x00 beaconing", channel=channel)

    assert "noted in INC-1" in reply.text and "internal error" not in reply.text
    assert [e.text for e in events(harness, kind="note")] == ["saw beaconing"]
    assert incident(harness).title == "Token leak"


def test_commands_are_answered_while_slacks_api_is_unreachable_from_the_start(harness: Harness) -> None:
    """Restarted during an outage: nothing has asked Slack who the bot is yet, and it cannot be asked."""
    harness.emulator.go_down()
    try:
        result = harness.slash("help")
    finally:
        harness.emulator.come_back()
    assert result.status == 200 and "declare" in result.text
    assert not harness.emulator.calls_to("auth.test"), "the outage dropped the call; Slack never saw it"
    assert harness.slash("help").status == 200
    assert len(harness.emulator.calls_to("auth.test")) == 1, "asked once Slack answers, then remembered"
    harness.slash("help")
    assert len(harness.emulator.calls_to("auth.test")) == 1


def test_stopping_closes_the_connections_clients_kept_alive(harness: Harness) -> None:
    url = urlsplit(harness.server.url)
    client = http.client.HTTPConnection(url.hostname or "", url.port, timeout=5)
    client.request("GET", "/healthz")
    assert client.getresponse().read()  # answered, and the connection stays open for the next request
    assert client.sock is not None
    harness.server.stop()
    assert client.sock.recv(1) == b""  # the server closed its end, not left it to the garbage collector
    client.close()
