"""The response policy as typed data: roles, escalation tiers, audiences and playbooks.

These models validate whatever a config file holds; reading the files is `ircbot.config`'s job.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from ircbot.domain.oob_policy import OobFile
from ircbot.domain.record_policy import RecordFile
from ircbot.domain.regulations import RegulationsFile
from ircbot.domain.stages import SEVERITIES, STAGES
from ircbot.domain.webhook_policy import ENV_NAME, WebhooksFile
from ircbot.durations import parse_duration

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

MAY_WORDS = ("assign", "stage", "resolve", "severity", "escalate", "notify", "decide", "update", "approve_join", "oob")
"""What roles.yaml's `may:` lists take: each command's permission, `update` (speaking outside the channel) and
`approve_join` (answering requests to join a private incident). tests/test_config.py holds it to the code."""


def _may_word(value: Any) -> str:
    word = str(value).strip()
    if word not in MAY_WORDS:
        close = difflib.get_close_matches(word, MAY_WORDS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(
            f"unknown permission {word!r}: {hint}a word no rule checks would leave the action open to everyone; "
            f"the words are {', '.join(sorted(MAY_WORDS))}"
        )
    return word


MayWord = Annotated[str, BeforeValidator(_may_word)]


def _also(value: Any, handler: Callable[[Any], Any], check: Callable[[Any], None]) -> Any:
    """Validate `value` and run `check` on it as given, reporting the problems of both together.

    An after-validator runs only once everything inside it is valid, so a missing severity would wait for a
    bad duration elsewhere to be fixed first: one more round of check-config for nothing.
    """
    try:
        check(value)
    except ValueError as complaint:
        try:
            handler(value)
        except ValidationError as exc:
            details = [
                InitErrorDetails(type=e["type"], loc=e["loc"], input=e["input"], ctx=e.get("ctx", {}))
                for e in exc.errors()
            ]
            details.append(InitErrorDetails(type="value_error", loc=(), input=value, ctx={"error": complaint}))
            raise ValidationError.from_exception_data(exc.title, details) from None
        raise complaint from None
    return handler(value)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleConfig(Strict):
    """One response role from roles.yaml."""

    title: str = Field(min_length=1)
    description: str = ""
    duties: list[str] = []
    oncall: list[OncallEntry] = []
    oncall_group: str | None = None
    may: list[MayWord] | None = None

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

    @field_validator("roles", mode="wrap")
    @classmethod
    def _keys(cls, roles: Any, handler: ValidatorFunctionWrapHandler) -> dict[str, RoleConfig]:
        return _also(roles, handler, _role_keys)

    @model_validator(mode="wrap")
    @classmethod
    def _declarer_role_exists(cls, data: Any, handler: ModelWrapValidatorHandler[RolesFile]) -> RolesFile:
        return _also(data, handler, _declarer_role)


def _role_keys(roles: Any) -> None:
    if not isinstance(roles, dict):
        return
    if not roles:
        raise ValueError("define at least one role")
    for key in roles:
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            raise ValueError(f"role key {key!r} must be lowercase letters, digits, - or _")


def _declarer_role(data: Any) -> None:
    roles = data.get("roles") if isinstance(data, dict) else None
    declarer = data.get("declarer_role", "manager") if isinstance(data, dict) else None
    if isinstance(roles, dict) and roles and isinstance(declarer, str) and declarer not in roles:
        raise ValueError(f"declarer_role {declarer!r} is not a role; choose one of {', '.join(map(str, roles))}")


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

    @field_validator("severities", mode="wrap")
    @classmethod
    def _all_severities(cls, severities: Any, handler: ValidatorFunctionWrapHandler) -> dict[str, SeverityPolicy]:
        check = partial(_exactly, keys=SEVERITIES, what="severity", known="severities are", fix="define all of")
        return _also(severities, handler, check)


def _exactly(given: Any, keys: tuple[str, ...], what: str, known: str, fix: str) -> None:
    """Every one of `keys` and nothing else, or a ValueError naming the first stranger or the first missing."""
    if not isinstance(given, dict):
        return  # the model's own validation says what it should be
    unknown = [key for key in given if key not in keys]
    if unknown:
        raise ValueError(f"unknown {what} {unknown[0]!r}; {known} {', '.join(keys)}")
    missing = [key for key in keys if key not in given]
    if missing:
        raise ValueError(f"missing {what} {missing[0]!r}; {fix} {', '.join(keys)}")


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

    @field_validator("stages", mode="wrap")
    @classmethod
    def _six_stages(cls, stages: Any, handler: ValidatorFunctionWrapHandler) -> dict[str, list[ChecklistItemConfig]]:
        check = partial(_exactly, keys=STAGES, what="stage", known="stages are", fix="give a checklist for each of")
        valid = _also(stages, handler, check)
        return {key: valid[key] for key in STAGES}


ALERT_SEVERITIES = ("critical", "high", "medium", "low", "info")
ALERT_SOURCES = ("alertmanager", "splunk", "sentinel", "generic")
ALERT_FIELDS = ("source", "severity", "title", "description", "fingerprint", "group_key", "status")


def _match_value(value: Any) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
        try:
            re.compile(text[1:-1])
        except re.error as exc:
            raise ValueError(f"{text!r} is not a regular expression: {exc}") from exc
    return text


class AlertDeclare(Strict):
    """What a rule declares: the incident's severity and playbook."""

    severity: str = "sev3"
    playbook: str = "default"

    @field_validator("severity")
    @classmethod
    def _severity(cls, severity: str) -> str:
        if severity not in SEVERITIES:
            raise ValueError(f"unknown severity {severity!r}; severities are {', '.join(SEVERITIES)}")
        return severity


class AlertRule(Strict):
    """One rule of alerts.yaml: `when` every field matches, `declare`, `triage` or `drop`."""

    when: dict[str, Annotated[str, BeforeValidator(_match_value)]] = {}
    declare: AlertDeclare | None = None
    triage: bool = False
    drop: bool = False

    @field_validator("when")
    @classmethod
    def _fields(cls, when: dict[str, str]) -> dict[str, str]:
        for name in when:
            if name not in ALERT_FIELDS and not (name.startswith("labels.") and len(name) > len("labels.")):
                raise ValueError(f"unknown field {name!r}; match on {', '.join(ALERT_FIELDS)} or labels.NAME")
        return when

    @model_validator(mode="after")
    def _one_action(self) -> AlertRule:
        if [self.declare is not None, self.triage, self.drop].count(True) != 1:
            raise ValueError("give exactly one of declare: {severity, playbook}, triage: true or drop: true")
        return self

    def matches(self, fields: dict[str, str]) -> bool:
        """Whether every `when` entry matches (`/regex/` searches, anything else equals, ignoring case)."""
        for name, wanted in self.when.items():
            have = fields.get(name)
            if have is None:
                return False
            if len(wanted) >= 2 and wanted.startswith("/") and wanted.endswith("/"):
                if re.search(wanted[1:-1], have) is None:
                    return False
            elif have.casefold() != wanted.casefold():
                return False
        return True


class AlertsFile(Strict):
    """alerts.yaml: alert intake. Without the file no rule declares and nothing goes to triage."""

    dedup_window: Duration = timedelta(hours=1)
    triage_channel: str | None = None
    rules: list[AlertRule] = []
    token_env: dict[str, str] = {}  # source -> the environment variable holding that source's own token

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, token_env: dict[str, str]) -> dict[str, str]:
        for source, name in token_env.items():
            if source not in ALERT_SOURCES:
                raise ValueError(f"unknown source {source!r}; sources are {', '.join(ALERT_SOURCES)}")
            if not ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name (e.g. IRCBOT_SPLUNK_TOKEN)")
        return token_env

    def rule_for(self, fields: dict[str, str]) -> AlertRule | None:
        """The first rule that matches an alert's fields (`source`, `severity`, …, `labels.NAME`)."""
        return next((rule for rule in self.rules if rule.matches(fields)), None)


@dataclass(frozen=True)
class Config:
    """Everything read from the config folder, validated."""

    roles: RolesFile
    escalation: EscalationFile
    playbooks: dict[str, Playbook]
    alerts: AlertsFile = field(default_factory=AlertsFile)
    webhooks: WebhooksFile = field(default_factory=WebhooksFile)
    record: RecordFile = field(default_factory=RecordFile)
    regulations: RegulationsFile = field(default_factory=RegulationsFile)  # none; load_config reads regulations.yaml
    oob: OobFile = field(default_factory=OobFile)
    template_dirs: list[Path] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)  # each file read: roles.yaml, playbooks/x.yaml, …

    def role(self, key: str) -> RoleConfig | None:
        """The role named `key`, or None."""
        return self.roles.roles.get(key)
