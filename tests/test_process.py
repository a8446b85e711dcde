"""The real `ircbot` command in its own process: serve, survive kill -9, demo."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ircbot.emulator import SlackDriver, SlackEmulator
from ircbot.store import queries
from ircbot.store.db import Database
from tests.conftest import SIGNING_SECRET, serve_environment
from tests.factories import ALICE, BOB
from tests.processes import ServeProcess, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def serve_env(emulator: SlackEmulator, database_url: str, config_dir: Path) -> dict[str, str]:
    return serve_environment(emulator, database_url, config_dir)


def snapshot(database_url: str) -> dict[str, object]:
    """Everything about INC-1 that must survive a crash."""
    db = Database(database_url)
    try:
        with db.transaction() as session:
            incident = queries.incident_by_number(session=session, number=1)
            assert incident is not None and incident.id is not None
            return {
                "incident": (incident.title, incident.severity, incident.stage, incident.channel_id, incident.status),
                "roles": sorted(
                    (a.role, a.user_id) for a in queries.active_roles(session=session, incident_id=incident.id)
                ),
                "checked": sorted(
                    (i.stage, i.position, i.checked_by)
                    for i in queries.checklist(session=session, incident_id=incident.id)
                    if i.checked_by
                ),
                "timeline": [(e.kind, e.text) for e in queries.timeline(session=session, incident_id=incident.id)],
            }
    finally:
        db.dispose()


def test_everything_survives_kill_9_and_the_restarted_bot_carries_on(
    emulator: SlackEmulator, config_dir: Path, serving: list[ServeProcess], empty_database_url: str
) -> None:
    database_url = empty_database_url  # the first start migrates it, as on a first deployment
    serve_env = serve_environment(emulator, database_url, config_dir)
    first = ServeProcess(serve_env)
    serving.append(first)
    first.wait_healthy()
    driver = SlackDriver(f"{first.url}/slack/events", SIGNING_SECRET, emulator)
    general = emulator.add_channel("soc", members=[ALICE, BOB])
    declared = driver.slash(ALICE, general, "declare Ransomware on FS01 sev1")
    channel = emulator.channels()[-1]["id"]
    assert "INC-1" in declared.text
    driver.slash(ALICE, channel, f"assign analyst <@{BOB}|bob>")
    driver.slash(BOB, channel, "check 1")
    driver.slash(BOB, channel, "note Encrypted shares found on FS01")
    driver.slash(ALICE, channel, "stage next --force")
    before = snapshot(database_url)

    first.kill_hard()
    assert first.process.returncode == -signal.SIGKILL

    second = ServeProcess(serve_env)
    serving.append(second)
    second.wait_healthy()
    assert snapshot(database_url) == before

    driver = SlackDriver(f"{second.url}/slack/events", SIGNING_SECRET, emulator)
    status = driver.slash(ALICE, channel, "status").text
    assert "Analysis" in status and f"*Security analyst*: <@{BOB}>" in status
    driver.slash(ALICE, channel, "resolve Restored from backups")
    (upload,) = emulator.files.values()
    assert "Encrypted shares found on FS01" in upload["content"].decode()


def test_serve_refuses_to_start_without_its_secrets(serve_env: dict[str, str]) -> None:
    env = {k: v for k, v in serve_env.items() if k != "SLACK_SIGNING_SECRET"}
    done = subprocess.run(
        [sys.executable, "-m", "ircbot.cli", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "SLACK_SIGNING_SECRET" in done.stderr


def test_demo_runs_a_whole_incident_and_writes_the_postmortem(tmp_path: Path) -> None:
    output = tmp_path / "postmortem.md"
    done = subprocess.run(
        [sys.executable, "-m", "ircbot.cli", "demo", "-o", str(output), "--keep", str(tmp_path / "kept")],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert done.stderr == "" and not re.search(r"\b(INFO|WARNING|ERROR|Traceback)\b", out), "no log lines"
    assert out.count("=== #inc-1-") == 1, "the incident channel is shown once"
    for seen in (
        "Dismissed as a false positive by @bob: Scheduled scan",  # triage, with the Dismiss form
        "Declared as INC-1 by @bob",
        "Acknowledged by @alice",  # the page DM
        "@bob is now *Security analyst*",
        "*EV-1* registered",
        "D-1 APPROVED",
        "recorded containment at",
        "recorded downtime of *FS01*",
        "started the GDPR Art. 33",
        "*Status update",
        "No status update for INC-1",  # a reminder
        "=== #leadership ===",
        "Approved and sent by @alice",  # notify with Send
        "Open incidents (1)",  # App Home
        "*Indicators (1)*",
        "Incident metrics since",
        "Timeline sealed at event",
    ):
        assert seen in out, seen
    database = tmp_path / "kept" / "ircbot.db"
    assert database.exists() and f"DATABASE_URL=sqlite:///{database} ircbot postmortem INC-1" in out
    verified = subprocess.run(
        [sys.executable, "-m", "ircbot.cli", "verify", "INC-1"],
        env={**os.environ, "DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0 and "INC-1: intact" in verified.stdout, verified.stderr
    markdown = output.read_text()
    assert markdown.startswith("# Postmortem INC-1: Ransomware behaviour on FS01")
    metrics = markdown.split("## Response metrics", 1)[1].split("## Roles", 1)[0]
    for name in ("MTTA", "MTTC", "MTTR"):
        row = next(line for line in metrics.splitlines() if line.startswith(f"| {name}"))
        assert "| — |" not in row and "| 0s |" not in row, row


def test_socket_mode_refuses_to_start_without_an_app_token(serve_env: dict[str, str]) -> None:
    env = {k: v for k, v in serve_env.items() if k != "SLACK_APP_TOKEN"}
    done = subprocess.run(
        [sys.executable, "-m", "ircbot.cli", "serve", "--socket-mode"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "SLACK_APP_TOKEN" in done.stderr
