"""Turns at the interpreter for the work after acknowledgements, so acknowledgements are not kept waiting.

The work runs on many threads so that many commands can wait on Slack at once; but every one of them that is
ready to run competes for the interpreter's lock, and an acknowledgement (well under a millisecond of Python)
waited behind them all: on PostgreSQL, where each job also waits on the server between statements, sixteen
busy work threads made the p99 acknowledgement under a sustained load several times a bare Bolt app's (see
bench/README.md). So each job computes, and waits on the database, in one turn of at most `turns`, first come
first served; and gives its turn up while it waits on anything else (`off_turn()`: Slack, Matrix, SMTP,
webhooks), where it needs no interpreter. A job back from such a wait goes before the jobs not yet started.

When no turn has changed hands for `patience` seconds, whoever waits goes on without one: a long job (a
postmortem read from a long channel) must not hold every `status` up, and should a call have been made off turn
while holding something the turn's holder waits for (a database lock), taking the turn back must not deadlock.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

WORK_TURNS = 1
PATIENCE_SECONDS = 0.25
_LOOK_SECONDS = 0.05  # how often a waiter looks whether the turns still change hands

Port = TypeVar("Port")


class Turns:
    """At most `turns` threads at a time hold a turn (None: no limit, and nothing is queued); threads inside
    `off_turn()` hold none, and a thread that gave up waiting runs without one."""

    def __init__(self, turns: int | None = WORK_TURNS, *, patience: float = PATIENCE_SECONDS) -> None:
        self.gated = turns is not None
        self._free = turns or 0
        self._patience = patience
        self._lock = threading.Lock()
        self._waiting: deque[threading.Event] = deque()  # first come, first served
        self._changed = time.monotonic()  # when a turn last changed hands
        self._held = threading.local()

    @classmethod
    def ungated(cls) -> Turns:
        """No limit: the command line, unit tests, and SQLite, whose transactions take turns already."""
        return cls(None)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Run the block in a turn, when one comes up (a thread's outermost work: a turn is never nested)."""
        if getattr(self._held, "value", False):
            raise RuntimeError("a turn inside a turn: the outer one would never be given back")
        self._held.value = self._take(first=False)
        try:
            yield
        finally:
            if self._held.value:
                self._give_back()
            self._held.value = False

    @contextmanager
    def off_turn(self) -> Iterator[None]:
        """Around a blocking call: the turn, if this thread holds one, is someone else's meanwhile."""
        if not getattr(self._held, "value", False):
            yield
            return
        self._held.value = False
        self._give_back()
        try:
            yield
        finally:
            self._held.value = self._take(first=True)

    def _take(self, *, first: bool) -> bool:
        """A turn (True), or False once the turns have stopped changing hands while waiting for one."""
        if not self.gated:
            return False
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                self._changed = time.monotonic()
                return True
            mine = threading.Event()
            if first:
                self._waiting.appendleft(mine)
            else:
                self._waiting.append(mine)
        while not mine.wait(_LOOK_SECONDS):
            with self._lock:
                if mine.is_set():
                    break
                if time.monotonic() - self._changed > self._patience:
                    self._waiting.remove(mine)
                    return False
        return True

    def _give_back(self) -> None:
        """Hand the turn to the first in line, or free it."""
        with self._lock:
            self._changed = time.monotonic()
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._free += 1


def off_turn(port: Port, turns: Turns) -> Port:
    """`port` (chat, mail, webhooks, a Slack client or response_url) with every call made off turn: each is a wait
    on another system."""
    if not turns.gated:
        return port
    return cast(Port, _OffTurn(port, turns))


class _OffTurn:
    def __init__(self, port: Any, turns: Turns) -> None:
        self._port = port
        self._turns = turns

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._turns.off_turn():
            return self._port(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._port, name)
        if not callable(value):
            return value

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            with self._turns.off_turn():
                return value(*args, **kwargs)

        return call

    def __repr__(self) -> str:
        return repr(self._port)
