"""Shared fixtures: the Slack emulator, a database (SQLite and PostgreSQL), and the real bot over HTTP."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import col, select

from ircbot.app import IrcBot, build_app
from ircbot.emulator import CommandResult, SlackDriver, SlackEmulator
from ircbot.settings import Settings
from ircbot.store.models import HomeViewer, Incident, OutboxMessage, PageStep, Reminder
from ircbot.store.records import ClockTimer
from ircbot.web import HttpServer
from tests import missing
from tests.clock import ScenarioClock
from tests.databases import PG_HOST, PG_USER, PostgresTemplate, copy_sqlite, migrated_sqlite
from tests.factories import ALICE, populate, write_config
from tests.matrix_server import synapse  # noqa: F401  (the real Matrix homeserver, for the out-of-band tests)
from tests.processes import ServeProcess
from tests.smtp import SmtpServer, running_smtp

CHANNEL_LINK = re.compile(r"<#(C[A-Z0-9]+)(?:\|[^>]*)?>")
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ALERT_TOKEN = "alert-token-4c1f9e"  # IRCBOT_ALERT_TOKEN of every test bot
# What a deployed bot reads from the environment; no test may see the caller's values.
ENVIRONMENT_PREFIXES = ("SLACK_", "IRCBOT_")
ENVIRONMENT_NAMES = ("DATABASE_URL", "SMTP_URL")

NO_POSTGRESQL = (
    f"no PostgreSQL answers on {PG_HOST}:5432 (as postgres or root, database test), so the PostgreSQL half of "
    "the tests cannot run: start one (CONTRIBUTING.md, PostgreSQL)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        missing.OPTION,
        action="store_true",
        help="skip, instead of failing, the tests whose server or tool this machine lacks (ignored under CI)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Without PostgreSQL half the suite cannot run: one clear stop at the start, not hundreds of failures."""
    missing.allow(bool(config.getoption(missing.OPTION)))
    if PG_USER is None and not missing.allowed():
        raise pytest.UsageError(missing.failure(NO_POSTGRESQL))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start mypy at once when its test will run: it takes seconds and can use the other core meanwhile.

    Not on pytest-xdist's workers: each collects every test, so each would start one, and the two
    workers already keep both cores busy.
    """
    from tests import test_tooling

    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    if not session.config.option.collectonly and any(item.name == "test_mypy_is_clean" for item in session.items):
        session.config.stash[test_tooling.EARLY_MYPY] = test_tooling.start(*test_tooling.MYPY)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Reap an early mypy whose test never ran (an interrupted session)."""
    from tests import test_tooling

    process = config.stash.get(test_tooling.EARLY_MYPY, None)
    if process is not None and process.returncode is None:
        process.kill()
        process.communicate()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without the caller's Slack, database, SMTP or ircbot settings."""
    for name in list(os.environ):
        if name.startswith(ENVIRONMENT_PREFIXES) or name in ENVIRONMENT_NAMES:
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; tests get copies."""
    return migrated_sqlite(tmp_path_factory.mktemp("template") / "ircbot.db")


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate]:
    """A PostgreSQL database migrated to head once per session; tests get clones, dropped afterwards."""
    template = PostgresTemplate.create()
    try:
        yield template
    finally:
        template.close()


def _database(request: pytest.FixtureRequest, tmp_path: Path, *, migrated: bool) -> Iterator[str]:
    """A SQLite file or a PostgreSQL database for one test, migrated (from the templates) or empty."""
    if request.param == "sqlite":
        path = tmp_path / "ircbot.db"
        if migrated:
            copy_sqlite(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    if PG_USER is None:
        missing.missing(NO_POSTGRESQL)
    postgres: PostgresTemplate = request.getfixturevalue("postgres_template")
    name = postgres.clone() if migrated else postgres.create_empty()
    try:
        yield postgres.url(name)
    finally:
        postgres.drop(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the newest schema: a copied SQLite file, or a PostgreSQL clone dropped afterwards."""
    yield from _database(request, tmp_path, migrated=True)


@pytest.fixture(params=["postgresql"])
def postgres_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh PostgreSQL clone, for what only a shared server can do (several replicas on one database)."""
    yield from _database(request, tmp_path, migrated=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, for the processes that must migrate it themselves on first start."""
    yield from _database(request, tmp_path, migrated=False)


@pytest.fixture(scope="session")
def running_emulator() -> Iterator[SlackEmulator]:
    """One emulator server for the whole session; tests get it reset."""
    emu = SlackEmulator()
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def emulator(running_emulator: SlackEmulator) -> Iterator[SlackEmulator]:
    """The emulator reset to the test workspace's people; fails the test on any bad API call."""
    emu = running_emulator
    emu.reset()
    populate(emu)
    yield emu
    assert emu.violations == [], "the bot called the Web API wrongly:\n" + "\n".join(emu.violations)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A config folder whose roles name the emulated people."""
    return write_config(tmp_path / "config")


def bot_settings(
    emulator: SlackEmulator, database_url: str, config_dir: Path, smtp_url: str | None = None, slack_timeout: int = 15
) -> Settings:
    """The environment a deployed bot would have, pointing at the emulator (and a test SMTP server)."""
    return Settings.model_validate(
        {
            "IRCBOT_SLACK_TIMEOUT": slack_timeout,
            "SLACK_BOT_TOKEN": emulator.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": emulator.base_url,
            "DATABASE_URL": database_url,
            "IRCBOT_CONFIG_DIR": str(config_dir),
            "SMTP_URL": smtp_url,
            "IRCBOT_ALERT_TOKEN": ALERT_TOKEN,
        }
    )


@dataclass
class Harness:
    """The bot served over HTTP, the emulator, a driver that acts as Slack, and the clock they share.

    The escalation runner's scheduler is not started: timers fire only when the test lets time
    pass with `advance()` or asks for what is due now with `run_timers()`.
    """

    bot: IrcBot
    server: HttpServer
    emulator: SlackEmulator
    driver: SlackDriver
    clock: ScenarioClock

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
        """Poll until predicate() is truthy (work after the ack runs in the background; timers do not)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.005)
        raise AssertionError("condition not met in time")

    def run_timers(self) -> None:
        """One tick of the runner: fire the steps and reminders due now, then deliver the outbox."""
        self.bot.runner.run_once()

    def advance(self, **delta: float) -> None:
        """Let time pass (`minutes=10`), stopping at each due time on the way to fire there, as the runner wakes."""
        target = self.clock.peek() + timedelta(**delta)
        self.run_timers()
        previous: datetime | None = None
        while (due := self.next_due()) is not None and due <= target:
            if due == previous:
                raise AssertionError(f"a timer due at {due} did not fire when its time came")
            previous = due
            self.clock.advance_to(due)
            self.run_timers()
        self.clock.advance_to(target)
        self.run_timers()

    def next_due(self) -> datetime | None:
        """The earliest pending step, reminder, clock timer, outbox retry, card or Home redraw, from the database."""
        queries = [
            select(PageStep.due_at).where(PageStep.status == "pending").order_by(col(PageStep.due_at)),
            select(Reminder.due_at).where(Reminder.status == "pending").order_by(col(Reminder.due_at)),
            select(OutboxMessage.next_attempt_at)
            .where(OutboxMessage.status == "pending")
            .order_by(col(OutboxMessage.next_attempt_at)),
            select(Incident.card_due_at)
            .where(col(Incident.card_due_at).is_not(None), col(Incident.card_ts).is_not(None))
            .order_by(col(Incident.card_due_at)),
            select(HomeViewer.due_at).where(col(HomeViewer.due_at).is_not(None)).order_by(col(HomeViewer.due_at)),
            select(ClockTimer.due_at).where(ClockTimer.status == "pending").order_by(col(ClockTimer.due_at)),
        ]
        with self.bot.db.transaction() as session:
            found = [when for query in queries if (when := session.exec(query.limit(1)).first()) is not None]
        return min(found, default=None)


# How often the test server's waitress loop wakes from select(). Its default of 1 s is how long
# HttpServer.stop() can wait for the loop to notice its closed sockets: up to a second per test.
# waitress reads the setting when the loop starts; select() takes fractions of a second.
SERVER_LOOP_SECONDS = 0.02


@pytest.fixture
def scenario_clock() -> ScenarioClock:
    """The clock of a test's bots and emulator, starting now."""
    return ScenarioClock()


@pytest.fixture
def make_harness(
    emulator: SlackEmulator, database_url: str, tmp_path: Path, scenario_clock: ScenarioClock
) -> Iterator[Callable[..., Harness]]:
    """Build the real bot (Bolt over waitress) on the scenario clock with config overrides."""
    built: list[Harness] = []
    emulator.clock = scenario_clock.epoch

    def make(
        roles: dict[str, object] | None = None,
        escalation: dict[str, object] | None = None,
        smtp_url: str | None = None,
        slack_timeout: int = 15,
        alerts: dict[str, object] | None = None,
        webhooks: list[dict[str, object]] | None = None,
        record: dict[str, object] | None = None,
        regulations: dict[str, object] | None = None,
        oob: dict[str, object] | None = None,
    ) -> Harness:
        folder = write_config(tmp_path / f"config{len(built)}", roles=roles, escalation=escalation)
        if alerts is not None:
            (folder / "alerts.yaml").write_text(yaml.safe_dump(alerts, sort_keys=False))
        if webhooks is not None:
            (folder / "webhooks.yaml").write_text(yaml.safe_dump(webhooks, sort_keys=False))
        if record is not None:
            (folder / "record.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
        if regulations is not None:
            (folder / "regulations.yaml").write_text(yaml.safe_dump(regulations, sort_keys=False))
        if oob is not None:
            (folder / "oob.yaml").write_text(yaml.safe_dump(oob, sort_keys=False))
        settings = bot_settings(emulator, database_url, folder, smtp_url, slack_timeout)
        bot = build_app(settings, clock=scenario_clock)
        server = HttpServer(bot, port=0, threads=8)
        server.server.adj.asyncore_loop_timeout = SERVER_LOOP_SECONDS  # type: ignore[assignment]
        url = server.start()
        driver = SlackDriver(f"{url}/slack/events", SIGNING_SECRET, emulator)
        built.append(Harness(bot=bot, server=server, emulator=emulator, driver=driver, clock=scenario_clock))
        return built[-1]

    yield make
    for harness in built:
        harness.server.stop()
        # Work after the acks (on Bolt's executor) finishes before the database and emulator move on.
        harness.bot.bolt.listener_runner.listener_executor.shutdown(wait=True)
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
