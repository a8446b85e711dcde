"""What the domain needs from the outside world, as protocols the edges implement."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from ircbot.domain.messages import Message, Topic
from ircbot.domain.metrics import Metrics
from ircbot.domain.views import IncidentView
from ircbot.errors import GatewayError

Clock = Callable[[], datetime]
ChartDrawer = Callable[[Metrics], bytes]
"""Draws the monthly metrics chart as a PNG."""
WakeUp = Callable[[datetime], None]
"""Asks the timer engine to run at a due time (at once when it is past)."""


def system_clock() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Profile:
    """What the workspace knows about a person."""

    user_id: str
    name: str
    email: str | None
    tz: str | None


@dataclass(frozen=True)
class ChatMessage:
    """One message of a channel's history as the domain needs it."""

    ts: str
    user: str | None
    text: str
    bot_id: str | None = None
    subtype: str | None = None
    thread_ts: str | None = None
    reply_count: int = 0
    latest_reply: str | None = None
    files: tuple[str, ...] = ()

    @property
    def at(self) -> datetime:
        """The message time as an aware UTC datetime."""
        return datetime.fromtimestamp(float(self.ts), tz=UTC)


class ChatPort(Protocol):
    """The chat workspace (Slack in production, the emulator in tests and the demo)."""

    def create_channel(self, name: str, *, private: bool) -> str:
        """Create a channel and return its id; raise GatewayError('…', 'name_taken') if taken."""
        ...

    def find_channel(self, name: str) -> str | None:
        """The id of a channel with this name that the bot is in, or None (after a create whose answer was lost)."""
        ...

    def invite(self, channel_id: str, user_ids: list[str]) -> None:
        """Bring users into a channel; users already in it are fine."""
        ...

    def set_topic(self, channel_id: str, topic: Topic) -> None:
        """Show the incident at a glance in the channel's topic."""
        ...

    def post(self, channel_id: str, message: Message, *, key: str | None = None) -> str:
        """Post a message and return its timestamp id; `key` tags it so find_posted can find it again."""
        ...

    def update(self, channel_id: str, ts: str, message: Message) -> None:
        """Rewrite a message this bot posted (the pinned incident card) in place."""
        ...

    def publish_home(self, user_id: str, incidents: tuple[IncidentView, ...]) -> None:
        """Show the person's App Home tab listing these incidents (already filtered to what they may see)."""
        ...

    def find_posted(self, channel_id: str, key: str, *, since: datetime) -> str | None:
        """The timestamp of a message this bot posted with `key` since `since`, or None.

        Asked before sending again something whose first send may have arrived (the answer was lost).
        """
        ...

    def pin(self, channel_id: str, ts: str) -> None:
        """Pin a message to the channel."""
        ...

    def user_by_email(self, email: str) -> str | None:
        """The user id registered with this e-mail, or None."""
        ...

    def group_members(self, group_id: str) -> list[str]:
        """Members of a user group, in the group's order."""
        ...

    def upload(self, channel_id: str, *, filename: str, title: str, content: str | bytes, comment: str) -> None:
        """Share a file (text or binary) into a channel, or into the bot's DM when given a user id."""
        ...

    def profile(self, user_id: str) -> Profile:
        """Name, e-mail and time zone of a user."""
        ...

    def history(self, channel_id: str, *, oldest: str | None = None) -> Iterator[ChatMessage]:
        """Every top-level message of a channel (only those after `oldest` when given), oldest first."""
        ...

    def replies(self, channel_id: str, thread_ts: str, *, oldest: str | None = None) -> Iterator[ChatMessage]:
        """The replies of a thread (without its parent), oldest first; only those after `oldest` when given."""
        ...

    def message(self, channel_id: str, ts: str) -> ChatMessage | None:
        """One message by its timestamp, top-level or in a thread."""
        ...


@dataclass(frozen=True)
class Email:
    """One e-mail with a plain-text and an HTML body."""

    to: tuple[str, ...]
    subject: str
    text: str
    html: str


class MailPort(Protocol):
    """Outgoing e-mail (SMTP in production)."""

    @property
    def enabled(self) -> bool:
        """False when no mail server is configured; callers record that nothing was sent."""
        ...

    def send(self, email: Email) -> None:
        """Deliver the e-mail or raise GatewayError('smtp', reason)."""
        ...


class NoMail:
    """The mail port when SMTP_URL is not set: sends nothing and says so."""

    enabled = False

    def send(self, email: Email) -> None:
        """Refuse: e-mail is off."""
        raise GatewayError("smtp", "e-mail is off (SMTP_URL is not set)")


class WebhookPort(Protocol):
    """Outgoing webhook POSTs (HTTP in production)."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        """POST the body; return on a 2xx answer, else raise GatewayError('webhook', reason)."""
        ...


class NoWebhooks:
    """The webhook port when none was wired (unit tests): refuses, so a delivery is retried, not lost."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        """Refuse: no HTTP client is wired."""
        raise GatewayError("webhook", "no HTTP client is wired")
