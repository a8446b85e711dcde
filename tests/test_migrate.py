"""Replicas starting together on one empty database migrate it in turn: each ends at the newest schema, none fails,
and nobody ever sees a schema half-way (which is what let a second replica start on steps the first had done)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from ircbot.store.db import Database

REPLICAS = 8
# Each process imports everything first, then waits for the same moment to migrate, so the migrations overlap.
MIGRATE_AT_THE_SIGNAL = """
import sys, time
from pathlib import Path
from ircbot.store.db import Database
database = Database(sys.argv[1])
signal = Path(sys.argv[2])
Path(sys.argv[3]).touch()
while not signal.exists():
    time.sleep(0.001)
database.migrate()
database.dispose()
"""


def test_replicas_migrating_one_empty_database_together_take_turns(empty_database_url: str, tmp_path: Path) -> None:
    signal = tmp_path / "go"
    ready = [tmp_path / f"ready-{n}" for n in range(REPLICAS)]
    replicas = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE_AT_THE_SIGNAL, empty_database_url, str(signal), str(flag)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for flag in ready
    ]
    seen = None
    try:
        deadline = time.monotonic() + 60
        while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
            time.sleep(0.01)
        seen = VersionWatch(empty_database_url)
        signal.touch()
        outputs = [replica.communicate(timeout=120)[0] for replica in replicas]
    finally:
        for replica in replicas:
            replica.kill()
            replica.wait()
        if seen is not None:
            seen.stop()
    for replica, output in zip(replicas, outputs, strict=True):
        assert replica.returncode == 0, output
    database = Database(empty_database_url)
    try:
        database.require_newest_schema()
        assert "incident" in inspect(database.engine).get_table_names()
        with database.engine.connect() as connection:
            head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        database.dispose()
    assert seen.versions <= {None, head}, f"a half-migrated schema was visible: {sorted(map(str, seen.versions))}"


class VersionWatch(threading.Thread):
    """Reads the schema's version over and over from outside, as another replica starting would."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.engine = create_engine(url)
        self.versions: set[str | None] = set()
        self.done = threading.Event()
        self.start()

    def run(self) -> None:
        with self.engine.connect() as connection:
            while not self.done.is_set():
                try:
                    self.versions.add(connection.execute(text("SELECT version_num FROM alembic_version")).scalar())
                except DBAPIError:  # no version table yet
                    self.versions.add(None)
                connection.rollback()

    def stop(self) -> None:
        self.done.set()
        self.join()
        self.engine.dispose()
