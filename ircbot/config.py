"""Reading the config folder: roles, escalation, regulations and playbooks/*.yaml; optional alerts, webhooks, record.

Each file in the config folder overrides the shipped one of the same name. Every problem
is reported with file, line and field, and `load_config` reports all of them at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ircbot.domain.policy import AlertsFile, Config, EscalationFile, Playbook, RolesFile, WebhooksFile
from ircbot.domain.record_policy import RecordFile
from ircbot.domain.regulations import RegulationsFile
from ircbot.errors import ConfigError
from ircbot.shipped import shipped_path
from ircbot.yamlsource import YamlSource, read_yaml, validate


def _locate(config_dir: Path, name: str) -> Path:
    own = config_dir / name
    return own if own.exists() else shipped_path(name)


def _playbook_files(config_dir: Path) -> dict[str, Path]:
    files = {p.stem: p for p in sorted(shipped_path("playbooks").glob("*.yaml"))}
    own = config_dir / "playbooks"
    if own.is_dir():
        files.update({p.stem: p for p in sorted(own.glob("*.yaml"))})
    return files


def load_config(config_dir: Path) -> Config:
    """Read and validate all config files; raise one ConfigError listing every problem."""
    problems: list[str] = []

    def attempt(path: Path, model: type[Any]) -> tuple[Any, YamlSource | None]:
        try:
            source = read_yaml(path)
            return validate(source, model), source
        except ConfigError as exc:
            problems.extend(exc.problems)
            return None, None

    files = {name: _locate(config_dir, name) for name in ("roles.yaml", "escalation.yaml", "regulations.yaml")}
    roles, _ = attempt(files["roles.yaml"], RolesFile)
    escalation, escalation_source = attempt(files["escalation.yaml"], EscalationFile)
    regulations, regulations_source = attempt(files["regulations.yaml"], RegulationsFile)
    playbooks: dict[str, Playbook] = {}
    for stem, path in _playbook_files(config_dir).items():
        files[f"playbooks/{stem}.yaml"] = path
        playbook, source = attempt(path, Playbook)
        if playbook is None or source is None:
            continue
        if playbook.name != stem:
            problems.append(f"{path}:{source.line_of(('name',))}: name: must equal the file name {stem!r}")
        playbooks[stem] = playbook
    if "default" not in playbooks and not problems:
        problems.append(f"{config_dir / 'playbooks'}: no 'default' playbook found")
    if roles is not None and escalation is not None and escalation_source is not None:
        problems.extend(_unknown_role_targets(roles, escalation, escalation_source))
    own_regulations = files["regulations.yaml"] == config_dir / "regulations.yaml"
    if roles is not None and regulations is not None and regulations_source is not None and own_regulations:
        # Only the operator's own file: the shipped one names role:legal, which a smaller roles.yaml may lack.
        problems.extend(_unknown_role_owners(roles, regulations, regulations_source))
    alerts = AlertsFile()
    if (config_dir / "alerts.yaml").exists():  # optional, and nothing is shipped: no rules, no triage channel
        files["alerts.yaml"] = config_dir / "alerts.yaml"
        alerts, alerts_source = attempt(files["alerts.yaml"], AlertsFile)
        if alerts is not None and alerts_source is not None:
            problems.extend(_unknown_playbooks(alerts, playbooks, alerts_source))
    webhooks = WebhooksFile()
    if (config_dir / "webhooks.yaml").exists():  # optional, and nothing is shipped: no endpoints
        files["webhooks.yaml"] = config_dir / "webhooks.yaml"
        webhooks, _ = attempt(files["webhooks.yaml"], WebhooksFile)
    record = RecordFile()
    if (config_dir / "record.yaml").exists():  # optional: decisions' approvers, indicators' TLP, organisation
        files["record.yaml"] = config_dir / "record.yaml"
        record, _ = attempt(files["record.yaml"], RecordFile)
    if problems:
        raise ConfigError(problems)
    template_dirs = [config_dir / "templates", shipped_path("templates")]
    return Config(
        roles=roles,
        escalation=escalation,
        playbooks=playbooks,
        alerts=alerts,
        webhooks=webhooks,
        record=record,
        regulations=regulations,
        template_dirs=template_dirs,
        files=files,
    )


def describe_files(config: Config) -> list[str]:
    """One line per file read, saying whether it is the operator's own or a shipped example."""
    shipped = {shipped_path("roles.yaml").parent.resolve(), shipped_path("playbooks").resolve()}
    lines = []
    for name, path in config.files.items():
        example = path.resolve().parent in shipped
        lines.append(
            f"{name}: {path}" + (" (the shipped example: put your own in IRCBOT_CONFIG_DIR)" if example else "")
        )
    return lines


def _unknown_role_targets(roles: RolesFile, escalation: EscalationFile, source: YamlSource) -> list[str]:
    problems = []
    for sev, policy in escalation.severities.items():
        for t, tier in enumerate(policy.tiers):
            for n, target in enumerate(tier.notify):
                kind, _, key = target.partition(":")
                if kind == "role" and key not in roles.roles:
                    loc = ("severities", sev, "tiers", t, "notify", n)
                    problems.append(
                        f"{source.path}:{source.line_of(loc)}: {'.'.join(map(str, loc))}: "
                        f"role {key!r} is not in roles.yaml; roles are {', '.join(roles.roles)}"
                    )
    return problems


def _unknown_role_owners(roles: RolesFile, regulations: RegulationsFile, source: YamlSource) -> list[str]:
    problems = []
    for key, regime in regulations.regimes.items():
        kind, _, role = (regime.owner or "").partition(":")
        if kind == "role" and role not in roles.roles:
            loc = ("regimes", key, "owner")
            problems.append(
                f"{source.path}:{source.line_of(loc)}: {'.'.join(loc)}: "
                f"role {role!r} is not in roles.yaml; roles are {', '.join(roles.roles)}"
            )
    return problems


def _unknown_playbooks(alerts: AlertsFile, playbooks: dict[str, Playbook], source: YamlSource) -> list[str]:
    problems = []
    for n, rule in enumerate(alerts.rules):
        if rule.declare is not None and playbooks and rule.declare.playbook not in playbooks:
            loc = ("rules", n, "declare", "playbook")
            problems.append(
                f"{source.path}:{source.line_of(loc)}: {'.'.join(map(str, loc))}: "
                f"no playbook {rule.declare.playbook!r}; playbooks are {', '.join(sorted(playbooks))}"
            )
    return problems
