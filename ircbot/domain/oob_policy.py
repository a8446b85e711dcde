"""oob.yaml: the out-of-band Matrix homeserver, the bot's account on it, and who is who there.

The `people` mapping is the trust anchor of the out-of-band room: only the Matrix accounts it names are
invited, and a command in the room counts as the Slack user it maps back to. So it lives in config,
verified outside Slack, and is never learnt from Slack (whose profiles an attacker in Slack could edit).
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ircbot.domain.webhook_policy import ENV_NAME

MATRIX_USER = re.compile(r"^@[a-z0-9._=/+-]+:[A-Za-z0-9.-]+(:\d{1,5})?$")
SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Homeserver(_Strict):
    """The Matrix homeserver and the bot's account: a password or an access token, each read from a variable."""

    homeserver: str
    user: str
    password_env: str | None = None
    access_token_env: str | None = None

    @field_validator("homeserver")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not a homeserver URL; write e.g. https://matrix.example.org")
        return value.rstrip("/")

    @field_validator("user")
    @classmethod
    def _user(cls, value: str) -> str:
        if not MATRIX_USER.match(value):
            raise ValueError(f'{value!r} is not a Matrix user id; write e.g. "@ircbot:example.org"')
        return value

    @field_validator("password_env", "access_token_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        if value is not None and not ENV_NAME.match(value):
            raise ValueError(f"{value!r} is not an environment variable name; write e.g. MATRIX_BOT_PASSWORD")
        return value

    @model_validator(mode="after")
    def _one_secret(self) -> Homeserver:
        if (self.password_env is None) == (self.access_token_env is None):
            raise ValueError("give exactly one of password_env and access_token_env")
        return self

    def secret(self) -> tuple[str, str | None]:
        """('password' or 'access_token', its value from the environment, None when unset)."""
        if self.access_token_env is not None:
            return "access_token", os.environ.get(self.access_token_env) or None
        assert self.password_env is not None
        return "password", os.environ.get(self.password_env) or None


class Person(_Strict):
    """One person's Matrix account, and optionally the address their out-of-band pages are also e-mailed to."""

    matrix: str
    email: str | None = None

    @field_validator("matrix")
    @classmethod
    def _matrix(cls, value: str) -> str:
        if not MATRIX_USER.match(value):
            raise ValueError(f'{value!r} is not a Matrix user id; write e.g. "@alice:example.org"')
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL.match(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value


class OobFile(_Strict):
    """oob.yaml. Without the file there is no out-of-band channel, and `oob` says how to set one up."""

    matrix: Homeserver | None = None
    people: dict[str, Person] = Field(default_factory=dict)

    @field_validator("people", mode="before")
    @classmethod
    def _people(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        for slack_id in value:
            if not isinstance(slack_id, str) or not SLACK_USER.match(slack_id):
                raise ValueError(f"{slack_id!r} is not a Slack user id (U…); people maps Slack user ids to Matrix ids")
        return {k: {"matrix": v} if isinstance(v, str) else v for k, v in value.items()}

    @model_validator(mode="after")
    def _distinct(self) -> OobFile:
        seen: dict[str, str] = {}
        for slack_id, person in self.people.items():
            if person.matrix in seen:
                raise ValueError(f"{person.matrix} is mapped twice ({seen[person.matrix]} and {slack_id})")
            seen[person.matrix] = slack_id
        if self.matrix is not None and self.matrix.user in seen:
            raise ValueError(f"the bot's own account {self.matrix.user} cannot also be a person")
        return self

    @property
    def enabled(self) -> bool:
        """Whether an out-of-band homeserver is configured."""
        return self.matrix is not None

    def matrix_id(self, slack_id: str) -> str | None:
        """The person's Matrix account, or None when they are not mapped."""
        person = self.people.get(slack_id)
        return person.matrix if person else None

    def slack_id(self, matrix_id: str) -> str | None:
        """The Slack user a Matrix account stands for, or None: an unmapped account is nobody."""
        return next((s for s, p in self.people.items() if p.matrix == matrix_id), None)
