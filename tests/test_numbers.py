"""Incident numbers: handed out one at a time however many declares (and replicas) ask at once."""

from __future__ import annotations

import threading

from ircbot.store import queries
from ircbot.store.db import Database


def test_concurrent_allocations_get_consecutive_numbers_and_none_fails(database_url: str) -> None:
    databases = [Database(database_url) for _ in range(3)]  # three replicas, each with its own pool
    databases[0].migrate()
    taken: list[int] = []
    failures: list[BaseException] = []
    start = threading.Barrier(30)

    def declare_five(db: Database) -> None:
        start.wait()
        for _ in range(5):
            try:
                with db.transaction() as session:
                    taken.append(queries.allocate_incident_number(session=session))
            except BaseException as exc:
                failures.append(exc)

    workers = [threading.Thread(target=declare_five, args=(databases[i % 3],)) for i in range(30)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    for db in databases:
        db.dispose()

    assert failures == []
    assert sorted(taken) == list(range(1, 151))


def test_the_counter_starts_after_the_numbers_already_taken(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    with db.transaction() as session:
        first = queries.allocate_incident_number(session=session)
    with db.transaction() as session:
        second = queries.allocate_incident_number(session=session)
    db.dispose()
    assert (first, second) == (1, 2)
