"""The config folder: roles, escalation, regulations, playbooks/*.yaml; optional alerts, webhooks, record, oob.

Each file in the config folder overrides the shipped one of the same name. Every problem
is reported with file, line and field, and `load_config` reports all of them at once: a check
that spans two files runs on what each file says even when one of them has problems of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ircbot.domain.oob_policy import OobFile
from ircbot.domain.policy import KEY_PATTERN, AlertsFile, Config, EscalationFile, Playbook, RolesFile
from ircbot.domain.record_policy import RecordFile
from ircbot.domain.regulations import RegulationsFile
from ircbot.domain.webhook_policy import WebhooksFile
from ircbot.errors import ConfigError
from ircbot.shipped import shipped_path
from ircbot.yamlsource import Problem, YamlSource, check, grouped, read_yaml

REQUIRED = ("roles.yaml", "escalation.yaml", "regulations.yaml")
OPTIONAL = ("alerts.yaml", "webhooks.yaml", "record.yaml", "oob.yaml")  # nothing shipped: without the file, none of it
EXAMPLES = ("roles.yaml", "escalation.yaml")  # shipped with placeholder people, ids and addresses
_SLACK_ID = re.compile(r"\b[CGSUW][A-Z0-9]{6,}\b")
_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def config_files(config_dir: Path) -> dict[str, Path]:
    """Where each config file is read from: the folder's own, else the shipped one; optional files when present."""
    files = {name: _own_or_shipped(config_dir, name) for name in REQUIRED}
    playbooks = {p.stem: p for p in sorted(shipped_path("playbooks").glob("*.yaml"))}
    if (config_dir / "playbooks").is_dir():
        playbooks.update({p.stem: p for p in sorted((config_dir / "playbooks").glob("*.yaml"))})
    files.update({f"playbooks/{stem}.yaml": path for stem, path in playbooks.items()})
    files.update({name: config_dir / name for name in OPTIONAL if (config_dir / name).exists()})
    return files


def _own_or_shipped(config_dir: Path, name: str) -> Path:
    own = config_dir / name
    return own if own.exists() else shipped_path(name)


def require_folder(config_dir: Path) -> None:
    """Raise ConfigError unless the config folder exists: a mistyped IRCBOT_CONFIG_DIR must not mean the examples."""
    if config_dir.is_dir():
        return
    where = "" if config_dir.is_absolute() else f" ({config_dir.absolute()})"
    state = "is not a folder" if config_dir.exists() else "does not exist"
    raise ConfigError(
        [
            f"IRCBOT_CONFIG_DIR={config_dir}{where} {state}: set it to the folder that holds your roles.yaml "
            "and escalation.yaml (unset, it is the current directory)"
        ]
    )


def load_config(config_dir: Path) -> Config:
    """Read and validate all config files; raise one ConfigError listing every problem."""
    require_folder(config_dir)
    files = config_files(config_dir)
    problems: list[Problem | str] = []
    sources: dict[str, YamlSource] = {}

    def attempt(name: str, model: type[Any]) -> Any:
        try:
            sources[name] = read_yaml(files[name])
        except ConfigError as exc:
            problems.extend(exc.problems)
            return None
        valid, found = check(sources[name], model)
        problems.extend(found)
        return valid

    roles = attempt("roles.yaml", RolesFile)
    escalation = attempt("escalation.yaml", EscalationFile)
    regulations = attempt("regulations.yaml", RegulationsFile)
    playbooks: dict[str, Playbook] = {}
    for name in (n for n in files if n.startswith("playbooks/")):
        stem = files[name].stem
        playbook = attempt(name, Playbook)
        given = _raw(sources.get(name), "name")
        if isinstance(given, str) and given != stem:
            problems.append(Problem.at(sources[name], ("name",), f"must equal the file name {stem!r}"))
        if playbook is not None:
            playbooks[stem] = playbook
    if "playbooks/default.yaml" not in files:
        problems.append(f"{config_dir / 'playbooks'}: no 'default' playbook found")
    role_keys = _role_keys(roles, sources.get("roles.yaml"))
    if role_keys is not None and "escalation.yaml" in sources:
        problems.extend(_unknown_role_targets(role_keys, sources["escalation.yaml"]))
    if role_keys is not None and "regulations.yaml" in sources and files["regulations.yaml"].parent == config_dir:
        # Only the operator's own file: the shipped one names role:legal, which a smaller roles.yaml may lack.
        problems.extend(_unknown_role_owners(role_keys, sources["regulations.yaml"]))
    alerts = attempt("alerts.yaml", AlertsFile) if "alerts.yaml" in files else AlertsFile()
    if "alerts.yaml" in sources:
        known = {files[n].stem for n in files if n.startswith("playbooks/")}
        problems.extend(_unknown_playbooks(known, sources["alerts.yaml"]))
    webhooks = attempt("webhooks.yaml", WebhooksFile) if "webhooks.yaml" in files else WebhooksFile()
    record = attempt("record.yaml", RecordFile) if "record.yaml" in files else RecordFile()
    oob = attempt("oob.yaml", OobFile) if "oob.yaml" in files else OobFile()
    if problems:
        raise ConfigError(grouped(problems))
    return Config(
        roles=roles,
        escalation=escalation,
        playbooks=playbooks,
        alerts=alerts,
        webhooks=webhooks,
        record=record,
        regulations=regulations,
        oob=oob,
        template_dirs=[config_dir / "templates", shipped_path("templates")],
        files=files,
    )


def is_shipped(path: Path) -> bool:
    """Whether a config file is one ircbot ships (an example), not the operator's own."""
    shipped = {shipped_path("roles.yaml").parent.resolve(), shipped_path("playbooks").resolve()}
    return path.resolve().parent in shipped


def describe_files(config: Config) -> list[str]:
    """One line per file read, saying whether it is the operator's own or a shipped example."""
    return describe_paths(config.files)


def describe_paths(files: dict[str, Path]) -> list[str]:
    """One line per file, saying whether it is the operator's own or a shipped example."""
    return [
        f"{name}: {path}" + (" (the shipped example: put your own in IRCBOT_CONFIG_DIR)" if is_shipped(path) else "")
        for name, path in files.items()
    ]


def example_placeholders(config_dir: Path) -> list[str]:
    """What still comes from the shipped examples: their roles.yaml or escalation.yaml, or their placeholders in yours.

    The placeholders are the Slack ids of both shipped files and the on-call addresses of the shipped roles.yaml,
    read from the shipped files themselves. Paging them reaches nobody.
    """
    files = config_files(config_dir)
    shipped_ids = {name: _SLACK_ID.findall(shipped_path(name).read_text(encoding="utf-8")) for name in EXAMPLES}
    placeholders = set().union(*shipped_ids.values()) | set(
        _ADDRESS.findall(shipped_path("roles.yaml").read_text(encoding="utf-8"))
    )
    found: list[Problem | str] = []
    for name in EXAMPLES:
        path = files[name]
        if is_shipped(path):
            shown = ", ".join(list(dict.fromkeys(shipped_ids[name]))[:3])
            found.append(
                f"{name}: the shipped example ({path}) is in use, and its ids ({shown} …) and addresses are "
                f"placeholders: put your own {name} in IRCBOT_CONFIG_DIR ({config_dir.absolute()})"
            )
            continue
        try:
            source = read_yaml(path)
        except ConfigError:
            continue  # load_config reports it
        for loc, text in _scalars(source.data):
            for token in sorted({*_SLACK_ID.findall(text), *_ADDRESS.findall(text)} & placeholders):
                message = f"{token!r} is a placeholder of the shipped example: replace it with your own"
                found.append(Problem.at(source, loc, message))
    return grouped(found)


def _scalars(data: Any, loc: tuple[int | str, ...] = ()) -> Iterator[tuple[tuple[int | str, ...], str]]:
    """(location, text) of every string in parsed YAML."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _scalars(value, (*loc, str(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _scalars(value, (*loc, index))
    elif isinstance(data, str):
        yield loc, data


def _raw(source: YamlSource | None, *path: str) -> Any:
    """A value of a parsed file as written, before validation; None when it is not there."""
    data = source.data if source is not None else None
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _role_keys(roles: RolesFile | None, source: YamlSource | None) -> list[str] | None:
    """The roles roles.yaml defines, valid or not; None when it cannot be told (the file did not parse)."""
    if roles is not None:
        return list(roles.roles)
    written = _raw(source, "roles")
    return [str(key) for key in written] if isinstance(written, dict) and written else None


def _unknown_role(key: str, role_keys: list[str]) -> str:
    return f"role {key!r} is not in roles.yaml; roles are {', '.join(role_keys)}"


def _unknown_role_targets(role_keys: list[str], source: YamlSource) -> list[Problem]:
    problems = []
    severities = _raw(source, "severities")
    for sev, policy in severities.items() if isinstance(severities, dict) else ():
        tiers = policy.get("tiers") if isinstance(policy, dict) else None
        for t, tier in enumerate(tiers if isinstance(tiers, list) else ()):
            notify = tier.get("notify") if isinstance(tier, dict) else None
            for n, target in enumerate(notify if isinstance(notify, list) else ()):
                kind, _, key = str(target).strip().partition(":")
                if kind == "role" and KEY_PATTERN.match(key) and key not in role_keys:
                    loc = ("severities", str(sev), "tiers", t, "notify", n)
                    problems.append(Problem.at(source, loc, _unknown_role(key, role_keys)))
    return problems


def _unknown_role_owners(role_keys: list[str], source: YamlSource) -> list[Problem]:
    problems = []
    regimes = _raw(source, "regimes")
    for key, regime in regimes.items() if isinstance(regimes, dict) else ():
        owner = regime.get("owner") if isinstance(regime, dict) else None
        kind, _, role = str(owner or "").strip().partition(":")
        if kind == "role" and KEY_PATTERN.match(role) and role not in role_keys:
            problems.append(Problem.at(source, ("regimes", str(key), "owner"), _unknown_role(role, role_keys)))
    return problems


def _unknown_playbooks(known: set[str], source: YamlSource) -> list[Problem]:
    problems = []
    rules = _raw(source, "rules")
    for n, rule in enumerate(rules if isinstance(rules, list) else ()):
        declare = rule.get("declare") if isinstance(rule, dict) else None
        playbook = declare.get("playbook", "default") if isinstance(declare, dict) else None
        if isinstance(playbook, str) and known and playbook not in known:
            message = f"no playbook {playbook!r}; playbooks are {', '.join(sorted(known))}"
            problems.append(Problem.at(source, ("rules", n, "declare", "playbook"), message))
    return problems
