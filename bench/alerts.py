"""Alert intake under load: how fast `POST /alerts/<source>` accepts, how long deciding takes, and that every
group opens one incident.

`ircbot serve` runs as a separate process (fresh config folder and database, as in bench/ack.py) against the
built-in Slack emulator; the senders run in a process of their own, each over one kept-alive connection. Run from
the repository root::

    .venv/bin/python bench/alerts.py                    # 10,000 alerts, half in 50 groups, SQLite in a temp folder
    .venv/bin/python bench/alerts.py --database-url postgresql+psycopg://postgres@127.0.0.1/test
    .venv/bin/python bench/alerts.py --storm            # 10,000 alerts into one group: exactly one incident
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from sqlalchemy import create_engine, func
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select

from bench.ack import cpu_seconds, free_port, fresh_database, percentile, served, settle_calls, slack_env, spied
from ircbot.emulator import SlackEmulator
from ircbot.store.models import Alert, Incident, OutboxMessage
from tests.factories import populate, write_config

ALERT_TOKEN = "bench-alert-token-5d2e"
GROUPS = 50
HOSTS_PER_GROUP = 10  # an Alertmanager group's alerts come from this many instances; repeats are deduplicated
STORM_HOSTS = 1000
SEVERITIES = ("critical", "high", "medium", "low", "info")
# The unique alerts' severities, one cycle of 20: most are noise, a few are worth an incident.
UNIQUE_SEVERITIES = ("critical",) + ("high",) * 2 + ("medium",) * 7 + ("low",) * 6 + ("info",) * 4
RULES = {"critical": "sev1", "high": "sev2"}  # alerts.yaml declares these; everything else goes to triage
RATE_TARGET = 1000.0  # alerts accepted (202) per second
P99_TARGET_MS = 100.0
PCTS = (50, 90, 99, 100)


# --- load -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """The requests to send, one alert each, and how many incidents they must open."""

    name: str
    requests: list[tuple[str, bytes]]  # (path, JSON body)
    expected_incidents: int


def alertmanager(group_key: str, name: str, host: str, severity: str, started: str) -> tuple[str, bytes]:
    """An Alertmanager webhook notification of one group carrying one alert."""
    labels = {"alertname": name, "instance": host, "job": "node", "severity": severity}
    alert = {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": f"{name} on {host}", "description": f"{name} has fired on {host} for 5m."},
        "startsAt": started,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.org:9090/graph",
        "fingerprint": f"{name}-{host}",
    }
    body = {
        "version": "4",
        "groupKey": group_key,
        "status": "firing",
        "receiver": "ircbot",
        "groupLabels": {"alertname": name},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.org:9093",
        "truncatedAlerts": 0,
        "alerts": [alert],
    }
    return "/alerts/alertmanager", json.dumps(body).encode()


def generic(fingerprint: str, title: str, severity: str, started: str) -> tuple[str, bytes]:
    """ircbot's own shape: one alert whose fingerprint says which others it repeats."""
    body = {
        "title": title,
        "severity": severity,
        "fingerprint": fingerprint,
        "source": "edr",
        "started_at": started,
        "description": f"{title}: seen by the bench sensor.",
        "labels": {"host": f"ws-{fingerprint[-4:]}"},
    }
    return "/alerts/generic", json.dumps(body).encode()


def mixed_load(alerts: int, started: str) -> Load:
    """Half the alerts in GROUPS groups (even groups Alertmanager groupKeys, odd ones a shared generic
    fingerprint; the group's number picks its severity), half unique; shuffled the same way every run."""
    requests, declaring_groups = [], set()
    grouped = alerts // 2
    for k in range(grouped):
        g, severity = k % GROUPS, SEVERITIES[k % GROUPS % len(SEVERITIES)]
        if g % 2 == 0:
            name = f"BenchGroup{g}"
            host = f"node-{(k // GROUPS) % HOSTS_PER_GROUP}"
            requests.append(alertmanager(f'{{}}:{{alertname="{name}"}}', name, host, severity, started))
        else:
            requests.append(generic(f"bench-group-{g:04d}", f"EDR detection group {g}", severity, started))
        if severity in RULES:
            declaring_groups.add(g)
    declaring_unique = 0
    for i in range(alerts - grouped):
        severity = UNIQUE_SEVERITIES[i % len(UNIQUE_SEVERITIES)]
        if i % 2 == 0:
            name = f"BenchUnique{i}"
            requests.append(alertmanager(f'{{}}:{{alertname="{name}"}}', name, "node-0", severity, started))
        else:
            requests.append(generic(f"bench-unique-{i:05d}", f"EDR detection {i}", severity, started))
        declaring_unique += severity in RULES
    order = list(range(len(requests)))
    random.Random(7).shuffle(order)
    name = f"{alerts} alerts: {grouped} in {min(grouped, GROUPS)} groups, {alerts - grouped} unique"
    return Load(name, [requests[i] for i in order], len(declaring_groups) + declaring_unique)


def storm_load(alerts: int, started: str) -> Load:
    """Every alert in one critical Alertmanager group, from STORM_HOSTS instances (repeats are deduplicated)."""
    requests = [
        alertmanager('{}:{alertname="BenchStorm"}', "BenchStorm", f"node-{k % STORM_HOSTS}", "critical", started)
        for k in range(alerts)
    ]
    return Load(f"storm: {alerts} alerts into one group from {min(alerts, STORM_HOSTS)} instances", requests, 1)


# --- senders (a process of their own) ---------------------------------------------------------------------


def fire(url: str, requests: list[tuple[str, bytes]], senders: int) -> tuple[list[tuple[float, float, int]], float]:
    """POST every request from `senders` threads, each over one kept-alive connection, taking the next request
    as soon as its last is answered; returns (sent, elapsed_s, status) per request and this process's CPU time.

    `sent` is time.monotonic(), which on Linux is comparable across processes."""
    where = urlsplit(url)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {ALERT_TOKEN}"}
    samples: list[tuple[float, float, int]] = [(0.0, 0.0, 0)] * len(requests)
    taken = itertools.count()  # next() on it is atomic: the senders share one queue
    ready = threading.Barrier(senders)
    cpu = time.process_time()

    def sender() -> None:
        conn = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=60)
        conn.request("GET", "/healthz")  # connect before the clock starts
        conn.getresponse().read()
        ready.wait()
        while (i := next(taken)) < len(requests):
            path, body = requests[i]
            sent = time.monotonic()
            try:
                conn.request("POST", path, body, headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):  # counted, not fatal: the next request reconnects
                conn.close()
                status = 0
            samples[i] = (sent, time.monotonic() - sent, status)
        conn.close()

    threads = [threading.Thread(target=sender, name=f"sender-{n}") for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, time.process_time() - cpu


def send_load(url: str, load: Load, senders: int) -> tuple[list[tuple[float, float, int]], float]:
    """Run `fire` in a fresh process, apart from the emulator this process serves."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fire, url, load.requests, senders).result()


# --- processing -------------------------------------------------------------------------------------------


@dataclass
class Progress:
    """Where processing stood at the last poll of the database."""

    stored: int = 0
    unfinished: int = 0  # not decided, or decided and its Slack part (the triage card) not done
    outbox_pending: int = 0
    finished_at: float | None = None  # monotonic: every alert stored and finished
    drained_at: float | None = None  # monotonic: and nothing left in the outbox


def reader_engine(url: str) -> Engine:
    """A plain engine for polling: ircbot's SQLite engine begins IMMEDIATE and would take the write lock."""
    return create_engine(url) if make_url(url).get_backend_name() == "sqlite" else create_engine(url, pool_size=1)


def wait_processed(reader: Engine, total: int, timeout: float) -> Progress:
    """Poll until every alert is finished and the outbox is empty, or the timeout passes."""
    progress = Progress()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and progress.drained_at is None:
        with Session(reader) as session:
            progress.stored = session.exec(select(func.count()).select_from(Alert)).one()
            query = select(func.count()).select_from(Alert).where(col(Alert.done).is_(False))
            progress.unfinished = session.exec(query).one()
            pending = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
            progress.outbox_pending = session.exec(pending).one()
        now = time.monotonic()
        if progress.finished_at is None and progress.stored == total and progress.unfinished == 0:
            progress.finished_at = now
        if progress.finished_at is not None and progress.outbox_pending == 0:
            progress.drained_at = now
        time.sleep(0.2)
    return progress


def outcomes(reader: Engine) -> tuple[dict[str, int], int, int]:
    """Alerts per outcome, incidents recorded, and incidents whose channel is open."""
    with Session(reader) as session:
        rows = session.exec(select(Alert.outcome, func.count()).group_by(col(Alert.outcome))).all()
        incidents = session.exec(select(func.count()).select_from(Incident)).one()
        query = select(func.count()).select_from(Incident).where(col(Incident.channel_id).is_not(None))
        opened = session.exec(query).one()
    return {str(outcome or "pending"): int(n) for outcome, n in rows}, int(incidents), int(opened)


def decided(reader: Engine) -> int:
    """Alerts decided so far."""
    with Session(reader) as session:
        return int(session.exec(select(func.count()).select_from(Alert).where(col(Alert.outcome).is_not(None))).one())


def alert_lines(reader: Engine) -> tuple[int, int]:
    """Lines the incident channels were sent about alerts attached or cleared, and how many alerts they told of
    (a line queued before lines were batched tells of one)."""
    with Session(reader) as session:
        query = select(OutboxMessage.payload).where(OutboxMessage.kind == "alert_line")
        payloads = session.exec(query).all()
    return len(payloads), sum(int(payload.get("count", 1)) for payload in payloads)


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in kB (Linux /proc)."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


# --- run --------------------------------------------------------------------------------------------------


@dataclass
class Result:
    """Everything printed about one run."""

    load: Load
    samples: list[tuple[float, float, int]]
    client_cpu_s: float
    progress: Progress
    outcomes: dict[str, int]
    incidents: int
    opened: int
    server_cpu_s: float | None
    sending_cpu_s: float | None  # of server_cpu_s, what the bot spent while the senders sent
    decided_while_sending: int
    lines: tuple[int, int]  # channel lines about attached or cleared alerts, and the alerts they told of
    memory_before: dict[str, int]
    memory: dict[str, int]
    machine_load: tuple[float, float]  # the 1-minute load average before and after sending: others' work skews it


def alerts_config(triage_channel: str) -> dict[str, Any]:
    """alerts.yaml: critical and high declare, everything else goes to the triage channel."""
    rules = [{"when": {"severity": word}, "declare": {"severity": sev}} for word, sev in RULES.items()]
    return {"dedup_window": "1h", "triage_channel": triage_channel, "rules": rules}


def run(emu: SlackEmulator, args: argparse.Namespace, load: Load, database_url: str, workdir: Path) -> Result:
    """Serve ircbot, send the load, then wait for the bot to decide every alert and empty its outbox."""
    # roles.yaml of tests/factories: declarer_role manager, on call U0ALICE, a user the emulator knows, so the
    # rules can declare (an alert whose declarer cannot be resolved goes to triage instead).
    config = write_config(workdir / "config")
    triage = emu.add_channel("soc-triage", bot_member=True)
    (config / "alerts.yaml").write_text(yaml.safe_dump(alerts_config(triage), sort_keys=False))
    env = {**slack_env(emu), "DATABASE_URL": database_url, "IRCBOT_CONFIG_DIR": str(config)}
    env["IRCBOT_ALERT_TOKEN"] = ALERT_TOKEN
    port = free_port()
    serve = ["-m", "ircbot.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--threads", str(args.threads)]
    reader = reader_engine(database_url)
    with served("ircbot", serve, env, workdir, port) as server:
        cpu, memory_before = cpu_seconds(server.pid), memory_kb(server.pid)
        profile: Path | None = args.profile
        if profile is not None:
            profile.mkdir(parents=True, exist_ok=True)
        load_before = os.getloadavg()[0]
        with spied(server.pid, profile and profile / "ircbot-alerts-sending.txt"):
            samples, client_cpu = send_load(server.url, load, args.senders)
        sending_cpu, load_after = cpu_seconds(server.pid), os.getloadavg()[0]
        decided_while_sending = decided(reader)
        with spied(server.pid, profile and profile / "ircbot-alerts-processing.txt"):
            progress = wait_processed(reader, len(load.requests), args.timeout)
        settle_calls(emu)
        now = cpu_seconds(server.pid)
        memory = memory_kb(server.pid)
    found, incidents, opened = outcomes(reader)
    lines = alert_lines(reader)
    reader.dispose()
    server_cpu = None if cpu is None or now is None else now - cpu
    while_sending = None if cpu is None or sending_cpu is None else sending_cpu - cpu
    return Result(
        load,
        samples,
        client_cpu,
        progress,
        found,
        incidents,
        opened,
        server_cpu,
        while_sending,
        decided_while_sending,
        lines,
        memory_before,
        memory,
        (load_before, load_after),
    )


def print_result(result: Result, storm: bool, backend: str, senders: int) -> bool:
    """Print the figures beside their targets; True when every target is met."""
    samples = result.samples
    first = min(s[0] for s in samples)
    last = max(s[0] + s[1] for s in samples)
    accepted = [s for s in samples if s[2] == 202]
    window = last - first
    rate = len(accepted) / window if window > 0 else 0.0
    ms = [s[1] * 1000 for s in samples]
    p99 = percentile(ms, 99)
    print(f"{result.load.name}; {senders} senders, kept-alive connections; {backend}")
    print(f"sending window {window:.2f} s: {rate:.0f} alerts accepted/s (target >= {RATE_TARGET:g})")
    print(f"{'response time (ms)':<22}" + "".join(f"{'max' if p == 100 else f'p{p}':>9}" for p in PCTS))
    figures = "".join(f"{percentile(ms, p):>9.1f}" for p in PCTS)
    print(f"{'POST /alerts':<22}{figures}   (target p99 < {P99_TARGET_MS:g})")
    refused = len(samples) - len(accepted)
    statuses = sorted({s[2] for s in samples if s[2] != 202})
    print(f"non-202 answers: {refused}" + (f" (statuses {statuses}; 0 = no answer)" if refused else ""))
    progress = result.progress
    if progress.finished_at is None:
        print(f"processing NOT finished: {progress.stored} stored, {progress.unfinished} unfinished")
    else:
        took = progress.finished_at - first
        print(
            f"processing: every alert decided and finished {took:.1f} s after the first send "
            f"({progress.finished_at - last:.1f} s after the last answer; {len(samples) / took:.0f} alerts/s overall)"
        )
    if progress.drained_at is not None:
        print(f"outbox (alert lines, pages) empty {progress.drained_at - first:.1f} s after the first send")
    else:
        print(f"outbox NOT empty: {progress.outbox_pending} messages pending")
    print("outcomes: " + ", ".join(f"{name} {n}" for name, n in sorted(result.outcomes.items())))
    print(f"decided while the senders sent: {result.decided_while_sending}")
    lines, told = result.lines
    print(f"incident channels told of {told} attached or cleared alerts in {lines} lines")
    expected = result.load.expected_incidents
    what = "storm" if storm else "incidents"
    print(f"{what}: {result.incidents} incidents created ({result.opened} with a channel), expected {expected}")
    cpu = "n/a" if result.server_cpu_s is None else f"{result.server_cpu_s:.1f} s"
    sending = "" if result.sending_cpu_s is None else f" ({result.sending_cpu_s:.1f} s of it while sending)"
    print(f"CPU: bot {cpu}{sending}, senders {result.client_cpu_s:.1f} s")
    before, after = result.machine_load
    print(f"machine load average (1 min, {os.cpu_count()} CPUs): {before:.1f} before sending, {after:.1f} after")
    idle, after = result.memory_before.get("VmRSS", 0) // 1024, result.memory.get("VmRSS", 0) // 1024
    peak = result.memory.get("VmHWM", 0) // 1024
    print(f"bot memory: VmRSS {idle} MB before sending, {after} MB after processing, peak VmHWM {peak} MB")
    checks = [
        (f">= {RATE_TARGET:g} alerts/s accepted", rate >= RATE_TARGET, f"{rate:.0f}/s"),
        (f"p99 < {P99_TARGET_MS:g} ms", p99 < P99_TARGET_MS, f"{p99:.1f} ms"),
        ("every alert accepted", refused == 0, f"{refused} non-202"),
        ("processing finished", progress.finished_at is not None, f"{progress.unfinished} unfinished"),
        ("storm = 1 incident" if storm else "incidents == expected", result.incidents == expected, ""),
    ]
    for name, ok, figure in checks:
        print(f"target: {name} -> {figure + ' -> ' if figure else ''}{'PASS' if ok else 'FAIL'}")
    return all(ok for _, ok, _ in checks)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=10_000, help="alerts to send, one per request (10,000)")
    parser.add_argument("--senders", type=int, default=20, help="concurrent senders (default 20)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL; a fresh database is made beside it")
    parser.add_argument("--storm", action="store_true", help="every alert into one group: one incident")
    parser.add_argument("--threads", type=int, default=16, help="waitress threads of the bot (default 16)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for processing (900)")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="write py-spy samples (collapsed stacks) of ircbot's process while sending and while processing into "
        "DIR (needs `.venv/bin/pip install py-spy`; the sampling costs some CPU, so the figures read worse)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one shape and print its figures; exit 1 when a target is missed."""
    args = parse_args(argv)
    started = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    load = storm_load(args.alerts, started) if args.storm else mixed_load(args.alerts, started)
    emu = SlackEmulator()
    emu.start()
    populate(emu)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="ircbot-bench-") as tmp,
            fresh_database(args.database_url, Path(tmp)) as db,
        ):
            result = run(emu, args, load, db, Path(tmp))
            backend = make_url(db).get_backend_name()
    finally:
        emu.stop()
    ok = print_result(result, args.storm, backend, args.senders)
    if emu.violations:
        print(f"emulator saw {len(emu.violations)} bad Web API calls, e.g. {emu.violations[:3]}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
