"""Three `ircbot serve` replicas on one PostgreSQL take a burst of concurrent declares."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlmodel import select

from ircbot.emulator import SlackDriver, SlackEmulator
from ircbot.store.db import Database
from ircbot.store.models import Incident
from tests.conftest import SIGNING_SECRET, serve_environment
from tests.factories import ALICE, write_config
from tests.processes import ServeProcess

pytestmark = pytest.mark.slow

DECLARES = 200
DECLARED = re.compile(r"Declared \*INC-(\d+) \[DRILL\]: Burst (\d+)\*")


def test_three_replicas_take_200_concurrent_declares_and_refuse_none(
    emulator: SlackEmulator, postgres_database_url: str, tmp_path: Path, serving: list[ServeProcess]
) -> None:
    env = serve_environment(emulator, postgres_database_url, write_config(tmp_path / "config"))
    replicas = [ServeProcess(env) for _ in range(3)]
    serving.extend(replicas)
    for replica in replicas:
        replica.wait_healthy()
    general = emulator.add_channel("soc", members=[ALICE])
    drivers = [SlackDriver(f"{r.url}/slack/events", SIGNING_SECRET, emulator) for r in replicas]

    def declare(n: int) -> str:
        return drivers[n % 3].slash(ALICE, general, f"declare Burst {n} --drill", timeout=120).text

    with ThreadPoolExecutor(max_workers=DECLARES) as pool:
        answers = list(pool.map(declare, range(DECLARES)))
    declared = [DECLARED.search(a) for a in answers]
    refused = [a for a, d in zip(answers, declared, strict=True) if d is None]
    assert refused == [], f"{len(refused)} refused, e.g. {refused[:1]}"
    numbers = sorted(int(d.group(1)) for d in declared if d)
    assert numbers == list(range(1, DECLARES + 1)), "every number once, none skipped"
    db = Database(postgres_database_url)
    try:
        with db.transaction() as session:
            rows = session.exec(select(Incident)).all()
    finally:
        db.dispose()
    assert len(rows) == DECLARES and all(r.ready_at and r.card_ts for r in rows)
    channels = [c for c in emulator.channels() if c["name"].startswith("inc-")]
    assert len(channels) == DECLARES == len({r.channel_id for r in rows})
    assert not emulator.violations
