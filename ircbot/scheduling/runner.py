"""The escalation runner: APScheduler wakes it on a short tick and at each known due time.

APScheduler keeps no state here (memory job store); the due steps are database rows, so any
process, including one restarted after a crash, finds them and fires each exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from dateutil import tz

from ircbot.domain.paging import drain_outbox, fire_due
from ircbot.domain.reminders import fire_due_reminders
from ircbot.domain.services import Services
from ircbot.store import queries


class EscalationRunner:
    """Fires due steps and reminders, and drains the outbox; one per process.

    Firing and delivery run on separate threads, so claiming a due step never waits behind Slack
    calls for pages decided earlier.
    """

    def __init__(self, svc: Services, *, tick_seconds: float = 1.0):
        self.svc = svc
        self.tick_seconds = tick_seconds
        self.scheduler = BackgroundScheduler(timezone=tz.UTC)
        self._firing = _Round(self._fire, svc)
        self._delivering = _Round(self._deliver, svc)

    def start(self) -> None:
        """Catch up on what fell due while down, then wake on the tick and on every due time."""
        self.svc.wake = self.wake_at
        self.scheduler.add_job(
            self.run_once, "interval", seconds=self.tick_seconds, id="tick", coalesce=True, max_instances=4
        )
        self.scheduler.start()
        with self.svc.db.transaction() as session:
            upcoming = queries.future_due_times(session=session, now=self.svc.clock())
        for when in upcoming:
            self.wake_at(when)
        self.wake_at(self.svc.clock())

    def wake_at(self, when: datetime) -> None:
        """Fire at `when` (at once if it is past)."""
        if self.scheduler.running:
            self.scheduler.add_job(
                self._firing.run, "date", run_date=max(when, self.svc.clock()), misfire_grace_time=None
            )

    def run_once(self) -> None:
        """One firing round and one delivery round (the tick; tests call it directly too)."""
        self._firing.run()
        self._delivering.run()

    def _fire(self) -> None:
        fired = fire_due(self.svc) + fire_due_reminders(self.svc)
        if fired and self.scheduler.running:
            self.scheduler.add_job(self._delivering.run)  # deliver now, on another thread
        elif fired:
            self._delivering.run()

    def _deliver(self) -> None:
        drain_outbox(self.svc)

    def stop(self) -> None:
        """Stop waking; a round in progress finishes."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)


class _Round:
    """Runs `work` on one thread at a time; a call that arrives meanwhile makes it run once more, not twice."""

    def __init__(self, work: Callable[[], None], svc: Services):
        self.work = work
        self.svc = svc
        self._lock = threading.Lock()
        self._again = threading.Event()

    def run(self) -> None:
        if not self._lock.acquire(blocking=False):
            self._again.set()
            return
        try:
            while True:
                self._again.clear()
                self.work()
                if not self._again.is_set():
                    break
        except Exception:  # the runner must outlive one bad round; the next tick retries from the database
            self.svc.log.exception("escalation round failed")
        finally:
            self._lock.release()
