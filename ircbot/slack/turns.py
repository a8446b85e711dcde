"""Turns at the interpreter for the work after acknowledgements, so acknowledgements are not kept waiting.

The work runs on many threads so that many commands can wait on Slack at once; but every one of them that is
ready to run competes for the interpreter's lock, and an acknowledgement (well under a millisecond of Python)
waited behind them all: under a sustained load on PostgreSQL, sixteen busy work threads made the p99
acknowledgement over six times a bare Bolt app's. So the work computes in one of WORK_TURNS turns and gives
its turn up while it waits on Slack (`waiting()`), where it needs no interpreter. With one turn that p99 was
1.2-1.7 times the bare app's (two turns: 1.9-2.6), and the work as a whole finished no later. On SQLite the
work is not gated (slack/pipeline.py): its transactions take turns already, and one turn cost a tenth of the
declares a second without making acknowledgements faster.

Short jobs queue for the turn however long the queue, but when no turn has changed hands for PATIENCE_SECONDS,
whoever waits goes on without one: a long job (a postmortem read from a long channel) must not hold every
`status` up, and should a Slack call have been made holding something the turn's holder waits for (a database
lock), taking the turn back must not deadlock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

WORK_TURNS = 1
PATIENCE_SECONDS = 0.25
_LOOK_SECONDS = 0.05  # how often a waiter looks whether the turns still change hands


class Turns:
    """At most `turns` threads at a time inside `turn()`, less those inside `waiting()`, plus any that waited while
    no turn changed hands for `patience` seconds."""

    def __init__(self, turns: int = WORK_TURNS, *, patience: float = PATIENCE_SECONDS) -> None:
        self._free = threading.Semaphore(turns)
        self._patience = patience
        self._changed = time.monotonic()  # when a turn was last taken or given up
        self._held = threading.local()

    def _take(self) -> bool:
        """Take a turn (True), or give up waiting (False) once the turns have stopped changing hands."""
        while not self._free.acquire(timeout=_LOOK_SECONDS):
            if time.monotonic() - self._changed > self._patience:
                return False
        self._changed = time.monotonic()
        return True

    def _give_up(self) -> None:
        self._changed = time.monotonic()
        self._free.release()

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Run the block in a turn of its own, if one comes up (the outermost work of a thread; not nested)."""
        self._held.value = self._take()
        try:
            yield
        finally:
            if self._held.value:
                self._give_up()
            self._held.value = False

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Around a blocking call: the turn, if this thread holds one, is someone else's meanwhile."""
        if not getattr(self._held, "value", False):
            yield
            return
        self._held.value = False
        self._give_up()
        try:
            yield
        finally:
            self._held.value = self._take()


WORK = Turns()
