"""webhooks.yaml: the outbound webhook endpoints, which events each hears, and the variable holding its secret.

Typed, validated data only; sending is `ircbot.adapters.webhooks`' job.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    RootModel,
    field_validator,
    model_validator,
)

from ircbot.domain.kinds import TimelineKind

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


WEBHOOK_EVENTS: dict[str, TimelineKind] = {
    "declared": TimelineKind.DECLARED,
    "severity_changed": TimelineKind.SEVERITY_CHANGED,
    "stage_changed": TimelineKind.STAGE_ENTERED,
    "role_assigned": TimelineKind.ROLE_ASSIGNED,
    "role_released": TimelineKind.ROLE_RELEASED,
    "acknowledged": TimelineKind.ACKNOWLEDGED,
    "escalated": TimelineKind.ESCALATED,
    "contained": TimelineKind.CONTAINED,
    "status_update": TimelineKind.STATUS_UPDATE,
    "alert_attached": TimelineKind.ALERT,
    "resolved": TimelineKind.RESOLVED,
    "decision_approved": TimelineKind.DECISION_APPROVED,
}
"""The event names webhooks.yaml may subscribe to, and the timeline event each one follows."""


def _webhook_event(value: Any) -> str:
    name = str(value)
    if name not in WEBHOOK_EVENTS:
        raise ValueError(f"unknown event {name!r}; events are {', '.join(WEBHOOK_EVENTS)}")
    return name


class Webhook(_Strict):
    """One endpoint of webhooks.yaml: where to POST, the variable holding its secret, and which events."""

    url: str
    secret_env: str
    events: list[Annotated[str, BeforeValidator(_webhook_event)]] = Field(min_length=1)
    include_private: bool = False
    _secret: str = PrivateAttr(default="")  # read from secret_env when the file is loaded, never printed

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        if not re.match(r"^https?://[^\s/]+", url):
            raise ValueError(f"{url!r} is not an http:// or https:// URL")
        return url

    @field_validator("secret_env")
    @classmethod
    def _secret_env(cls, name: str) -> str:
        if not ENV_NAME.match(name):
            raise ValueError(f"{name!r} is not an environment variable name (e.g. IRCBOT_SOAR_SECRET)")
        if not os.environ.get(name):
            raise ValueError(f"the environment variable {name} is not set; set it to this endpoint's shared secret")
        return name

    @model_validator(mode="after")
    def _read_secret(self) -> Webhook:
        self._secret = os.environ.get(self.secret_env, "")
        return self

    @property
    def secret(self) -> str:
        """The shared secret deliveries are signed with (the value of `secret_env` at load time)."""
        return self._secret


def _webhook_list(value: Any) -> Any:
    return [] if value in (None, {}) else value  # an empty file: no webhooks


class WebhooksFile(RootModel[list[Webhook]]):
    """webhooks.yaml: a list of endpoints. Without the file nothing is sent."""

    root: Annotated[list[Webhook], BeforeValidator(_webhook_list)] = []

    def subscribed(self, kind: str) -> list[tuple[str, Webhook]]:
        """(event name, endpoint) for each endpoint that wants to hear of a timeline event of this kind."""
        return [(name, hook) for hook in self.root for name in hook.events if WEBHOOK_EVENTS[name] == kind]

    def endpoint(self, url: str) -> Webhook | None:
        """The configured endpoint with this URL, or None."""
        return next((hook for hook in self.root if hook.url == url), None)
