"""The work after acknowledgements takes turns at the interpreter, and gives its turn up while it waits on Slack."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from ircbot.slack.turns import TAKE_BACK_SECONDS, Turns
from tests.conftest import Harness

SLOW_SLACK = 0.3  # seconds for every Web API call and response_url post
COMMANDS = 8


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
    turns = Turns(1)
    first = Worker(turns)
    assert first.inside.wait(5)
    second = Worker(turns)
    assert not second.inside.wait(0.2), "two threads had the one turn"
    first.finish.set()
    assert second.inside.wait(5)
    second.finish.set()


def test_waiting_on_slack_gives_the_turn_up_and_takes_it_back() -> None:
    turns = Turns(1)
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


def test_taking_the_turn_back_never_waits_long() -> None:
    """Should the call have been made holding what the turn's new holder waits for, nobody deadlocks."""
    turns = Turns(1)
    first = Worker(turns, on_slack=True)
    assert first.inside.wait(5)
    second = Worker(turns)  # keeps the turn until told
    assert second.inside.wait(5)
    first.slack.set()
    first.finish.set()
    first.join(TAKE_BACK_SECONDS + 5)
    assert not first.is_alive(), "waited for a turn it could not have"
    second.finish.set()
    second.join(5)
    again = Worker(turns)
    assert again.inside.wait(5)
    other = Worker(turns)
    assert not other.inside.wait(0.2), "the thread that went on without a turn gave one back"
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
