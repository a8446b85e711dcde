"""Argument checking for emulated Web API calls, driven by the packaged methods.json facts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

# auth.test is not in methods.json (the bot never calls it itself) but Bolt calls it on the
# first request to learn the bot user id, so it is described here by hand.
EXTRA_METHODS: dict[str, dict[str, Any]] = {
    "auth.test": {
        "required_args": [],
        "optional_args": [],
        "arg_types": {},
        "json_input_supported": True,
    },
}

# Arguments that carry structured data: form bodies send them as JSON text, JSON bodies
# send them as objects; both are accepted and decoded.
STRUCTURED_ARGS = frozenset({"blocks", "attachments", "view", "metadata", "document_content", "files"})

TRUE_VALUES = frozenset({"1", "true", "True"})
FALSE_VALUES = frozenset({"0", "false", "False", ""})


@dataclass(frozen=True)
class MethodSpec:
    """What one Web API method accepts."""

    name: str
    required: frozenset[str]
    optional: frozenset[str]
    types: dict[str, str | None] = field(default_factory=dict)
    json_ok: bool = True
    errors: frozenset[str] = frozenset()

    @property
    def allowed(self) -> frozenset[str]:
        """All argument names the method documents."""
        return self.required | self.optional


def load_specs(path: str | None = None) -> dict[str, MethodSpec]:
    """Load method specs from methods.json (the packaged copy unless a path is given)."""
    if path is None:
        text = resources.files("ircbot.emulator").joinpath("methods.json").read_text(encoding="utf-8")
    else:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    raw = json.loads(text)
    specs: dict[str, MethodSpec] = {}
    docs_by_method = {name: entry["docs"] for name, entry in raw["methods"].items()}
    docs_by_method.update(EXTRA_METHODS)
    for name, docs in docs_by_method.items():
        specs[name] = MethodSpec(
            name=name,
            required=frozenset(docs.get("required_args", [])),
            optional=frozenset(docs.get("optional_args", [])),
            types=dict(docs.get("arg_types", {})),
            json_ok=bool(docs.get("json_input_supported", True)),
            errors=frozenset(docs.get("method_specific_errors", [])),
        )
    return specs


class ArgumentError(Exception):
    """Raised when a call's arguments do not match the method's documented contract."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def _coerce(name: str, kind: str | None, value: Any, from_form: bool) -> Any:
    """Convert one raw argument to a Python value, raising ValueError with the reason."""
    if name in STRUCTURED_ARGS:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"`{name}` is not valid JSON: {exc.msg}") from None
        return value
    if kind is None:
        return value
    kinds = set(kind.split("|"))
    if value is None:
        if "null" in kinds:
            return None
        raise ValueError(f"`{name}` must not be null")
    if "boolean" in kinds:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value in TRUE_VALUES:
            return True
        if isinstance(value, str) and value in FALSE_VALUES:
            return False
        if "string" not in kinds:
            raise ValueError(f"`{name}` must be a boolean, got {value!r}")
    if kinds & {"number", "integer"}:
        try:
            number = float(value) if "number" in kinds else int(value)
        except (TypeError, ValueError):
            raise ValueError(f"`{name}` must be a {kind}, got {value!r}") from None
        if isinstance(number, float) and number.is_integer():
            return int(number)
        return number
    if "array" in kinds:
        if isinstance(value, list):
            return value
        raise ValueError(f"`{name}` must be an array, got {value!r}")
    if "string" in kinds and not isinstance(value, str):
        # A float ts silently loses precision, so non-strings are a bug even if Slack would coerce.
        raise ValueError(f"`{name}` must be a string, got {type(value).__name__} {value!r}")
    return value


def check_args(spec: MethodSpec, raw: dict[str, Any], from_form: bool) -> dict[str, Any]:
    """Validate raw arguments against the spec; return coerced args or raise ArgumentError."""
    problems: list[str] = []
    args: dict[str, Any] = {}
    if not from_form and not spec.json_ok and raw:
        problems.append(f"{spec.name} does not accept JSON bodies; Slack ignores them (send form data)")
    for name, value in raw.items():
        if name == "token" or (name == "team_id" and name not in spec.allowed):
            # WebClient(team_id=...) - which Bolt builds for every request - adds team_id to every
            # call as a default parameter; Slack accepts it everywhere.
            continue
        if name not in spec.allowed:
            problems.append(f"unknown argument `{name}` for {spec.name} (allowed: {sorted(spec.allowed)})")
            continue
        try:
            args[name] = _coerce(name, spec.types.get(name), value, from_form)
        except ValueError as exc:
            problems.append(str(exc))
    for name in sorted(spec.required):
        # Empty strings reach the handler: Slack answers them with method errors
        # such as invalid_name_required or channel_not_found.
        if raw.get(name) is None:
            problems.append(f"missing required argument `{name}` for {spec.name}")
    if problems:
        raise ArgumentError(problems)
    return args
