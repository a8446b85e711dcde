"""What a distribution promises besides the code: the licence, the project files, the name, and a light base install.

The base install leaves out the `charts` and `postgres` extras; the tests that start a Python without them
hide those packages from the import system in a child process, as an install without them would.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from sqlmodel import SQLModel

import ircbot.store.models
import ircbot.store.oob
import ircbot.store.records  # noqa: F401  (with models: the tables, for what SECURITY.md says is stored)
from ircbot.domain import redaction
from tests.processes import build_wheel
from tests.test_architecture import MAX_MODULE_LINES

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
NAME = PROJECT["name"]
README = (ROOT / "README.md").read_text(encoding="utf-8")
README_TOP = README.split("## What works today", 1)[0]
SECURITY = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
CONTRIBUTING = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
CHANGELOG = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The words under a `## heading` up to the next one, on one line, however the paragraphs are wrapped."""
    return " ".join(text.split(f"\n## {heading}", 1)[1].split("\n## ", 1)[0].split())


# https://www.apache.org/licenses/LICENSE-2.0.txt: 11,358 bytes that begin with a blank line; LICENSE is
# that text from its first line of words on.
APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


# --- the licence ----------------------------------------------------------------------------------------------


def test_the_license_is_the_apache_2_0_text_unchanged() -> None:
    text = (ROOT / "LICENSE").read_bytes()
    assert len(text) == 11_357
    assert hashlib.sha256(b"\n" + text).hexdigest() == APACHE_2_0_SHA256
    lines = [line.strip() for line in text.decode("ascii").splitlines()]
    assert lines[:3] == ["Apache License", "Version 2.0, January 2004", "http://www.apache.org/licenses/"]
    for line in (
        "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION",
        "END OF TERMS AND CONDITIONS",
        "APPENDIX: How to apply the Apache License to your work.",
        "Copyright [yyyy] [name of copyright owner]",
        'Licensed under the Apache License, Version 2.0 (the "License");',
    ):
        assert line in lines, line


def test_pyproject_promises_the_license_that_is_there() -> None:
    assert PROJECT["license"] == "Apache-2.0"
    assert PROJECT["license-files"] == ["LICENSE"]
    assert not any(c.startswith("License ::") for c in PROJECT.get("classifiers", [])), "an SPDX expression says it"


@pytest.mark.slow
def test_the_wheel_is_named_as_pyproject_says_and_carries_the_license(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    assert wheel.name.startswith(f"{NAME.replace('-', '_')}-{PROJECT['version']}-")
    with zipfile.ZipFile(wheel) as archive:
        info = f"{NAME.replace('-', '_')}-{PROJECT['version']}.dist-info"
        assert archive.read(f"{info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        fields = archive.read(f"{info}/METADATA").decode().split("\n\n", 1)[0].splitlines()
    assert f"Name: {NAME}" in fields and "License-Expression: Apache-2.0" in fields
    requires = [Requirement(line.split(": ", 1)[1]) for line in fields if line.startswith("Requires-Dist: ")]
    unconditional = {canonicalize_name(r.name) for r in requires if r.marker is None}
    assert not unconditional & {"matplotlib", "psycopg"}, "the extras' packages are in the base install"
    provided = {line.strip() for line in fields if line.startswith("Provides-Extra")}
    assert {"Provides-Extra: charts", "Provides-Extra: postgres"} <= provided


# --- the project files ----------------------------------------------------------------------------------------


def test_the_distribution_has_its_own_name_and_the_readme_and_changelog_say_it() -> None:
    assert canonicalize_name(NAME) != "ircbot", "`ircbot` on PyPI is another project"
    assert NAME.startswith("ircbot"), NAME
    assert f"`{NAME}`" in README_TOP and f"`{NAME}`" in CHANGELOG
    assert PROJECT["scripts"] == {"ircbot": "ircbot.cli:main"}, "the command stays `ircbot`"


def test_the_changelog_keeps_a_changelog_and_has_the_version() -> None:
    assert CHANGELOG.startswith("# Changelog\n")
    assert "https://keepachangelog.com/" in CHANGELOG
    assert "## [Unreleased]" in CHANGELOG and PROJECT["version"] in CHANGELOG


def settings_variables() -> set[str]:
    """Every environment variable ircbot/settings.py reads, from its fields' validation aliases."""
    tree = ast.parse((ROOT / "ircbot" / "settings.py").read_text(encoding="utf-8"))
    return {
        node.value
        for keyword in ast.walk(tree)
        if isinstance(keyword, ast.keyword) and keyword.arg == "validation_alias"
        for node in ast.walk(keyword.value)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isupper()
    }


def test_security_names_every_secret_variable_the_settings_read() -> None:
    read = settings_variables()
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "IRCBOT_ALERT_TOKEN"} <= read, read
    # Tokens and secrets, and the URLs: those that carry credentials, and the one the bot token is sent to.
    secret = {name for name in read if re.search(r"TOKEN|SECRET|PASSWORD|_URL$", name)}
    assert {"SMTP_URL", "DATABASE_URL"} <= secret
    assert sorted(name for name in secret if f"`{name}`" not in section(SECURITY, "Secrets")) == []


def test_security_names_the_variables_config_files_point_at() -> None:
    fields = {
        node.target.id
        for path in (ROOT / "ircbot").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id.endswith("_env")
    }
    assert {"secret_env", "token_env"} <= fields, fields
    assert sorted(name for name in fields if f"`{name}`" not in section(SECURITY, "Secrets")) == []


# Each table, and the words of SECURITY.md's "What ircbot stores" that account for it. A new table fails this
# test until SECURITY.md says what it keeps and the table is added here.
STORED = {
    "incident": "**Incidents**",
    "roleassignment": "role assignments",
    "participant": "participants",
    "checklistitem": "checklist ticks",
    "stageentry": "stage history",
    "impact": "downtime records",
    "access_request": "join requests",
    "timelineevent": "**Timelines**",
    "channel_message": "**Channel message copies**",
    "postmortem": "**Compiled postmortems**",
    "evidence": "**Evidence register**",
    "custodytransfer": "custody transfers",
    "indicator": "**Indicators of compromise**",
    "decision": "**Decisions**",
    "decisionvote": "who approved or rejected it",
    "regulatoryclock": "**Regulatory clocks**",
    "clocktimer": "reminder timers",
    "alert": "**Alerts**",
    "alert_group": "which incident each alert group feeds",
    "statusupdate": "**Status updates and notices**",
    "notice": "notices",
    "pagestep": "escalation steps",
    "reminder": "reminders",
    "outbox": "outbox",
    "identity": "**Identity cache**",
    "pending_declare": "declares acknowledged to Slack and not yet recorded",
    "handledrequest": "Slack requests already handled",
    "home_viewer": "App Home tab open",
    "counter": "incident-number counters",
    "thread_activity": "which threads moved",
    "outofband": "**Out-of-band rooms**",
    "outofbanddirect": "direct room with each person",
    "outofbandsync": "the `/sync` position",
}


def test_security_says_what_every_table_stores() -> None:
    stored = section(SECURITY, "What ircbot stores")
    assert sorted(set(SQLModel.metadata.tables) - set(STORED)) == [], "say in SECURITY.md what the new table keeps"
    assert sorted(set(STORED) - set(SQLModel.metadata.tables)) == [], "a table in STORED no longer exists"
    assert [table for table, words in STORED.items() if words not in stored] == []
    assert "`DATABASE_URL`" in stored and "hash-chained" in stored


def test_security_describes_every_kind_of_secret_postmortems_redact() -> None:
    described = section(SECURITY, "Postmortems redact secrets").lower()
    kinds = {rule.kind for rule in redaction._RULES}
    assert len(kinds) >= 10, kinds
    assert sorted(kind for kind in kinds if kind.lower() not in described) == []
    assert "[redacted <kind>]" in described


def test_security_says_how_to_report_privately() -> None:
    assert "Report a vulnerability" in SECURITY and "Security advisories" in SECURITY
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", SECURITY), "no e-mail address: reports go through GitHub"


def test_contributing_gives_the_readme_test_command_and_names_only_what_exists() -> None:
    assert readme_commands()[1] in CONTRIBUTING
    assert '-m "not slow"' in CONTRIBUTING and any(m.startswith("slow:") for m in pytest_markers())
    assert f"{MAX_MODULE_LINES} lines" in CONTRIBUTING
    named = {
        token.rstrip("/")
        for token in re.findall(r"`([^`\s]+)`", CONTRIBUTING)
        if "/" in token[1:] and re.fullmatch(r"[\w./-]+", token) and "NNNN" not in token
    }
    assert {"ircbot/domain", "ircbot/store/migrations/versions", "tests/test_architecture.py"} <= named
    assert sorted(path for path in named if not (ROOT / path).exists()) == []


def pytest_markers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    markers: list[str] = config["tool"]["pytest"]["ini_options"]["markers"]
    return markers


def readme_commands() -> list[str]:
    """The commands of the README's top: installing and running the demo, then installing and running the tests."""
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", README_TOP, re.DOTALL)]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    demo, tests = readme_commands()
    assert demo.endswith("ircbot demo") and tests.endswith("pytest")
    script = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    commands = [line for line in script if line and not line.startswith("#")]
    assert commands[-1] == tests


# --- the base install and its extras ---------------------------------------------------------------------------


def requirements(names: Iterable[str]) -> list[Requirement]:
    return [Requirement(name) for name in names]


def test_the_heavy_packages_are_extras_that_the_test_extra_brings() -> None:
    base = {canonicalize_name(r.name) for r in requirements(PROJECT["dependencies"])}
    assert not base & {"matplotlib", "numpy", "psycopg", "psycopg-binary"}, sorted(base)
    extras = {name: requirements(listed) for name, listed in PROJECT["optional-dependencies"].items()}
    assert [canonicalize_name(r.name) for r in extras["charts"]] == ["matplotlib"]
    (driver,) = extras["postgres"]
    assert canonicalize_name(driver.name) == "psycopg" and driver.extras == {"binary"}
    brought = {canonicalize_name(r.name) for r in extras["test"]}
    own = [r.extras for r in extras["test"] if canonicalize_name(r.name) == canonicalize_name(NAME)]
    assert (own and {"charts", "postgres"} <= own[0]) or {"matplotlib", "psycopg"} <= brought


def closure(wanted: Iterable[Requirement]) -> set[str]:
    """The installed distributions these requirements pull in, with their extras, all the way down."""
    seen: set[tuple[str, frozenset[str]]] = set()
    found: set[str] = set()
    todo = list(wanted)
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if (name, frozenset(requirement.extras)) in seen:
            continue
        seen.add((name, frozenset(requirement.extras)))
        found.add(name)
        for line in metadata.distribution(name).requires or []:
            needed = Requirement(line)
            if needed.marker is None or any(needed.marker.evaluate({"extra": e}) for e in ("", *requirement.extras)):
                todo.append(needed)
    return found


def modules_only_from(extras: Iterable[str]) -> list[str]:
    """The top-level modules that only these extras install (and nothing the base install needs)."""
    listed = PROJECT["optional-dependencies"]
    added = closure(r for extra in extras for r in requirements(listed[extra])) - closure(
        requirements(PROJECT["dependencies"])
    )
    providers = metadata.packages_distributions()
    return sorted(
        module
        for module, distributions in providers.items()
        if all(canonicalize_name(d) in added for d in distributions) and not module.startswith("_")
    )


# Run in a child Python with `sys.argv[1]` (a JSON list) made unimportable, as though never installed.
HIDE = """
import json, sys
from importlib.abc import MetaPathFinder

class NotInstalled(MetaPathFinder):
    hidden = set(json.loads(sys.argv[1]))

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.hidden:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
"""

CHART = """
from datetime import UTC, datetime

import ircbot.app, ircbot.cli
from ircbot.adapters.charts import monthly_chart
from ircbot.domain.metrics import IncidentTimes, compute
from ircbot.errors import IrcbotError

assert not NotInstalled.hidden & set(sys.modules), "importing ircbot loaded a charts package"
at = datetime(2026, 3, 2, 9, tzinfo=UTC)
incident = IncidentTimes(id=1, key="INC-1", severity="sev2", playbook="default", declared_at=at, detected_at=at,
                         resolved_at=at.replace(hour=13))
metrics = compute([incident], [], since=at.replace(day=1), until=at.replace(day=30))
try:
    png = monthly_chart(metrics).png
except IrcbotError as exc:
    print(json.dumps({"kinds": [k.__name__ for k in type(exc).__mro__], "message": str(exc),
                      "extra": getattr(exc, "extra", None)}))
else:
    print(json.dumps({"png": png[:8].hex()}))
"""


def run_without(modules: list[str], script: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", HIDE + script, json.dumps(modules), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_extras_alone_bring_the_chart_and_driver_packages() -> None:
    assert {"matplotlib", "numpy"} <= set(modules_only_from(["charts"]))
    assert "psycopg" in modules_only_from(["postgres"])
    assert not {"sqlalchemy", "slack_bolt", "yaml"} & set(modules_only_from(["charts", "postgres"]))


@pytest.mark.slow
def test_a_chart_without_the_charts_extra_is_a_typed_error_naming_the_install_command() -> None:
    hidden = modules_only_from(["charts"])
    done = run_without(hidden, CHART)
    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads(done.stdout)
    assert answer["kinds"][:2] == ["MissingExtra", "IrcbotError"] and answer["extra"] == "charts", answer
    assert f"pip install '{NAME}[charts]'" in answer["message"] and "matplotlib" in answer["message"], answer
    with_matplotlib = run_without([], CHART)  # the same script draws when nothing is hidden
    assert json.loads(with_matplotlib.stdout) == {"png": "89504e470d0a1a0a"}, with_matplotlib.stderr


CLI = """
from ircbot.cli import main

sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.slow
def test_stats_chart_on_the_command_line_without_the_extra_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'ircbot.db'}")
    hidden = modules_only_from(["charts"])
    migrated = run_without(hidden, CLI, "migrate")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    chart = tmp_path / "chart.png"
    done = run_without(hidden, CLI, "stats", "--chart", str(chart))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    line = done.stderr.splitlines()[-1]  # the last word, after any note of which database was read
    assert line.startswith("ircbot: the metrics chart needs the charts extra, and matplotlib is not installed"), line
    assert line.endswith(f"pip install '{NAME}[charts]' (in a checkout: pip install -e '.[charts]')"), line
    assert not chart.exists()
    without_chart = run_without(hidden, CLI, "stats")
    assert without_chart.returncode == 0 and without_chart.stdout.strip(), without_chart.stderr
    figures = re.compile(r"\d")  # the window's times move on between the two runs
    assert figures.sub("0", done.stdout) == figures.sub("0", without_chart.stdout), "the metrics come first"


def extras_installed_by(command: str) -> set[str]:
    """The extras a README command installs from the checkout: `.[a,b]` or `'.[a]'`."""
    return {extra for found in re.findall(r"\.\[([\w,-]+)\]", command) for extra in found.split(",")}


@pytest.mark.slow
def test_the_readme_demo_command_installs_everything_the_demo_needs(tmp_path: Path) -> None:
    demo, _ = readme_commands()
    assert "pip install" in demo
    left_out = sorted({"charts", "postgres"} - extras_installed_by(demo))
    hidden = modules_only_from(left_out) if left_out else []
    done = run_without(hidden, CLI, "demo", "-o", str(tmp_path / "postmortem.md"), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Demo finished" in done.stdout
    assert (tmp_path / "postmortem.md").read_text(encoding="utf-8").startswith("# Postmortem INC-1")
