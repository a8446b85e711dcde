"""The command line as operators meet it: it says what it read, reports every problem, and never shows a traceback."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from sqlalchemy import inspect, text

from ircbot.emulator import SlackEmulator
from ircbot.settings import Settings, variable_name
from ircbot.store.db import Database
from tests.conftest import Harness, serve_environment
from tests.databases import PG_USER, copy_sqlite
from tests.factories import ALICE, ONCALL_GROUP, write_config
from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[1]
UNREACHABLE = "postgresql://postgres:hunter2@127.0.0.1:1/test"
READ_ONLY = [("stats",), ("postmortem", "INC-1"), ("verify", "--all"), ("export", "INC-1", "--csv", "iocs.csv")]


def ircbot(*args: str, cwd: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    """`ircbot …` in its own process, with the test's clean environment plus `env`."""
    try:
        return subprocess.run(
            [sys.executable, "-m", "ircbot.cli", *args],
            cwd=cwd,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"`ircbot {' '.join(args)}` did not exit: {exc.stderr!r}") from exc


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stdout + done.stderr, done.stderr


def tables(url: str) -> list[str]:
    database = Database(url)
    try:
        return inspect(database.engine).get_table_names()
    finally:
        database.dispose()


# --- --version and --help ----------------------------------------------------------------------------------------


def test_version_is_the_installed_distributions(tmp_path: Path) -> None:
    (distribution,) = metadata.packages_distributions()["ircbot"]
    done = ircbot("--version", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"ircbot {metadata.version(distribution)}\n"


def test_help_lists_every_environment_variable_and_shows_defaults(tmp_path: Path) -> None:
    top = ircbot("--help", cwd=tmp_path)
    assert top.returncode == 0, top.stderr
    for name in Settings.model_fields:
        assert re.search(rf"^  {variable_name(name)} +\S", top.stdout, re.MULTILINE), variable_name(name)
    assert "(default: sqlite:///ircbot.db)" in top.stdout
    serve = ircbot("serve", "--help", cwd=tmp_path)
    assert "(default: 3000)" in serve.stdout and "--allow-example-config" in serve.stdout
    stats = ircbot("stats", "--help", cwd=tmp_path)
    assert "(default: 90d)" in stats.stdout and "(default: None)" not in stats.stdout


# --- check-config ------------------------------------------------------------------------------------------------


def test_check_config_names_each_file_it_read_and_the_shipped_examples(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config")
    (folder / "escalation.yaml").unlink()
    done = ircbot("check-config", cwd=tmp_path, IRCBOT_CONFIG_DIR=str(folder))
    assert done.returncode == 0, done.stderr
    assert f"  roles.yaml: {folder / 'roles.yaml'}\n" in done.stdout
    assert f"  escalation.yaml: {ROOT / 'escalation.yaml'} (the shipped example" in done.stdout
    assert f"warning: escalation.yaml: the shipped example ({ROOT / 'escalation.yaml'}) is in use" in done.stderr
    assert "--allow-example-config" in done.stderr and "roles.yaml: the shipped" not in done.stderr


def test_check_config_refuses_a_config_folder_that_does_not_exist(tmp_path: Path) -> None:
    done = ircbot("check-config", cwd=tmp_path, IRCBOT_CONFIG_DIR="confg")
    assert done.returncode == 2, done.stdout
    assert f"IRCBOT_CONFIG_DIR=confg ({tmp_path / 'confg'}) does not exist" in done.stderr
    assert "OK" not in done.stdout and "playbooks/" not in done.stdout


def test_check_config_reports_the_environment_and_every_file_in_one_run(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config")
    roles = (folder / "roles.yaml").read_text().replace("- U0CAROL", "- carol")
    (folder / "roles.yaml").write_text(roles)
    escalation = (folder / "escalation.yaml").read_text().replace("after: 10m", "after: soon")
    (folder / "escalation.yaml").write_text(escalation.replace("role:analyst", "role:wizard"))
    done = ircbot(
        "check-config",
        cwd=tmp_path,
        IRCBOT_CONFIG_DIR=str(folder),
        IRCBOT_TIMEZONE="Mars/Olympus",
        IRCBOT_LOG_FORMAT="xml",
        SMTP_URL="http://mail.example.com",
        DATABASE_URL="nosuchdb://u:hunter2@host/db",
    )
    assert done.returncode == 2, done.stdout
    no_traceback(done)
    assert "IRCBOT_TIMEZONE='Mars/Olympus': unknown time zone; write e.g. UTC or Europe/Berlin" in done.stderr
    assert "IRCBOT_LOG_FORMAT='xml': Input should be 'text' or 'json'" in done.stderr
    assert "SMTP_URL: scheme 'http' is not smtp or smtps" in done.stderr
    assert "DATABASE_URL='nosuchdb://u:***@host/db': SQLAlchemy knows no such database" in done.stderr
    assert "hunter2" not in done.stderr
    assert f"{folder / 'roles.yaml'}:" in done.stderr and "'carol' is neither a Slack user id" in done.stderr
    assert "severities.sev1.tiers.1.after: 'soon' is not a duration" in done.stderr
    assert "role 'wizard' is not in roles.yaml" in done.stderr


# --- serve and the shipped examples -------------------------------------------------------------------------------


def test_serve_refuses_the_shipped_examples_naming_the_files_and_the_way_out(
    emulator: SlackEmulator, database_url: str, tmp_path: Path
) -> None:
    env = serve_environment(emulator, database_url, tmp_path)  # an empty folder: every file is shipped
    done = subprocess.run(
        [sys.executable, "-m", "ircbot.cli", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    no_traceback(done)
    assert f"roles.yaml: the shipped example ({ROOT / 'roles.yaml'}) is in use" in done.stderr
    assert "U0MANAGER1" in done.stderr
    assert f"escalation.yaml: the shipped example ({ROOT / 'escalation.yaml'})" in done.stderr
    assert "or pass --allow-example-config to try the bot with them" in done.stderr
    assert emulator.calls_to("auth.test") == [], "refused before anything was built"


def test_serve_refuses_placeholders_copied_into_your_own_roles_yaml(
    emulator: SlackEmulator, database_url: str, config_dir: Path, tmp_path: Path
) -> None:
    roles = (config_dir / "roles.yaml").read_text().replace("- U0CAROL", "- U0LEGAL001")
    (config_dir / "roles.yaml").write_text(roles)
    line = next(n for n, text in enumerate(roles.splitlines(), 1) if "U0LEGAL001" in text)
    done = ircbot(
        "serve", "--port", str(free_port()), cwd=tmp_path, **serve_environment(emulator, database_url, config_dir)
    )
    assert done.returncode == 2, done.stderr
    assert (
        f"{config_dir / 'roles.yaml'}:{line}: roles.legal.oncall.0: 'U0LEGAL001' is a placeholder of the shipped "
        "example: replace it with your own"
    ) in done.stderr


def test_serve_refuses_a_config_folder_that_does_not_exist(
    emulator: SlackEmulator, database_url: str, tmp_path: Path
) -> None:
    env = serve_environment(emulator, database_url, tmp_path / "missing")
    done = ircbot("serve", "--port", str(free_port()), cwd=tmp_path, **env)
    assert done.returncode == 2 and f"IRCBOT_CONFIG_DIR={tmp_path / 'missing'} does not exist" in done.stderr


@pytest.mark.slow
def test_serve_with_allow_example_config_starts_and_warns(
    emulator: SlackEmulator, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    command = [sys.executable, "-m", "ircbot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    env = serve_environment(emulator, database_url, tmp_path)
    process = subprocess.Popen(
        [*command, "--allow-example-config"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        assert process.poll() is None, "serve exited"
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=15)
    assert "WARNING ircbot: example config: roles.yaml: the shipped example" in out.decode()


# --- commands that only read the database ------------------------------------------------------------------------


@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: c[0])
def test_a_read_only_command_never_creates_a_database(command: tuple[str, ...], tmp_path: Path) -> None:
    done = ircbot(*command, cwd=tmp_path, DATABASE_URL="sqlite:///ircbot.db")
    assert done.returncode == 1, done.stdout
    no_traceback(done)
    assert done.stderr.startswith(f"ircbot: no database at {tmp_path / 'ircbot.db'} (DATABASE_URL=sqlite:///ircbot.db)")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: c[0])
def test_a_read_only_command_never_migrates(command: tuple[str, ...], empty_database_url: str, tmp_path: Path) -> None:
    if empty_database_url.startswith("sqlite:///"):
        sqlite3.connect(empty_database_url.removeprefix("sqlite:///")).close()  # an empty file
    done = ircbot(*command, cwd=tmp_path, DATABASE_URL=empty_database_url)
    assert done.returncode == 1, done.stdout
    no_traceback(done)
    assert "has no ircbot schema: run `ircbot migrate` to create it" in done.stderr
    assert tables(empty_database_url) == []


def test_a_schema_this_ircbot_does_not_know_is_named(database_url: str, tmp_path: Path) -> None:
    database = Database(database_url)
    try:
        with database.transaction() as session:
            session.connection().execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    finally:
        database.dispose()
    done = ircbot("stats", cwd=tmp_path, DATABASE_URL=database_url)
    assert done.returncode == 1
    assert "is at schema 9999_future, which this ircbot does not know: a newer ircbot migrated it" in done.stderr


def test_a_read_only_command_says_which_database_it_reads(sqlite_template: Path, tmp_path: Path) -> None:
    copy_sqlite(sqlite_template, tmp_path / "ircbot.db")
    done = ircbot("stats", cwd=tmp_path, DATABASE_URL="sqlite:///ircbot.db")
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"database: sqlite:///{tmp_path / 'ircbot.db'}\n"
    assert "No incidents in this period." in done.stdout


@pytest.mark.parametrize("command", [("migrate",), ("stats",), ("postmortem", "INC-1"), ("verify", "INC-1")])
def test_an_unreachable_database_is_one_line_naming_host_and_port(command: tuple[str, ...], tmp_path: Path) -> None:
    done = ircbot(*command, cwd=tmp_path, DATABASE_URL=UNREACHABLE)
    assert done.returncode == 1, done.stdout
    assert done.stderr == (
        "ircbot: cannot reach the database at 127.0.0.1:1: Connection refused "
        "(DATABASE_URL=postgresql+psycopg://postgres:***@127.0.0.1:1/test)\n"
    )


def test_serve_with_an_unreachable_database_is_one_line(
    emulator: SlackEmulator, config_dir: Path, tmp_path: Path
) -> None:
    env = serve_environment(emulator, UNREACHABLE, config_dir)
    done = ircbot("serve", "--port", str(free_port()), cwd=tmp_path, **env)
    assert done.returncode == 1, done.stderr
    no_traceback(done)
    assert done.stderr.endswith(
        "ircbot: cannot reach the database at 127.0.0.1:1: Connection refused "
        "(DATABASE_URL=postgresql+psycopg://postgres:***@127.0.0.1:1/test)\n"
    )


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgres_and_postgresql_urls_mean_psycopg(scheme: str, postgres_database_url: str, tmp_path: Path) -> None:
    assert PG_USER is not None
    url = postgres_database_url.replace(f"postgresql+psycopg://{PG_USER}@", f"{scheme}://{PG_USER}:hunter2@")
    done = ircbot("stats", "--json", cwd=tmp_path, DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(f"database: postgresql+psycopg://{PG_USER}:***@"), done.stderr
    assert "hunter2" not in done.stderr
    assert ircbot("migrate", cwd=tmp_path, DATABASE_URL=url).returncode == 0


def test_postmortem_without_a_token_prints_the_stored_copy(harness: Harness, tmp_path: Path) -> None:
    _, channel = harness.declare("Lost laptop sev4")
    harness.slash("resolve Found in a taxi", channel=channel)
    (upload,) = harness.emulator.files.values()
    harness.declare("Phishing wave sev3")
    url = str(harness.bot.settings.database_url)

    stored = ircbot("postmortem", "INC-1", cwd=tmp_path, DATABASE_URL=url)
    assert stored.returncode == 0, stored.stderr
    assert stored.stdout == upload["content"].decode()
    again = ircbot("postmortem", "INC-1", "--recompile", cwd=tmp_path, DATABASE_URL=url)
    assert again.returncode == 1 and "--recompile reads INC-1's channel from Slack: set SLACK_BOT_TOKEN" in again.stderr
    never = ircbot("postmortem", "INC-2", cwd=tmp_path, DATABASE_URL=url)
    assert never.returncode == 1 and "INC-2 has no compiled postmortem yet" in never.stderr
    no_traceback(never)


# --- nothing unexpected shows a traceback -------------------------------------------------------------------------


def test_an_unexpected_error_is_one_line_and_its_traceback_is_logged_at_debug(
    sqlite_template: Path, tmp_path: Path
) -> None:
    database = copy_sqlite(sqlite_template, tmp_path / "ircbot.db")
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TABLE incident")
    done = ircbot("verify", "--all", cwd=tmp_path, DATABASE_URL=f"sqlite:///{database}")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[-1].startswith("ircbot: unexpected error: OperationalError: (sqlite3.OperationalError) no such table")
    assert lines[-1].endswith("(IRCBOT_LOG_LEVEL=DEBUG logs the traceback)")
    no_traceback(done)
    debug = ircbot("verify", "--all", cwd=tmp_path, DATABASE_URL=f"sqlite:///{database}", IRCBOT_LOG_LEVEL="DEBUG")
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_a_file_that_cannot_be_written_is_one_line(sqlite_template: Path, tmp_path: Path) -> None:
    database = copy_sqlite(sqlite_template, tmp_path / "ircbot.db")
    target = tmp_path / "missing" / "chart.png"
    done = ircbot("stats", "--chart", str(target), cwd=tmp_path, DATABASE_URL=f"sqlite:///{database}")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == f"ircbot: {target}: No such file or directory"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_ctrl_c_is_one_line(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config")
    (folder / "roles.yaml").unlink()
    os.mkfifo(folder / "roles.yaml")  # reading it waits for a writer: the command is busy until interrupted
    process = subprocess.Popen(
        [sys.executable, "-m", "ircbot.cli", "check-config"],
        cwd=tmp_path,
        env={**os.environ, "IRCBOT_CONFIG_DIR": str(folder)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    writer = None
    try:
        deadline = time.monotonic() + 30
        while writer is None and time.monotonic() < deadline and process.poll() is None:
            try:
                writer = os.open(folder / "roles.yaml", os.O_WRONLY | os.O_NONBLOCK)  # succeeds once it reads
            except OSError:
                time.sleep(0.05)
        assert writer is not None, "check-config never opened roles.yaml"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if writer is not None:
            os.close(writer)
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 1
    assert err.splitlines()[-1] == "ircbot: interrupted" and "Traceback" not in err


# --- check-config --slack ----------------------------------------------------------------------------------------


def test_check_config_slack_names_the_ids_the_workspace_lacks(
    emulator: SlackEmulator, database_url: str, config_dir: Path, tmp_path: Path
) -> None:
    updates = emulator.add_channel("sec-updates", members=[ALICE])
    hidden = emulator.add_channel("legal-only", is_private=True, members=[ALICE])
    inside = emulator.add_channel("soc-private", is_private=True, members=[ALICE], bot_member=True)
    roles = yaml.safe_load((config_dir / "roles.yaml").read_text())
    roles["roles"]["analyst"]["oncall"] = ["bob@example.com", "U0GHOST"]
    (config_dir / "roles.yaml").write_text(yaml.safe_dump(roles, sort_keys=False))
    escalation = yaml.safe_load((config_dir / "escalation.yaml").read_text())
    sev1 = escalation["severities"]["sev1"]
    sev1["tiers"][1]["notify"] += ["group:S0NOBODY", "user:U0GHOST"]
    sev1["updates"] = {"channel": updates}
    escalation["severities"]["sev2"]["updates"] = {"channel": "C0MISSING"}
    escalation["severities"]["sev3"]["updates"] = {"channel": hidden}
    escalation["audiences"] = {"staff": {"title": "Staff", "channel": "#soc-private"}}
    (config_dir / "escalation.yaml").write_text(yaml.safe_dump(escalation, sort_keys=False))
    env = serve_environment(emulator, database_url, config_dir)

    done = ircbot("check-config", "--slack", cwd=tmp_path, **env)

    assert done.returncode == 2, done.stdout
    no_traceback(done)
    problems = done.stderr.split("Slack problems:\n", 1)[1]
    assert f"{config_dir / 'roles.yaml'}:" in problems and "roles.analyst.oncall.1: U0GHOST: no such user" in problems
    assert "severities.sev1.tiers.1.notify.3: U0GHOST: no such user in the workspace" in problems
    assert "severities.sev1.tiers.1.notify.2: S0NOBODY: no such user group" in problems
    assert "severities.sev2.updates.channel: C0MISSING: no such channel, or a private one the bot is not in" in problems
    assert f"severities.sev3.updates.channel: {hidden}: no such channel" in problems
    for present in (ALICE, ONCALL_GROUP, updates, inside, "#soc-private"):
        assert f": {present}:" not in problems, present
    assert len(problems.splitlines()) == 5, problems


def test_check_config_slack_passes_when_every_id_exists(
    emulator: SlackEmulator, database_url: str, config_dir: Path, tmp_path: Path
) -> None:
    done = ircbot("check-config", "--slack", cwd=tmp_path, **serve_environment(emulator, database_url, config_dir))
    assert done.returncode == 0, done.stderr
    assert "Slack: 3 users, 1 user groups and 0 channels checked in Emulator Workspace" in done.stdout
    assert emulator.calls_to("usergroups.users.list")


def test_check_config_slack_needs_the_bot_token(config_dir: Path, tmp_path: Path) -> None:
    done = ircbot("check-config", "--slack", cwd=tmp_path, IRCBOT_CONFIG_DIR=str(config_dir))
    assert done.returncode == 2
    assert "--slack asks the workspace with the bot's token: set SLACK_BOT_TOKEN" in done.stderr
