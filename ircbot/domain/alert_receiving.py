"""Receiving alerts: what a sender posted is stored, and the sender hears 202 once it is committed.

`receive` stores one batch of alerts in one commit. `GroupCommit` shares that commit among the requests waiting
at the time: one commit per request would spend a busy intake on commits (SQLite has one writer at a time;
PostgreSQL flushes its log for each) rather than on rows. A request hands its alerts over and waits; whichever
request finds no commit under way commits everything handed over so far, its own included, then wakes each
request it carried with the ids of its alerts, or with the error that kept them out (the sender is answered 503
and retries), and hands the next commit to the first request that came meanwhile. So under load each commit
carries many requests, and idle, each carries one and waits for nothing.

Nothing is answered before its commit and nothing is kept in memory past it: a crash loses only requests not yet
answered, which their senders send again. The engine decides the stored alerts later (alert_intake).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import DataError, IntegrityError

from ircbot.domain.alert_sources import NormalisedAlert
from ircbot.domain.services import Services
from ircbot.store import alert_queries

Store = Callable[[list[NormalisedAlert]], list[int]]
"""Stores alerts in one commit and returns their ids in the order given (`receive`)."""


def receive(svc: Services, alerts: list[NormalisedAlert]) -> list[int]:
    """Store the alerts in one commit; the engine's next tick decides them. Returns their ids, in the alerts' order."""
    now = svc.clock()
    rows = [
        {
            "source": a.source,
            "fingerprint": a.fingerprint[:200],
            "group_key": a.group_key[:500],
            "status": a.status,
            "severity": a.severity,
            "title": a.title,
            "description": a.description,
            "started_at": a.started_at,
            "received_at": now,
            "labels": a.labels,
            "raw": a.raw,
            "done": False,
        }
        for a in alerts
    ]
    with svc.db.transaction() as session:
        ids = alert_queries.insert_alerts(session=session, rows=rows)
    # No wake-up per commit: at hundreds of commits a second each would run a round of the timer engine for
    # nothing. The engine's tick (every second) takes the waiting alerts, many at a time.
    return ids


@dataclass
class _Waiting:
    """One request's alerts, and once its commit ended, their ids or what went wrong."""

    alerts: list[NormalisedAlert]
    ids: list[int] | None = None
    error: BaseException | None = None
    woken: threading.Event = field(default_factory=threading.Event)  # its commit ended, or the next one is its own

    @property
    def finished(self) -> bool:
        return self.ids is not None or self.error is not None


class GroupCommit:
    """Stores each request's alerts in a commit shared with the other requests waiting at the time."""

    def __init__(self, store: Store):
        self._store = store
        self._lock = threading.Lock()
        self._waiting: list[_Waiting] = []
        self._committing = False  # a request is committing, or has been handed the next commit

    @property
    def waiting(self) -> int:
        """How many requests wait for the next commit (not counting the one under way)."""
        with self._lock:
            return len(self._waiting)

    def store(self, alerts: list[NormalisedAlert]) -> list[int]:
        """The ids of the alerts once they are committed; raises what kept them from being stored."""
        mine = _Waiting(alerts)
        with self._lock:
            self._waiting.append(mine)
            leading, self._committing = not self._committing, True
        if not leading:
            mine.woken.wait()
        if not mine.finished:  # the next commit is ours: it carries everything gathered, ours included
            self._commit_waiting()
        if mine.error is not None:
            raise mine.error
        assert mine.ids is not None
        return mine.ids

    def _commit_waiting(self) -> None:
        """Commit what has gathered, wake each request it carried, and hand the next commit to the first request
        that came meanwhile (waking it alone, not every request waiting)."""
        with self._lock:
            carried, self._waiting = self._waiting, []
        try:
            self._commit(carried)
        finally:
            for waiting in carried:
                waiting.woken.set()
            with self._lock:
                if self._waiting:
                    self._waiting[0].woken.set()
                else:
                    self._committing = False

    def _commit(self, carried: list[_Waiting]) -> None:
        """One commit for them all; when the database refuses what one request holds (PostgreSQL takes no NUL in a
        text), one commit each, so that request fails alone."""
        try:
            ids = self._store([alert for waiting in carried for alert in waiting.alerts])
        except (DataError, IntegrityError) as exc:
            if len(carried) == 1:
                carried[0].error = exc
                return
            for waiting in carried:
                self._commit([waiting])
            return
        except BaseException as exc:  # the database itself failed (unreachable, locked): no other try would fare better
            for waiting in carried:
                waiting.error = exc
            if not isinstance(exc, Exception):  # the process is stopping
                raise
            return
        start = 0
        for waiting in carried:
            waiting.ids, start = ids[start : start + len(waiting.alerts)], start + len(waiting.alerts)
