"""The work after acknowledgements takes turns at the interpreter, and gives its turn up while it waits on Slack."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ircbot.slack.turns import Turns
from tests.conftest import Harness

SLOW_SLACK = 0.3  # seconds for every Web API call and response_url post
COMMANDS = 8
PATIENT = 30.0  # a wait for a turn no test reaches
SHORT_WAIT = 1.0


class Worker(threading.Thread):
    """A thread that takes a turn, says so, and (optionally) waits on a stand-in for Slack before finishing."""

    def __init__(self, turns: Turns, *, on_slack: bool = False) -> None:
        super().__init__(daemon=True)
        self.turns, self.on_slack = turns, on_slack
        self.inside, self.slack, self.finish = threading.Event(), threading.Event(), threading.Event()
        self.start()

    def run(self) -> None:
        with self.turns.turn():
            self.inside.set()
            if self.on_slack:
                with self.turns.waiting():
                    self.slack.wait()
            self.finish.wait()


def test_one_turn_at_a_time() -> None:
    turns = Turns(1, patience=PATIENT)
    first = Worker(turns)
    assert first.inside.wait(5)
    second = Worker(turns)
    assert not second.inside.wait(0.2), "two threads had the one turn"
    first.finish.set()
    assert second.inside.wait(5)
    second.finish.set()


def test_waiting_on_slack_gives_the_turn_up_and_takes_it_back() -> None:
    turns = Turns(1, patience=PATIENT)
    first = Worker(turns, on_slack=True)
    assert first.inside.wait(5)
    second = Worker(turns)
    assert second.inside.wait(5), "the turn was kept while waiting on Slack"
    first.slack.set()
    second.finish.set()
    first.finish.set()
    first.join(5)
    second.join(5)
    third = Worker(turns)
    assert third.inside.wait(5), "a turn was lost"
    fourth = Worker(turns)
    assert not fourth.inside.wait(0.2), "a turn was given back twice"
    third.finish.set()
    fourth.finish.set()


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
    """A job that keeps its turn (a long postmortem) lets the next go on without one after the wait."""
    turns = Turns(1, patience=SHORT_WAIT)
    long_job = Worker(turns)
    assert long_job.inside.wait(5)
    started = time.monotonic()
    status = Worker(turns)
    assert status.inside.wait(5), "waited for the long job to end"
    assert time.monotonic() - started >= SHORT_WAIT * 0.9, "went on without waiting for a turn at all"
    status.finish.set()
    long_job.finish.set()
    status.join(5)
    long_job.join(5)
    _exactly_one_turn_left(turns)


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
    _exactly_one_turn_left(turns)


def _exactly_one_turn_left(turns: Turns) -> None:
    """No thread that went on without a turn gave one back, and none was lost."""
    again = Worker(turns)
    assert again.inside.wait(SHORT_WAIT / 3), "a turn was lost"
    other = Worker(turns)
    assert not other.inside.wait(SHORT_WAIT / 3), "a thread that went on without a turn gave one back"
    again.finish.set()
    other.finish.set()


def test_commands_wait_on_a_slow_slack_together(harness: Harness) -> None:
    """One turn computes at a time, but every command waiting on Slack waits at the same time as the others."""
    _, channel = harness.declare("Slow Slack sev3")
    harness.emulator.latency = SLOW_SLACK
    harness.emulator.most_in_flight = 0
    with ThreadPoolExecutor(COMMANDS) as pool:
        results = list(pool.map(lambda _: harness.slash("status", channel=channel, timeout=30), range(COMMANDS)))
    assert all(r.status == 200 and "Slow Slack" in r.text for r in results), [r.text for r in results]
    assert harness.emulator.most_in_flight >= COMMANDS // 2, (
        f"at most {harness.emulator.most_in_flight} of {COMMANDS} answers were on their way to Slack at once"
    )
