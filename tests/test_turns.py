"""The work after acknowledgements takes turns at the interpreter, and gives its turn up while it waits elsewhere."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ircbot.turns import PATIENCE_SECONDS, Turns, off_turn
from tests.conftest import Harness

SLOW_SLACK = PATIENCE_SECONDS / 2.5  # seconds for every Web API call and response_url post: below the patience
COMMANDS = 8
PATIENT = 30.0  # seconds without a turn changing hands that no test reaches
SHORT_WAIT = 1.0


class Worker(threading.Thread):
    """A thread that takes a turn, notes when and in what order, and (optionally) waits on a stand-in for Slack
    before finishing."""

    def __init__(self, turns: Turns, *, on_slack: bool = False, order: list[str] | None = None, name: str = "") -> None:
        super().__init__(daemon=True, name=name or None)
        self.turns, self.on_slack, self.order = turns, on_slack, order
        self.inside, self.slack, self.finish = threading.Event(), threading.Event(), threading.Event()
        self.entered_at = 0.0
        self.start()

    def run(self) -> None:
        with self.turns.turn():
            self.entered_at = time.monotonic()
            if self.order is not None:
                self.order.append(self.name)
            self.inside.set()
            if self.on_slack:
                with self.turns.off_turn():
                    self.slack.wait()
                if self.order is not None:
                    self.order.append(f"{self.name} again")
            self.finish.wait()


def _finish(*workers: Worker) -> None:
    for worker in workers:
        worker.finish.set()
    for worker in workers:
        worker.join(5)


def _queued(*workers: Worker) -> None:
    time.sleep(0.1 * len(workers))  # each one in the queue before the next starts


def test_one_turn_at_a_time() -> None:
    turns = Turns(1, patience=PATIENT)
    first = Worker(turns)
    assert first.inside.wait(5)
    second = Worker(turns)
    assert not second.inside.wait(0.2), "two threads had the one turn"
    first.finish.set()
    assert second.inside.wait(5)
    second.finish.set()


def test_first_come_first_served_and_back_from_slack_before_newcomers() -> None:
    turns, order = Turns(1, patience=PATIENT), []
    holder = Worker(turns, on_slack=True, order=order, name="holder")
    assert holder.inside.wait(5)
    blocker = Worker(turns, order=order, name="blocker")  # takes the turn the holder gives up for Slack
    assert blocker.inside.wait(5)
    a = Worker(turns, order=order, name="a")
    _queued(a)
    b = Worker(turns, order=order, name="b")
    _queued(b)
    holder.slack.set()  # back from Slack: waits for the turn, ahead of a and b
    _queued(holder)
    _finish(blocker, holder, a, b)
    assert order == ["holder", "blocker", "holder again", "a", "b"]


def test_waiting_on_slack_gives_the_turn_up_and_takes_it_back() -> None:
    turns = Turns(1, patience=PATIENT)
    first = Worker(turns, on_slack=True)
    assert first.inside.wait(5)
    second = Worker(turns)
    assert second.inside.wait(5), "the turn was kept while waiting on Slack"
    first.slack.set()
    _finish(second, first)
    _exactly_one_turn_left(turns, patience=PATIENT)


@pytest.mark.parametrize("made", ["port", "callable"])  # a chat port's method, or a response_url's respond()
def test_a_port_called_off_turn_gives_the_turn_up(made: str) -> None:
    class SlowPort:
        def __init__(self) -> None:
            self.called, self.answer = threading.Event(), threading.Event()

        def post(self, text: str) -> str:
            self.called.set()
            self.answer.wait(5)
            return text.upper()

    turns, port = Turns(1, patience=PATIENT), SlowPort()
    post = off_turn(port, turns).post if made == "port" else off_turn(port.post, turns)
    answers: list[str] = []

    def job() -> None:
        with turns.turn():
            answers.append(post("sent"))

    caller = threading.Thread(target=job)
    caller.start()
    assert port.called.wait(5)
    other = Worker(turns)
    assert other.inside.wait(5), "the turn was kept during the port's call"
    other.finish.set()
    port.answer.set()
    caller.join(5)
    assert answers == ["SENT"]
    assert off_turn(port, Turns.ungated()) is port


def test_a_turn_inside_a_turn_is_refused() -> None:
    turns = Turns(1, patience=PATIENT)
    with turns.turn(), pytest.raises(RuntimeError, match="a turn inside a turn"), turns.turn():
        pass
    _exactly_one_turn_left(turns, patience=PATIENT)


def test_short_jobs_queue_for_the_turn_however_long_the_queue() -> None:
    turns = Turns(1, patience=SHORT_WAIT)
    inside, most, lock = [0], [0], threading.Lock()

    def job() -> None:
        with turns.turn():
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(SHORT_WAIT / 4)
            with lock:
                inside[0] -= 1

    jobs = [threading.Thread(target=job) for _ in range(8)]  # the last waits about twice the patience
    for thread in jobs:
        thread.start()
    for thread in jobs:
        thread.join(30)
    assert most[0] == 1, f"{most[0]} jobs had the one turn at once"


def test_a_long_job_holds_nobody_up_for_long() -> None:
    """A job that keeps its turn (a long postmortem) lets the next go on without one after the patience."""
    turns = Turns(1, patience=SHORT_WAIT)
    long_job = Worker(turns)
    assert long_job.inside.wait(5)
    status = Worker(turns)
    assert status.inside.wait(5), "waited for the long job to end"
    assert status.entered_at - long_job.entered_at >= SHORT_WAIT * 0.9, "went on without waiting for a turn"
    _finish(status, long_job)
    _exactly_one_turn_left(turns, patience=SHORT_WAIT)


def test_taking_the_turn_back_never_waits_long() -> None:
    """Should the call have been made holding what the turn's new holder waits for, nobody deadlocks."""
    turns = Turns(1, patience=SHORT_WAIT)
    first = Worker(turns, on_slack=True)
    assert first.inside.wait(5)
    second = Worker(turns)  # keeps the turn until told
    assert second.inside.wait(5)
    first.slack.set()
    first.finish.set()
    first.join(5)
    assert not first.is_alive(), "waited for a turn it could not have"
    second.finish.set()
    second.join(5)
    _exactly_one_turn_left(turns, patience=SHORT_WAIT)


def _exactly_one_turn_left(turns: Turns, *, patience: float) -> None:
    """No thread that went on without a turn gave one back, and none was lost."""
    again = Worker(turns)
    assert again.inside.wait(patience / 3), "a turn was lost"
    other = Worker(turns)
    assert not other.inside.wait(min(patience / 3, 1.0)), "a thread that went on without a turn gave one back"
    again.finish.set()
    other.finish.set()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite's work is not gated
def test_commands_wait_on_a_slow_slack_together(harness: Harness) -> None:
    """One job computes at a time, but every command waiting on Slack waits at the same time as the others."""
    _, channel = harness.declare("Slow Slack sev3")
    harness.emulator.latency = SLOW_SLACK
    harness.emulator.most_in_flight = 0
    with ThreadPoolExecutor(COMMANDS) as pool:
        results = list(pool.map(lambda _: harness.slash("status", channel=channel, timeout=30), range(COMMANDS)))
    assert all(r.status == 200 and "Slow Slack" in r.text for r in results), [r.text for r in results]
    assert harness.emulator.most_in_flight >= COMMANDS // 2, (
        f"at most {harness.emulator.most_in_flight} of {COMMANDS} answers were on their way to Slack at once"
    )
