"""The Slack emulator driven by the real slack_sdk WebClient, and the signed-request driver."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from ircbot.emulator import SlackDriver, SlackEmulator

SECRET = "test-signing-secret"


@pytest.fixture
def emu(running_emulator: SlackEmulator) -> SlackEmulator:
    """The session's emulator reset to a seeded empty workspace with two people (these tests provoke violations)."""
    emulator = running_emulator
    emulator.reset(seed=7)
    emulator.add_user("U0ALICE", "alice", real_name="Alice Example", email="alice@example.com", tz="Europe/Berlin")
    emulator.add_user("U0BOB", "bob", real_name="Bob Example", email="Bob@Example.com")
    return emulator


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=emu.bot_token, base_url=emu.base_url)


def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        call()
    return str(info.value.response["error"])


# ---- conversations ----------------------------------------------------------------------------


def test_create_channel_and_name_rules(emu: SlackEmulator, client: WebClient) -> None:
    resp = client.conversations_create(name="inc-1-db-outage", is_private=True)
    channel = resp["channel"]
    assert channel["id"].startswith("C") and len(channel["id"]) == 11
    assert channel["is_private"] is True and channel["is_member"] is True
    stored = emu.channel_by_name("inc-1-db-outage")
    assert stored is not None and stored["members"] == [emu.bot_user_id]
    assert error_of(lambda: client.conversations_create(name="inc-1-db-outage")) == "name_taken"
    assert error_of(lambda: client.conversations_create(name="")) == "invalid_name_required"
    assert error_of(lambda: client.conversations_create(name="x" * 81)) == "invalid_name_maxlength"
    assert error_of(lambda: client.conversations_create(name="Inc-Upper")) == "invalid_name_specials"
    assert error_of(lambda: client.conversations_create(name="has space")) == "invalid_name_specials"
    assert error_of(lambda: client.conversations_create(name="---")) == "invalid_name_punctuation"
    assert client.conversations_create(name="x" * 80)["ok"]
    assert emu.violations == []


def test_invite_and_errors(emu: SlackEmulator, client: WebClient) -> None:
    cid = client.conversations_create(name="inc-2", is_private=True)["channel"]["id"]
    client.conversations_invite(channel=cid, users=["U0ALICE", "U0BOB"])
    assert emu.channel(cid)["members"] == [emu.bot_user_id, "U0ALICE", "U0BOB"]
    assert error_of(lambda: client.conversations_invite(channel=cid, users="U0ALICE")) == "already_in_channel"
    # A partly new list succeeds and adds only the newcomer.
    emu.add_user("U0CAROL", "carol")
    client.conversations_invite(channel=cid, users="U0ALICE,U0CAROL")
    assert emu.channel(cid)["members"][-1] == "U0CAROL"
    assert error_of(lambda: client.conversations_invite(channel=cid, users="U0NOBODY")) == "user_not_found"
    assert error_of(lambda: client.conversations_invite(channel=cid, users=emu.bot_user_id)) == "cant_invite_self"
    assert error_of(lambda: client.conversations_invite(channel="C0MISSING00", users="U0BOB")) == "channel_not_found"
    other = emu.add_channel("secret", is_private=True, members=["U0ALICE"])
    assert error_of(lambda: client.conversations_invite(channel=other, users="U0BOB")) == "not_in_channel"
    client.conversations_setTopic(channel=cid, topic="SEV1 | db down")
    assert emu.channel(cid)["topic"] == "SEV1 | db down"
    assert emu.violations == []


def test_history_pagination_keeps_every_message(emu: SlackEmulator, client: WebClient) -> None:
    cid = client.conversations_create(name="inc-3")["channel"]["id"]
    posted = [client.chat_postMessage(channel=cid, text=f"m{i}")["ts"] for i in range(250)]
    assert posted == sorted(posted, key=float) and len(set(posted)) == 250
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = client.conversations_history(channel=cid, limit=100, cursor=cursor)
        pages += 1
        seen += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] == bool(cursor)
        if not cursor:
            break
    assert pages == 3
    assert seen == [f"m{i}" for i in reversed(range(250))]
    # oldest/latest are exclusive unless inclusive=true.
    window = client.conversations_history(channel=cid, oldest=posted[10], latest=posted[13])["messages"]
    assert [m["text"] for m in window] == ["m12", "m11"]
    window = client.conversations_history(channel=cid, oldest=posted[10], latest=posted[13], inclusive=True)
    assert [m["text"] for m in window["messages"]] == ["m13", "m12", "m11", "m10"]
    assert error_of(lambda: client.conversations_history(channel=cid, cursor="garbage")) == "invalid_cursor"
    # The SDK's own iterator walks the same pages.
    assert sum(len(p["messages"]) for p in client.conversations_history(channel=cid, limit=99)) == 250
    assert emu.violations == []


def test_replies_and_threads(emu: SlackEmulator, client: WebClient) -> None:
    cid = client.conversations_create(name="inc-4")["channel"]["id"]
    parent = client.chat_postMessage(channel=cid, text="parent")["ts"]
    for i in range(5):
        client.chat_postMessage(channel=cid, text=f"r{i}", thread_ts=parent)
    thread = client.conversations_replies(channel=cid, ts=parent, limit=4)
    assert [m["text"] for m in thread["messages"]] == ["parent", "r0", "r1", "r2"]
    rest = client.conversations_replies(channel=cid, ts=parent, cursor=thread["response_metadata"]["next_cursor"])
    assert [m["text"] for m in rest["messages"]] == ["r3", "r4"] and rest["has_more"] is False
    top = client.conversations_history(channel=cid)["messages"]
    assert [m["text"] for m in top] == ["parent"] and top[0]["reply_count"] == 5
    assert error_of(lambda: client.conversations_replies(channel=cid, ts="1.000001")) == "thread_not_found"
    assert emu.violations == []


# ---- chat, pins, reactions --------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_rules(emu: SlackEmulator, client: WebClient) -> None:
    resp = client.chat_postMessage(channel="U0ALICE", text="hi alice")
    dm = emu.im_channel("U0ALICE")
    assert dm is not None and dm.startswith("D") and resp["channel"] == dm
    assert [m["text"] for m in emu.messages(dm)] == ["hi alice"]
    assert error_of(lambda: client.chat_postMessage(channel="C0MISSING00", text="x")) == "channel_not_found"
    private = emu.add_channel("hr", is_private=True, members=["U0ALICE"])
    assert error_of(lambda: client.chat_postMessage(channel=private, text="x")) == "not_in_channel"
    public = emu.add_channel("general", members=["U0ALICE", "U0BOB"])
    assert client.chat_postMessage(channel=public, text="public is fine")["ok"]
    assert error_of(lambda: client.chat_postMessage(channel=public, blocks=[])) == "no_text"
    bad = [{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}]
    assert error_of(lambda: client.chat_postMessage(channel=public, text="x", blocks=bad)) == "invalid_blocks"
    assert error_of(lambda: client.chat_postEphemeral(channel=public, user="U0NOBODY", text="x")) == (
        "user_not_in_channel"
    )
    ts = client.chat_postEphemeral(channel=public, user="U0BOB", text="psst")["message_ts"]
    assert [e["text"] for e in emu.ephemerals("U0BOB")] == ["psst"] and emu.ephemerals("U0BOB")[0]["ts"] == ts
    assert emu.violations == []


def test_pins_and_reactions(emu: SlackEmulator, client: WebClient) -> None:
    cid = client.conversations_create(name="inc-5")["channel"]["id"]
    ts = client.chat_postMessage(channel=cid, text="summary")["ts"]
    client.pins_add(channel=cid, timestamp=ts)
    assert error_of(lambda: client.pins_add(channel=cid, timestamp=ts)) == "already_pinned"
    assert error_of(lambda: client.pins_add(channel=cid, timestamp="1.000001")) == "message_not_found"
    client.reactions_add(channel=cid, timestamp=ts, name="eyes")
    assert error_of(lambda: client.reactions_add(channel=cid, timestamp=ts, name="eyes")) == "already_reacted"
    msg = emu.messages(cid)[0]
    assert msg["pinned"] is True and msg["reactions"][0]["name"] == "eyes"
    assert client.conversations_history(channel=cid)["messages"][0]["pinned_to"] == [cid]


# ---- users, groups, views, files, canvases, bookmarks ----------------------------------------


def test_users_and_groups(emu: SlackEmulator, client: WebClient) -> None:
    user = client.users_info(user="U0ALICE")["user"]
    assert user["tz"] == "Europe/Berlin" and user["profile"]["email"] == "alice@example.com"
    assert user["tz_offset"] in (3600, 7200) and user["is_bot"] is False
    assert client.users_lookupByEmail(email="bob@example.com")["user"]["id"] == "U0BOB"
    assert error_of(lambda: client.users_lookupByEmail(email="nobody@example.com")) == "users_not_found"
    assert error_of(lambda: client.users_info(user="U0NOBODY")) == "user_not_found"
    emu.add_usergroup("S0ONCALL", "oncall", ["U0ALICE"])
    assert client.usergroups_users_list(usergroup="S0ONCALL")["users"] == ["U0ALICE"]
    assert error_of(lambda: client.usergroups_users_list(usergroup="S0NOPE")) == "no_such_subteam"
    auth = client.auth_test()
    assert auth["user_id"] == emu.bot_user_id and auth["team_id"] == "T0EMULATOR" and auth["bot_id"]
    assert emu.violations == []


MODAL = {
    "type": "modal",
    "callback_id": "declare",
    "title": {"type": "plain_text", "text": "Declare incident"},
    "submit": {"type": "plain_text", "text": "Declare"},
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        }
    ],
}


def test_views_open_needs_fresh_trigger(emu: SlackEmulator, client: WebClient) -> None:
    trigger = emu.issue_trigger_id("U0ALICE")
    view = client.views_open(trigger_id=trigger, view=MODAL)["view"]
    assert view["id"].startswith("V") and emu.views[view["id"]]["callback_id"] == "declare"
    assert error_of(lambda: client.views_open(trigger_id=trigger, view=MODAL)) == "exchanged_trigger_id"
    assert error_of(lambda: client.views_open(trigger_id="123.456.abc", view=MODAL)) == "invalid_trigger_id"
    emu.trigger_ttl = 0.05
    stale = emu.issue_trigger_id("U0ALICE")
    time.sleep(0.1)
    assert error_of(lambda: client.views_open(trigger_id=stale, view=MODAL)) == "expired_trigger_id"
    client.views_publish(user_id="U0BOB", view={"type": "home", "blocks": []})
    assert "U0BOB" in emu.home_tabs
    assert any(s.kind == "view" and "Declare incident" in s.text for s in emu.seen_by("U0ALICE"))
    assert emu.violations == []


@pytest.mark.filterwarnings("ignore:client.files_upload\\(\\) may cause")
def test_files_upload_v2_end_to_end(emu: SlackEmulator, client: WebClient) -> None:
    cid = client.conversations_create(name="inc-6")["channel"]["id"]
    resp = client.files_upload_v2(channel=cid, content="timeline\n", filename="timeline.md", title="Timeline")
    file_id = resp["file"]["id"]
    assert emu.files[file_id]["content"] == b"timeline\n" and emu.files[file_id]["channels"] == [cid]
    shared = emu.messages(cid)[-1]
    assert shared["files"][0]["id"] == file_id and shared["files"][0]["title"] == "Timeline"
    assert error_of(lambda: client.files_upload(content="x", channels=cid)) == "method_deprecated"
    assert error_of(lambda: client.files_completeUploadExternal(files=[{"id": "F0NOPE"}])) == "file_not_found"
    assert emu.violations == []


def test_canvases_and_bookmarks(emu: SlackEmulator, client: WebClient) -> None:
    cid = client.conversations_create(name="inc-7")["channel"]["id"]
    canvas = client.canvases_create(
        title="Runbook", document_content={"type": "markdown", "markdown": "# Steps"}, channel_id=cid
    )
    assert emu.canvases[canvas["canvas_id"]]["markdown"] == "# Steps"
    client.bookmarks_add(channel_id=cid, title="Dashboard", type="link", link="https://grafana.example/d/1")
    assert emu.channel(cid)["bookmarks"][0]["title"] == "Dashboard"
    assert error_of(lambda: client.bookmarks_add(channel_id=cid, title="x", type="link", link="nope")) == (
        "invalid_link"
    )
    assert emu.violations == []


# ---- contract checking and faults ---------------------------------------------------------------


def test_unknown_argument_and_method_are_violations(emu: SlackEmulator, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as info:
        client.conversations_create(name="ok-name", colour="red")
    assert info.value.response["error"] == "invalid_arguments"
    assert "colour" in info.value.response["response_metadata"]["messages"][0]
    assert any("unknown argument `colour`" in v for v in emu.violations)
    emu.violations.clear()
    with pytest.raises(SlackApiError):
        client.api_call("conversations.kick", params={"channel": "C1", "user": "U1"})
    assert emu.violations == ["call to unknown/unsupported method conversations.kick"]
    emu.violations.clear()
    # users.info does not take JSON bodies on real Slack.
    with pytest.raises(SlackApiError):
        client.api_call("users.info", json={"user": "U0ALICE"})
    assert emu.violations and "JSON" in emu.violations[0]


def test_auth_errors(emu: SlackEmulator) -> None:
    bad = WebClient(token="xoxb-wrong", base_url=emu.base_url)
    assert error_of(lambda: bad.auth_test()) == "invalid_auth"
    assert error_of(lambda: WebClient(base_url=emu.base_url).auth_test()) == "not_authed"


def test_injected_faults(emu: SlackEmulator, client: WebClient) -> None:
    retrying = WebClient(
        token=emu.bot_token,
        base_url=emu.base_url,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=1),
            ServerErrorRetryHandler(max_retry_count=1),
        ],
    )
    emu.rate_limit_next("users.info", retry_after=0)
    assert retrying.users_info(user="U0ALICE")["ok"]
    assert [c.error for c in emu.calls_to("users.info")] == ["ratelimited", None]
    emu.server_error_next("users.info", status=503)
    assert retrying.users_info(user="U0ALICE")["ok"]
    emu.fail_next("chat.postMessage", "ratelimited", times=2)
    assert error_of(lambda: client.chat_postMessage(channel="U0ALICE", text="x")) == "ratelimited"
    assert error_of(lambda: client.chat_postMessage(channel="U0ALICE", text="x")) == "ratelimited"
    assert client.chat_postMessage(channel="U0ALICE", text="x")["ok"]
    emu.latency = 0.05
    started = time.monotonic()
    client.users_info(user="U0BOB")
    assert time.monotonic() - started >= 0.05


def test_reset_empties_the_workspace_while_the_server_keeps_serving(emu: SlackEmulator, client: WebClient) -> None:
    channel = client.conversations_create(name="inc-1-before")["channel"]["id"]
    client.chat_postMessage(channel=channel, text="before the reset")
    emu.add_usergroup("S0GROUP", "oncall", ["U0BOB"])
    emu.new_response_url("U0ALICE", channel)
    emu.issue_trigger_id("U0ALICE")
    upload = client.files_getUploadURLExternal(filename="a.md", length=3)
    assert error_of(lambda: client.api_call("chat.unknownMethod")) == "unknown_method"
    emu.fail_next("auth.test", "fatal_error")
    emu.latency, emu.trigger_ttl, emu.clock = 0.5, 0.1, lambda: 1.0
    base_url, old_token = emu.base_url, emu.bot_token
    assert emu.violations and emu.calls

    emu.reset(seed=7)
    assert emu.base_url == base_url and emu.bot_token != old_token
    assert list(emu.users) == [emu.bot_user_id] and emu.usergroups == {} and emu.channels() == []
    assert (emu.calls, emu.violations, emu.files, emu.views, emu.home_tabs) == ([], [], {}, {}, {})
    assert (emu.response_urls, emu.triggers, emu.view_owners, emu.canvases) == ({}, {}, {}, {})
    assert (emu.latency, emu.trigger_ttl, emu.clock) == (0.0, 3.0, time.time)
    assert emu.im_channel("U0ALICE") is None and emu.seen_by("U0BOB") == []

    fresh = WebClient(token=emu.bot_token, base_url=emu.base_url)
    assert fresh.auth_test()["ok"], "the fault injected before the reset is gone"
    assert fresh.conversations_create(name="inc-1-before")["ok"], "the old channel's name is free again"
    assert error_of(lambda: client.auth_test()) == "invalid_auth", "a client from before the reset is turned away"
    request = urllib.request.Request(str(upload["upload_url"]), data=b"abc", method="POST")
    with pytest.raises(urllib.error.HTTPError) as late_upload:
        urllib.request.urlopen(request)
    with late_upload.value:
        assert late_upload.value.code == 404
    assert [c.method for c in emu.calls] == ["auth.test", "conversations.create"] and emu.violations == []
    assert emu.stale_requests >= 2


# ---- response_url and what people saw -----------------------------------------------------------


def post_json(url: str, payload: dict[str, Any]) -> int:
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        with err:
            return err.code


def test_response_url_replace_original_and_limits(emu: SlackEmulator, client: WebClient) -> None:
    cid = emu.add_channel("ops", members=["U0ALICE", "U0BOB"], bot_member=True)
    blocks = [
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Ack"},
                    "action_id": "ack",
                    "value": "1",
                }
            ],
        }
    ]
    ts = client.chat_postMessage(channel=cid, text="page", blocks=blocks)["ts"]
    url = emu.new_response_url("U0ALICE", cid, message_ts=ts)
    assert post_json(url, {"text": "acked by alice", "replace_original": True}) == 200
    msg = emu.messages(cid)[0]
    assert msg["text"] == "acked by alice" and msg["blocks"] is None and len(emu.messages(cid)) == 1
    assert post_json(url, {"text": "for everyone", "response_type": "in_channel"}) == 200
    assert emu.messages(cid)[-1]["text"] == "for everyone"
    assert post_json(url, {"text": "only alice"}) == 200
    assert emu.ephemerals("U0ALICE")[-1]["text"] == "only alice"
    assert post_json(url, {"text": "4"}) == 200 and post_json(url, {"text": "5"}) == 200
    assert post_json(url, {"text": "6"}) == 404
    assert len(emu.responses(url)) == 5
    assert post_json(f"{emu.url}/response/unknown", {"text": "x"}) == 404
    bob = [s.text for s in emu.seen_by("U0BOB")]
    assert "[Ack]" in bob[0] and "acked by alice" in bob and "for everyone" in bob and "only alice" not in bob
    assert "Alice Example" in emu.transcript()


# ---- driver -----------------------------------------------------------------------------------


class RecordingBot:
    """A tiny HTTP endpoint that verifies Slack signatures and answers like a bot would."""

    def __init__(self, emu: SlackEmulator) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[tuple[dict[str, str], bytes, bool]] = []
        verifier = SignatureVerifier(SECRET)
        bot = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers)
                valid = verifier.is_valid_request(body, headers)
                bot.requests.append((headers, body, valid))
                if valid and b"command=%2Fincident" in body:
                    form = dict(urllib.parse.parse_qsl(body.decode()))
                    post_json(form["response_url"], {"text": f"declared: {form['text']}"})
                answer = b"" if valid else b"invalid"
                self.send_response(200 if valid else 401)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slack/events"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


def test_driver_signs_like_slack(emu: SlackEmulator) -> None:
    bot = RecordingBot(emu)
    try:
        general = emu.add_channel("general", members=["U0ALICE"])
        driver = SlackDriver(bot_url=bot.url, signing_secret=SECRET, emulator=emu)
        result = driver.slash("U0ALICE", general, "db down")
        assert result.status == 200 and result.text == "declared: db down"
        headers, body, valid = bot.requests[-1]
        form = dict(urllib.parse.parse_qsl(body.decode()))
        assert valid and form["channel_name"] == "general" and form["user_name"] == "alice"
        assert form["trigger_id"] in emu.triggers and form["is_enterprise_install"] == "false"
        retry = driver.resend(result)
        headers, body2, valid = bot.requests[-1]
        assert retry.status == 200 and valid and body2 == body and headers["X-Slack-Retry-Num"] == "1"
        stale = driver.post_raw(body, {**driver.sign(body, timestamp=int(time.time()) - 600)})
        assert stale.status == 401
        forged = driver.post_raw(
            body, {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=0"}
        )
        assert forged.status == 401
        assert driver.event({"type": "app_mention", "user": "U0ALICE", "text": "hi"}).status == 200
        envelope = json.loads(bot.requests[-1][1])
        assert envelope["type"] == "event_callback" and envelope["event_id"].startswith("Ev")
        assert any(s.text == "declared: db down" for s in emu.seen_by("U0ALICE"))
    finally:
        bot.server.shutdown()
        bot.server.server_close()


def test_concurrent_posts_get_unique_increasing_ts(emu: SlackEmulator, client: WebClient) -> None:
    cid = client.conversations_create(name="inc-busy")["channel"]["id"]

    def post(n: int) -> None:
        for i in range(20):
            client.chat_postMessage(channel=cid, text=f"{n}-{i}")

    threads = [threading.Thread(target=post, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps = [m["ts"] for m in emu.messages(cid)]
    assert len(stamps) == 100 == len(set(stamps)) and stamps == sorted(stamps)
    assert len(emu.calls_to("chat.postMessage")) == 100 and emu.violations == []


@pytest.fixture
def bolt_bot(emu: SlackEmulator) -> Iterator[str]:
    """A real Bolt app served by waitress, talking to the emulator; yields its events URL."""
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from waitress import wasyncore
    from waitress.server import create_server

    app = App(
        signing_secret=SECRET,
        client=WebClient(token=emu.bot_token, base_url=emu.base_url),
        token_verification_enabled=False,
    )

    @app.command("/incident")
    def incident(ack: Any, command: dict[str, Any], respond: Any, client: WebClient) -> None:
        ack()
        if command["text"] == "form":
            client.views_open(trigger_id=command["trigger_id"], view=MODAL)
            respond("opening form")
            return
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"Declare *{command['text']}*?"}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Declare"},
                        "action_id": "declare",
                        "value": command["text"],
                    }
                ],
            },
        ]
        client.chat_postMessage(channel=command["channel_id"], text="declare?", blocks=blocks)
        respond(f"ok {command['user_name']}")

    @app.action("declare")
    def declare(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        respond(replace_original=True, text=f"declared {body['actions'][0]['value']} by {body['user']['id']}")

    @app.view("declare")
    def submitted(ack: Any, view: dict[str, Any]) -> None:
        title = view["state"]["values"]["title"]["value"]["value"]
        if len(title) < 3:
            ack(response_action="errors", errors={"title": "too short"})
        else:
            ack()

    connections: dict[int, Any] = {}
    server = create_server(SlackRequestHandler(app), map=connections, host="127.0.0.1", port=0)
    loop = threading.Thread(target=server.run, daemon=True)
    loop.start()
    port = server.effective_port  # type: ignore[union-attr]  # a single-socket server for one host/port
    yield f"http://127.0.0.1:{port}/slack/events"
    server.close()
    server.task_dispatcher.shutdown()
    loop.join(timeout=5)
    wasyncore.close_all(connections, ignore_all=True)


def test_driver_with_real_bolt_app(emu: SlackEmulator, bolt_bot: str) -> None:
    general = emu.add_channel("general", members=["U0ALICE", "U0BOB"], bot_member=True)
    driver = SlackDriver(bot_url=bolt_bot, signing_secret=SECRET, emulator=emu)
    result = driver.slash("U0ALICE", general, "db down")
    assert result.status == 200 and result.text == "ok alice"
    prompt = emu.messages(general)[-1]
    clicked = driver.click("U0ALICE", general, prompt["ts"], "declare")
    assert clicked.status == 200 and emu.messages(general)[-1]["text"] == "declared db down by U0ALICE"
    form = driver.slash("U0ALICE", general, "form")
    assert form.text == "opening form"
    (view_id,) = emu.views
    short = driver.submit_view("U0ALICE", view_id, {"title": {"value": {"type": "plain_text_input", "value": "x"}}})
    assert short.status == 200 and short.json() == {
        "response_action": "errors",
        "errors": {"title": "too short"},
    }
    good = driver.submit_view("U0ALICE", view_id, {"title": {"value": {"type": "plain_text_input", "value": "db"}}})
    assert good.status == 200
    assert [c.method for c in emu.calls][:1] == ["auth.test"]
    bob = [s.text for s in emu.seen_by("U0BOB")]
    assert "declared db down by U0ALICE" in bob and "ok alice" not in bob
    assert emu.violations == []


def dm_of(emu: SlackEmulator, user_id: str) -> list[dict[str, Any]]:
    return emu.messages(emu.im_for(user_id)["id"])


# ---- faults a bot must survive: lost answers, late answers, an unreachable Slack ---------------


def test_a_lost_answer_means_the_work_was_done(emu: SlackEmulator, client: WebClient) -> None:
    emu.lose_answer_next("chat.postMessage", status=500)
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="U0ALICE", text="posted, though the bot hears 500")
    assert [emu.message_text(m) for m in dm_of(emu, "U0ALICE")] == ["posted, though the bot hears 500"]


def test_a_late_answer_times_the_client_out_after_the_work(emu: SlackEmulator) -> None:
    impatient = WebClient(token=emu.bot_token, base_url=emu.base_url, timeout=1)
    emu.answer_late_next("chat.postMessage", seconds=1.5)
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel="U0ALICE", text="posted late")
    assert len(dm_of(emu, "U0ALICE")) == 1


def test_while_down_nothing_is_done_and_every_call_fails_to_connect(emu: SlackEmulator, client: WebClient) -> None:
    emu.go_down()
    try:
        with pytest.raises(OSError):
            client.chat_postMessage(channel="U0ALICE", text="never arrives")
    finally:
        emu.come_back()
    assert dm_of(emu, "U0ALICE") == []
    assert client.chat_postMessage(channel="U0ALICE", text="after the outage")["ok"]


# ---- message metadata, DMs and the channel list -----------------------------------------------


def test_metadata_is_kept_and_shown_only_when_asked_for(emu: SlackEmulator, client: WebClient) -> None:
    tag = {"event_type": "ircbot_delivery", "event_payload": {"key": "outbox-7"}}
    posted = client.chat_postMessage(channel="U0ALICE", text="page", metadata=tag)
    dm = client.conversations_open(users="U0ALICE")["channel"]["id"]
    assert dm == posted["channel"]
    plain = client.conversations_history(channel=dm)["messages"]
    assert "metadata" not in plain[0]
    tagged = client.conversations_history(channel=dm, include_all_metadata=True)["messages"]
    assert tagged[0]["metadata"] == tag
    bad = {"event_type": "has spaces", "event_payload": {}}
    assert error_of(lambda: client.chat_postMessage(channel=dm, text="x", metadata=bad)) == "invalid_metadata_schema"


def test_conversations_open_finds_or_makes_the_dm(emu: SlackEmulator, client: WebClient) -> None:
    assert error_of(lambda: client.conversations_open(users="U0ALICE", prevent_creation=True)) == "channel_not_found"
    first = client.conversations_open(users="U0ALICE")
    again = client.conversations_open(users="U0ALICE", return_im=True)
    assert again["channel"]["id"] == first["channel"]["id"] and again["already_open"]
    assert again["channel"]["is_im"]
    assert error_of(lambda: client.conversations_open(users="U0NOBODY")) == "user_not_found"
    assert error_of(lambda: client.conversations_open(users="")) == "users_list_not_supplied"


def test_conversations_list_shows_what_the_bot_may_see_page_by_page(emu: SlackEmulator, client: WebClient) -> None:
    ours = [client.conversations_create(name=f"inc-{n}", is_private=True)["channel"]["id"] for n in range(3)]
    public = emu.add_channel("general", members=["U0ALICE"])
    hidden = emu.add_channel("secret", is_private=True, members=["U0ALICE"])
    seen, cursor = [], None
    while True:
        page = client.conversations_list(types="public_channel,private_channel", limit=2, cursor=cursor)
        seen += [c["id"] for c in page["channels"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted([*ours, public]) and hidden not in seen
    assert [c["id"] for c in client.conversations_list()["channels"]] == [public]
    assert error_of(lambda: client.conversations_list(cursor="bogus")) == "invalid_cursor"


# ---- Socket Mode ------------------------------------------------------------------------------


def socket_url(emu: SlackEmulator) -> str:
    """A fresh Socket Mode URL, asked for as a client does, with the app-level token."""
    return str(WebClient(base_url=emu.base_url).apps_connections_open(app_token=emu.app_token)["url"])


def open_socket(emu: SlackEmulator) -> Any:
    """A plain WebSocket client connecting as an app would (use it in a `with`); see `greeted`."""
    from websockets.sync.client import connect

    return connect(socket_url(emu))


def greeted(emu: SlackEmulator, ws: Any) -> Any:
    """The connection, once its `hello` arrived."""
    hello = json.loads(ws.recv(timeout=5))
    assert hello["type"] == "hello" and hello["connection_info"] == {"app_id": emu.app_id}
    assert emu.socket.wait_connected(5)
    return ws


def acknowledge(ws: Any, count: int, payload: Any = None) -> threading.Thread:
    """Acknowledge the next `count` envelopes in a thread (with `payload(envelope)` when given); keeps them."""
    ws.envelopes = []

    def run() -> None:
        for _ in range(count):
            envelope = json.loads(ws.recv(timeout=10))
            ws.envelopes.append(envelope)
            ack = {"envelope_id": envelope["envelope_id"]}
            if payload is not None:
                ack["payload"] = payload(envelope)
            ws.send(json.dumps(ack))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_apps_connections_open_takes_the_app_level_token_only(emu: SlackEmulator) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    url = socket_url(emu)
    assert url.startswith(emu.socket_url + "/link/?ticket=")
    as_bot = WebClient(token=emu.bot_token, base_url=emu.base_url)
    assert error_of(lambda: as_bot.apps_connections_open(app_token=emu.bot_token)) == "not_allowed_token_type"
    stranger = WebClient(base_url=emu.base_url)
    assert error_of(lambda: stranger.apps_connections_open(app_token="xapp-1-A0OTHER-nope")) == "invalid_auth"
    as_app = WebClient(token=emu.app_token, base_url=emu.base_url)
    assert error_of(lambda: as_app.chat_postMessage(channel="C0NONE", text="hi")) == "not_allowed_token_type"
    assert error_of(lambda: stranger.apps_connections_open(app_token=emu.app_token, foo="x")) == "invalid_arguments"
    assert emu.violations == ["apps.connections.open: unknown argument `foo` for apps.connections.open (allowed: [])"]
    old, stale = emu.app_token, emu.stale_requests
    emu.reset(seed=7)
    assert emu.app_token != old
    assert error_of(lambda: stranger.apps_connections_open(app_token=old)) == "invalid_auth"
    with pytest.raises(InvalidStatus):
        connect(url)  # a ticket from before the reset
    assert emu.stale_requests == stale + 2 and emu.violations == []


def test_a_socket_is_greeted_answers_pings_and_each_ticket_opens_one_connection(emu: SlackEmulator) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    url = socket_url(emu)
    with connect(url) as ws:
        hello = json.loads(ws.recv(timeout=5))
        assert hello["type"] == "hello" and hello["num_connections"] == 1 and "debug_info" in hello
        assert ws.ping().wait(5), "pings are answered"
        assert emu.socket.connected
        with pytest.raises(InvalidStatus) as refused:
            connect(url)
        assert refused.value.response.status_code == 401
        assert emu.violations and "a used ticket" in emu.violations[-1]
    assert emu.socket.wait_disconnected(5) and not emu.socket.connected


def test_envelopes_carry_commands_clicks_and_events_and_their_acks_come_back(emu: SlackEmulator) -> None:
    from ircbot.emulator import SocketModeDriver

    general = emu.add_channel("general", members=["U0ALICE"])
    driver = SocketModeDriver(emu)
    assert driver.slash("U0ALICE", general, "status", wait=False).body == "dispatch_failed"
    with open_socket(emu) as ws:
        greeted(emu, ws)
        answers = iter([{"text": "all quiet"}, None, {"response_action": "errors", "errors": {"title": "Too short"}}])
        replier = acknowledge(ws, 3, payload=lambda envelope: next(answers))
        slash = driver.slash("U0ALICE", general, "status")
        assert (slash.status, slash.text) == (200, "all quiet")
        assert driver.event({"type": "app_mention", "user": "U0ALICE", "text": "hi"}, retry_num=None).status == 200
        form = {"type": "view_submission", "user": {"id": "U0ALICE"}, "view": {"id": "V1", "state": {"values": {}}}}
        submitted = emu.socket.deliver("interactive", form, accepts_response_payload=True)
        replier.join(5)
        assert submitted.acked and submitted.payload == {"response_action": "errors", "errors": {"title": "Too short"}}
        command, event, interaction = ws.envelopes
        assert (command["type"], command["accepts_response_payload"]) == ("slash_commands", True)
        assert command["payload"]["command"] == "/incident" and command["payload"]["text"] == "status"
        assert "retry_attempt" not in command
        assert (event["type"], event["accepts_response_payload"]) == ("events_api", False)
        assert (event["retry_attempt"], event["retry_reason"]) == (0, "")
        assert event["payload"]["type"] == "event_callback" and event["payload"]["event"]["type"] == "app_mention"
        assert interaction["type"] == "interactive" and interaction["payload"]["type"] == "view_submission"
        assert emu.violations == [], "the event's ack carried no payload (None)"
        replier = acknowledge(ws, 1, payload=lambda envelope: {"text": "not for an event"})
        driver.event({"type": "app_mention", "user": "U0ALICE", "text": "again"})
        replier.join(5)
        assert "does not accept" in emu.violations[-1]


def test_an_unacknowledged_event_is_delivered_again_with_its_attempt_and_then_given_up(emu: SlackEmulator) -> None:
    from ircbot.emulator import SocketModeDriver

    emu.socket.ack_timeout = 0.2
    general = emu.add_channel("general", members=["U0ALICE"])
    driver = SocketModeDriver(emu)
    with open_socket(emu) as ws:
        greeted(emu, ws)
        given_up = driver.event({"type": "app_mention", "user": "U0ALICE", "text": "hi"}, event_id="Ev0LOST")
        assert (given_up.status, given_up.body) == (504, "operation_timeout")
        sent = driver.deliveries[-1].envelopes
        assert [(e["retry_attempt"], e["retry_reason"]) for e in sent] == [
            (0, ""),
            (1, "timeout"),
            (2, "timeout"),
            (3, "timeout"),
        ]
        assert {e["payload"]["event_id"] for e in sent} == {"Ev0LOST"} and len({e["envelope_id"] for e in sent}) == 4
        received = [json.loads(ws.recv(timeout=5)) for _ in sent]
        assert [e["envelope_id"] for e in received] == [e["envelope_id"] for e in sent]
        ws.send(json.dumps({"envelope_id": received[0]["envelope_id"]}))  # too late: counted, not an error
        emu.socket.lose_acks(1)
        replier = acknowledge(ws, 2)
        retried = driver.event({"type": "app_mention", "user": "U0ALICE", "text": "hi"}, event_id="Ev0ONCE")
        replier.join(5)
        assert retried.status == 200 and [e["retry_attempt"] for e in ws.envelopes] == [0, 1]
        assert emu.socket.late_acks == 1 and emu.violations == []
        silent_command = driver.slash("U0ALICE", general, "status", wait=False)
        assert silent_command.status == 504 and len(driver.deliveries[-1].envelopes) == 1, "commands are not retried"


def test_refresh_asks_for_a_new_connection_and_then_closes_the_old_one(emu: SlackEmulator) -> None:
    from websockets.exceptions import ConnectionClosedOK

    told: list[dict[str, Any]] = []
    finished = threading.Event()

    def reconnect_when_told(old: Any) -> None:
        told.append(json.loads(old.recv(timeout=5)))
        with open_socket(emu) as new:
            greeted(emu, new)
            finished.wait(5)

    with open_socket(emu) as old:
        greeted(emu, old)
        first = emu.socket.current()
        client = threading.Thread(target=reconnect_when_told, args=(old,), daemon=True)
        client.start()
        assert emu.socket.refresh(timeout=5)
        assert told == [
            {"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "applink-emulator"}}
        ]
        with pytest.raises(ConnectionClosedOK) as closed:
            old.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.reason == "refresh_requested"
        assert emu.socket.connected and emu.socket.current() is not first
    finished.set()
    client.join(5)


def test_a_dropped_connection_ends_without_a_close_frame_and_a_silent_one_stops_answering(emu: SlackEmulator) -> None:
    from websockets.exceptions import ConnectionClosedError

    with open_socket(emu) as hung_up:
        greeted(emu, hung_up)
        emu.socket.drop()
        with pytest.raises(ConnectionClosedError) as dropped:
            hung_up.recv(timeout=5)
        assert dropped.value.rcvd is None, "no close frame"
    assert emu.socket.wait_disconnected(5)

    with open_socket(emu) as quiet:
        greeted(emu, quiet)
        emu.socket.drop(silent=True)
        assert not emu.socket.connected
        assert not quiet.ping().wait(0.5), "a silent connection answers no ping"
        assert emu.socket.deliver("events_api", {"type": "event_callback"}).error == "dispatch_failed"
        quiet.close_timeout = 0.1  # no answer to the close frame will come either
    assert emu.socket.wait_disconnected(5)


def test_a_request_cut_short_by_a_dying_client_is_never_seen(emulator: SlackEmulator) -> None:
    host, port = urlsplit(emulator.base_url).hostname, urlsplit(emulator.base_url).port
    with socket.create_connection((host or "127.0.0.1", port or 80)) as sock:
        head = (
            "POST /api/users.info HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Authorization: Bearer {emulator.bot_token}\r\nContent-Length: 40\r\n\r\nuser=U0A"
        )
        sock.sendall(head.encode())
        sock.shutdown(socket.SHUT_WR)  # the process died mid-body
        sock.recv(1024)
    assert emulator.violations == [] and not emulator.calls_to("users.info")
