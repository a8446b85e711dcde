"""The escalation runner: APScheduler wakes it on a short tick and at each known due time.

APScheduler keeps no state here (memory job store); the due steps are database rows, so any
process, including one restarted after a crash, finds them and fires each exactly once.
"""

from __future__ import annotations

import threading
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from dateutil import tz

from ircbot.domain.paging import drain_outbox, fire_due
from ircbot.domain.reminders import fire_due_reminders
from ircbot.domain.services import Services
from ircbot.store import queries


class EscalationRunner:
    """Fires due steps and drains the outbox; one per process."""

    def __init__(self, svc: Services, *, tick_seconds: float = 1.0):
        self.svc = svc
        self.tick_seconds = tick_seconds
        self.scheduler = BackgroundScheduler(timezone=tz.UTC)
        self._lock = threading.Lock()
        self._again = threading.Event()

    def start(self) -> None:
        """Catch up on what fell due while down, then wake on the tick and on every due time."""
        self.svc.wake = self.wake_at
        self.scheduler.add_job(self.run_once, "interval", seconds=self.tick_seconds, id="tick", coalesce=True)
        self.scheduler.start()
        with self.svc.db.transaction() as session:
            upcoming = queries.future_due_times(session=session, now=self.svc.clock())
        for when in upcoming:
            self.wake_at(when)
        self.wake_at(self.svc.clock())

    def wake_at(self, when: datetime) -> None:
        """Run once at `when` (at once if it is past)."""
        if self.scheduler.running:
            self.scheduler.add_job(self.run_once, "date", run_date=max(when, self.svc.clock()), misfire_grace_time=None)

    def run_once(self) -> None:
        """Fire every due step and deliver every pending page; overlapping wake-ups run once more, not twice."""
        if not self._lock.acquire(blocking=False):
            self._again.set()
            return
        try:
            while True:
                self._again.clear()
                fire_due(self.svc)
                fire_due_reminders(self.svc)
                drain_outbox(self.svc)
                if not self._again.is_set():
                    break
        except Exception:  # the runner must outlive one bad round; the next tick retries from the database
            self.svc.log.exception("escalation round failed")
        finally:
            self._lock.release()

    def stop(self) -> None:
        """Stop waking; a round in progress finishes."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
