"""Shared fixtures: the Slack emulator, a database (SQLite and PostgreSQL), and the real bot over HTTP."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ircbot.app import IrcBot, build_app
from ircbot.emulator import CommandResult, SlackDriver, SlackEmulator
from ircbot.settings import Settings
from ircbot.web import HttpServer
from tests.factories import ALICE, populate, write_config
from tests.processes import ServeProcess
from tests.smtp import SmtpServer, running_smtp

CHANNEL_LINK = re.compile(r"<#(C[A-Z0-9]+)(?:\|[^>]*)?>")
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PG_HOST = os.environ.get("IRCBOT_TEST_PG_HOST", "127.0.0.1")


def _postgres_user() -> str | None:
    for user in ("postgres", "root"):
        try:
            with psycopg.connect(host=PG_HOST, user=user, dbname="test", connect_timeout=3):
                return user
        except psycopg.OperationalError:
            continue
    return None


PG_USER = _postgres_user()
if PG_USER is None and os.environ.get("CI"):
    raise RuntimeError("CI must run the PostgreSQL pass, but no server answers on 127.0.0.1:5432")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ircbot.db'}"
        return
    if PG_USER is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (CI runs this pass)")
    name = f"ircbot_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(host=PG_HOST, user=PG_USER, dbname="test", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg://{PG_USER}@{PG_HOST}/{name}"
    with psycopg.connect(host=PG_HOST, user=PG_USER, dbname="test", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    """A running Slack emulator with the test workspace's people; fails the test on any bad API call."""
    emu = SlackEmulator()
    emu.start()
    populate(emu)
    yield emu
    emu.stop()
    assert emu.violations == [], "the bot called the Web API wrongly:\n" + "\n".join(emu.violations)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A config folder whose roles name the emulated people."""
    return write_config(tmp_path / "config")


def bot_settings(emulator: SlackEmulator, database_url: str, config_dir: Path, smtp_url: str | None = None) -> Settings:
    """The environment a deployed bot would have, pointing at the emulator (and a test SMTP server)."""
    return Settings.model_validate(
        {
            "SLACK_BOT_TOKEN": emulator.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": emulator.base_url,
            "DATABASE_URL": database_url,
            "IRCBOT_CONFIG_DIR": str(config_dir),
            "SMTP_URL": smtp_url,
        }
    )


@dataclass
class Harness:
    """The bot served over HTTP, the emulator, and a driver that acts as Slack."""

    bot: IrcBot
    server: HttpServer
    emulator: SlackEmulator
    driver: SlackDriver

    def slash(self, text: str, *, user: str = ALICE, channel: str | None = None, **kwargs: Any) -> CommandResult:
        """Type `/incident <text>` as `user` in `channel` (default #general)."""
        where = channel or self.general
        return self.driver.slash(user, where, text, **kwargs)

    @property
    def general(self) -> str:
        found = self.emulator.channel_by_name("general")
        assert found is not None
        return str(found["id"])

    def declare(self, text: str = "Ransomware on FS01 sev1", *, user: str = ALICE) -> tuple[CommandResult, str]:
        """Declare and return the reply and the new channel's id."""
        result = self.slash(f"declare {text}", user=user)
        assert result.status == 200, result.body
        links = [m for r in result.responses for m in CHANNEL_LINK.findall(r.get("text") or "")]
        assert links, f"declare did not answer with a channel link: {result.text}"
        return result, links[0]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> Any:
        """Poll until predicate() is truthy (work after the ack runs in the background)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError("condition not met in time")


@pytest.fixture
def make_harness(emulator: SlackEmulator, database_url: str, tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    """Build the real bot (Bolt over waitress, escalation runner running) with config overrides."""
    built: list[Harness] = []

    def make(
        roles: dict[str, object] | None = None,
        escalation: dict[str, object] | None = None,
        smtp_url: str | None = None,
    ) -> Harness:
        folder = write_config(tmp_path / f"config{len(built)}", roles=roles, escalation=escalation)
        bot = build_app(bot_settings(emulator, database_url, folder, smtp_url), tick_seconds=0.5)
        bot.start()
        server = HttpServer(bot, port=0, threads=8)
        url = server.start()
        driver = SlackDriver(f"{url}/slack/events", SIGNING_SECRET, emulator)
        built.append(Harness(bot=bot, server=server, emulator=emulator, driver=driver))
        return built[-1]

    yield make
    for harness in built:
        harness.server.stop()
        harness.bot.close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server that keeps what it receives."""
    with running_smtp() as server:
        yield server


@pytest.fixture
def harness(make_harness: Callable[..., Harness]) -> Harness:
    """The real bot wired to the emulator and a fresh database, with the test workspace's config."""
    return make_harness()


def serve_environment(emulator: SlackEmulator, database_url: str, config_dir: Path) -> dict[str, str]:
    """The environment of an `ircbot serve` process pointed at the emulator."""
    return {
        **os.environ,
        "SLACK_BOT_TOKEN": emulator.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": emulator.base_url,
        "DATABASE_URL": database_url,
        "IRCBOT_CONFIG_DIR": str(config_dir),
    }


@pytest.fixture
def serving() -> Iterator[list[ServeProcess]]:
    """`ircbot serve` processes a test starts; all stopped afterwards."""
    started: list[ServeProcess] = []
    yield started
    for process in started:
        process.stop()
