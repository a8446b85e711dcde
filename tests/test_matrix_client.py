"""The Matrix client against a real Synapse: rooms, invites, messages, /sync, and the errors it turns into.

The `synapse` fixture (tests/matrix_server.py) comes through tests/conftest.py, which imports it.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ircbot.adapters.matrix import GAP_PAGE, SYNC_TIMELINE_LIMIT, MatrixClient, RoomEvent, SyncBatch
from ircbot.errors import GatewayError
from tests.matrix_server import PASSWORD, SynapseServer, read_as, room_state
from tests.processes import free_port


def messages(batch: SyncBatch, room_id: str) -> list[RoomEvent]:
    return [e for e in batch.events if e.room_id == room_id and e.type == "m.room.message"]


def refused(call: Any, *args: Any, **kwargs: Any) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- against Synapse ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_password_login_gives_a_token_of_that_user(synapse: SynapseServer) -> None:
    localpart = synapse.unique("bot")
    user_id = synapse.register(localpart)
    client = MatrixClient.login(synapse.url, localpart, PASSWORD)
    assert client.access_token and client.access_token not in repr(client)
    assert client.whoami() == user_id == synapse.user_id(localpart)
    assert read_as(client, "devices", "IRCBOT")["display_name"] == "ircbot"  # the fixed device id


@pytest.mark.slow
def test_a_wrong_password_is_m_forbidden_and_certain(synapse: SynapseServer) -> None:
    localpart = synapse.unique("bot")
    synapse.register(localpart)
    error = refused(MatrixClient.login, synapse.url, localpart, "not the password")
    assert (error.method, error.error, error.uncertain) == ("matrix.login", "M_FORBIDDEN", False)


@pytest.mark.slow
def test_a_logged_out_token_is_m_unknown_token(synapse: SynapseServer) -> None:
    client = synapse.user("bot")
    client.logout()
    error = refused(client.whoami)
    assert (error.method, error.error) == ("matrix.whoami", "M_UNKNOWN_TOKEN")


@pytest.mark.slow
def test_a_new_room_is_private_invite_only_and_unfederated(synapse: SynapseServer) -> None:
    bot, alice, eve = synapse.user("bot"), synapse.user("alice"), synapse.user("eve")
    room = bot.create_room(name="inc-42 ransomware", topic="Sev1: file servers", invite=[alice.whoami()])

    assert room_state(bot, room, "m.room.join_rules") == {"join_rule": "invite"}
    assert room_state(bot, room, "m.room.history_visibility") == {"history_visibility": "invited"}
    assert room_state(bot, room, "m.room.guest_access") == {"guest_access": "forbidden"}
    assert room_state(bot, room, "m.room.create")["m.federate"] is False
    assert room_state(bot, room, "m.room.name") == {"name": "inc-42 ransomware"}
    assert room_state(bot, room, "m.room.topic")["topic"] == "Sev1: file servers"
    assert read_as(bot, "directory", "list", "room", room) == {"visibility": "private"}
    assert bot.members(room) == {bot.whoami(): "join", alice.whoami(): "invite"}

    error = refused(eve.join, room)
    assert (error.method, error.error, error.uncertain) == ("matrix.join", "M_FORBIDDEN", False)
    assert eve.whoami() not in bot.members(room)


@pytest.mark.slow
def test_an_invited_user_joins_and_inviting_a_member_again_is_no_error(synapse: SynapseServer) -> None:
    bot, alice = synapse.user("bot"), synapse.user("alice")
    room = bot.create_room(name="inc-43", topic="", invite=[])
    bot.invite(room, alice.whoami())
    bot.invite(room, alice.whoami())  # already invited
    assert bot.members(room)[alice.whoami()] == "invite"
    alice.join(room)
    bot.invite(room, alice.whoami())  # already joined: Synapse says M_FORBIDDEN, the client sees why
    assert bot.members(room) == {bot.whoami(): "join", alice.whoami(): "join"}


@pytest.mark.slow
def test_inviting_into_a_room_one_is_not_in_is_still_refused(synapse: SynapseServer) -> None:
    alice, bot, eve = synapse.user("alice"), synapse.user("bot"), synapse.user("eve")
    room = alice.create_room(name="alice's", topic="", invite=[])
    error = refused(bot.invite, room, eve.whoami())
    assert (error.method, error.error) == ("matrix.invite", "M_FORBIDDEN")


@pytest.mark.slow
def test_a_kicked_member_has_left(synapse: SynapseServer) -> None:
    bot, alice = synapse.user("bot"), synapse.user("alice")
    room = bot.create_room(name="inc-44", topic="", invite=[alice.whoami()])
    alice.join(room)
    bot.kick(room, alice.whoami(), reason="removed from the incident")
    assert bot.members(room)[alice.whoami()] == "leave"
    assert room_state(bot, room, "m.room.member", alice.whoami())["reason"] == "removed from the incident"
    error = refused(alice.send, room, "still here?", txn_id="t1")
    assert (error.method, error.error) == ("matrix.send", "M_FORBIDDEN")


@pytest.mark.slow
def test_a_send_repeated_with_its_txn_id_is_one_event_even_after_logging_in_again(synapse: SynapseServer) -> None:
    localpart = synapse.unique("bot")
    synapse.register(localpart)
    bot = synapse.login(localpart)
    room = bot.create_room(name="inc-45", topic="", invite=[])
    first = bot.send(room, "Containment started", txn_id="outbox-7")
    assert bot.send(room, "Containment started", txn_id="outbox-7") == first
    restarted = synapse.login(localpart)  # the same fixed device id: the homeserver still knows the txn id
    assert restarted.send(room, "Containment started", txn_id="outbox-7") == first
    other = bot.send(room, "Containment done", txn_id="outbox-8")
    assert other != first

    seen = messages(bot.sync(None, timeout_ms=0), room)
    assert [(e.event_id, e.body, e.msgtype) for e in seen] == [
        (first, "Containment started", "m.text"),
        (other, "Containment done", "m.text"),
    ]


@pytest.mark.slow
def test_html_and_notices_arrive_as_sent(synapse: SynapseServer) -> None:
    bot, alice = synapse.user("bot"), synapse.user("alice")
    room = bot.create_room(name="inc-46", topic="", invite=[alice.whoami()])
    alice.join(room)
    html = '<b>Sev1</b> declared by <a href="https://matrix.to/#/@alice:ircbot.test">alice</a>'
    rich = bot.send(room, "Sev1 declared by alice", html=html, txn_id="rich")
    notice = bot.send(room, "ok", txn_id="notice", notice=True)

    assert read_as(alice, "rooms", room, "event", rich)["content"] == {
        "msgtype": "m.text",
        "body": "Sev1 declared by alice",
        "format": "org.matrix.custom.html",
        "formatted_body": html,
    }
    assert read_as(alice, "rooms", room, "event", notice)["content"] == {"msgtype": "m.notice", "body": "ok"}
    seen = {e.event_id: e for e in messages(alice.sync(None, timeout_ms=0), room)}
    assert (seen[notice].msgtype, seen[notice].sender, seen[notice].state_key) == ("m.notice", bot.whoami(), None)


@pytest.mark.slow
def test_topic_and_name_are_the_rooms_state(synapse: SynapseServer) -> None:
    bot = synapse.user("bot")
    room = bot.create_room(name="inc-47", topic="", invite=[])
    with pytest.raises(AssertionError, match="404"):
        room_state(bot, room, "m.room.topic")  # no empty topic event at creation
    bot.set_topic(room, "Sev2 | Contain | IC: <@U1>")
    bot.set_name(room, "inc-47 phishing")
    assert room_state(bot, room, "m.room.topic")["topic"] == "Sev2 | Contain | IC: <@U1>"
    assert room_state(bot, room, "m.room.name") == {"name": "inc-47 phishing"}


@pytest.mark.slow
def test_sync_from_a_token_gives_only_what_came_after(synapse: SynapseServer) -> None:
    bot, alice = synapse.user("bot"), synapse.user("alice")
    room = bot.create_room(name="inc-48", topic="", invite=[alice.whoami()])
    alice.join(room)
    bot.send(room, "before", txn_id="b")
    first = bot.sync(None, timeout_ms=0)
    assert first.next_batch
    assert [e.body for e in messages(first, room)] == ["before"]
    joined = [e for e in first.events if e.type == "m.room.member" and e.state_key == alice.whoami()]
    assert [e.membership for e in joined] == ["invite", "join"]

    after = alice.send(room, "!incident status", txn_id="a")
    second = bot.sync(first.next_batch, timeout_ms=5000)
    assert [(e.event_id, e.room_id, e.sender, e.body) for e in second.events] == [
        (after, room, alice.whoami(), "!incident status")
    ]
    assert second.events[0].origin_server_ts > 0 and second.next_batch != first.next_batch

    started = time.monotonic()
    third = bot.sync(second.next_batch, timeout_ms=600)
    assert third.events == () and third.invited_rooms == ()
    assert time.monotonic() - started >= 0.5  # it waited for news: a long poll


@pytest.mark.slow
def test_a_burst_larger_than_one_sync_answer_is_read_back_in_full(synapse: SynapseServer) -> None:
    bot, alice = synapse.user("bot"), synapse.user("alice")
    room = bot.create_room(name="inc-49", topic="", invite=[alice.whoami()])
    alice.join(room)
    position = bot.sync(None, timeout_ms=0).next_batch
    said = [f"!incident note {n}" for n in range(SYNC_TIMELINE_LIMIT + GAP_PAGE + 7)]  # more than a sync answer holds
    for n, text in enumerate(said):
        alice.send(room, text, txn_id=f"burst-{n}")
    batch = bot.sync(position, timeout_ms=0)
    assert [e.body for e in messages(batch, room)] == said, "none left out, none twice, in order"


@pytest.mark.slow
def test_sync_lists_the_rooms_one_is_invited_to_until_one_joins(synapse: SynapseServer) -> None:
    bot, alice = synapse.user("bot"), synapse.user("alice")
    room = alice.create_room(name="alice asks", topic="", invite=[bot.whoami()])
    invited = bot.sync(None, timeout_ms=0)
    assert invited.invited_rooms == (room,)
    assert invited.events == ()
    bot.join(room)
    joined = bot.sync(invited.next_batch, timeout_ms=5000)
    assert joined.invited_rooms == ()
    assert [(e.type, e.membership, e.state_key) for e in joined.events if e.type == "m.room.member"][-1] == (
        "m.room.member",
        "join",
        bot.whoami(),
    )


@pytest.mark.slow
def test_a_direct_room_invites_the_person_as_a_peer(synapse: SynapseServer) -> None:
    bot, alice = synapse.user("bot"), synapse.user("alice")
    room = bot.create_dm(alice.whoami())
    assert alice.sync(None, timeout_ms=0).invited_rooms == (room,)
    assert room_state(bot, room, "m.room.member", alice.whoami())["is_direct"] is True
    assert room_state(bot, room, "m.room.join_rules") == {"join_rule": "invite"}
    alice.join(room)
    assert bot.members(room) == {bot.whoami(): "join", alice.whoami(): "join"}
    # trusted_private_chat makes the invitee a peer: in room version 12 (Synapse's default) an additional creator
    create = room_state(bot, room, "m.room.create")
    if create["room_version"] == "12":
        assert create["additional_creators"] == [alice.whoami()]
    else:
        assert room_state(bot, room, "m.room.power_levels")["users"][alice.whoami()] == 100


@pytest.mark.slow
def test_a_rate_limit_is_m_limit_exceeded_with_the_wait(synapse: SynapseServer) -> None:
    bot = synapse.user("bot")
    room = bot.create_room(name="inc-49", topic="", invite=[])
    synapse.limit_messages(bot.whoami(), per_second=1, burst_count=1)
    try:
        with pytest.raises(GatewayError) as caught:
            for n in range(5):  # one message a second: the second of a quick run at the latest is refused
                bot.send(room, f"message {n}", txn_id=f"m{n}")
    finally:
        synapse.limit_messages(bot.whoami(), per_second=0, burst_count=0)
    error = caught.value
    assert (error.method, error.error, error.uncertain) == ("matrix.send", "M_LIMIT_EXCEEDED", False)
    assert error.retry_after is not None and 0 < error.retry_after <= 2
    bot.send(room, "once the limit is lifted", txn_id="after")


@pytest.mark.slow
def test_room_ids_are_quoted_in_the_path(synapse: SynapseServer) -> None:
    bot = synapse.user("bot")
    error = refused(bot.send, room_id="!nosuch/room?x=1#y:ircbot.test", body="x", txn_id="a/b?c")
    assert (error.method, error.error) == ("matrix.send", "M_FORBIDDEN")  # a room, not a 404 of a mangled path


# --- against sockets that fail the way networks do ------------------------------------------------------------


def test_a_port_nobody_listens_on_is_unreachable_and_uncertain() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    error = refused(MatrixClient(url, "token").whoami)
    assert error.method == "matrix.whoami" and error.error.startswith("unreachable: ")
    assert error.uncertain
    error = refused(MatrixClient.login, url, "bot", "secret")
    assert error.method == "matrix.login" and error.error.startswith("unreachable: ") and error.uncertain


def test_a_homeserver_that_never_answers_times_out_uncertain() -> None:
    with socket.socket() as listening:  # accepts connections into its backlog, never reads or answers
        listening.bind(("127.0.0.1", 0))
        listening.listen(8)
        url = f"http://127.0.0.1:{listening.getsockname()[1]}"
        client = MatrixClient(url, "token", timeout=0.3)
        started = time.monotonic()
        error = refused(client.send, "!r:ircbot.test", "x", txn_id="t")
    assert error.error.startswith("unreachable: ") and "timed out" in error.error and error.uncertain
    assert time.monotonic() - started < 5


def test_a_connection_dropped_before_the_answer_is_uncertain() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(1)

        def drop_one() -> None:
            connection, _ = listening.accept()
            with connection:
                connection.recv(65536)  # the request arrived: the homeserver may have acted on it

        dropper = threading.Thread(target=drop_one, daemon=True)
        dropper.start()
        client = MatrixClient(f"http://127.0.0.1:{listening.getsockname()[1]}", "token")
        error = refused(client.send, "!r:ircbot.test", "x", txn_id="t")
        dropper.join(timeout=5)
    assert error.error.startswith("unreachable: ") and error.uncertain and error.method == "matrix.send"


class Recorded(http.server.BaseHTTPRequestHandler):
    """Answers every request with the server's next canned answer, after its delay, and records the request."""

    server: Proxy

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append((self.command, self.path, dict(self.headers), body))
        status, headers, payload, delay = self.server.answers.pop(0)
        time.sleep(delay)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Proxy(http.server.ThreadingHTTPServer):
    """A stand-in for the reverse proxy in front of a homeserver: it answers what it is told to."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Recorded)
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        self.answers: list[tuple[int, dict[str, str], bytes, float]] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def answer(self, status: int, payload: Any, *, headers: dict[str, str] | None = None, delay: float = 0) -> None:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.answers.append((status, headers or {"Content-Type": "application/json"}, raw, delay))


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    server = Proxy()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_5xx_is_uncertain_and_a_429_carries_retry_after(proxy: Proxy) -> None:
    client = MatrixClient(proxy.url, "token")
    proxy.answer(502, b"<html>Bad Gateway</html>", headers={"Content-Type": "text/html"})
    error = refused(client.send, "!r:ircbot.test", "x", txn_id="t")
    assert (error.error, error.uncertain, error.retry_after) == ("http_502", True, None)
    proxy.answer(429, {"errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests"}, headers={"Retry-After": "7"})
    error = refused(client.send, "!r:ircbot.test", "x", txn_id="t")
    assert (error.error, error.uncertain, error.retry_after) == ("M_LIMIT_EXCEEDED", False, 7.0)
    proxy.answer(200, b"not json")
    error = refused(client.whoami)
    assert (error.error, error.uncertain) == ("bad_response: not a JSON object", True)


def test_the_token_is_a_header_and_path_segments_are_quoted(proxy: Proxy) -> None:
    client = MatrixClient(proxy.url + "/", "syt_secret")
    proxy.answer(200, {"event_id": "$e"})
    assert client.send("!abc:ircbot.test", "hi", txn_id="a/b c") == "$e"
    verb, path, headers, body = proxy.seen[-1]
    assert (verb, path) == ("PUT", "/_matrix/client/v3/rooms/%21abc%3Aircbot.test/send/m.room.message/a%2Fb%20c")
    assert headers["Authorization"] == "Bearer syt_secret" and "syt_secret" not in path
    assert json.loads(body) == {"msgtype": "m.text", "body": "hi"}


def test_a_long_poll_gets_more_time_than_the_client_timeout(proxy: Proxy) -> None:
    client = MatrixClient(proxy.url, "token", timeout=0.3)
    proxy.answer(200, {"next_batch": "s2", "rooms": {"invite": {"!i:ircbot.test": {}}}}, delay=0.8)
    batch = client.sync("s1", timeout_ms=1000)
    assert batch == SyncBatch(next_batch="s2", events=(), invited_rooms=("!i:ircbot.test",))
    _, path, _, _ = proxy.seen[-1]
    assert "since=s1" in path and "timeout=1000" in path and "filter=" in path


@pytest.mark.slow
def test_a_tagged_message_is_found_by_its_key_and_an_untagged_one_is_not(synapse: SynapseServer) -> None:
    bot, alice = synapse.user("bot"), synapse.user("alice")
    room = bot.create_room(name="inc-50", topic="", invite=[alice.whoami()])
    sent = bot.send(room, "Paged tier 2", txn_id="outbox-17", key="outbox-17")
    bot.send(room, "a line without a key", txn_id="plain-1")
    assert bot.find_key(room, "outbox-17") == sent
    assert bot.find_key(room, "outbox-18") is None and bot.find_key(room, "plain-1") is None
