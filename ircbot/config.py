"""Typed configuration files: roles.yaml, escalation.yaml and playbooks/*.yaml.

Each file in the config folder overrides the shipped one of the same name. Every problem
is reported with file, line and field, and `load_config` reports all of them at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ircbot.domain.stages import SEVERITIES, STAGES
from ircbot.durations import parse_duration
from ircbot.errors import ConfigError
from ircbot.shipped import shipped_path
from ircbot.yamlsource import YamlSource, read_yaml, validate

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_-]*$")
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and value == 0:
        return timedelta()
    return parse_duration(str(value))


Duration = Annotated[timedelta, BeforeValidator(_duration)]


def _oncall_entry(value: Any) -> str:
    entry = str(value).strip()
    if not (USER_ID.match(entry) or EMAIL.match(entry)):
        raise ValueError(f"{entry!r} is neither a Slack user id (U…) nor an e-mail address")
    return entry


OncallEntry = Annotated[str, BeforeValidator(_oncall_entry)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleConfig(Strict):
    """One response role from roles.yaml."""

    title: str = Field(min_length=1)
    description: str = ""
    duties: list[str] = []
    oncall: list[OncallEntry] = []
    oncall_group: str | None = None
    may: list[str] | None = None

    @field_validator("oncall_group")
    @classmethod
    def _group(cls, group: str | None) -> str | None:
        if group is not None and not GROUP_ID.match(group):
            raise ValueError(f"{group!r} is not a Slack user group id (S…)")
        return group


class RolesFile(Strict):
    """roles.yaml."""

    declarer_role: str | None = "manager"
    roles: dict[str, RoleConfig]

    @field_validator("roles")
    @classmethod
    def _keys(cls, roles: dict[str, RoleConfig]) -> dict[str, RoleConfig]:
        if not roles:
            raise ValueError("define at least one role")
        for key in roles:
            if not KEY_PATTERN.match(key):
                raise ValueError(f"role key {key!r} must be lowercase letters, digits, - or _")
        return roles

    @model_validator(mode="after")
    def _declarer_role_exists(self) -> RolesFile:
        if self.declarer_role is not None and self.declarer_role not in self.roles:
            raise ValueError(
                f"declarer_role {self.declarer_role!r} is not a role; choose one of {', '.join(self.roles)}"
            )
        return self


def _target(value: Any) -> str:
    text = str(value).strip()
    kind, _, rest = text.partition(":")
    checks = {
        "role": KEY_PATTERN,
        "user": USER_ID,
        "group": GROUP_ID,
        "email": EMAIL,
    }
    pattern = checks.get(kind)
    if pattern is None or not pattern.match(rest):
        raise ValueError(f"{text!r} is not a target; write role:KEY, user:U…, group:S… or email:ADDRESS")
    return text


Target = Annotated[str, BeforeValidator(_target)]


class Tier(Strict):
    """One escalation tier: who is paged, how long after the previous tier."""

    after: Duration
    notify: list[Target] = Field(min_length=1)


class Updates(Strict):
    """Stakeholder-update cadence for a severity, and how often overdue checklist items are reminded."""

    every: Duration | None = None
    channel: str | None = None
    email: list[str] = []
    checklist_every: Duration | None = None


class Audience(Strict):
    """Who a notice to one audience (leadership, legal, insurer, staff) goes to."""

    title: str
    email: list[str] = []
    channel: str | None = None


class SeverityPolicy(Strict):
    """Escalation policy of one severity."""

    name: str
    tiers: list[Tier] = []
    repeat: int = Field(default=0, ge=0, le=10)
    updates: Updates | None = None


class EscalationFile(Strict):
    """escalation.yaml."""

    severities: dict[str, SeverityPolicy]
    audiences: dict[str, Audience] = {}

    @field_validator("severities")
    @classmethod
    def _all_severities(cls, severities: dict[str, SeverityPolicy]) -> dict[str, SeverityPolicy]:
        unknown = [key for key in severities if key not in SEVERITIES]
        if unknown:
            raise ValueError(f"unknown severity {unknown[0]!r}; severities are {', '.join(SEVERITIES)}")
        missing = [key for key in SEVERITIES if key not in severities]
        if missing:
            raise ValueError(f"missing severity {missing[0]!r}; define all of {', '.join(SEVERITIES)}")
        return severities


def _item(value: Any) -> Any:
    return {"text": value} if isinstance(value, str) else value


class ChecklistItemConfig(Strict):
    """One checklist item of a playbook stage."""

    text: str = Field(min_length=1, max_length=300)
    required: bool = False


class Playbook(Strict):
    """A playbook: a checklist for every NIST stage."""

    name: str
    title: str
    description: str = ""
    stages: dict[str, list[Annotated[ChecklistItemConfig, BeforeValidator(_item)]]]

    @field_validator("stages")
    @classmethod
    def _six_stages(cls, stages: dict[str, list[ChecklistItemConfig]]) -> dict[str, list[ChecklistItemConfig]]:
        unknown = [key for key in stages if key not in STAGES]
        if unknown:
            raise ValueError(f"unknown stage {unknown[0]!r}; stages are {', '.join(STAGES)}")
        missing = [key for key in STAGES if key not in stages]
        if missing:
            raise ValueError(f"missing stage {missing[0]!r}; give a checklist for each of {', '.join(STAGES)}")
        return {key: stages[key] for key in STAGES}


@dataclass(frozen=True)
class Config:
    """Everything read from the config folder, validated."""

    roles: RolesFile
    escalation: EscalationFile
    playbooks: dict[str, Playbook]
    template_dirs: list[Path] = field(default_factory=list)

    def role(self, key: str) -> RoleConfig | None:
        """The role named `key`, or None."""
        return self.roles.roles.get(key)


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

    roles, _ = attempt(_locate(config_dir, "roles.yaml"), RolesFile)
    escalation, escalation_source = attempt(_locate(config_dir, "escalation.yaml"), EscalationFile)
    playbooks: dict[str, Playbook] = {}
    for stem, path in _playbook_files(config_dir).items():
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
    if problems:
        raise ConfigError(problems)
    template_dirs = [config_dir / "templates", shipped_path("templates")]
    return Config(roles=roles, escalation=escalation, playbooks=playbooks, template_dirs=template_dirs)


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
