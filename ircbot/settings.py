"""Process settings, read from the environment only."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from dateutil import tz
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The environment variables of DESIGN.md, typed."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    slack_bot_token: str | None = Field(
        default=None, validation_alias="SLACK_BOT_TOKEN", description="bot token (xoxb-…); serve needs it"
    )
    slack_signing_secret: str | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET", description="request signing secret; HTTP mode needs it"
    )
    slack_app_token: str | None = Field(
        default=None, validation_alias="SLACK_APP_TOKEN", description="app-level token (xapp-…) for --socket-mode"
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        validation_alias="SLACK_API_URL",
        description="Web API base URL (GovSlack, proxies, emulators)",
    )
    database_url: str = Field(
        default="sqlite:///ircbot.db",
        validation_alias="DATABASE_URL",
        description="SQLAlchemy URL (postgres:// means postgresql+psycopg://)",
    )
    config_dir: Path = Field(
        default=Path("."),
        validation_alias=AliasChoices("IRCBOT_CONFIG_DIR", "config_dir"),
        description="folder with roles.yaml, escalation.yaml and overrides; must exist",
    )
    smtp_url: str | None = Field(
        default=None, validation_alias="SMTP_URL", description="e-mail for pages (smtp://host:port); unset: no e-mail"
    )
    alert_token: str | None = Field(
        default=None, validation_alias="IRCBOT_ALERT_TOKEN", description="the bearer token of POST /alerts/<source>"
    )
    timeline_emoji: str = Field(
        default="pushpin",
        validation_alias="IRCBOT_TIMELINE_EMOJI",
        description="reaction that puts a message into the timeline",
    )
    timezone: str = Field(
        default="UTC", validation_alias="IRCBOT_TIMEZONE", description="time zone of postmortems (e.g. Europe/Berlin)"
    )
    slack_timeout: int = Field(
        default=15,
        ge=1,
        le=120,
        validation_alias="IRCBOT_SLACK_TIMEOUT",
        description="seconds one Slack Web API call may take",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias="IRCBOT_LOG_LEVEL", description="ircbot's own log level"
    )
    log_format: Literal["text", "json"] = Field(
        default="text", validation_alias="IRCBOT_LOG_FORMAT", description="text, or json: one object per line"
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        if not name.strip() or tz.gettz(name) is None:
            raise ValueError("unknown time zone; write e.g. UTC or Europe/Berlin")
        return name

    def problems_for_serving(self, *, socket_mode: bool) -> list[str]:
        """What is missing before `serve` may start, as messages naming the variable."""
        problems = []
        if not self.slack_bot_token:
            problems.append("SLACK_BOT_TOKEN is not set: give the bot token (xoxb-…) from the app's OAuth page")
        elif not self.slack_bot_token.startswith("xoxb-"):
            problems.append("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
        if socket_mode:
            if not (self.slack_app_token or "").startswith("xapp-"):
                problems.append("SLACK_APP_TOKEN must be an app-level token (xapp-…) for --socket-mode")
        elif not self.slack_signing_secret:
            problems.append("SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request with it")
        return problems


def variable_name(name: str) -> str:
    """The environment variable a Settings field is read from."""
    alias = Settings.model_fields[name].validation_alias
    return str(alias.choices[0] if isinstance(alias, AliasChoices) else alias)


def environment_help() -> str:
    """The environment variables, their meaning and default, for `ircbot --help`; read from the fields themselves."""
    rows = []
    for name, info in Settings.model_fields.items():
        default = "" if info.default is None else f" (default: {info.default})"
        rows.append(f"  {variable_name(name):<22} {info.description}{default}")
    return "environment variables:\n" + "\n".join(rows)
