"""Ack latency of ircbot against a bare Bolt app that only acks, plus the Web API budget of one declare.

Both apps run as separate processes (waitress, same thread count) against the built-in Slack emulator and
receive the same signed slash-command load; then ircbot runs again in Socket Mode and receives the same
commands over the emulator's socket. Run from the repository root::

    .venv/bin/python bench/ack.py                       # SQLite in a temp folder
    .venv/bin/python bench/ack.py --database-url postgresql+psycopg://postgres@127.0.0.1/test
    .venv/bin/python bench/ack.py --shape sustained     # 1,000 cheap commands, then 200 declares

The sustained shape sends only cheap commands (status, note, check, help) to both apps, with the target
p99 ack <= 2x the bare app's, then declares from `--declare-concurrency` clients that each wait until their
declare is ready before sending the next, with the target of 50 ready declares per second and none refused.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
from sqlalchemy.engine import make_url

from ircbot.emulator import CallRecord, SlackDriver, SlackEmulator, SocketModeDriver
from ircbot.emulator.driver import VERIFICATION_TOKEN
from tests.factories import ALICE, BOB, populate, write_config

SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
ROOT = Path(__file__).resolve().parent.parent
CHANNEL_LINK = re.compile(r"<#(C[A-Z0-9]+)(?:\|[^>]*)?>")
SLACK_ACK_DEADLINE_MS = 3000.0
TARGET_RATIO = 3.0
SUSTAINED_RATIO = 2.0  # the sustained shape: p99 ack at most this many times the bare app's
DECLARE_RATE_TARGET = 50.0  # the sustained shape: ready declares per second, none refused
DECLARE_CALL_BUDGET = 6


# --- emulator that timestamps response_url posts ----------------------------------------------------------


class TimedEmulator(SlackEmulator):
    """The Slack emulator, also noting when each response_url first received a payload."""

    def __init__(self) -> None:
        super().__init__()
        self.first_response_at: dict[str, float] = {}
        self._answered = threading.Condition()
        # CallRecord.at is the emulator's clock (epoch); this turns it into time.monotonic(), like the samples.
        self.wall_to_monotonic = time.monotonic() - time.time()

    def handle_response_post(self, response_id: str, headers: Mapping[str, str], body: bytes) -> tuple[int, str]:
        """Record the arrival time, answer as the emulator does, then wake whoever waits for this answer."""
        arrived = time.monotonic()
        try:
            return super().handle_response_post(response_id, headers, body)
        finally:
            with self._answered:
                self.first_response_at.setdefault(response_id, arrived)
                self._answered.notify_all()

    def answered_at(self, response_url: str) -> float | None:
        """Monotonic time of the first post to a response_url, or None while unanswered."""
        return self.first_response_at.get(response_url.rstrip("/").rsplit("/", 1)[-1])

    def wait_answer(self, response_url: str, timeout: float) -> float | None:
        """Block until a response_url got its first post (without polling); its time, or None on timeout."""
        key = response_url.rstrip("/").rsplit("/", 1)[-1]
        with self._answered:
            self._answered.wait_for(lambda: key in self.first_response_at, timeout)
            return self.first_response_at.get(key)


# --- processes --------------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0, poll: float = 0.1) -> float:
    """Poll GET /healthz every `poll` seconds until 200; return that moment (epoch). Fails early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode} before it was healthy:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return time.time()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(poll)
    raise RuntimeError(f"{url} was not healthy within {timeout}s:\n{log.read_text()}")


@dataclass(frozen=True)
class Server:
    """A served app: where it listens and its process id."""

    url: str
    pid: int


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time a process used so far (Linux /proc); None where that is unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command name: state is field 3, utime and stime are fields 14 and 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def served(name: str, args: Sequence[str], env: Mapping[str, str], workdir: Path, port: int) -> Iterator[Server]:
    """Run a server process until the block ends; yields it once /healthz answers."""
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, *args], env={**os.environ, **env}, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log)
        yield Server(url, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def spied(pid: int, output: Path | None) -> Iterator[None]:
    """With an output path, sample the process with py-spy (GIL holders only, per thread) while the block runs."""
    if output is None:
        yield
        return
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "--pid", str(pid), "--format", "raw", "--output", str(output)]
    command += ["--gil", "--threads", "--nolineno", "--nonblocking", "--rate", "200"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # py-spy attaches
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        proc.wait(timeout=30)


@contextmanager
def fresh_database(url: str | None, workdir: Path) -> Iterator[str]:
    """A SQLite file in workdir, or a new PostgreSQL database next to the given one, dropped afterwards."""
    if url is None:
        yield f"sqlite:///{workdir / 'ircbot.db'}"
        return
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit(f"--database-url must be PostgreSQL (SQLite is the default): {url}")
    # psycopg takes a libpq URL: the same server and credentials, the maintenance database `test`.
    admin = parsed.set(drivername="postgresql", database="test").render_as_string(hide_password=False)
    name = f"ircbot_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def slack_env(emu: SlackEmulator) -> dict[str, str]:
    """The Slack variables both apps read, pointing at the emulator."""
    return {
        "SLACK_BOT_TOKEN": emu.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": emu.base_url,
    }


# --- load -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One `/incident` invocation to send."""

    user: str
    channel: str
    text: str


@dataclass
class Sample:
    """What happened to one request."""

    command: Command
    sent: float
    ack_ms: float
    status: int
    response_url: str
    error: str | None = None
    done_ms: float | None = None


def workload(n: int, incident_channel: str, general: str, seed: int = 7, declares: int | None = None) -> list[Command]:
    """A realistic, repeatable mix: mostly work inside one incident channel, some help and a few declares.

    `declares` defaults to one in a hundred (at least one); the sustained shape passes 0 (cheap commands only).
    """
    rng = random.Random(seed)
    declares = max(1, n // 100) if declares is None else declares
    commands = [Command(ALICE, general, f"declare Bench incident {i} sev{1 + i % 4}") for i in range(declares)]
    weighted = [("status", 40), ("note", 30), ("check", 15), ("help", 15)]
    kinds = rng.choices([k for k, _ in weighted], [w for _, w in weighted], k=n - declares)
    for i, kind in enumerate(kinds):
        if kind == "note":
            commands.append(Command(ALICE, incident_channel, f"note bench observation {i}: host FS{i % 17:02d} clean"))
        elif kind == "check":
            commands.append(Command(ALICE, incident_channel, f"check {1 + i % 3}"))
        elif kind == "help":
            commands.append(Command(BOB, general, "help"))
        else:
            commands.append(Command(ALICE, incident_channel, "status"))
    rng.shuffle(commands)
    return commands


def send(driver: SlackDriver, command: Command) -> Sample:
    """Send one signed slash command without waiting for its response_url; the ack round trip is timed."""
    sent = time.monotonic()
    try:
        result = driver.slash(command.user, command.channel, command.text, wait=False, timeout=30)
    except Exception as exc:  # a refused or dropped connection is an error to count, not a crash
        return Sample(command, sent, (time.monotonic() - sent) * 1000, 0, "", error=repr(exc))
    error = None if result.status == 200 else f"HTTP {result.status}: {result.body[:100]}"
    return Sample(command, sent, result.elapsed * 1000, result.status, result.response_url, error=error)


def signed_request(driver: SlackDriver, emu: SlackEmulator, command: Command) -> tuple[dict[str, Any], str]:
    """The body and headers Slack would send for a command (as `SlackDriver.slash` builds them), and its
    response_url, for bench/loadgen.py to send from its own process."""
    user = emu.users[command.user]
    channel = emu.channel(command.channel)
    response_url = emu.new_response_url(command.user, command.channel)
    form = {
        "token": VERIFICATION_TOKEN,
        "team_id": emu.team_id,
        "team_domain": emu.team_domain,
        "channel_id": command.channel,
        "channel_name": "directmessage" if channel["is_im"] else str(channel["name"]),
        "user_id": command.user,
        "user_name": user["name"],
        "command": "/incident",
        "text": command.text,
        "api_app_id": emu.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": emu.issue_trigger_id(command.user),
    }
    body = urlencode(form)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "Slackbot 1.0"}
    headers.update(driver.sign(body.encode()))
    return {"body": body, "headers": headers}, response_url


def run_load(
    driver: SlackDriver, emu: SlackEmulator, commands: Sequence[Command], concurrency: int, warmup: int
) -> tuple[list[Sample], float, float]:
    """Send `warmup` cheap commands, then every command, from `concurrency` clients in bench/loadgen.py's process;
    returns the samples of the timed part, its wall time and the clients' CPU time, in seconds."""
    cheap = [c for c in commands if not c.text.startswith("declare")][:warmup]
    warm = [signed_request(driver, emu, c)[0] for c in cheap]
    timed = [signed_request(driver, emu, c) for c in commands]
    job = {"url": driver.bot_url, "concurrency": concurrency, "warmup": warm, "requests": [r for r, _ in timed]}
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "loadgen.py")],
        input=json.dumps(job).encode(),
        capture_output=True,
        check=True,
    )
    result = json.loads(out.stdout)
    samples = [
        Sample(command, sent, elapsed * 1000, status, url if status == 200 else "", error=error)
        for command, (_, url), (sent, elapsed, status, error) in zip(commands, timed, result["samples"], strict=True)
    ]
    return samples, float(result["wall_s"]), float(result["cpu_s"])


def wait_for_responses(emu: TimedEmulator, samples: Sequence[Sample], timeout: float = 60.0) -> float | None:
    """Poll until every acked command got a response_url post; fills done_ms, returns last answer - last ack (s)."""
    pending = [s for s in samples if s.status == 200]
    last_ack = max((s.sent + s.ack_ms / 1000 for s in pending), default=time.monotonic())
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        time.sleep(0.02)
        still = []
        for sample in pending:
            at = emu.answered_at(sample.response_url)
            if at is None:
                still.append(sample)
            else:
                sample.done_ms = (at - sample.sent) * 1000
        pending = still
    if pending:
        return None
    # Signed: the last answer can come before the last ack when the slowest request was a quick command.
    return max(s.sent + (s.done_ms or 0) / 1000 for s in samples if s.status == 200) - last_ack


# --- declare budget ---------------------------------------------------------------------------------------


@dataclass
class DeclareBudget:
    """The Web API calls one declare made on a quiet bot, split at the moment its channel was ready."""

    channel_id: str
    until_ready: list[str]
    afterwards: list[str]
    missing: list[str]
    excluded: list[str]


def ready_steps(channel_id: str) -> dict[str, Callable[[CallRecord], bool]]:
    """The calls that make an incident channel ready: created, declarer invited, topic, welcome posted, pinned."""

    def in_channel(method: str) -> Callable[[CallRecord], bool]:
        return lambda c: c.ok and c.method == method and c.args.get("channel") == channel_id

    return {
        "channel created": lambda c: c.ok and c.method == "conversations.create",
        "declarer invited": lambda c: in_channel("conversations.invite")(c) and ALICE in str(c.args.get("users")),
        "topic set": in_channel("conversations.setTopic"),
        "welcome posted": in_channel("chat.postMessage"),
        "welcome pinned": in_channel("pins.add"),
    }


def declare_budget(emu: SlackEmulator, driver: SlackDriver, general: str) -> DeclareBudget:
    """Declare on a quiet bot; count the Web API calls up to the last step that made its channel ready."""
    before = len(emu.calls)
    result = driver.slash(ALICE, general, "declare Ransomware on FS01 sev1", wait=True, timeout=30)
    links = [m for r in result.responses for m in CHANNEL_LINK.findall(r.get("text") or "")]
    if result.status != 200 or not links:
        raise RuntimeError(f"declare failed: HTTP {result.status}, answer {result.text!r}")
    steps = ready_steps(links[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(any(map(s, emu.calls[before:])) for s in steps.values()):
        time.sleep(0.02)
    settle_calls(emu)
    # Bolt calls auth.test once, lazily, on the first request; it is not part of what a declare costs.
    calls = [c for c in emu.calls[before:] if c.method != "auth.test"]
    excluded = [c.method for c in emu.calls[before:] if c.method == "auth.test"]
    firsts = {name: next((i for i, c in enumerate(calls) if step(c)), None) for name, step in steps.items()}
    missing = [name for name, i in firsts.items() if i is None]
    ready = max((i for i in firsts.values() if i is not None), default=len(calls) - 1)
    methods = [c.method for c in calls]
    return DeclareBudget(links[0], methods[: ready + 1], methods[ready + 1 :], missing, excluded)


def settle_calls(emu: SlackEmulator, quiet: float = 0.5, timeout: float = 10.0) -> None:
    """Wait until the emulator saw no new Web API call for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    seen, since = len(emu.calls), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.05)
        if len(emu.calls) != seen:
            seen, since = len(emu.calls), time.monotonic()


# --- declare throughput (sustained shape) -----------------------------------------------------------------


@dataclass
class DeclareSample:
    """One declare of the throughput phase: sent, acked, answered, and when its channel was ready."""

    text: str
    sent: float
    ack_ms: float
    status: int
    answered: float | None = None
    answer: str = ""
    channel_id: str | None = None
    ready: float | None = None
    missing: tuple[str, ...] = ()
    error: str | None = None

    @property
    def refused(self) -> bool:
        """Not declared: no 200 ack, no answer, or an answer that names no new channel (a Conflict, an error)."""
        return self.error is not None or self.channel_id is None


@dataclass
class DeclareRun:
    """The figures of the declare phase."""

    samples: list[DeclareSample]
    concurrency: int
    started: float
    app_cpu_s: float | None = None

    @property
    def ready(self) -> list[DeclareSample]:
        return [s for s in self.samples if s.ready is not None]

    @property
    def refused(self) -> list[DeclareSample]:
        return [s for s in self.samples if s.refused]

    @property
    def not_ready(self) -> list[DeclareSample]:
        """Declared (the answer names a channel) but the channel never got every ready step."""
        return [s for s in self.samples if not s.refused and s.ready is None]

    @property
    def window_s(self) -> float:
        """From the first send to the last declare that became ready."""
        return max((s.ready for s in self.ready if s.ready is not None), default=self.started) - self.started

    @property
    def rate(self) -> float:
        return len(self.ready) / self.window_s if self.window_s > 0 else 0.0


def declare_once(driver: SlackDriver, emu: TimedEmulator, general: str, i: int, timeout: float) -> DeclareSample:
    """Declare and block until the answer arrived on the response_url (readiness is checked afterwards)."""
    text = f"declare Sustained bench {i} sev{1 + i % 4}"
    sample = send(driver, Command(ALICE, general, text))
    result = DeclareSample(text, sample.sent, sample.ack_ms, sample.status, error=sample.error)
    if sample.error is not None:
        return result
    result.answered = emu.wait_answer(sample.response_url, timeout)
    if result.answered is None:
        result.error = f"no response_url answer within {timeout:g} s"
        return result
    result.answer = " ".join(r.get("text") or "" for r in emu.responses(sample.response_url))
    links = CHANNEL_LINK.findall(result.answer) if "Declared" in result.answer else []
    result.channel_id = links[0] if links else None
    return result


def run_declares(
    emu: TimedEmulator, driver: SlackDriver, general: str, count: int, concurrency: int, timeout: float = 60.0
) -> DeclareRun:
    """`count` declares from `concurrency` clients, each waiting for its answer before the next (a closed loop)."""
    before = len(emu.calls)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="declarer") as pool:
        samples = list(pool.map(lambda i: declare_once(driver, emu, general, i, timeout), range(count)))
    run = DeclareRun(samples, concurrency, started)
    mark_ready(emu, [s for s in samples if not s.refused], emu.calls[before:])
    return run


def mark_ready(emu: TimedEmulator, samples: Sequence[DeclareSample], calls: Sequence[CallRecord]) -> None:
    """Ready = answered, and the channel exists, the declarer is in it, the topic is set, the card posted and
    pinned (`ready_steps`); the ready time is the latest of the answer and those calls."""
    by_channel: dict[str, list[CallRecord]] = {}
    for call in calls:
        by_channel.setdefault(str(call.args.get("channel") or ""), []).append(call)
    existing = {s.channel_id for s in samples if s.channel_id is not None and channel_exists(emu, s.channel_id)}
    for sample in samples:
        assert sample.channel_id is not None and sample.answered is not None
        steps = ready_steps(sample.channel_id)
        del steps["channel created"]  # its call names the channel, not its id: the channel's existence proves it
        mine = by_channel.get(sample.channel_id, [])
        at = {name: next((c.at for c in mine if step(c)), None) for name, step in steps.items()}
        sample.missing = tuple(name for name, t in at.items() if t is None)
        if sample.channel_id not in existing:
            sample.missing += ("channel created",)
        if not sample.missing:
            latest_call = max(t for t in at.values() if t is not None) + emu.wall_to_monotonic
            sample.ready = max(sample.answered, latest_call)


def channel_exists(emu: SlackEmulator, channel_id: str) -> bool:
    """Whether the emulated workspace has this channel."""
    try:
        emu.channel(channel_id)
    except KeyError:
        return False
    return True


# --- reporting --------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p100 is the maximum); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
    return ordered[rank - 1]


@dataclass
class RunResult:
    """The load figures of one app."""

    name: str
    commands: list[Command]
    samples: list[Sample]
    wall_s: float
    drain_s: float | None = None
    app_cpu_s: float | None = None
    local_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    def cpu_ms_per_command(self) -> tuple[float | None, float, float]:
        """CPU per command of the app's process, of this process (the emulator) and of the clients' process."""
        n = len(self.samples)
        app = None if self.app_cpu_s is None else self.app_cpu_s * 1000 / n
        return app, self.local_cpu_s * 1000 / n, self.client_cpu_s * 1000 / n

    @property
    def errors(self) -> list[Sample]:
        return [s for s in self.samples if s.error is not None]

    def ack(self, pct: float) -> float:
        return percentile([s.ack_ms for s in self.samples if s.error is None], pct)

    def done(self, pct: float, declares: bool | None = None) -> float:
        """End-to-end percentile; declares=True/False restricts to or excludes `declare` commands."""
        chosen = [
            s.done_ms
            for s in self.samples
            if s.done_ms is not None and (declares is None or s.command.text.startswith("declare") == declares)
        ]
        return percentile(chosen, pct)


def print_ack_table(ircbot: RunResult, bare: RunResult, sustained: bool = False) -> bool:
    """Print the ack latency table and the target line of the shape; True when the target is met."""
    print(f"\n{'ack latency (ms)':<22}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}{'errors':>8}{'req/s':>8}")
    for run in (ircbot, bare):
        figures = "".join(f"{run.ack(p):>9.1f}" for p in (50, 90, 99, 100))
        rate = len(run.samples) / run.wall_s
        print(f"{run.name:<22}{figures}{len(run.errors):>8}{rate:>8.0f}")
    p50_ratio, p99_ratio = ircbot.ack(50) / bare.ack(50), ircbot.ack(99) / bare.ack(99)
    print(f"{'ratio ircbot/bare':<22}{p50_ratio:>8.2f}x{'':>9}{p99_ratio:>8.2f}x")
    ok = not ircbot.errors and not bare.errors and ircbot.ack(99) < SLACK_ACK_DEADLINE_MS
    if sustained:
        ok = ok and p99_ratio <= SUSTAINED_RATIO
        target = f"p99 ack <= {SUSTAINED_RATIO:g}x the bare floor ({p99_ratio:.2f}x)"
    else:
        ok = ok and p99_ratio < TARGET_RATIO
        target = f"p99 ack < {TARGET_RATIO:g}x bare and well inside Slack's 3 s"
    print(f"target: {target} -> {'PASS' if ok else 'FAIL'}")
    for sample in (ircbot.errors + bare.errors)[:5]:
        print(f"  error: {sample.command.text!r}: {sample.error}")
    return ok


def print_completion(ircbot: RunResult) -> None:
    """Print how long background work took: the drain after the last ack and end-to-end percentiles."""
    if ircbot.drain_s is None:
        missing = sum(1 for s in ircbot.samples if s.status == 200 and s.done_ms is None)
        print(f"\nresponse_url: {missing} commands got no answer within the timeout")
        return
    print(f"\nall response_url answers arrived; the last one {ircbot.drain_s * 1000:+.0f} ms from the last ack")
    print(f"{'end-to-end (ms)':<22}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}   (send -> first response_url post)")
    for label, declares in (("all commands", None), ("declares only", True), ("all but declares", False)):
        if declares is not None and not any(s.command.text.startswith("declare") for s in ircbot.samples):
            continue  # the sustained shape sends no declares in this load
        print(f"{label:<22}" + "".join(f"{ircbot.done(p, declares):>9.1f}" for p in (50, 90, 99, 100)))


def print_cpu(ircbot: RunResult, bare: RunResult) -> None:
    """Print CPU per command: under a closed loop the ack waits for CPU, so this explains the medians."""
    print(f"\nCPU per command (ms, {os.cpu_count()} CPUs): app process / emulator process / clients process")
    for run in (ircbot, bare):
        app, local, clients = run.cpu_ms_per_command()
        shown = "n/a" if app is None else f"{app:.2f}"
        print(f"  {run.name:<22}{shown:>8} / {local:.2f} / {clients:.2f}")


def print_declares(run: DeclareRun) -> bool:
    """Print the declare phase: ready per second, refusals, latencies; True when the target is met."""
    n, ready, refused, not_ready = len(run.samples), run.ready, run.refused, run.not_ready
    print(f"\ndeclares: {n} from {run.concurrency} clients, each waiting for its answer before the next")
    print(f"{'declare (ms)':<22}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}")
    acks = [s.ack_ms for s in run.samples if s.status == 200]
    to_ready = [(s.ready - s.sent) * 1000 for s in ready if s.ready is not None]
    for label, values in (("ack", acks), ("send -> ready", to_ready)):
        print(f"{label:<22}" + "".join(f"{percentile(values, p):>9.1f}" for p in (50, 90, 99, 100)))
    cpu = "" if run.app_cpu_s is None else f"; ircbot CPU {run.app_cpu_s * 1000 / n:.1f} ms per declare"
    print(f"ready {len(ready)}/{n} in {run.window_s:.2f} s: {run.rate:.1f} ready per second{cpu}")
    print(f"refused or failed: {len(refused)}; declared but channel not ready: {len(not_ready)}")
    for sample in refused[:3]:
        print(f"  refused: {sample.text!r}: {sample.error or sample.answer[:160]!r}")
    for sample in not_ready[:3]:
        print(f"  not ready: {sample.text!r} <#{sample.channel_id}>: missing {', '.join(sample.missing)}")
    ok = run.rate >= DECLARE_RATE_TARGET and not refused and not not_ready
    verdict = "PASS" if ok else "FAIL"
    print(f"target: >= {DECLARE_RATE_TARGET:g} declares ready per second, 0 refused -> {run.rate:.1f}/s -> {verdict}")
    return ok


def print_budget(budget: DeclareBudget) -> bool:
    """Print the declare's Web API calls against the budget; True when within it."""
    ok = len(budget.until_ready) <= DECLARE_CALL_BUDGET and not budget.missing
    print("\ndeclare on a quiet bot: Web API calls until the channel was ready")
    for i, method in enumerate(budget.until_ready, 1):
        print(f"  {i}. {method}")
    if budget.missing:
        print(f"  never happened: {', '.join(budget.missing)}")
    if budget.afterwards:
        print(f"then, not counted (after the channel was ready, e.g. paging): {', '.join(budget.afterwards)}")
    note = f"; excluded here: {', '.join(budget.excluded)}" if budget.excluded else ""
    print(f"auth.test (Bolt's one-off check) was spent on a warm-up /incident help before the declare{note}")
    count = len(budget.until_ready)
    print(f"target: at most {DECLARE_CALL_BUDGET} Web API calls -> {count} -> {'PASS' if ok else 'FAIL'}")
    return ok


# --- Socket Mode ------------------------------------------------------------------------------------------


def bench_socket(
    emu: TimedEmulator, args: argparse.Namespace, commands: Sequence[Command], database_url: str, workdir: Path
) -> RunResult:
    """Serve ircbot in Socket Mode on the HTTP run's database and config, and send it the same commands as
    envelopes from `--concurrency` senders; they share this process with the emulator, whose endpoint it is."""
    env = {**slack_env(emu), "SLACK_APP_TOKEN": emu.app_token, "DATABASE_URL": database_url}
    env["IRCBOT_CONFIG_DIR"] = str(workdir / "config")
    port = free_port()
    serve = ["-m", "ircbot.cli", "serve", "--socket-mode", "--host", "127.0.0.1", "--port", str(port)]
    emu.socket.ack_timeout = 30.0  # time every ack, as the HTTP clients do, rather than give up after Slack's 3 s
    with served("ircbot-socket", [*serve, "--threads", str(args.threads)], env, workdir, port) as server:
        driver = SocketModeDriver(emu)  # /healthz answered 200: the bot is connected
        cheap = [c for c in commands if not c.text.startswith("declare")][: 2 * args.concurrency]
        send_all(driver, cheap, args.concurrency)  # warm-up
        app_cpu, local_cpu, started = cpu_seconds(server.pid), time.process_time(), time.monotonic()
        samples = send_all(driver, commands, args.concurrency)
        result = RunResult("ircbot Socket Mode", list(commands), samples, time.monotonic() - started)
        result.app_cpu_s, result.local_cpu_s = app_cpu, local_cpu
        result.drain_s = wait_for_responses(emu, samples)
        settle_calls(emu)
        finish_cpu(result, server)
    return result


def send_all(driver: SlackDriver, commands: Sequence[Command], concurrency: int) -> list[Sample]:
    """Send every command from `concurrency` threads of this process, each waiting for its ack only."""
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sender") as pool:
        return list(pool.map(lambda c: send(driver, c), commands))


def print_socket(socket_run: RunResult, ircbot: RunResult, bare: RunResult) -> bool:
    """Print Socket Mode's ack latency beside HTTP mode's and the bare floor; True when every command was
    acknowledged within Slack's 3 s."""
    print(f"\n{'ack latency (ms)':<22}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}{'errors':>8}{'req/s':>8}")
    for run in (socket_run, ircbot, bare):
        figures = "".join(f"{run.ack(p):>9.1f}" for p in (50, 90, 99, 100))
        print(f"{run.name:<22}{figures}{len(run.errors):>8}{len(run.samples) / run.wall_s:>8.0f}")
    for name, other in (("socket/bare", bare), ("socket/HTTP", ircbot)):
        print(
            f"{'ratio ' + name:<22}{socket_run.ack(50) / other.ack(50):>8.2f}x{'':>9}"
            f"{socket_run.ack(99) / other.ack(99):>8.2f}x"
        )
    app, local, _ = socket_run.cpu_ms_per_command()
    shown = "n/a" if app is None else f"{app:.2f}"
    print(f"CPU per command (ms): app process {shown} / emulator and senders {local:.2f}")
    if socket_run.drain_s is not None:
        print(f"all response_url answers arrived; the last one {socket_run.drain_s * 1000:+.0f} ms from the last ack")
    ok = not socket_run.errors and socket_run.ack(100) < SLACK_ACK_DEADLINE_MS
    print(f"target: every command acknowledged over the socket within Slack's 3 s -> {'PASS' if ok else 'FAIL'}")
    for sample in socket_run.errors[:5]:
        print(f"  error: {sample.command.text!r}: {sample.error}")
    return ok


# --- main -------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--shape",
        choices=("burst", "sustained"),
        default="burst",
        help="burst: the mixed load, target p99 < 3x bare (default); sustained: cheap commands only, target "
        "p99 <= 2x bare, then the declare throughput phase",
    )
    parser.add_argument(
        "--requests", type=int, default=None, help="slash commands per app (default 500; 1000 when sustained)"
    )
    parser.add_argument("--concurrency", type=int, default=20, help="concurrent clients (default 20)")
    parser.add_argument("--declares", type=int, default=200, help="sustained: declares to send (default 200)")
    parser.add_argument(
        "--declare-concurrency", type=int, default=10, help="sustained: concurrent declarers (default 10)"
    )
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL; a fresh database is made beside it")
    parser.add_argument("--threads", type=int, default=16, help="waitress threads for both apps (default 16)")
    parser.add_argument("--no-socket-mode", action="store_true", help="skip the Socket Mode run of ircbot")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="write py-spy samples (collapsed stacks) of ircbot's process per timed phase into DIR "
        "(needs `.venv/bin/pip install py-spy`; the sampling costs some CPU, so the figures read worse)",
    )
    args = parser.parse_args(argv)
    if args.requests is None:
        args.requests = 1000 if args.shape == "sustained" else 500
    return args


def load_app(name: str, emu: TimedEmulator, server: Server, commands: Sequence[Command], concurrency: int) -> RunResult:
    """Warm an app up with a short burst, then time the real load; `finish_cpu` closes the CPU account."""
    driver = SlackDriver(f"{server.url}/slack/events", SIGNING_SECRET, emu)
    # CPU marks include the clients' warm-up and start-up; their share of the app's CPU is small (2 x concurrency).
    app_cpu, local_cpu = cpu_seconds(server.pid), time.process_time()
    samples, wall, client_cpu = run_load(driver, emu, commands, concurrency, warmup=2 * concurrency)
    result = RunResult(name, list(commands), samples, wall, client_cpu_s=client_cpu)
    result.app_cpu_s, result.local_cpu_s = app_cpu, local_cpu  # start marks until finish_cpu
    return result


def finish_cpu(result: RunResult, server: Server) -> None:
    """Turn the CPU start marks into CPU used since the timed load began (call once the work is done)."""
    now = cpu_seconds(server.pid)
    result.app_cpu_s = None if now is None or result.app_cpu_s is None else now - result.app_cpu_s
    result.local_cpu_s = time.process_time() - result.local_cpu_s


def main(argv: Sequence[str] | None = None) -> int:
    """Run both apps under the same load and print the figures; exit 1 when a target is missed."""
    args = parse_args(argv)
    emu = TimedEmulator()
    emu.start()
    populate(emu)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="ircbot-bench-") as tmp,
            fresh_database(args.database_url, Path(tmp)) as db,
        ):
            ircbot, budget, declares = bench_ircbot(emu, args, db, Path(tmp))
            socket_run = None if args.no_socket_mode else bench_socket(emu, args, ircbot.commands, db, Path(tmp))
            bare = bench_bare(emu, args, ircbot.commands, Path(tmp))
    finally:
        emu.stop()
    ok = print_ack_table(ircbot, bare, sustained=args.shape == "sustained")
    if socket_run is not None:
        ok = print_socket(socket_run, ircbot, bare) and ok
    print_completion(ircbot)
    print_cpu(ircbot, bare)
    if declares is not None:
        ok = print_declares(declares) and ok
    ok = print_budget(budget) and ok
    if emu.violations:
        print(f"\nemulator saw {len(emu.violations)} bad Web API calls, e.g. {emu.violations[:3]}")
    return 0 if ok else 1


def bench_ircbot(
    emu: TimedEmulator, args: argparse.Namespace, database_url: str, workdir: Path
) -> tuple[RunResult, DeclareBudget, DeclareRun | None]:
    """Serve ircbot, measure one declare's Web API calls, then its ack latency and completion under load;
    in the sustained shape, once that load has drained, the declare throughput phase."""
    general = general_channel(emu)
    env = {**slack_env(emu), "DATABASE_URL": database_url, "IRCBOT_CONFIG_DIR": str(write_config(workdir / "config"))}
    port = free_port()
    serve = ["-m", "ircbot.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--threads", str(args.threads)]
    with served("ircbot", serve, env, workdir, port) as server:
        driver = SlackDriver(f"{server.url}/slack/events", SIGNING_SECRET, emu)
        driver.slash(BOB, general, "help", wait=True, timeout=30)  # Bolt's one-off auth.test happens here
        budget = declare_budget(emu, driver, general)
        sustained = args.shape == "sustained"
        commands = workload(args.requests, budget.channel_id, general, declares=0 if sustained else None)
        backend = make_url(database_url).get_backend_name()
        mix = "cheap slash commands (status, note, check, help)" if sustained else "slash commands"
        load = f"{args.shape} shape: {args.requests} {mix}, {args.concurrency} clients, {args.threads} waitress threads"
        print(f"{load}, {backend}")
        profile: Path | None = args.profile
        if profile is not None:
            profile.mkdir(parents=True, exist_ok=True)
        with spied(server.pid, profile and profile / f"ircbot-{args.shape}-commands.txt"):
            result = load_app("ircbot", emu, server, commands, args.concurrency)
            result.drain_s = wait_for_responses(emu, result.samples)
            settle_calls(emu)
        finish_cpu(result, server)
        declares = None
        if sustained:
            cpu = cpu_seconds(server.pid)
            with spied(server.pid, profile and profile / "ircbot-sustained-declares.txt"):
                declares = run_declares(emu, driver, general, args.declares, args.declare_concurrency)
                settle_calls(emu)  # paging after the channels were ready is part of what the declares cost
            now = cpu_seconds(server.pid)
            declares.app_cpu_s = None if cpu is None or now is None else now - cpu
    return result, budget, declares


def bench_bare(emu: TimedEmulator, args: argparse.Namespace, commands: Sequence[Command], workdir: Path) -> RunResult:
    """Serve the ack-only Bolt app and send it the same load."""
    port = free_port()
    serve = ["bench/bare_app.py", "--host", "127.0.0.1", "--port", str(port), "--threads", str(args.threads)]
    with served("bare", serve, slack_env(emu), workdir, port) as server:
        result = load_app("bare Bolt (ack only)", emu, server, commands, args.concurrency)
        finish_cpu(result, server)
        return result


def general_channel(emu: SlackEmulator) -> str:
    """The id of #general, where declares and help are typed."""
    found = emu.channel_by_name("general")
    if found is None:
        raise RuntimeError("the emulated workspace has no #general")
    return str(found["id"])


if __name__ == "__main__":
    sys.exit(main())
