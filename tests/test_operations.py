"""What an operator sees of `ircbot serve`: its start-up lines, its logs, its token check and /metrics."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from datetime import timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from ircbot.emulator import SlackEmulator
from tests.conftest import Harness, serve_environment
from tests.processes import ServeProcess, free_port


def output_of(bot: ServeProcess) -> str:
    """Stop the bot and return everything it wrote."""
    bot.process.terminate()
    out, _ = bot.process.communicate(timeout=15)
    return out.decode()


def test_serve_says_what_it_loaded_in_one_line_per_fact_and_nothing_noisy(
    emulator: SlackEmulator, database_url: str, config_dir: Path, serving: list[ServeProcess]
) -> None:
    bot = ServeProcess(serve_environment(emulator, database_url, config_dir))
    serving.append(bot)
    bot.wait_healthy()

    lines = output_of(bot).splitlines()

    facts = "\n".join(lines)
    assert "Slack: bot @" in facts and "in workspace" in facts
    assert f"config file roles.yaml: {config_dir / 'roles.yaml'}" in facts
    assert "config file playbooks/default.yaml:" in facts and "the shipped example" in facts
    assert "database: " in facts and "mode: HTTP on 127.0.0.1:" in facts and "policies: " in facts
    assert not [line for line in lines if "apscheduler" in line or "WARNING" in line], facts


def test_json_logs_are_one_object_per_line(
    emulator: SlackEmulator, database_url: str, config_dir: Path, serving: list[ServeProcess]
) -> None:
    bot = ServeProcess({**serve_environment(emulator, database_url, config_dir), "IRCBOT_LOG_FORMAT": "json"})
    serving.append(bot)
    bot.wait_healthy()

    entries = [json.loads(line) for line in output_of(bot).splitlines() if line.strip()]

    assert entries and {"time", "level", "logger", "message"} <= set(entries[0])
    assert any(e["message"].startswith("database: ") for e in entries)


def test_a_token_slack_refuses_stops_the_start_with_a_clear_error(
    emulator: SlackEmulator, database_url: str, config_dir: Path
) -> None:
    env = {**serve_environment(emulator, database_url, config_dir), "SLACK_BOT_TOKEN": "xoxb-revoked-0000"}
    done = subprocess.run(
        [sys.executable, "-m", "ircbot.cli", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "SLACK_BOT_TOKEN was refused by Slack (invalid_auth)" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_a_mistyped_log_setting_is_named(emulator: SlackEmulator, database_url: str, config_dir: Path) -> None:
    env = {**serve_environment(emulator, database_url, config_dir), "IRCBOT_LOG_LEVEL": "loud"}
    done = subprocess.run(
        [sys.executable, "-m", "ircbot.cli", "check-config"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "IRCBOT_LOG_LEVEL='LOUD': Input should be 'DEBUG'" in done.stderr
    assert "Traceback" not in done.stderr


def metrics(h: Harness) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics as Prometheus reads it: (sample name, labels) -> value."""
    with urllib.request.urlopen(f"{h.server.url}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_commands_acks_api_calls_and_the_backlog(harness: Harness) -> None:
    _, channel = harness.declare("Ransomware on FS01 sev1")
    harness.slash("severity sev9", channel=channel)
    command = "ircbot_slack_requests_total"
    refused = (command, (("kind", "command"), ("name", "severity"), ("outcome", "refused")))

    seen = harness.wait_for(lambda: (found := metrics(harness)).get(refused) and found)

    assert seen[(command, (("kind", "command"), ("name", "declare"), ("outcome", "ok")))] == 1
    assert seen[("ircbot_ack_seconds_count", (("kind", "command"),))] == 2
    assert seen[("ircbot_slack_api_calls_total", (("method", "conversations.create"), ("outcome", "ok")))] == 1
    assert seen[("ircbot_escalation_steps_pending", ())] >= 1, "sev1's later tiers wait to fire"
    assert ("ircbot_socket_mode_connected", ()) not in seen, "HTTP mode has no socket"

    harness.emulator.go_down()
    try:
        harness.run_timers()  # tier 0 fires; Slack cannot be reached, so its page waits in the outbox
        harness.clock.advance_to(harness.clock.peek() + timedelta(seconds=30))
        backlog = metrics(harness)
    finally:
        harness.emulator.come_back()
    assert backlog[("ircbot_outbox_pending", ())] >= 1
    assert backlog[("ircbot_outbox_oldest_pending_seconds", ())] >= 30
    assert backlog[("ircbot_pages_undelivered", ())] >= 1
    assert (
        backlog[("ircbot_slack_api_calls_total", (("method", "chat.postMessage"), ("outcome", "connection_error")))]
        >= 1
    )


def test_sigterm_stops_serve_cleanly_and_soon(
    emulator: SlackEmulator, database_url: str, config_dir: Path, serving: list[ServeProcess]
) -> None:
    bot = ServeProcess(serve_environment(emulator, database_url, config_dir))
    serving.append(bot)
    bot.wait_healthy()

    bot.process.send_signal(signal.SIGTERM)
    out, _ = bot.process.communicate(timeout=10)

    assert bot.process.returncode == 0, out.decode()
    assert "stopping: finishing the work already acknowledged" in out.decode()
