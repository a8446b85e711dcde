"""Escalation timers under load: how late 3,000 page steps fire, and how fast a restart catches up.

Open incidents with three pending tiers are written straight into a fresh database, then `ircbot serve` runs
as a separate process against the built-in Slack emulator; the figures are read back from the database and
the emulator's call log. Run from the repository root::

    .venv/bin/python bench/escalation.py                # SQLite in a temp folder
    .venv/bin/python bench/escalation.py --database-url postgresql+psycopg://postgres@127.0.0.1/test
    .venv/bin/python bench/escalation.py --quick        # 100 incidents: a smoke run
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, insert
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from bench.ack import (
    ROOT,
    cpu_seconds,
    free_port,
    fresh_database,
    percentile,
    settle_calls,
    slack_env,
    wait_healthy,
)
from ircbot.config import load_config
from ircbot.domain.escalation import snapshot
from ircbot.emulator import CallRecord, SlackEmulator
from ircbot.store.db import Database
from ircbot.store.models import Incident, OutboxMessage, PageStep
from tests.factories import ALICE, BOB, CAROL, DAVE, escalation_config, populate, tier, write_config

TIER_USERS = (BOB, CAROL, DAVE)
INCIDENT_KEY = re.compile(r"\bINC-(\d+)\b")
LATENESS_TARGET_MS = 1000.0
CATCH_UP_TARGET_S = 2.0
PCTS = (50, 90, 99, 100)


# --- setup ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """What both phases seed and how long they may take."""

    backend_url: str | None
    incidents: int
    lead: timedelta
    spacing: timedelta
    tier_gap_s: int
    overdue_s: tuple[float, float]
    timeout_s: float
    slack_latency_s: float

    @property
    def steps(self) -> int:
        return self.incidents * len(TIER_USERS)


def parse_args(argv: Sequence[str] | None = None) -> Setup:
    """The command line; --quick shrinks the defaults for a smoke run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100 incidents and a 5 s lead: a fast smoke run")
    parser.add_argument("--incidents", type=int, default=None, help="open incidents per phase (default 1000)")
    parser.add_argument("--lead", type=float, default=None, help="seconds until the first tier is due (default 10)")
    parser.add_argument("--spacing-ms", type=float, default=20.0, help="between incidents' first tiers (default 20)")
    parser.add_argument("--tier-gap", type=int, default=5, help="seconds between an incident's tiers (default 5)")
    parser.add_argument("--overdue-min", type=float, default=1.0, help="restart: least overdue, s (default 1)")
    parser.add_argument("--overdue-max", type=float, default=60.0, help="restart: most overdue, s (default 60)")
    parser.add_argument("--timeout", type=float, default=120.0, help="give up this long after the last due time")
    parser.add_argument("--slack-latency-ms", type=float, default=0.0, help="added to every Web API call (default 0)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL; a fresh database is made beside it")
    args = parser.parse_args(argv)
    incidents = args.incidents or (100 if args.quick else 1000)
    lead = args.lead if args.lead is not None else (5.0 if args.quick else 10.0)
    return Setup(
        backend_url=args.database_url,
        incidents=incidents,
        lead=timedelta(seconds=lead),
        spacing=timedelta(milliseconds=args.spacing_ms),
        tier_gap_s=args.tier_gap,
        overdue_s=(args.overdue_min, args.overdue_max),
        timeout_s=args.timeout,
        slack_latency_s=args.slack_latency_ms / 1000,
    )


def policy_config(setup: Setup) -> dict[str, object]:
    """escalation.yaml whose sev1 pages Bob, then Carol, then Dave, `tier_gap` apart, once."""
    tiers = [tier(f"{i * setup.tier_gap_s}s", f"user:{u}") for i, u in enumerate(TIER_USERS)]
    return escalation_config(sev1={"name": "Bench", "tiers": tiers, "repeat": 0})


def on_time_due(setup: Setup, now: datetime) -> list[list[datetime]]:
    """Load phase: tier 1 of incident i due at now + lead + i x spacing, later tiers tier_gap apart."""
    gap = timedelta(seconds=setup.tier_gap_s)
    return [
        [now + setup.lead + i * setup.spacing + t * gap for t in range(len(TIER_USERS))] for i in range(setup.incidents)
    ]


def overdue_due(setup: Setup, now: datetime, seed: int = 11) -> list[list[datetime]]:
    """Restart phase: every step overdue by a random 1-60 s, an incident's tiers still in order."""
    rng = random.Random(seed)
    low, high = setup.overdue_s
    due = []
    for _ in range(setup.incidents):
        ages = sorted((rng.uniform(low, high) for _ in TIER_USERS), reverse=True)
        due.append([now - timedelta(seconds=age) for age in ages])
    return due


# --- seeding ----------------------------------------------------------------------------------------------


def seed(db: Database, emu: SlackEmulator, phase: str, due: list[list[datetime]], policy: dict[str, Any]) -> None:
    """Insert open incidents, each with a private channel the bot is in, and one pending step per due time."""
    now = datetime.now(UTC)
    channels = [
        emu.add_channel(f"bench-{phase}-{i + 1}", is_private=True, members=[ALICE], bot_member=True)
        for i in range(len(due))
    ]
    incidents = [
        incident_row(i + 1, channel, f"bench-{phase}-{i + 1}", policy, now) for i, channel in enumerate(channels)
    ]
    with db.transaction() as session:
        # Bulk inserts, not the domain's declare: seeding 1,000 incidents must not dominate the run.
        session.execute(insert(Incident), incidents)
        ids = {number: id_ for number, id_ in session.execute(select(Incident.number, Incident.id))}
        steps = [
            step_row(ids[i + 1], t, user, when, now)
            for i, times in enumerate(due)
            for t, (user, when) in enumerate(zip(TIER_USERS, times, strict=True))
        ]
        session.execute(insert(PageStep), steps)


def incident_row(
    number: int, channel_id: str, channel_name: str, policy: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """Columns of one open SEV1 incident declared by Alice."""
    return {
        "number": number,
        "title": f"Bench incident {number}",
        "severity": "sev1",
        "status": "open",
        "stage": "detection",
        "playbook": "default",
        "is_private": True,
        "is_drill": False,
        "false_positive": False,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "declared_by": ALICE,
        "detected_at": now,
        "declared_at": now,
        "policy": policy,
    }


def step_row(incident_id: int, tier_index: int, user: str, due_at: datetime, now: datetime) -> dict[str, Any]:
    """Columns of one pending escalation step."""
    return {
        "incident_id": incident_id,
        "round": 0,
        "tier": tier_index,
        "targets": [f"user:{user}"],
        "due_at": due_at,
        "status": "pending",
        "created_at": now,
    }


# --- the server -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """A running `ircbot serve`: its pid, when it was started and when /healthz first answered 200 (epoch s)."""

    pid: int
    started: float
    green: float


@contextmanager
def serve(env: dict[str, str], log: Path) -> Iterator[Served]:
    """Run `ircbot serve` until the block ends; yields once /healthz answers."""
    port = free_port()
    command = [sys.executable, "-m", "ircbot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    started = time.time()
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        # Poll often: the catch-up target counts from the moment /healthz turns green.
        yield Served(proc.pid, started, wait_healthy(f"http://127.0.0.1:{port}", proc, log, poll=0.01))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def reader_engine(url: str) -> Engine:
    """A plain engine for polling: ircbot's SQLite engine begins IMMEDIATE and would take the write lock."""
    return create_engine(url) if make_url(url).get_backend_name() == "sqlite" else create_engine(url, pool_size=1)


def unfinished(reader: Engine) -> tuple[int, int]:
    """Pending steps and pending outbox messages."""
    with Session(reader) as session:
        steps = session.exec(select(func.count()).select_from(PageStep).where(PageStep.status == "pending")).one()
        pages = session.exec(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending"))
        return int(steps), int(pages.one())


def wait_done(reader: Engine, deadline: float) -> bool:
    """Poll until no step and no page is pending; False at the deadline (epoch s)."""
    while time.time() < deadline:
        if unfinished(reader) == (0, 0):
            return True
        time.sleep(0.2)
    return False


# --- results ----------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one phase left in the database and in the emulator's call log."""

    steps: list[PageStep]
    outbox: list[OutboxMessage]
    numbers: dict[int, int]  # incident id -> number
    calls: list[CallRecord]
    served: Served
    server_cpu_s: float | None
    finished: bool
    dms: list[tuple[str, int, float]] = field(default_factory=list)  # (user, incident number, epoch s)

    def fired(self) -> list[PageStep]:
        return [s for s in self.steps if s.status == "fired" and s.fired_at is not None]

    def lateness_ms(self) -> list[float]:
        return [((s.fired_at - s.due_at).total_seconds()) * 1000 for s in self.fired() if s.fired_at]


def collect(reader: Engine, emu: SlackEmulator, first_call: int, served: Served, finished: bool) -> Outcome:
    """Read steps and outbox rows back, and the page DMs the emulator received since `first_call`."""
    settle_calls(emu, quiet=0.3)
    with Session(reader) as session:
        steps = list(session.exec(select(PageStep)).all())
        outbox = list(session.exec(select(OutboxMessage)).all())
        numbers = {int(i or 0): n for i, n in session.exec(select(Incident.id, Incident.number)).all()}
    calls = emu.calls[first_call:]
    outcome = Outcome(steps, outbox, numbers, calls, served, cpu_seconds(served.pid), finished)
    outcome.dms = page_dms(calls)
    return outcome


def page_dms(calls: Sequence[CallRecord]) -> list[tuple[str, int, float]]:
    """(user, incident number, when) of every page DM: a chat.postMessage to a paged user naming an incident."""
    found = []
    for call in calls:
        if call.method != "chat.postMessage" or not call.ok or call.args.get("channel") not in TIER_USERS:
            continue
        match = INCIDENT_KEY.search(str(call.args.get("text") or ""))
        if match:
            found.append((str(call.args["channel"]), int(match.group(1)), call.at))
    return found


def exactly_once(outcome: Outcome, incidents: int) -> list[str]:
    """Problems with 'every step fired once and each paged user got one DM per incident'; empty when none."""
    problems = []
    statuses = Counter(s.status for s in outcome.steps)
    if statuses != Counter({"fired": incidents * len(TIER_USERS)}):
        problems.append(f"step statuses {dict(statuses)}")
    dm_rows = Counter(m.step_id for m in outcome.outbox if m.kind == "dm")
    if sorted(dm_rows.values()) != [1] * len(outcome.steps):
        problems.append(f"DM outbox rows per step: {dict(Counter(dm_rows.values()))} for {len(outcome.steps)} steps")
    got = Counter((user, number) for user, number, _ in outcome.dms)
    expected = {(user, n) for n in range(1, incidents + 1) for user in TIER_USERS}
    missing = expected - set(got)
    doubled = sorted(k for k, v in got.items() if v > 1)
    stray = set(got) - expected
    if missing or doubled or stray:
        problems.append(f"Slack DMs: {len(missing)} missing, {len(doubled)} doubled, {len(stray)} unexpected")
    return problems


def per_second(times: Sequence[float]) -> float:
    """Events per second between the first and the last of them."""
    if len(times) < 2:
        return float("nan")
    span = max(times) - min(times)
    return len(times) / span if span > 0 else float("nan")


def peak_due_rate(steps: Sequence[PageStep]) -> int:
    """The most steps due within one wall-clock second: the offered load at its peak."""
    buckets = Counter(int(s.due_at.timestamp()) for s in steps)
    return max(buckets.values(), default=0)


def page_delay_ms(outcome: Outcome) -> list[float]:
    """Due time to the page DM reaching Slack, per step (what the paged person experiences)."""
    due = {
        (TIER_USERS[s.tier], outcome.numbers[s.incident_id]): s.due_at.timestamp()
        for s in outcome.steps
        if s.incident_id in outcome.numbers
    }
    return [(at - due[(u, n)]) * 1000 for u, n, at in outcome.dms if (u, n) in due]


# --- reporting --------------------------------------------------------------------------------------------


def figures(values: Sequence[float]) -> str:
    """p50/p90/p99/max columns."""
    return "".join(f"{percentile(values, p):>10.0f}" for p in PCTS)


def print_latency(outcome: Outcome, since_green: bool = False) -> None:
    """Lateness (due to claimed) and page delay (due to the DM in Slack), as percentile rows."""
    print(f"  {'(ms)':<36}{'p50':>10}{'p90':>10}{'p99':>10}{'max':>10}")
    print(f"  {'lateness: fired_at - due_at':<36}{figures(outcome.lateness_ms())}")
    print(f"  {'page delay: due_at -> DM in Slack':<36}{figures(page_delay_ms(outcome))}")
    if since_green:
        green = outcome.served.green
        after = [(s.fired_at.timestamp() - green) * 1000 for s in outcome.fired() if s.fired_at]
        print(f"  {'fired_at - /healthz green':<36}{figures(after)}")
        print(f"  {'page DM - /healthz green':<36}{figures([(t - green) * 1000 for _, _, t in outcome.dms])}")
    print(f"  longest pause in claiming while a step was due: {firing_stall_s(outcome.fired()) * 1000:.0f} ms")


def firing_stall_s(fired: Sequence[PageStep]) -> float:
    """Longest time a due step waited while no other step was claimed either (the runner was busy elsewhere)."""
    claims = sorted((s.fired_at, s.due_at) for s in fired if s.fired_at)
    stalls = [(later - max(earlier, due)).total_seconds() for (earlier, _), (later, due) in pairwise(claims)]
    return max(stalls, default=0.0)


def print_throughput(outcome: Outcome, wall_s: float) -> None:
    """Pages per second out of the outbox and into Slack, Slack calls per step and the server's CPU."""
    fired = outcome.fired()
    sent = [m for m in outcome.outbox if m.status == "sent" and m.sent_at]
    start = min((s.fired_at.timestamp() for s in fired if s.fired_at), default=float("nan"))
    end = max((m.sent_at.timestamp() for m in sent if m.sent_at), default=float("nan"))
    window = end - start
    kinds = Counter(m.kind for m in sent)
    print(f"  firing window (first fire -> last outbox send): {window:.1f} s")
    print(f"  outbox sent: {len(sent)} rows ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})")
    print(f"    = {len(sent) / window:.0f} rows/s, {kinds['dm'] / window:.0f} page DMs/s over the window")
    print(f"  Slack page DMs (emulator log): {len(outcome.dms)}, {per_second([t for _, _, t in outcome.dms]):.0f}/s")
    methods = Counter(c.method for c in outcome.calls)
    calls = ", ".join(f"{m} {n}" for m, n in methods.most_common())
    per_step = len(outcome.calls) / max(1, len(fired))
    print(f"  Slack Web API calls: {len(outcome.calls)} = {per_step:.1f} per step ({calls})")
    if outcome.server_cpu_s is not None:
        print(f"  ircbot serve CPU: {outcome.server_cpu_s:.1f} s over {wall_s:.1f} s wall ({os.cpu_count()} CPUs)")


def print_once(problems: list[str], outcome: Outcome, incidents: int) -> bool:
    """The exactly-once line; True when every step fired once and every DM arrived once."""
    verdict = "PASS" if not problems else "FAIL"
    fired = len(outcome.fired())
    print(
        f"  exactly once: {fired}/{incidents * len(TIER_USERS)} steps fired, {len(outcome.dms)} page DMs -> {verdict}"
    )
    for problem in problems:
        print(f"    {problem}")
    return not problems


# --- phases -----------------------------------------------------------------------------------------------


@dataclass
class Phase:
    """One phase's database, config and emulator mark."""

    name: str
    database_url: str
    env: dict[str, str]
    workdir: Path


def prepare(setup: Setup, emu: SlackEmulator, workdir: Path, database_url: str, name: str) -> Phase:
    """Write the config, migrate the fresh database and point ircbot at the emulator."""
    folder = write_config(workdir / f"config-{name}", escalation=policy_config(setup))
    db = Database(database_url)
    db.migrate()
    db.dispose()
    env = {**slack_env(emu), "DATABASE_URL": database_url, "IRCBOT_CONFIG_DIR": str(folder)}
    return Phase(name, database_url, env, workdir)


def seed_phase(phase: Phase, emu: SlackEmulator, due: list[list[datetime]]) -> float:
    """Seed the phase's incidents; returns how long it took (s)."""
    started = time.monotonic()
    policy = snapshot(load_config(Path(phase.env["IRCBOT_CONFIG_DIR"])).escalation.severities["sev1"])
    db = Database(phase.database_url)
    try:
        seed(db, emu, phase.name, due, policy)
    finally:
        db.dispose()
    return time.monotonic() - started


def run_phase(phase: Phase, emu: SlackEmulator, deadline_after_green: float | None, deadline: float | None) -> Outcome:
    """Serve until every step fired and every page left (or the deadline), then collect the outcome."""
    reader = reader_engine(phase.database_url)
    first_call = len(emu.calls)
    try:
        with serve(phase.env, phase.workdir / f"{phase.name}.log") as served:
            until = deadline if deadline is not None else served.green + (deadline_after_green or 0)
            finished = wait_done(reader, until)
            return collect(reader, emu, first_call, served, finished)
    finally:
        reader.dispose()


def load_phase(setup: Setup, emu: SlackEmulator, workdir: Path, database_url: str) -> bool:
    """Phase 1: steps falling due over a window while the server runs; target p99 lateness < 1 s."""
    phase = prepare(setup, emu, workdir, database_url, "load")
    t0 = datetime.now(UTC)
    due = on_time_due(setup, t0)
    seeded = seed_phase(phase, emu, due)
    last_due = max(max(times) for times in due).timestamp()
    outcome = run_phase(phase, emu, None, last_due + setup.timeout_s)
    first_due = (t0 + setup.lead).timestamp()
    window = f"T0+{setup.lead.total_seconds():g} s to T0+{last_due - t0.timestamp():.1f} s"
    print(f"\n1. lateness at load: {setup.steps} steps due from {window} (T0 = seeding)")
    ahead = first_due - outcome.served.green
    print(f"  seeded in {seeded:.2f} s; /healthz green {ahead:.1f} s before the first due time")
    print(f"  offered load: up to {peak_due_rate(outcome.steps)} steps due per second")
    if not outcome.finished:
        print(f"  TIMEOUT: still pending {unfinished_text(outcome)} {setup.timeout_s:g} s after the last due time")
    print_latency(outcome)
    print_throughput(outcome, time.time() - outcome.served.started)
    lateness = outcome.lateness_ms()
    p99 = percentile(lateness, 99)
    ok = outcome.finished and p99 < LATENESS_TARGET_MS
    print(f"  target: p99 lateness < 1 s -> {p99:.0f} ms -> {'PASS' if ok else 'FAIL'}")
    return print_once(exactly_once(outcome, setup.incidents), outcome, setup.incidents) and ok


def restart_phase(setup: Setup, emu: SlackEmulator, workdir: Path, database_url: str) -> bool:
    """Phase 2: everything already overdue when the server starts; target all fired within 2 s of green."""
    phase = prepare(setup, emu, workdir, database_url, "restart")
    due = overdue_due(setup, datetime.now(UTC))
    seeded = seed_phase(phase, emu, due)
    outcome = run_phase(phase, emu, setup.timeout_s, None)
    low, high = setup.overdue_s
    served = outcome.served
    print(f"\n2. restart catch-up: {setup.steps} steps overdue by {low:g}-{high:g} s when ircbot serve starts")
    print(f"  seeded in {seeded:.2f} s; process start -> /healthz green {served.green - served.started:.2f} s")
    if not outcome.finished:
        print(f"  TIMEOUT: still pending {unfinished_text(outcome)} {setup.timeout_s:g} s after /healthz went green")
    fired_at = [s.fired_at.timestamp() for s in outcome.fired() if s.fired_at]
    first = min(fired_at, default=float("nan")) - served.green
    last = max(fired_at, default=float("nan")) - served.green
    dm_times = [t - served.green for _, _, t in outcome.dms]
    first_dm, last_dm = min(dm_times, default=float("nan")), max(dm_times, default=float("nan"))
    fired_span, dm_span = f"{first:+.2f} s to {last:+.2f} s", f"{first_dm:+.2f} s to {last_dm:+.2f} s"
    print(f"  from /healthz green: steps fired {fired_span}, page DMs {dm_span}")
    print_latency(outcome, since_green=True)
    print_throughput(outcome, time.time() - served.started)
    ok = outcome.finished and len(fired_at) == setup.steps and last < CATCH_UP_TARGET_S
    verdict = "PASS" if ok else "FAIL"
    print(f"  target: all overdue steps fired within 2 s of /healthz going green -> {last:.2f} s -> {verdict}")
    return print_once(exactly_once(outcome, setup.incidents), outcome, setup.incidents) and ok


def unfinished_text(outcome: Outcome) -> str:
    """How many steps and pages were still pending."""
    steps = sum(1 for s in outcome.steps if s.status == "pending")
    pages = sum(1 for m in outcome.outbox if m.status == "pending")
    return f"{steps} steps and {pages} outbox rows"


def main(argv: Sequence[str] | None = None) -> int:
    """Run both phases against one emulator, each on its own fresh database; exit 1 when a target is missed."""
    setup = parse_args(argv)
    backend = make_url(setup.backend_url).get_backend_name() if setup.backend_url else "sqlite"
    print(
        f"escalation bench: {backend}, {setup.incidents} incidents x {len(TIER_USERS)} tiers per phase, "
        f"first tiers {setup.spacing.total_seconds() * 1000:g} ms apart, tiers {setup.tier_gap_s} s apart, "
        f"one ircbot serve process (tick 1 s), Slack emulator in this process"
        + (f" answering after {setup.slack_latency_s * 1000:g} ms" if setup.slack_latency_s else "")
    )
    emu = SlackEmulator()
    emu.latency = setup.slack_latency_s
    emu.start()
    populate(emu)
    ok = True
    try:
        for run in (load_phase, restart_phase):
            with (
                tempfile.TemporaryDirectory(prefix="ircbot-bench-") as tmp,
                fresh_database(setup.backend_url, Path(tmp)) as database_url,
            ):
                ok = run(setup, emu, Path(tmp), database_url) and ok
    finally:
        emu.stop()
    if emu.violations:
        print(f"\nemulator saw {len(emu.violations)} bad Web API calls, e.g. {emu.violations[:3]}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
