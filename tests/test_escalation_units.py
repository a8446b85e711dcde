"""Escalation planning on instants, time zones, the policy snapshot, and the ack-versus-fire race."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from sqlmodel import select

from ircbot.app import build_app
from ircbot.domain.declare import Declaration, declare
from ircbot.domain.escalation import acknowledge, plan, snapshot
from ircbot.domain.outbox import drain_outbox, local_time
from ircbot.domain.paging import fire_due
from ircbot.emulator import SlackEmulator
from ircbot.store.models import Incident, OutboxMessage
from tests.conftest import bot_settings
from tests.factories import ALICE, BOB, CAROL, escalation_config, tier, write_config


def policy(*afters: str, repeat: int = 0) -> dict[str, object]:
    return {
        "name": "Critical",
        "repeat": repeat,
        "tiers": [{"after_seconds": _seconds(a), "notify": ["user:U1"]} for a in afters],
    }


def _seconds(text: str) -> int:
    from ircbot.durations import parse_duration

    return int(parse_duration(text).total_seconds())


START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_tiers_count_from_the_start_and_repeat_after_one_cycle() -> None:
    steps = plan(policy("0s", "5m", "15m", repeat=1), START)
    offsets = [(s.round, s.tier, s.due_at - START) for s in steps]
    cycle = timedelta(minutes=25)  # last tier (15m) plus the gap before it (10m)
    assert offsets == [
        (0, 0, timedelta(0)),
        (0, 1, timedelta(minutes=5)),
        (0, 2, timedelta(minutes=15)),
        (1, 0, cycle),
        (1, 1, cycle + timedelta(minutes=5)),
        (1, 2, cycle + timedelta(minutes=15)),
    ]


def test_a_single_immediate_tier_repeats_every_five_minutes() -> None:
    steps = plan(policy("0s", repeat=2), START)
    assert [s.due_at - START for s in steps] == [timedelta(0), timedelta(minutes=5), timedelta(minutes=10)]


def test_no_tiers_means_no_steps() -> None:
    assert plan({"name": "Low", "repeat": 3, "tiers": []}, START) == []


def test_due_times_never_move_backwards_across_a_dst_change() -> None:
    # Europe/Berlin leaves summer time at 01:00 UTC on 2026-10-25: 03:00 CEST becomes 02:00 CET.
    start = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    steps = plan(policy("0s", "1h", "2h"), start)
    dues = [s.due_at for s in steps]
    assert [b - a for a, b in pairwise(dues)] == [timedelta(hours=1), timedelta(hours=1)]
    shown = [local_time(d, "Europe/Berlin") for d in dues]
    assert shown == ["2026-10-25 02:30 CEST", "2026-10-25 02:30 CET", "2026-10-25 03:30 CET"]
    assert local_time(dues[0], None) == "2026-10-25 00:30 UTC"
    assert local_time(dues[0], "Not/AZone") == "2026-10-25 00:30 UTC"


def test_the_policy_is_snapshotted_so_later_edits_do_not_change_it(tmp_path: Path) -> None:
    from ircbot.config import load_config

    config = load_config(write_config(tmp_path / "a"))
    taken = snapshot(config.escalation.severities["sev1"])
    edited = load_config(
        write_config(
            tmp_path / "b", escalation=escalation_config(sev1={"name": "X", "tiers": [tier("1h", f"user:{BOB}")]})
        )
    )
    assert snapshot(edited.escalation.severities["sev1"]) != taken
    assert taken["tiers"][0] == {"after_seconds": 0, "notify": ["role:manager", "role:analyst"]}


def test_no_page_leaves_after_an_acknowledgement_is_committed(
    emulator: SlackEmulator, database_url: str, tmp_path: Path
) -> None:
    for user in (ALICE, BOB, CAROL):
        emulator.add_user(user, user.lower())
    config = write_config(
        tmp_path / "config",
        escalation=escalation_config(sev1={"name": "Critical", "tiers": [tier("0s", f"user:{BOB}", f"user:{CAROL}")]}),
    )
    bot = build_app(bot_settings(emulator, database_url, config))  # runner not started: the test drives it
    try:
        svc = bot.services
        for attempt in range(12):
            declared = declare(svc, Declaration(title=f"Race {attempt}", severity="sev1", declared_by=ALICE))
            worker = threading.Thread(target=lambda: (fire_due(svc), drain_outbox(svc)))
            worker.start()
            acknowledge(svc, incident_id=declared.incident.id, actor=ALICE)
            worker.join()
            drain_outbox(svc)
        with bot.db.transaction() as session:
            acked = {i.id: i.acknowledged_at for i in session.exec(select(Incident)).all()}
            messages = session.exec(select(OutboxMessage)).all()
        assert all(acked.values())
        sent = [m for m in messages if m.status == "sent"]
        # A page claimed before the ack may still be on its way when the ack commits (one Slack call).
        assert all(m.first_tried_at is not None and m.first_tried_at <= acked[m.incident_id] for m in sent)
        assert {m.status for m in messages} <= {"sent", "suppressed"}
    finally:
        bot.close()
    assert emulator.violations == []
