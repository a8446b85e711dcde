"""Turns at the interpreter for the work after acknowledgements, so acknowledgements are not kept waiting.

The work runs on many threads so that many commands can wait on Slack at once; but every one of them that is
ready to run competes for the interpreter's lock, and an acknowledgement (well under a millisecond of Python)
waited behind them all: under a sustained load on PostgreSQL, sixteen busy work threads made the p99
acknowledgement over six times a bare Bolt app's. So the work computes in one of WORK_TURNS turns and gives
its turn up while it waits on Slack (`waiting()`), where it needs no interpreter. With one turn that p99 was
1.2-1.7 times the bare app's (two turns: 1.9-2.6), and the work as a whole finished no later. On SQLite the
work is not gated (slack/pipeline.py): its transactions take turns already, and one turn cost a tenth of the
declares a second without making acknowledgements faster.

Taking a turn back after a Slack call waits at most TAKE_BACK_SECONDS: should the call have been made holding
something the turn's new holder waits for (a database lock), the work goes on without a turn rather than deadlock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

WORK_TURNS = 1
TAKE_BACK_SECONDS = 0.25


class Turns:
    """At most `turns` threads at a time inside `turn()`, less those inside `waiting()`."""

    def __init__(self, turns: int = WORK_TURNS) -> None:
        self._free = threading.Semaphore(turns)
        self._held = threading.local()

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Run the block in a turn of its own (the outermost work of a thread; not nested)."""
        self._free.acquire()
        self._held.value = True
        try:
            yield
        finally:
            if self._held.value:
                self._free.release()
            self._held.value = False

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Around a blocking call: the turn, if this thread holds one, is someone else's meanwhile."""
        if not getattr(self._held, "value", False):
            yield
            return
        self._held.value = False
        self._free.release()
        try:
            yield
        finally:
            self._held.value = self._free.acquire(timeout=TAKE_BACK_SECONDS)


WORK = Turns()
