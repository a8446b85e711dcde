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
BUILT_ONCE = {"create_engine", "WebClient", "AsyncWebClient", "Settings", "Environment", "App", "AsyncApp", "Database"}
EXTERNAL = ("slack_bolt", "slack_sdk", "sqlalchemy", "sqlmodel", "alembic", "apscheduler", "waitress", "matplotlib")
EXTERNAL += ("holidays",)  # public-holiday calendars: only the notification regimes' business days need them

# The layers, lowest first: each module belongs to the layer of the longest entry covering it, and may import
# its own layer, the layers named here, and the outside libraries named here — nothing else.
LAYERS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # layer: (modules, layers it may import, outside libraries it may import)
    "base": (("=ircbot", "ircbot.errors", "ircbot.durations", "ircbot.shipped", "ircbot.turns"), (), ()),
    "types": (
        (
            "=ircbot.domain",
            "ircbot.domain.stages",
            "ircbot.domain.kinds",
            "ircbot.domain.policy",
            "ircbot.domain.record_policy",
            "ircbot.domain.webhook_policy",
            "ircbot.domain.oob_policy",
            "ircbot.domain.regulations",
            "ircbot.domain.deadlines",
            "ircbot.domain.views",
            "ircbot.domain.metrics",
            "ircbot.domain.messages",
            "ircbot.domain.date_token",
            "ircbot.domain.ports",
        ),
        ("base",),
        ("holidays", "dateutil"),
    ),
    "store": (("ircbot.store",), ("base", "types"), ("sqlalchemy", "sqlmodel", "alembic")),
    "domain": (
        ("ircbot.domain",),
        ("base", "types", "store"),
        ("sqlalchemy", "sqlmodel", "publicsuffixlist"),
    ),
    "commands": (("ircbot.commands",), ("base", "types", "domain"), ()),
    "scheduling": (("ircbot.scheduling",), ("base", "types", "domain"), ("apscheduler",)),
    "config": (("ircbot.config", "ircbot.yamlsource", "ircbot.settings", "ircbot.logs"), ("base", "types"), ()),
    "adapters": (("ircbot.adapters",), ("base", "types"), ("matplotlib", "stix2")),
    "telemetry": (("ircbot.telemetry",), ("base", "types", "store"), ("prometheus_client", "sqlalchemy", "sqlmodel")),
    "slack": (
        ("ircbot.slack",),
        ("base", "types", "domain", "commands", "telemetry"),
        ("slack_bolt", "slack_sdk"),
    ),
    "emulator": (("ircbot.emulator",), ("base",), ()),
    "oob": (("ircbot.oob",), ("base", "types", "store", "domain", "commands", "adapters", "slack"), ()),
    "entry": (
        (
            "ircbot.app",
            "ircbot.cli",
            "ircbot.records",
            "ircbot.checkup",
            "ircbot.web",
            "ircbot.demo",
            "ircbot.demo_script",
            "ircbot.oob_cli",
        ),
        (
            "base",
            "types",
            "store",
            "domain",
            "commands",
            "scheduling",
            "config",
            "adapters",
            "telemetry",
            "slack",
            "emulator",
            "oob",
        ),
        (*EXTERNAL, "prometheus_client"),
    ),
}


def module_name(path: Path) -> str:
    """`commands/ack.py` -> `ircbot.commands.ack` (the wheel ships commands/ inside ircbot)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "commands":
        parts.insert(0, "ircbot")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_files() -> Iterator[Path]:
    for folder in ("ircbot", "commands"):
        yield from sorted(p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts)


MODULES = {module_name(p): p for p in product_files()}


def layer_of(module: str) -> str | None:
    """The layer of the longest entry that covers the module: `pkg` covers it and all below, `=mod` only itself."""
    best: tuple[int, str] | None = None
    for layer, (entries, _, _) in LAYERS.items():
        for entry in entries:
            name = entry.removeprefix("=")
            fits = module == name or (not entry.startswith("=") and module.startswith(f"{name}."))
            if fits and (best is None or len(name) > best[0]):
                best = (len(name), layer)
    return best[1] if best else None


def _type_checking_lines(tree: ast.Module) -> set[int]:
    """Lines inside `if TYPE_CHECKING:` blocks, which never run."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every import that runs, wherever it stands (function bodies too), but TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skipped = _type_checking_lines(tree)
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            for alias in node.names:
                # `from package import module` depends on that module; `from module import name` on the module.
                submodule = f"{module}.{alias.name}"
                yield node.lineno, submodule if submodule in MODULES else module


def test_the_import_walker_sees_from_package_and_function_level_imports() -> None:
    assert "ircbot.store.queries" in {m for _, m in imports(ROOT / "ircbot" / "domain" / "declare.py")}
    assert "ircbot.commands.check" in {m for _, m in imports(ROOT / "ircbot" / "slack" / "interactions" / "tick.py")}
    assert "ircbot.adapters.charts" in {m for _, m in imports(ROOT / "ircbot" / "app.py")}  # inside a function
    assert module_name(ROOT / "commands" / "ack.py") == "ircbot.commands.ack"


def test_every_product_module_has_a_layer() -> None:
    assert [m for m in MODULES if layer_of(m) is None] == []


def test_imports_follow_the_layer_table() -> None:
    wrong = []
    for module, path in MODULES.items():
        layer = layer_of(module)
        assert layer is not None
        _, allowed, outside = LAYERS[layer]
        for line, target in imports(path):
            top = target.split(".")[0]
            if top == "ircbot" and target not in MODULES:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: imports {target}, which does not exist")
            elif top == "ircbot":
                target_layer = layer_of(target)
                if target_layer != layer and target_layer not in allowed:
                    wrong.append(f"{path.relative_to(ROOT)}:{line}: {layer} imports {target} ({target_layer})")
            elif top in EXTERNAL and top not in outside:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {layer} imports {target}")
    assert wrong == []


def cycles() -> list[list[str]]:
    graph = {m: sorted({t for _, t in imports(p) if t in MODULES and t != m}) for m, p in MODULES.items()}
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in graph[module]:
            if state.get(target) == 1:
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return found


def test_no_import_cycles() -> None:
    assert cycles() == []


LIGHT_IMPORT = """
import sys
import ircbot.domain.ports, ircbot.domain.messages  # noqa: E401
heavy = sorted(m for m in ("sqlalchemy", "alembic", "sqlmodel", "slack_sdk", "slack_bolt") if m in sys.modules)
print(heavy)
sys.exit(1 if heavy else 0)
"""


def test_the_domains_plain_data_types_load_no_database_or_slack_library() -> None:
    done = subprocess.run([sys.executable, "-c", LIGHT_IMPORT], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


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
