"""The scenario clock: wall time that moves only when the test says so, shared by the bot and the emulator."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

TICK = timedelta(microseconds=1)


class ScenarioClock:
    """Aware UTC time that stands still except for `advance_to`, and a microsecond per reading.

    The microsecond keeps every reading later than the one before it, as on a real clock (an
    acknowledgement is after the page it answers); a whole test reads the clock a few thousand
    times at most, so it drifts by milliseconds, and only `advance_to` moves it further.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            now = self._now
            self._now += TICK
            return now

    def epoch(self) -> float:
        """The same clock as seconds since the epoch (the emulator's message timestamps)."""
        return self().timestamp()

    def peek(self) -> datetime:
        """The next reading, without taking it."""
        with self._lock:
            return self._now

    def advance_to(self, when: datetime) -> None:
        """Move forward to `when`; a time already past leaves the clock where it is (it never runs back)."""
        with self._lock:
            self._now = max(self._now, when)
