"""Process settings, read from the environment only."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The environment variables of DESIGN.md, typed."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    slack_bot_token: str | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    database_url: str = Field(default="sqlite:///ircbot.db", validation_alias="DATABASE_URL")
    config_dir: Path = Field(default=Path("."), validation_alias=AliasChoices("IRCBOT_CONFIG_DIR", "config_dir"))
    smtp_url: str | None = Field(default=None, validation_alias="SMTP_URL")
    alert_token: str | None = Field(default=None, validation_alias="IRCBOT_ALERT_TOKEN")  # POST /alerts/<source>
    timeline_emoji: str = Field(default="pushpin", validation_alias="IRCBOT_TIMELINE_EMOJI")
    timezone: str = Field(default="UTC", validation_alias="IRCBOT_TIMEZONE")
    slack_timeout: int = Field(default=15, ge=1, le=120, validation_alias="IRCBOT_SLACK_TIMEOUT")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", validation_alias="IRCBOT_LOG_LEVEL")
    log_format: Literal["text", "json"] = Field(default="text", validation_alias="IRCBOT_LOG_FORMAT")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

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
