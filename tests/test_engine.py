"""The timer engine's shape: wake-ups after commit, a sender for every outbox kind, a module list."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import select

from ircbot.app import template_environment
from ircbot.config import load_config
from ircbot.domain.kinds import OutboxKind, ReminderKind, TimerStatus
from ircbot.domain.outbox import DELIVER
from ircbot.domain.reminders import fire_due_reminders
from ircbot.domain.services import Services
from ircbot.scheduling.runner import EscalationRunner, Module, new_alarm
from ircbot.store.db import Database
from ircbot.store.models import Reminder
from tests.factories import escalation_config, tier, write_config
from tests.test_domain import FakeChat, FakeClock, declare_one

EVERY_HOUR = escalation_config(
    sev1={"name": "Critical", "tiers": [tier("1h", "role:analyst")], "updates": {"every": "30m"}}
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def reminding(tmp_path: Path, clock: FakeClock) -> Iterator[Services]:
    config = load_config(write_config(tmp_path / "config", escalation=EVERY_HOUR))
    db = Database(f"sqlite:///{tmp_path / 'ircbot.db'}")
    db.migrate()
    yield Services(db=db, chat=FakeChat(), config=config, templates=template_environment(config), clock=clock)
    db.dispose()


def pending_reminders(svc: Services) -> list[datetime]:
    with svc.db.transaction() as session:
        query = select(Reminder).where(Reminder.status == TimerStatus.PENDING, Reminder.kind == ReminderKind.UPDATE)
        return [r.due_at for r in session.exec(query).all()]


def test_a_wake_up_comes_after_the_commit_so_the_runner_finds_the_row(reminding: Services, clock: FakeClock) -> None:
    seen: list[tuple[datetime, list[datetime]]] = []
    # The wake-up port looks at the database from its own transaction, as the runner does when it wakes.
    svc = dataclasses.replace(reminding, wake=lambda when: seen.append((when, pending_reminders(svc))))
    declare_one(svc)
    clock.advance(minutes=31)
    seen.clear()

    assert fire_due_reminders(svc) == 1

    ((when, visible),) = seen
    assert visible == [when], "the reminder the wake-up points at is committed and visible"


def test_every_outbox_kind_has_a_sender() -> None:
    assert set(DELIVER) == set(OutboxKind)


def test_the_runner_runs_its_modules_in_order_and_outlives_a_failing_round(reminding: Services) -> None:
    ran: list[str] = []

    def broken(_: Services) -> int:
        ran.append("broken")
        raise RuntimeError("a bug in one module")

    firing = [Module("first", lambda _: ran.append("first") or 1), Module("broken", broken)]
    delivery = [Module("deliver", lambda _: ran.append("deliver") or 0)]
    runner = EscalationRunner(reminding, new_alarm(reminding.clock), firing=firing, delivery=delivery)

    runner.run_once()
    runner.run_once()

    assert ran == ["first", "broken", "deliver"] * 2
