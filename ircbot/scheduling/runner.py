"""The timer engine: an explicit list of modules, run in rounds that APScheduler wakes.

APScheduler keeps no state here (memory job store); the due steps and reminders are database rows,
so any process, including one restarted after a crash, finds them and fires each exactly once.
Each module is one function of the services returning how much it did; a round runs its modules in
order on one thread at a time, and a failing round is logged and retried on the next tick.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from dateutil import tz

from ircbot.domain.alert_intake import process_alerts
from ircbot.domain.cards import refresh_cards
from ircbot.domain.clocks import fire_due_clock_timers
from ircbot.domain.homes import refresh_homes
from ircbot.domain.outbox import drain_outbox
from ircbot.domain.paging import fire_due
from ircbot.domain.reminders import fire_due_reminders
from ircbot.domain.resuming import resume_declares
from ircbot.domain.services import Services
from ircbot.domain.timers import upcoming


@dataclass(frozen=True)
class Module:
    """One job of the engine: `run(services)` does what is due and returns how many things it did."""

    name: str
    run: Callable[[Services], int]


FIRING: tuple[Module, ...] = (
    Module("escalation", fire_due),
    Module("reminders", fire_due_reminders),
    Module("clocks", fire_due_clock_timers),
)
"""Decide what is due: escalation steps and reminders, written to the outbox."""
DECIDING: tuple[Module, ...] = (Module("alerts", process_alerts),)
"""Decide the alerts received (an incident a rule declares opens its channel here), on a round of its own: during a
storm deciding takes rounds of seconds, and pages must not wait behind it. A round that decided something has the
delivery round run next, so the lines and pages it queued go out."""
DELIVERY: tuple[Module, ...] = (
    Module("outbox", drain_outbox),
    Module("declares", resume_declares),
    Module("cards", refresh_cards),
    Module("homes", refresh_homes),
)
"""Deliver what was decided, then finish declares a crash or a silent Slack cut short (pages first: a declare being
resumed makes Slack calls too), then redraw pinned cards and Home tabs, on their own thread, so claiming due steps
never waits behind Slack calls. A declarer told by DM is told on the next round."""


class Alarm:
    """The wake-up port: run the engine at a due time (the tick is the safety net)."""

    def __init__(self, scheduler: BackgroundScheduler, clock: Callable[[], datetime]):
        self.scheduler = scheduler
        self.clock = clock
        self._ring: Callable[[], None] | None = None

    def connect(self, ring: Callable[[], None]) -> None:
        """What to run when the alarm goes off (the runner's firing round)."""
        self._ring = ring

    def __call__(self, when: datetime) -> None:
        if self.scheduler.running and self._ring is not None:
            self.scheduler.add_job(self._ring, "date", run_date=max(when, self.clock()), misfire_grace_time=None)


class EscalationRunner:
    """Runs the firing modules, then the delivery modules; one runner per process."""

    def __init__(
        self,
        svc: Services,
        alarm: Alarm,
        *,
        tick_seconds: float = 1.0,
        firing: Sequence[Module] = FIRING,
        deciding: Sequence[Module] = DECIDING,
        delivery: Sequence[Module] = DELIVERY,
    ):
        self.svc = svc
        self.alarm = alarm
        self.scheduler = alarm.scheduler
        self.tick_seconds = tick_seconds
        self._firing = _Round(svc, firing, then=self._deliver_soon)
        self._deciding = _Round(svc, deciding, then=self._deliver_soon)
        self._delivering = _Round(svc, delivery)
        alarm.connect(self._firing.run)

    def start(self) -> None:
        """Catch up on what fell due while down, then wake on the tick and on every due time."""
        self.scheduler.add_job(
            self._tick, "interval", seconds=self.tick_seconds, id="tick", coalesce=True, max_instances=4
        )
        self.scheduler.add_job(  # on a thread of its own: the tick's rounds never wait for it
            self._deciding.run, "interval", seconds=self.tick_seconds, id="decide", coalesce=True, max_instances=4
        )
        self.scheduler.start()
        for when in upcoming(self.svc):
            self.alarm(when)
        self.alarm(self.svc.clock())

    def run_once(self) -> None:
        """One deciding, one firing and one delivery round, one after the other (the demo and tests): the alerts are
        decided before anything is delivered, as the lines they queue are before they go out."""
        self._deciding.run()
        self._firing.run()
        self._delivering.run()

    def _tick(self) -> None:
        self._firing.run()
        self._delivering.run()

    def _deliver_soon(self, done: int) -> None:
        if done and self.scheduler.running:
            self.scheduler.add_job(self._delivering.run)  # deliver now, on another thread
        elif done:
            self._delivering.run()

    def stop(self) -> None:
        """Stop waking; a round in progress finishes."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)


def new_alarm(clock: Callable[[], datetime]) -> Alarm:
    """An alarm on a fresh background scheduler (UTC, in-memory jobs)."""
    return Alarm(BackgroundScheduler(timezone=tz.UTC), clock)


class _Round:
    """Runs its modules on one thread at a time; a call that arrives meanwhile makes it run once more, not twice."""

    def __init__(self, svc: Services, modules: Sequence[Module], then: Callable[[int], None] | None = None):
        self.svc = svc
        self.modules = tuple(modules)
        self.then = then
        self._lock = threading.Lock()
        self._again = threading.Event()

    def run(self) -> None:
        if not self._lock.acquire(blocking=False):
            self._again.set()
            return
        try:
            while True:
                self._again.clear()
                done = sum(module.run(self.svc) for module in self.modules)
                if self.then is not None:
                    self.then(done)
                if not self._again.is_set():
                    break
        except Exception:  # the runner must outlive one bad round; the next tick retries from the database
            self.svc.log.exception("timer round (%s) failed", ", ".join(m.name for m in self.modules))
        finally:
            self._lock.release()
