"""Postmortem compile time, memory and Web API calls for long incident channels, against the in-process emulator.

For each size a sev4 incident is declared, its channel is filled directly in the emulator (not timed), and per
injected latency `compile_postmortem` runs twice: a first compile (the stored copy of the channel dropped
before it, so the history is read whole) and a draft recompile of the unchanged channel, which reuses that
copy and asks only for the history after it (Slack's message events, none here, name the threads that
moved). One more first compile runs under tracemalloc for memory. Run from the repository root::

    .venv/bin/python bench/postmortem.py                          # 1,000, 10,000 and 50,000 messages
    .venv/bin/python bench/postmortem.py --sizes 1000,10000 --latencies 0
    .venv/bin/python bench/postmortem.py --sizes 10000 --profile  # cProfile of the 10,000-message compile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import math
import pstats
import random
import re
import resource
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

from ircbot.app import IrcBot, build_app
from ircbot.domain.declare import Declaration, declare
from ircbot.domain.postmortem import Published, compile_postmortem
from ircbot.emulator import SlackEmulator
from ircbot.settings import Settings
from ircbot.store import channel_copy
from tests.factories import ALICE, BOB, CAROL, DAVE, ERIN, populate, write_config

SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
TARGET_SIZE = 10_000
TARGET_OWN_S = 5.0
TARGET_RECOMPILE_REPLIES = 0
# Slack documents a maximum of 999 for conversations.history (the emulator enforces it); conversations.replies
# defaults to 1,000, which is also the emulator's maximum.
HISTORY_PAGE_MAX = 999
REPLIES_PAGE_MAX = 1000
THREAD_EVERY = 50
REPLIES_PER_THREAD = (5, 20)
AI_EVERY = 250
SECRET_EVERY = 50
SPAN_S = 20 * 3600  # the emulator's history ends a day from now, so the seeded chat fits in the next 20 hours
CONDENSED = re.compile(r"\| (\d+) messages? in the channel — ")
HUMANS = (ALICE, BOB, CAROL, DAVE, ERIN)
HUMAN_WEIGHTS = (30, 30, 10, 10, 20)
CHATTER = (
    "checked {host} logs, nothing after {hh}:{mm}",
    "EDR on {host} shows a beacon to 203.0.113.{n}",
    "isolating {host} now",
    "{host} reimaged, restoring from the {hh}:00 snapshot",
    "who owns {host}? need someone from infra",
    "ack, looking at the proxy logs for {host}",
    "hash of the dropper matches the one from yesterday's advisory",
    "legal asks whether customer data left {host}",
    "comms draft is in the doc, please review",
    "blocked 203.0.113.{n} at the edge firewall",
)


# --- seeding ----------------------------------------------------------------------------------------------


@dataclass
class Seeded:
    """What a benchmark channel holds, as the emulator stores it."""

    channel_id: str
    incident_id: int
    top_level: int = 0
    threads: list[int] = field(default_factory=list)
    ai_lines: int = 0
    ai_secrets: int = 0
    secrets: list[str] = field(default_factory=list)

    @property
    def replies(self) -> int:
        """Thread replies seeded."""
        return sum(self.threads)


def secret(rng: random.Random, i: int) -> str:
    """A secret of one of several kinds, unique per message."""
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    kind = i % 4
    if kind == 0:
        return "AKIA" + "".join(rng.choice(alnum) for _ in range(16))
    if kind == 1:
        return f"xoxb-{1000 + i}-{rng.getrandbits(40):x}abcdef"
    if kind == 2:
        return "ghp_" + "".join(rng.choice(alnum.lower() + alnum) for _ in range(36))
    return f"Winter{i}Spring{rng.getrandbits(20)}"


def with_secret(text: str, value: str) -> str:
    """The text with a pasted secret, written the way people paste them."""
    if value.startswith("Winter"):
        return f"{text} - the service account has password={value}"
    return f"{text}, found this in the script: {value}"


def chatter(rng: random.Random, i: int) -> str:
    """One ordinary incident-channel message."""
    template = CHATTER[i % len(CHATTER)]
    return template.format(host=f"FS{rng.randrange(40):02d}", hh=f"{rng.randrange(24):02d}", mm="14", n=i % 250)


class Seeder:
    """Fills one channel with a repeatable mix of top-level messages, threads, `AI:` lines and secrets."""

    def __init__(self, emu: SlackEmulator, seeded: Seeded, size: int, seed: int = 7) -> None:
        self.emu, self.seeded, self.size = emu, seeded, size
        self.rng = random.Random(seed)
        self.count = 0
        self.clock = time.time() + 5  # after the bot's own welcome message, so the channel stays in ts order
        self.gap = min(5.0, SPAN_S / size)

    def run(self) -> Seeded:
        """Post until the channel holds `size` seeded messages; every THREAD_EVERY-th top-level one gets replies."""
        while self.count < self.size:
            self.clock += self.rng.uniform(0.2, 1.8) * self.gap
            parent = self.message(None, self.clock)
            self.seeded.top_level += 1
            if self.seeded.top_level % THREAD_EVERY == 0:
                self.thread(parent)
        return self.seeded

    def thread(self, parent: dict[str, Any]) -> None:
        """Replies to a parent, each a little later than the last, never past the size."""
        wanted = min(self.rng.randint(*REPLIES_PER_THREAD), self.size - self.count)
        at = float(parent["ts"])
        for _ in range(wanted):
            at += self.rng.uniform(5, 60)
            self.message(parent, at)
        if wanted:
            self.seeded.threads.append(wanted)

    def message(self, parent: dict[str, Any] | None, at: float) -> dict[str, Any]:
        """Post one message at a chosen time (the microseconds are a sequence number, so every ts is unique)."""
        i = self.count
        self.count += 1
        text = chatter(self.rng, i)
        if i % AI_EVERY == AI_EVERY // 2:
            text = self.action_item(i)
        elif i % SECRET_EVERY == 7:
            value = secret(self.rng, i)
            self.seeded.secrets.append(value)
            text = with_secret(text, value)
        user = self.rng.choices(HUMANS, HUMAN_WEIGHTS)[0]
        msg = self.emu.post(self.seeded.channel_id, user=user, text=text, thread_ts=parent["ts"] if parent else None)
        # The emulator stamps messages with the wall clock; the chat is spread over hours instead.
        msg["ts"] = f"{int(at)}.{i:06d}"
        if parent is not None:
            parent["latest_reply"] = msg["ts"]
        return msg

    def action_item(self, i: int) -> str:
        """An `AI:` line; every other one carries a secret that must come out redacted."""
        self.seeded.ai_lines += 1
        text = f"AI: <@{BOB}> rotate the credentials of FS{i % 40:02d} and add it to the EDR watch list"
        if self.seeded.ai_lines % 2 == 0:
            value = secret(self.rng, i)
            self.seeded.secrets.append(value)
            self.seeded.ai_secrets += 1
            text = with_secret(text, value)
        return text


def channel_counts(emu: SlackEmulator, channel_id: str) -> tuple[int, int, list[int]]:
    """All messages, human messages, and the reply count of each thread, as the emulator stores them."""
    stored = emu.messages(channel_id)
    humans = sum(1 for m in stored if "bot_id" not in m and m.get("subtype") not in ("channel_join", "channel_leave"))
    threads = [int(m.get("reply_count") or 0) for m in stored if m.get("reply_count")]
    return len(stored), humans, threads


# --- measuring --------------------------------------------------------------------------------------------


@dataclass
class ApiClock:
    """Wall seconds during which any Web API call was in flight, and the compiling thread's CPU inside them.

    Threads are read in parallel, so the wall time is the union of the calls' intervals, not their sum.
    """

    cpu: float = 0.0
    calls: int = 0
    intervals: list[tuple[float, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def wall(self) -> float:
        """Length of the union of the in-flight intervals."""
        total, reach = 0.0, float("-inf")
        for start, end in sorted(self.intervals):
            if end > reach:
                total += end - max(start, reach)
                reach = end
        return total

    @contextmanager
    def around(self, client: WebClient) -> Iterator[ApiClock]:
        """Time every Web API call the client makes while the block runs (the instance attribute shadows it)."""
        original = client.api_call
        compiling = threading.get_ident()

        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                with self.lock:
                    self.intervals.append((wall, time.perf_counter()))
                    if threading.get_ident() == compiling:  # own CPU is the compiling thread's
                        self.cpu += time.thread_time() - cpu
                    self.calls += 1

        client.api_call = timed  # type: ignore[method-assign]
        try:
            yield self
        finally:
            del client.api_call


class TimedEmulator(SlackEmulator):
    """The Slack emulator, also adding up the time its handlers take (injected latency included)."""

    def __init__(self) -> None:
        super().__init__()
        self.handler_s = 0.0

    def handle_api(self, method: str, headers: Any, body: bytes, query: str = "") -> Any:
        """Answer as the emulator does, timed."""
        started = time.perf_counter()
        try:
            return super().handle_api(method, headers, body, query)
        finally:
            self.handler_s += time.perf_counter() - started


@dataclass
class Run:
    """One timed compile: a first compile (`cold`) or a recompile reusing the stored copy."""

    cold: bool
    size: int
    latency: float
    wall: float
    api: ApiClock
    emulator_s: float
    process_cpu: float
    thread_cpu: float
    maxrss_delta_kb: int
    methods: dict[str, int]
    published: Published
    fewest: tuple[int, int] = (0, 0)  # history and replies calls the page maxima allow for this kind of run

    @property
    def kind(self) -> str:
        """How the table names the run."""
        return "compile" if self.cold else "recompile"

    def calls(self, method: str) -> int:
        """Calls made to one Web API method."""
        return self.methods.get(method, 0)

    @property
    def own(self) -> float:
        """Wall time outside Web API calls."""
        return self.wall - self.api.wall

    @property
    def own_cpu(self) -> float:
        """Main-thread CPU outside Web API calls."""
        return self.thread_cpu - self.api.cpu


def maxrss_kb() -> int:
    """The process's high-water resident set size (kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def forget_copy(bot: IrcBot, seeded: Seeded) -> None:
    """Drop the channel copy earlier compiles stored, so the next compile reads everything."""
    with bot.services.db.transaction() as session:
        channel_copy.forget_channel_copy(session=session, incident_id=seeded.incident_id)


def timed_compile(bot: IrcBot, emu: TimedEmulator, seeded: Seeded, size: int, latency: float, *, cold: bool) -> Run:
    """Compile once at a latency (first compile or recompile), timing the whole call and the Web API calls in it."""
    if cold:
        forget_copy(bot, seeded)
    emu.latency, emu.handler_s = latency, 0.0
    before, rss = len(emu.calls), maxrss_kb()
    process_cpu, thread_cpu = time.process_time(), time.thread_time()
    with ApiClock().around(bot.client) as api:
        started = time.perf_counter()
        published = compile_postmortem(bot.services, incident_id=seeded.incident_id)
        wall = time.perf_counter() - started
    thread_cpu, process_cpu = time.thread_time() - thread_cpu, time.process_time() - process_cpu
    emu.latency = 0.0
    methods: dict[str, int] = {}
    for call in emu.calls[before:]:
        methods[call.method] = methods.get(call.method, 0) + 1
    return Run(
        cold, size, latency, wall, api, emu.handler_s, process_cpu, thread_cpu, maxrss_kb() - rss, methods, published
    )


def traced_peak(bot: IrcBot, seeded: Seeded) -> int:
    """Peak bytes allocated (all threads, so the emulator's page being served is included) during one compile."""
    forget_copy(bot, seeded)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        compile_postmortem(bot.services, incident_id=seeded.incident_id)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def profiled(bot: IrcBot, seeded: Seeded, top: int = 20) -> str:
    """cProfile of one compile (main thread only), the top functions by own time."""
    forget_copy(bot, seeded)
    profile = cProfile.Profile()
    profile.runcall(compile_postmortem, bot.services, incident_id=seeded.incident_id)
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


# --- checks -----------------------------------------------------------------------------------------------


@dataclass
class Integrity:
    """Whether the postmortem accounts for every message and keeps every secret out."""

    in_channel: int
    humans: int
    condensed: int
    action_items: int
    leaked: list[str]

    @property
    def ok(self) -> bool:
        return self.condensed == self.humans and not self.leaked


def integrity(emu: SlackEmulator, seeded: Seeded, published: Published) -> Integrity:
    """Compare the markdown with what the channel holds."""
    in_channel, humans, _ = channel_counts(emu, seeded.channel_id)
    condensed = sum(int(n) for n in CONDENSED.findall(published.markdown))
    section = published.markdown.split("## Action items", 1)[-1].split("## Lessons learned", 1)[0]
    items = sum(1 for line in section.splitlines() if line.startswith("- [ ] "))
    leaked = [s for s in seeded.secrets if s in published.markdown]
    return Integrity(in_channel, humans, condensed, items, leaked)


def minimum_calls(emu: SlackEmulator, channel_id: str) -> tuple[int, int]:
    """The fewest history and replies calls the page maxima allow for this channel."""
    stored = emu.messages(channel_id)
    top = sum(1 for m in stored if m.get("thread_ts") in (None, m["ts"]))
    threads = [int(m.get("reply_count") or 0) for m in stored if m.get("reply_count")]
    history = max(1, math.ceil(top / HISTORY_PAGE_MAX))
    return history, sum(math.ceil((r + 1) / REPLIES_PAGE_MAX) for r in threads)


# --- reporting --------------------------------------------------------------------------------------------


def print_mix(size: int, seeded: Seeded, seconds: float) -> None:
    """Describe the seeded channel."""
    threads = seeded.threads
    print(
        f"\n{size:,} messages: {seeded.top_level:,} top-level ({seeded.top_level / size:.0%}), {len(threads)} threads "
        f"with {seeded.replies:,} replies ({min(threads, default=0)}-{max(threads, default=0)} each), "
        f"{seeded.ai_lines} AI: lines ({seeded.ai_secrets} with a secret), {len(seeded.secrets)} secrets, "
        f"{len(HUMANS)} people; seeded in {seconds:.1f} s (not timed)"
    )


HEADER = (
    f"{'run':<10}{'messages':>9}{'latency':>9}{'wall s':>9}{'API s':>8}{'emu s':>8}{'own s':>8}"
    f"{'CPU s':>8}{'own CPU':>9}{'history':>9}{'replies':>11}{'read':>8}{'condensed':>13}"
)


def print_run(run: Run, check: Integrity) -> None:
    """One row of the table."""
    history = f"{run.calls('conversations.history')}/{run.fewest[0]}"
    replies = f"{run.calls('conversations.replies')}/{run.fewest[1]}"
    condensed = f"{check.condensed}/{check.humans}"
    print(
        f"{run.kind:<10}{run.size:>9,}{run.latency * 1000:>7.0f}ms{run.wall:>9.2f}{run.api.wall:>8.2f}"
        f"{run.emulator_s:>8.2f}{run.own:>8.2f}{run.process_cpu:>8.2f}{run.own_cpu:>9.2f}{history:>9}{replies:>11}"
        f"{run.published.messages_read:>8}{condensed:>13}"
    )


LEGEND = (
    "compile: the first compile (no stored copy of the channel); recompile: the same channel again, unchanged.",
    "wall s: compile_postmortem end to end.",
    "API s: time with any WebClient.api_call in flight (threads are read in parallel; overlaps count once): HTTP,",
    "  emulator handler, injected latency, JSON decoding. emu s: the emulator's handlers summed over all calls.",
    "own s = wall - API: our code (gateway conversion, sorting, context, redaction, template, database).",
    "CPU s: the whole process (emulator threads too). own CPU: the compiling thread's CPU outside api_call.",
    f"history/replies: calls made / fewest the page maxima allow ({HISTORY_PAGE_MAX} per history page, "
    f"{REPLIES_PAGE_MAX} per thread page;",
    "  a recompile needs no thread page when no thread moved).",
    "read: messages_read, the messages the postmortem is made of (top-level + replies, the bot's own included),",
    "  read from Slack or, for threads that did not move, from the stored copy.",
    "condensed: the timeline's `N messages in the channel` counts summed / human messages (equal: none dropped).",
    "memory: tracemalloc counts every thread, so the emulator's page being served is included; ru_maxrss is the",
    "  growth of the process high-water mark during the first compile (0 when it stayed under what seeding left).",
)


def print_legend() -> None:
    """How to read the table."""
    print("\n" + "\n".join(LEGEND))


def print_checks(runs: Sequence[tuple[Run, Integrity]]) -> bool:
    """Dropped messages, action items and leaks; True when all is accounted for."""
    ok = True
    for run, check in runs:
        if run.latency:
            continue
        dropped = check.humans - check.condensed
        leaks = f"{len(check.leaked)} LEAKED, e.g. {check.leaked[0]!r}" if check.leaked else "none leaked"
        print(
            f"{run.kind:<10}{run.size:>9,}: dropped {dropped}, read {run.published.messages_read}/{check.in_channel} "
            "in Slack, "
            f"{check.action_items} action items, {run.published.redacted} secrets redacted, {leaks}"
        )
        ok = ok and check.ok and run.published.messages_read == check.in_channel and not run.published.warnings
        for warning in run.published.warnings:
            print(f"           warning: {warning}")
    return ok


def print_target(runs: Sequence[tuple[Run, Integrity]]) -> bool:
    """The 10,000-message target on the run without injected latency; True when met or not measured."""
    wanted = f"target: {TARGET_SIZE:,} messages compile in under {TARGET_OWN_S:g} s of our own time"
    found = [run for run, _ in runs if run.size == TARGET_SIZE and run.latency == 0 and run.cold]
    if not found:
        print(f"{wanted} -> not measured (add {TARGET_SIZE} to --sizes and 0 to --latencies)")
        return True
    own = found[0].own
    ok = own < TARGET_OWN_S
    print(f"{wanted} -> {own:.2f} s -> {'PASS' if ok else 'FAIL'}")
    return ok


def print_recompile_target(runs: Sequence[tuple[Run, Integrity]]) -> bool:
    """Every draft recompile of an unchanged channel makes one history call and no thread call; True when met."""
    ok = True
    for run, _ in runs:
        if run.cold or run.size != TARGET_SIZE:
            continue
        history, replies = run.calls("conversations.history"), run.calls("conversations.replies")
        met = replies == TARGET_RECOMPILE_REPLIES and history == run.fewest[0]
        ok = ok and met
        print(
            f"target: a recompile of the unchanged {run.size:,}-message channel makes {run.fewest[0]} history call "
            f"and no thread call -> {replies} replies and {history} history calls in "
            f"{run.wall:.2f} s at {run.latency * 1000:.0f} ms per call -> {'PASS' if met else 'FAIL'}"
        )
    return ok


# --- main -------------------------------------------------------------------------------------------------


def numbers(kind: Callable[[str], float | int]) -> Callable[[str], list[Any]]:
    """An argparse type for a comma-separated list."""
    return lambda text: [kind(part) for part in text.split(",") if part.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=numbers(int), default=[1000, 10_000, 50_000], help="messages per channel")
    parser.add_argument("--latencies", type=numbers(float), default=[0.0, 0.05], help="seconds per Web API call")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc compile")
    parser.add_argument("--profile", action="store_true", help=f"cProfile the {TARGET_SIZE:,}-message compile")
    return parser.parse_args(argv)


def start_bot(emu: SlackEmulator, workdir: Path) -> IrcBot:
    """The wired bot against the emulator and a SQLite file (no escalation runner, no HTTP server)."""
    settings = Settings.model_validate(
        {
            "SLACK_BOT_TOKEN": emu.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": emu.base_url,
            "DATABASE_URL": f"sqlite:///{workdir / 'ircbot.db'}",
            "IRCBOT_CONFIG_DIR": str(write_config(workdir / "config")),
        }
    )
    return build_app(settings)


def new_incident(bot: IrcBot, title: str) -> Seeded:
    """Declare a sev4 incident and return its (still empty) channel."""
    declared = declare(bot.services, Declaration(title=title, severity="sev4", declared_by=ALICE))
    incident = declared.incident
    assert incident.channel_id is not None
    return Seeded(channel_id=incident.channel_id, incident_id=incident.id)


def bench_size(bot: IrcBot, emu: TimedEmulator, size: int, args: argparse.Namespace) -> list[tuple[Run, Integrity]]:
    """Seed one channel, then compile it once per latency (and once under tracemalloc)."""
    started = time.perf_counter()
    seeded = Seeder(emu, new_incident(bot, f"Bench postmortem {size}"), size).run()
    print_mix(size, seeded, time.perf_counter() - started)
    minimum = minimum_calls(emu, seeded.channel_id)
    print(HEADER)
    results = []
    for latency in args.latencies or [0.0]:
        for cold in (True, False):
            run = timed_compile(bot, emu, seeded, size, latency, cold=cold)
            run.fewest = minimum if cold else (1, 0)  # a draft recompile: history after the copy, no thread
            check = integrity(emu, seeded, run.published)
            print_run(run, check)
            results.append((run, check))
    high = maxrss_kb() / 1024
    memory = [
        f"ru_maxrss +{results[0][0].maxrss_delta_kb / 1024:.1f} MB in the first compile (high-water {high:.0f} MB)"
    ]
    if not args.no_memory:
        peak = traced_peak(bot, seeded)
        memory.insert(0, f"tracemalloc peak {peak / 2**20:.1f} MB ({peak / size / 1024:.1f} kB per message)")
    print(f"{'memory':>9}: " + ", ".join(memory))
    if args.profile and size == TARGET_SIZE:
        print(f"\ncProfile of the {size:,}-message compile (no latency), by own time:\n{profiled(bot, seeded)}")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Compile postmortems of growing channels and print the figures; exit 1 when the target is missed."""
    args = parse_args(argv)
    began = time.perf_counter()
    emu = TimedEmulator()
    emu.start()
    populate(emu)
    runs: list[tuple[Run, Integrity]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="ircbot-bench-") as tmp:
            bot = start_bot(emu, Path(tmp))
            try:
                compile_postmortem(bot.services, incident_id=new_incident(bot, "Warm-up").incident_id)
                for size in args.sizes:
                    runs += bench_size(bot, emu, size, args)
            finally:
                bot.close()
    finally:
        emu.stop()
    print_legend()
    print()
    ok = print_checks(runs)
    ok = print_target(runs) and ok
    ok = print_recompile_target(runs) and ok
    if emu.violations:
        print(f"emulator saw {len(emu.violations)} bad Web API calls, e.g. {emu.violations[:3]}")
    print(f"benchmark took {time.perf_counter() - began:.0f} s (seeding included)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
