"""The shape of the code: imports flow one way, nothing is built at import time, modules stay small."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 400
SLACK_LIBRARIES = ("slack_bolt", "slack_sdk")
CHAT_EDGE = (*SLACK_LIBRARIES, "ircbot.slack", "ircbot.emulator", "ircbot.commands")
BUILT_ONCE = {"create_engine", "WebClient", "AsyncWebClient", "Settings", "Environment", "App", "AsyncApp", "Database"}


def python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every import in the file, relative imports resolved against its package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def violations(folders: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in python_files(*folders):
        for line, module in imported_modules(path):
            if any(module == f or module.startswith(f"{f}.") for f in forbidden):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return sorted(set(found))


def test_the_import_walker_sees_relative_and_from_imports() -> None:
    sample = ROOT / "ircbot" / "domain" / "declare.py"
    modules = {m for _, m in imported_modules(sample)}
    assert "ircbot.store.queries" in modules and "ircbot.domain.timeline" in modules


@pytest.mark.parametrize("layer", ["ircbot/domain", "ircbot/store"])
def test_domain_and_store_know_nothing_of_slack_or_the_commands(layer: str) -> None:
    assert violations((layer,), CHAT_EDGE) == []


def test_commands_do_not_import_the_slack_libraries() -> None:
    assert violations(("commands",), (*SLACK_LIBRARIES, "ircbot.slack", "ircbot.emulator")) == []


def module_level_calls(path: Path) -> Iterator[tuple[int, str]]:
    """Calls executed when the module is imported: in module-level statements, not inside functions or classes."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            pending.extend(node.decorator_list if not isinstance(node, ast.Lambda) else [])
            continue
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            yield node.lineno, name
        pending.extend(ast.iter_child_nodes(node))


def test_no_engine_client_settings_or_template_environment_is_built_at_import() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line} calls {name}() at import"
        for path in python_files("ircbot", "commands")
        for line, name in module_level_calls(path)
        if name in BUILT_ONCE
    ]
    assert found == []


def test_the_module_level_call_finder_sees_a_global_engine(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from sqlmodel import create_engine\nENGINE = create_engine('sqlite://')\n"
        "def later():\n    return create_engine('sqlite://')\n"
    )
    assert list(module_level_calls(sample)) == [(2, "create_engine")]


PROBE = """
import gc, sys
connections = []
def audit(event, args):
    if event in ("socket.connect", "socket.getaddrinfo"):
        connections.append((event, repr(args)[:120]))
sys.addaudithook(audit)
import ircbot.app, ircbot.cli, ircbot.web  # noqa: E401
from sqlalchemy.engine import Engine
from slack_sdk import WebClient
built = [type(o).__name__ for o in gc.get_objects() if isinstance(o, (Engine, WebClient))]
print(f"connections={connections} built={built}")
sys.exit(1 if connections or built else 0)
"""


@pytest.mark.slow
def test_importing_the_entry_points_connects_to_nothing_and_builds_no_engine(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_", "SMTP_"))},
        "DATABASE_URL": "postgresql+psycopg://nobody@10.255.255.1:5432/nothing",
        "SLACK_API_URL": "http://10.255.255.1:9/api/",
        "SLACK_BOT_TOKEN": "xoxb-unused",
        "SMTP_URL": "smtp://10.255.255.1:25",
        "IRCBOT_CONFIG_DIR": str(tmp_path),
    }
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert time.monotonic() - started < 30


def test_every_module_stays_under_400_lines() -> None:
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in python_files("ircbot", "commands")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}, f"modules over {MAX_MODULE_LINES} lines: {too_long}"
