"""A real Prometheus Alertmanager (Debian's package) sends its webhook to a real `ircbot serve`."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from sqlalchemy import create_engine
from sqlmodel import Session, col, select

from ircbot.emulator import SlackEmulator
from ircbot.store.models import Alert, Incident, TimelineEvent
from tests.conftest import ALERT_TOKEN, serve_environment
from tests.factories import write_config
from tests.missing import missing
from tests.processes import ServeProcess, free_port, stop_process

pytestmark = pytest.mark.slow

BINARIES = ("prometheus-alertmanager", "alertmanager")  # Debian's name, then upstream's
CRITICAL_DECLARES = {"rules": [{"when": {"severity": "critical"}, "declare": {"severity": "sev1"}}]}
HOSTS = ("fs01", "fs02", "fs03")
T = TypeVar("T")


@pytest.fixture(scope="module")
def alertmanager_binary() -> str:
    """The Alertmanager binary; without one the test fails, saying how to get it."""
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    missing(
        "NO REAL ALERTMANAGER: prometheus-alertmanager is not installed, so the Alertmanager test cannot run. "
        "Install it with `apt-get update && apt-get install -y prometheus-alertmanager` (.ci/run does this)."
    )


class AlertmanagerProcess:
    """Alertmanager on 127.0.0.1, clustering off, one webhook receiver: the bot, with its bearer token."""

    def __init__(self, binary: str, folder: Path, webhook_url: str, token: str):
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            "route": {
                "receiver": "ircbot",
                "group_by": ["alertname"],
                "group_wait": "200ms",
                "group_interval": "500ms",
                "repeat_interval": "1h",
            },
            "receivers": [
                {
                    "name": "ircbot",
                    "webhook_configs": [
                        {
                            "url": webhook_url,
                            "send_resolved": True,
                            "http_config": {"authorization": {"type": "Bearer", "credentials": token}},
                        }
                    ],
                }
            ],
        }
        (folder / "alertmanager.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "alertmanager.log"
        command = [
            binary,
            f"--config.file={folder / 'alertmanager.yml'}",
            f"--storage.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
        ]
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"alertmanager exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"alertmanager did not become ready:\n{self.log.read_text()}")

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """Feed alerts through Alertmanager's own API, as Prometheus does."""
        request = urllib.request.Request(
            f"{self.url}/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, response.read()

    def stop(self) -> None:
        stop_process(self.process)


def prometheus_alert(host: str, starts: datetime, ends: datetime | None = None) -> dict[str, Any]:
    """One alert of the `FileServerEncrypting` group, as Prometheus posts it."""
    alert: dict[str, Any] = {
        "labels": {"alertname": "FileServerEncrypting", "severity": "critical", "instance": host},
        "annotations": {"summary": f"Mass file renames on {host}"},
        "startsAt": starts.isoformat(),
    }
    if ends is not None:
        alert["endsAt"] = ends.isoformat()
    return alert


def wait_until(probe: Callable[[], T], what: str, timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not in {timeout:.0f} s: {what}")


@pytest.fixture
def bot(
    emulator: SlackEmulator, database_url: str, tmp_path: Path, serving: list[ServeProcess]
) -> Iterator[ServeProcess]:
    """`ircbot serve` with the alert token and a rule that declares critical alerts."""
    folder = write_config(tmp_path / "config")
    (folder / "alerts.yaml").write_text(yaml.safe_dump(CRITICAL_DECLARES, sort_keys=False))
    process = ServeProcess({**serve_environment(emulator, database_url, folder), "IRCBOT_ALERT_TOKEN": ALERT_TOKEN})
    serving.append(process)
    process.wait_healthy()
    yield process


@pytest.fixture
def alertmanager(alertmanager_binary: str, bot: ServeProcess, tmp_path: Path) -> Iterator[AlertmanagerProcess]:
    manager = AlertmanagerProcess(
        alertmanager_binary, tmp_path / "alertmanager", f"{bot.url}/alerts/alertmanager", ALERT_TOKEN
    )
    try:
        manager.wait_ready()
        yield manager
    finally:
        manager.stop()


def test_a_group_from_alertmanager_is_one_incident_and_a_resolved_alert_is_noted(
    alertmanager: AlertmanagerProcess, emulator: SlackEmulator, database_url: str
) -> None:
    engine = create_engine(database_url)

    def read(query: Any) -> list[Any]:
        with Session(engine) as session:
            return list(session.exec(query).all())

    started = datetime.now(UTC) - timedelta(minutes=5)
    try:
        alertmanager.post_alerts([prometheus_alert(host, started) for host in HOSTS])

        attached = wait_until(
            lambda: {a.labels["instance"] for a in read(select(Alert)) if a.incident_id is not None} >= set(HOSTS),
            "the three alerts of the group feed an incident",
        )
        assert attached
        incidents = read(select(Incident))
        assert len(incidents) == 1, [i.title for i in incidents]
        opened = incidents[0]
        assert opened.severity == "sev1" and opened.channel_id is not None
        assert {a.incident_id for a in read(select(Alert)) if a.incident_id is not None} == {opened.id}
        alert_events = read(select(TimelineEvent).where(TimelineEvent.kind == "alert"))
        assert sorted(e.data["title"] for e in alert_events) == [f"Mass file renames on {host}" for host in HOSTS]

        alertmanager.post_alerts([prometheus_alert("fs02", started, ends=datetime.now(UTC) - timedelta(seconds=1))])

        resolved = wait_until(
            lambda: read(select(TimelineEvent).where(TimelineEvent.kind == "alert_resolved")),
            "the resolved alert is in the timeline",
        )
        assert [e.data["title"] for e in resolved] == ["Mass file renames on fs02"]
        channel = opened.channel_id
        wait_until(
            lambda: any("says this alert cleared" in emulator.message_text(m) for m in emulator.messages(channel)),
            "the channel is told the alert cleared",
        )
        assert len(read(select(Incident))) == 1
        assert read(select(Incident))[0].status == "open"
        assert all(a.incident_id == opened.id for a in read(select(Alert).order_by(col(Alert.id))))
    finally:
        engine.dispose()
