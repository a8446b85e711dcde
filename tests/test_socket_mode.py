"""`ircbot serve --socket-mode` as a real process, driven over the emulator's Socket Mode endpoint.

The same kinds of scenario as over HTTP (a declare, a button, a form, an event), then what only a socket
has: a hang-up or a silence the bot must notice, Slack asking it to reconnect, /healthz telling an
orchestrator the socket is down, and an event Slack delivers again because its ack was lost.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ircbot.emulator import SlackEmulator, SocketModeDriver
from ircbot.emulator.blocks import flatten_view
from tests.conftest import CHANNEL_LINK, serve_environment
from tests.databases import copy_sqlite
from tests.factories import ALICE
from tests.processes import ServeProcess, free_port
from tests.scenario import buttons

pytestmark = pytest.mark.slow

RECONNECT_TARGET = 10.0  # seconds from a drop to the first acknowledged command


class SocketModeServe(ServeProcess):
    """`ircbot serve --socket-mode`: Slack's requests come over the socket, --port serves /healthz only.

    The output goes to a file, so a test can wait for a line while the process runs.
    """

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [sys.executable, "-m", "ircbot.cli", "serve", "--socket-mode", "--host", "127.0.0.1"]
        with log.open("wb") as out:
            self.process = subprocess.Popen([*command, "--port", str(self.port)], env=env, stdout=out, stderr=out)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def health(self) -> int:
        """The status /healthz answers."""
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as err:
            with err:
                return int(err.code)


@dataclass
class SocketBot:
    """The bot process, the emulator and a driver that speaks to the bot over its socket."""

    process: SocketModeServe
    emulator: SlackEmulator
    driver: SocketModeDriver

    @property
    def general(self) -> str:
        found = self.emulator.channel_by_name("general")
        assert found is not None
        return str(found["id"])

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
        """Poll until predicate() is truthy; fail with the bot's last output otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.01)
        raise AssertionError(f"{what} not met within {timeout}s; the bot said:\n{self.process.output()[-3000:]}")

    def seconds_until_acknowledged(self, since: float) -> float:
        """Type `/incident help` until the bot acknowledges it; seconds from `since` to that ack."""
        while time.monotonic() - since < 2 * RECONNECT_TARGET:
            result = self.driver.slash(ALICE, self.general, "help", wait=False)
            if result.status == 200:
                return time.monotonic() - since
            time.sleep(0.05)  # one command every 50 ms, as people keep retrying
        raise AssertionError(f"no command acknowledged for {2 * RECONNECT_TARGET}s:\n{self.process.output()[-3000:]}")


def start(emulator: SlackEmulator, database_url: str, config_dir: Path, serving: list[ServeProcess]) -> SocketBot:
    """Serve in Socket Mode with the app-level token and without the signing secret it does not need."""
    env = serve_environment(emulator, database_url, config_dir)
    env = {k: v for k, v in env.items() if k != "SLACK_SIGNING_SECRET"} | {"SLACK_APP_TOKEN": emulator.app_token}
    process = SocketModeServe(env, config_dir.parent / "serve.log")
    serving.append(process)
    process.wait_healthy()
    driver = SocketModeDriver(emulator)
    driver.wait_connected()
    return SocketBot(process, emulator, driver)


@pytest.fixture
def socket_bot(emulator: SlackEmulator, database_url: str, config_dir: Path, serving: list[ServeProcess]) -> SocketBot:
    """The bot in Socket Mode on a fresh database of each kind."""
    return start(emulator, database_url, config_dir, serving)


@pytest.fixture
def sqlite_socket_bot(
    emulator: SlackEmulator, sqlite_template: Path, config_dir: Path, serving: list[ServeProcess], tmp_path: Path
) -> Iterator[SocketBot]:
    """The bot in Socket Mode on SQLite: for what concerns the connection only, not the database."""
    path = copy_sqlite(sqlite_template, tmp_path / "ircbot.db")
    yield start(emulator, f"sqlite:///{path}", config_dir, serving)


def dms(emulator: SlackEmulator, user: str) -> list[dict[str, Any]]:
    channel = emulator.im_channel(user)
    return emulator.messages(channel) if channel else []


def publishes(emulator: SlackEmulator, user: str) -> int:
    return sum(1 for c in emulator.calls_to("views.publish") if c.args.get("user_id") == user)


def home_opened(user: str) -> dict[str, Any]:
    return {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home", "event_ts": f"{time.time()}"}


def test_a_declare_a_button_a_form_and_an_event_over_the_socket(socket_bot: SocketBot) -> None:
    bot, emu, driver = socket_bot, socket_bot.emulator, socket_bot.driver
    declared = driver.slash(ALICE, bot.general, "declare Ransomware on FS01 sev1")
    assert declared.status == 200 and "INC-1" in declared.text
    (channel,) = CHANNEL_LINK.findall(declared.text)
    assert ALICE in emu.channel(channel)["members"]

    page = bot.wait_for(lambda: next((m for m in dms(emu, ALICE) if buttons(m)), None), what="the page DM")
    im = emu.im_channel(ALICE)
    assert im is not None
    clicked = driver.click(ALICE, im, str(page["ts"]), "page_ack")
    assert clicked.status == 200
    updated = next(m for m in emu.messages(im) if m["ts"] == page["ts"])
    assert "Acknowledged by" in emu.message_text(updated) and not buttons(updated)

    assert driver.slash(ALICE, bot.general, "declare", wait=False).status == 200
    view_id = bot.wait_for(
        lambda: next((k for k, v in emu.views.items() if v["callback_id"] == "declare_modal"), None), what="the form"
    )
    empty = driver.submit_view(ALICE, view_id, {"title": {"value": {"type": "plain_text_input", "value": ""}}})
    assert empty.status == 200 and empty.json()["response_action"] == "errors", "the ack carries the form's errors"
    values = {
        "title": {"value": {"type": "plain_text_input", "value": "Suspicious OAuth app"}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": "sev3"}}},
    }
    assert driver.submit_view(ALICE, view_id, values).status == 200
    bot.wait_for(lambda: any("INC-2" in emu.message_text(m) for m in dms(emu, ALICE)), what="the form's declare")

    assert driver.event(home_opened(ALICE), event_id="Ev0SOCKHOME").status == 200
    home = bot.wait_for(lambda: emu.home_tabs.get(ALICE), what="the Home tab")
    assert "Ransomware on FS01" in flatten_view(home) and "Suspicious OAuth app" in flatten_view(home)


def test_slack_events_are_not_served_over_http_in_socket_mode(sqlite_socket_bot: SocketBot) -> None:
    request = urllib.request.Request(f"{sqlite_socket_bot.process.url}/slack/events", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    refused.value.close()
    assert refused.value.code == 404


def test_commands_are_acknowledged_again_within_10_s_of_a_hang_up_or_a_silence(sqlite_socket_bot: SocketBot) -> None:
    bot, emu = sqlite_socket_bot, sqlite_socket_bot.emulator
    for silent in (False, True):
        opened = len(emu.calls_to("apps.connections.open"))
        dropped = time.monotonic()
        bot.driver.drop(silent=silent)
        took = bot.seconds_until_acknowledged(dropped)
        what = "a silence" if silent else "a hang-up"
        assert took < RECONNECT_TARGET, f"{took:.1f} s from {what} to the first acknowledged command"
        assert len(emu.calls_to("apps.connections.open")) == opened + 1, "it reconnects through a new URL"


def test_after_refresh_requested_the_next_command_is_acknowledged_at_once(sqlite_socket_bot: SocketBot) -> None:
    bot, emu = sqlite_socket_bot, sqlite_socket_bot.emulator
    opened = len(emu.calls_to("apps.connections.open"))
    bot.driver.refresh()
    result = bot.driver.slash(ALICE, bot.general, "help")
    assert result.status == 200 and result.elapsed < 1.0 and "declare" in result.text
    assert len(emu.calls_to("apps.connections.open")) == opened + 1
    assert bot.wait_for(lambda: len(emu.socket.links) == 1, what="the old connection closed")


def test_healthz_answers_503_while_the_socket_is_down_and_200_once_it_is_back(sqlite_socket_bot: SocketBot) -> None:
    bot, emu = sqlite_socket_bot, sqlite_socket_bot.emulator
    assert bot.process.health() == 200
    emu.go_down()  # apps.connections.open cannot be reached either, so the bot stays disconnected
    bot.driver.drop()
    bot.wait_for(lambda: bot.process.health() == 503, what="/healthz 503")
    assert not bot.driver.connected
    assert bot.driver.slash(ALICE, bot.general, "help", wait=False).body == "dispatch_failed"
    emu.come_back()
    bot.wait_for(lambda: bot.process.health() == 200, timeout=15, what="/healthz 200 again")
    assert bot.driver.connected


def test_an_event_redelivered_after_its_ack_was_lost_is_handled_once(socket_bot: SocketBot) -> None:
    bot, emu = socket_bot, socket_bot.emulator
    emu.socket.ack_timeout = 1.5
    emu.socket.lose_acks(1)
    answered = bot.driver.event(home_opened(ALICE), event_id="Ev0SOCKRETRY")
    assert answered.status == 200
    first, retry = bot.driver.deliveries[-1].envelopes
    assert (first["retry_attempt"], first["retry_reason"]) == (0, "")
    assert (retry["retry_attempt"], retry["retry_reason"]) == (1, "timeout")
    assert first["payload"]["event_id"] == retry["payload"]["event_id"] == "Ev0SOCKRETRY"
    assert first["envelope_id"] != retry["envelope_id"]
    bot.wait_for(lambda: publishes(emu, ALICE) == 1, what="the Home tab published")
    bot.wait_for(lambda: "dropping redelivery event:Ev0SOCKRETRY" in bot.process.output(), what="the retry dropped")
    assert publishes(emu, ALICE) == 1


def test_an_app_token_slack_refuses_stops_serve_at_start(
    emulator: SlackEmulator, sqlite_template: Path, config_dir: Path, tmp_path: Path
) -> None:
    database_url = f"sqlite:///{copy_sqlite(sqlite_template, tmp_path / 'ircbot.db')}"
    env = serve_environment(emulator, database_url, config_dir) | {"SLACK_APP_TOKEN": "xapp-1-A0EMULATOR-revoked"}
    command = [sys.executable, "-m", "ircbot.cli", "serve", "--socket-mode", "--port", str(free_port())]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "SLACK_APP_TOKEN: Slack refused it for Socket Mode (invalid_auth)" in done.stderr
    assert "Unclosed" not in done.stderr
