"""What ircbot says, as plain data; the chat edge renders it (Block Kit for Slack)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ircbot.domain.metrics import Metrics
from ircbot.domain.views import IncidentView


@dataclass(frozen=True)
class Text:
    """A short message in the chat's markup (a template's output, an answer to a command)."""

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
    """One page of the open incidents the caller may see (most severe first, then oldest)."""

    incidents: tuple[IncidentView, ...]
    total: int = 0  # how many there are in all
    first: int = 1  # the place of the first one shown, counting from 1
    page: int = 1
    pages: int = 1


@dataclass(frozen=True)
class PageCard:
    """An escalation page to one person, with an Acknowledge button."""

    incident: IncidentView
    reason: str
    declared_local: str
    acknowledged_by: str | None = None


@dataclass(frozen=True)
class ReminderCard:
    """A reminder that an update is overdue (with snooze buttons), or of required items still open."""

    incident_id: int
    key: str
    about: Literal["update", "checklist"]
    stage: str = ""
    items: tuple[tuple[int, str], ...] = ()  # (position, text) of the open required items
    since: str = ""  # how long since the last update (or the declare, before the first)
    first: bool = False  # no update was ever posted
    cadence: str = ""  # the severity's update cadence, e.g. "30m"
    severity: str = ""
    channel_id: str | None = None  # the incident channel, linked from a checklist reminder's DM

    @property
    def snooze(self) -> bool:
        return self.about == "update"


@dataclass(frozen=True)
class Topic:
    """The incident at a glance, where the channel shows it (Slack: the channel topic)."""

    incident: IncidentView


@dataclass(frozen=True)
class RoleAnnouncement:
    """Someone now holds a role, perhaps taking over from someone else."""

    user: str
    title: str
    previous: str | None
    duties: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class JoinRequest:
    """A DM to someone brought in by role: who asked, into what, as what, and the role's duties."""

    by: str
    incident: IncidentView
    role_title: str
    description: str
    duties: tuple[str, ...]


@dataclass(frozen=True)
class AccessPrompt:
    """The question posted in a private incident's channel when someone asks to join it, and its answer."""

    request_id: int
    incident_id: int
    user_id: str
    status: str = "pending"  # pending | approved | denied
    decided_by: str | None = None


@dataclass(frozen=True)
class DecisionCard:
    """A decision put to the team: what, how many must approve, who did, and how it stands."""

    decision_id: int
    key: str
    number: int
    text: str
    approvers: int
    proposed_by: str
    status: str  # pending | approved | rejected
    approved_by: tuple[tuple[str, datetime], ...]  # (user, when), the proposer first
    rejected_by: tuple[str, datetime] | None = None
    reason: str | None = None

    @property
    def label(self) -> str:
        """`D-3`."""
        return f"D-{self.number}"


@dataclass(frozen=True)
class DeclareOutcome:
    """What became of a declare that was cut short and finished (or given up) later: told to the declarer."""

    title: str
    incident: IncidentView | None  # None: nothing was declared
    problem: str | None = None  # why not, and what to do, in a sentence or two


@dataclass(frozen=True)
class TriageCard:
    """An alert no rule declared, in the triage channel: its facts, and Declare / Dismiss until someone decides."""

    alert_id: int
    source: str
    severity: str
    title: str
    description: str
    started_at: datetime | None
    labels: tuple[tuple[str, str], ...] = ()
    outcome: str = "triage"  # an AlertOutcome: triage until someone decides
    decided_by: str | None = None
    reason: str | None = None  # why it was dismissed
    incident_key: str | None = None
    channel_id: str | None = None
    cleared_at: datetime | None = None  # its sender said the condition cleared while it waited in triage


@dataclass(frozen=True)
class AckNotice:
    """Someone acknowledged the page, so escalation stopped."""

    by: str
    key: str


@dataclass(frozen=True)
class ResolvedNotice:
    """The incident is resolved: by whom, after how long, and how it ended."""

    incident: IncidentView
    by: str
    false_positive: bool
    summary: str
    chain_seq: int = 0  # the timeline's hash chain head at resolve, published outside the database
    chain_head: str = ""


@dataclass(frozen=True)
class PageLine:
    """The channel's record that a tier was paged: people by id, e-mail-only targets by address."""

    tier: int
    round: int
    users: tuple[str, ...]
    emails: tuple[str, ...]
    late: str | None = None
    about: str | None = None  # not an escalation tier: why they were paged (an overdue regulatory report)


@dataclass(frozen=True)
class SentNotice:
    """An approved notice as its audience's channel receives it."""

    subject: str
    body: str


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
    version: str = ""  # names these exact words: Send approves the version its approver saw
    warning: str = ""  # said at once with the draft, e.g. that e-mail is off and who will not get it


@dataclass(frozen=True)
class StatsCard:
    """Response metrics across incidents as a table, and a line on where the chart went."""

    metrics: Metrics
    note: str = ""


Message = (
    Text
    | IncidentCard
    | ChecklistCard
    | RolesCard
    | IncidentList
    | PageCard
    | ReminderCard
    | NoticeDraft
    | StatsCard
    | RoleAnnouncement
    | JoinRequest
    | AckNotice
    | ResolvedNotice
    | PageLine
    | SentNotice
    | DeclareOutcome
    | AccessPrompt
    | TriageCard
    | DecisionCard
)


@dataclass(frozen=True)
class Reply:
    """A command's answer: ephemeral to the caller unless in_channel."""

    message: Message
    visibility: Literal["ephemeral", "in_channel"] = "ephemeral"
    replace_original: bool = False
    problem: Literal["refused", "failed"] | None = None  # an answer to what could not be done, for the metrics
    answers: int | None = None  # the incident whose declarer this tells the outcome: noted once delivered


@dataclass(frozen=True)
class OpenModal:
    """A command's answer that opens a form instead (e.g. declare without arguments)."""

    name: str
    private_metadata: str = ""


Outcome = Reply | OpenModal
