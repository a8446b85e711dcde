"""Escalation timers across real processes: kill -9 and restart, two replicas on one database."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlmodel import select

from ircbot.emulator import SlackDriver, SlackEmulator
from ircbot.store import queries
from ircbot.store.db import Database
from ircbot.store.models import OutboxMessage, PageStep
from tests.conftest import SIGNING_SECRET, serve_environment
from tests.factories import ALICE, BOB, CAROL, DAVE, ERIN, escalation_config, tier, write_config
from tests.processes import ServeProcess

pytestmark = pytest.mark.slow


def page_times(emu: SlackEmulator, user: str) -> list[float]:
    """When each page DM reached a user (emulator call times)."""
    return [
        c.at for c in emu.calls_to("chat.postMessage") if c.ok and c.args.get("channel") == user and "blocks" in c.args
    ]


def wait_until(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def paged_events(database_url: str) -> list[tuple[int, int, str]]:
    """(tier, late seconds, text) of every page in INC-1's timeline."""
    db = Database(database_url)
    try:
        with db.transaction() as session:
            incident = queries.incident_by_number(session=session, number=1)
            assert incident is not None and incident.id is not None
            rows = queries.timeline(session=session, incident_id=incident.id)
            return [(e.data["tier"], e.data["late_seconds"], e.text) for e in rows if e.kind == "paged"]
    finally:
        db.dispose()


def outbox_delivered(database_url: str) -> bool:
    """True once every page decided so far has been delivered (none is left pending)."""
    db = Database(database_url)
    try:
        with db.transaction() as session:
            return not session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
    finally:
        db.dispose()


def declare(emu: SlackEmulator, server: ServeProcess) -> float:
    general = emu.add_channel(f"soc-{time.monotonic_ns()}", members=[ALICE])
    declared_at = time.time()
    result = SlackDriver(f"{server.url}/slack/events", SIGNING_SECRET, emu).slash(ALICE, general, "declare Wiper sev1")
    assert "INC-1" in result.text, result.text
    return declared_at


def test_steps_due_while_down_fire_once_in_order_marked_late_and_later_steps_on_time(
    emulator: SlackEmulator, database_url: str, tmp_path: Path, serving: list[ServeProcess]
) -> None:
    policy = escalation_config(
        sev1={
            "name": "Critical",
            "tiers": [
                tier("0s", f"user:{ALICE}"),
                tier("2s", f"user:{BOB}"),
                tier("3s", f"user:{CAROL}"),
                tier("10s", f"user:{DAVE}"),
            ],
        }
    )
    env = serve_environment(emulator, database_url, write_config(tmp_path / "config", escalation=policy))
    first = ServeProcess(env)
    serving.append(first)
    first.wait_healthy()
    declared_at = declare(emulator, first)
    wait_until(lambda: page_times(emulator, ALICE), timeout=10)
    # Killed between the DM and marking it sent, tier 1 would rightly be delivered again after the restart.
    wait_until(lambda: outbox_delivered(database_url), timeout=10)
    first.kill_hard()

    time.sleep(max(0.0, declared_at + 5 - time.time()))  # tiers 2 and 3 fall due (2 s or more ago) while nothing runs
    assert not page_times(emulator, BOB)
    second = ServeProcess(env)
    serving.append(second)
    second.wait_healthy()
    healthy_at = time.time()
    wait_until(lambda: page_times(emulator, BOB) and page_times(emulator, CAROL), timeout=5)
    assert max(page_times(emulator, CAROL)) - healthy_at < 2.0
    assert page_times(emulator, BOB)[0] < page_times(emulator, CAROL)[0], "overdue steps fire in due order"

    wait_until(lambda: page_times(emulator, DAVE), timeout=20)
    assert [len(page_times(emulator, u)) for u in (ALICE, BOB, CAROL, DAVE)] == [1, 1, 1, 1]
    pages = {t: (late, text) for t, late, text in paged_events(database_url)}
    assert pages[2][0] >= 2 and "late" in pages[2][1] and pages[3][0] >= 2
    assert pages[4][0] < 2 and "late" not in pages[4][1], "a step due after the restart fires on time"


def test_two_replicas_fire_every_step_exactly_once(
    emulator: SlackEmulator, empty_database_url: str, tmp_path: Path, serving: list[ServeProcess]
) -> None:
    database_url = empty_database_url  # both replicas migrate it as they start, taking turns
    people = [ALICE, BOB, CAROL, DAVE, ERIN]
    afters = ["0s", "0s", "1s", "1s", "1s"]  # steps due at the same instant make the replicas race harder
    policy = escalation_config(
        sev1={
            "name": "Critical",
            "tiers": [tier(a, f"user:{u}") for a, u in zip(afters, people, strict=True)],
            "repeat": 1,
        }
    )
    env = serve_environment(emulator, database_url, write_config(tmp_path / "config", escalation=policy))
    replicas = [ServeProcess(env), ServeProcess(env)]
    serving.extend(replicas)
    for replica in replicas:
        replica.wait_healthy()
    declare(emulator, replicas[0])
    # round 1 at 0 and 1 s, round 2 one cycle (the last tier's 1 s plus the 0 s gap before it) later
    wait_until(lambda: all(len(page_times(emulator, u)) >= 2 for u in people), timeout=30)
    time.sleep(1.5)
    assert [len(page_times(emulator, u)) for u in people] == [2, 2, 2, 2, 2]
    db = Database(database_url)
    try:
        with db.transaction() as session:
            steps = session.exec(select(PageStep)).all()
            sent = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "dm")).all()
        assert len(steps) == 10 and all(s.status == "fired" for s in steps)
        assert len(sent) == 10 and all(m.status == "sent" for m in sent)
    finally:
        db.dispose()


def test_an_update_reminder_due_while_down_fires_once_after_restart(
    emulator: SlackEmulator, database_url: str, tmp_path: Path, serving: list[ServeProcess]
) -> None:
    policy = escalation_config(
        sev1={"name": "Critical", "tiers": [], "updates": {"every": "3s", "channel": None, "email": []}}
    )
    env = serve_environment(emulator, database_url, write_config(tmp_path / "config", escalation=policy))
    first = ServeProcess(env)
    serving.append(first)
    first.wait_healthy()
    declared_at = declare(emulator, first)
    first.kill_hard()
    time.sleep(max(0.0, declared_at + 3.5 - time.time()))  # the reminder (due at 3 s) falls due while nothing runs

    def reminders() -> list[str]:
        return [
            emulator.message_text(m)
            for c in emulator.channels()
            if c["name"].startswith("inc-1")
            for m in emulator.messages(c["id"])
            if "No status update" in emulator.message_text(m)
        ]

    assert reminders() == []
    second = ServeProcess(env)
    serving.append(second)
    second.wait_healthy()
    wait_until(lambda: reminders(), timeout=5)
    time.sleep(1.5)
    assert len(reminders()) == 1


def test_an_overdue_regulatory_report_pages_its_owner_once_across_a_kill(
    emulator: SlackEmulator, database_url: str, tmp_path: Path, serving: list[ServeProcess]
) -> None:
    import re

    import yaml

    policy = escalation_config(sev1={"name": "Critical", "tiers": []})
    folder = write_config(tmp_path / "config", escalation=policy)
    regime = {"name": "Quick", "owner": f"user:{BOB}", "reports": [{"name": "notice", "within": "4s"}]}
    (folder / "regulations.yaml").write_text(yaml.safe_dump({"regimes": {"quick": regime}}))
    env = serve_environment(emulator, database_url, folder)
    first = ServeProcess(env)
    serving.append(first)
    first.wait_healthy()
    general = emulator.add_channel(f"soc-{time.monotonic_ns()}", members=[ALICE])
    driver = SlackDriver(f"{first.url}/slack/events", SIGNING_SECRET, emulator)
    declared = driver.slash(ALICE, general, "declare Customer data leaked sev1")
    channel = re.findall(r"<#(C[A-Z0-9]+)", declared.text)[0]
    started = driver.slash(ALICE, channel, "clock start quick")
    assert "due" in started.text, started.text
    first.kill_hard()

    def overdue_pages() -> list[str]:
        return [
            str(c.args)
            for c in emulator.calls_to("chat.postMessage")
            if c.ok and c.args.get("channel") == BOB and "is overdue" in str(c.args)
        ]

    time.sleep(5)  # the deadline passes while nothing runs
    assert overdue_pages() == []
    second = ServeProcess(env)
    serving.append(second)
    second.wait_healthy()
    wait_until(lambda: overdue_pages(), timeout=15)
    time.sleep(2)
    assert len(overdue_pages()) == 1
    db = Database(database_url)
    try:
        with db.transaction() as session:
            steps = session.exec(select(PageStep).where(PageStep.clock_id.is_not(None))).all()  # type: ignore[union-attr]
        assert [s.status for s in steps] == ["fired"]
    finally:
        db.dispose()
