"""How a Web API call arrives: the token it carries and its arguments, from the query, a form or a JSON body."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from ircbot.emulator.state import SlackError


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def token_of(headers: Mapping[str, str], query: str, body: bytes) -> str | None:
    """The token a call carries: the Authorization header, else a `token` argument."""
    lowered = _lowered(headers)
    auth = lowered.get("authorization", "")
    if auth.startswith("Bearer "):
        return auth[len("Bearer ") :]
    form = dict(parse_qsl(query)) | (
        dict(parse_qsl(body.decode("utf-8", "replace"))) if "json" not in lowered.get("content-type", "") else {}
    )
    return form.get("token")


def arguments_of(
    method: str, headers: Mapping[str, str], body: bytes, query: str, violations: list[str]
) -> tuple[dict[str, Any], bool]:
    """Decode a request into raw args; returns (args, came_from_form). A repeated form argument is a violation."""
    content_type = _lowered(headers).get("content-type", "")
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if "application/json" in content_type:
        try:
            decoded = json.loads(body or b"{}")
        except json.JSONDecodeError:
            raise SlackError("invalid_json") from None
        if not isinstance(decoded, dict):
            raise SlackError("json_not_object")
        args.update(decoded)
        return args, False
    if "multipart/form-data" in content_type:
        raise SlackError("invalid_form_data", ["[ERROR] the emulator only accepts multipart for files.upload"])
    pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    names = [k for k, _ in pairs]
    for name in {n for n in names if names.count(n) > 1}:
        violations.append(f"{method}: argument `{name}` sent more than once")
    args.update(pairs)
    return args, True
