"""What ircbot says, as plain data; the chat edge renders it (Block Kit for Slack)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ircbot.domain.metrics import Metrics
from ircbot.domain.views import IncidentView


@dataclass(frozen=True)
class Text:
    """A short message in Slack mrkdwn."""

    text: str


@dataclass(frozen=True)
class IncidentCard:
    """Summary, roles and the current stage's checklist with tick buttons."""

    incident: IncidentView
    heading: str
    purpose: Literal["welcome", "status"] = "welcome"


@dataclass(frozen=True)
class ChecklistCard:
    """The current stage's checklist with tick buttons, and a line on what changed."""

    incident: IncidentView
    note: str = ""


@dataclass(frozen=True)
class RolesCard:
    """Who holds which role."""

    incident: IncidentView


@dataclass(frozen=True)
class IncidentList:
    """Open incidents the caller may see."""

    incidents: tuple[IncidentView, ...]


@dataclass(frozen=True)
class PageCard:
    """An escalation page to one person, with an Acknowledge button."""

    incident: IncidentView
    reason: str
    declared_local: str
    acknowledged_by: str | None = None


@dataclass(frozen=True)
class ReminderCard:
    """A reminder, with snooze buttons when it can be snoozed."""

    incident_id: int
    text: str
    snooze: bool = False


@dataclass(frozen=True)
class NoticeDraft:
    """A drafted notice shown for approval, with Send / Edit / Cancel buttons (or its final state)."""

    notice_id: int
    audience: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    state: str = "draft"
    approved_by: str | None = None


@dataclass(frozen=True)
class StatsCard:
    """Response metrics across incidents as a table, and a line on where the chart went."""

    metrics: Metrics
    note: str = ""


Message = (
    Text | IncidentCard | ChecklistCard | RolesCard | IncidentList | PageCard | ReminderCard | NoticeDraft | StatsCard
)


@dataclass(frozen=True)
class Reply:
    """A command's answer: ephemeral to the caller unless in_channel."""

    message: Message
    visibility: Literal["ephemeral", "in_channel"] = "ephemeral"
    replace_original: bool = False


@dataclass(frozen=True)
class OpenModal:
    """A command's answer that opens a form instead (e.g. declare without arguments)."""

    name: str
    private_metadata: str = ""


Outcome = Reply | OpenModal


def internal_error(reference: str) -> Text:
    """What a person sees when ircbot itself failed: no stack trace, a reference for the operators."""
    return Text(
        f":x: That did not go through: ircbot hit an internal error (reference `{reference}`). "
        "Try again in a moment; if it keeps failing, give the reference to whoever runs ircbot."
    )
