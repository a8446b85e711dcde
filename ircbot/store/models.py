"""The tables. Every state change of an incident also writes a TimelineEvent row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from ircbot.store.types import UTCDateTime


def utc_field(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


class Incident(SQLModel, table=True):
    """One security incident."""

    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(unique=True, index=True)
    title: str
    severity: str
    status: str = Field(default="open", index=True)  # open | resolved
    stage: str = "detection"
    playbook: str = "default"
    is_private: bool = True
    is_drill: bool = False
    false_positive: bool = False
    channel_id: str | None = Field(default=None, unique=True, index=True)
    channel_name: str | None = None
    declared_by: str
    request_key: str | None = Field(default=None, unique=True)
    summary: str | None = Field(default=None, sa_column=Column(Text))
    started_at: datetime | None = utc_field(default=None, nullable=True)
    detected_at: datetime = utc_field()
    declared_at: datetime = utc_field()
    acknowledged_at: datetime | None = utc_field(default=None, nullable=True)
    acknowledged_by: str | None = None
    policy: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    contained_at: datetime | None = utc_field(default=None, nullable=True)
    resolved_at: datetime | None = utc_field(default=None, nullable=True)
    # The declare, step by step: a channel_id once the channel exists, card_ts once the card is posted,
    # ready_at once the channel is furnished; a declare that stopped short is resumed after its lease.
    card_ts: str | None = None
    ready_at: datetime | None = utc_field(default=None, nullable=True)
    declare_lease_until: datetime | None = utc_field(default=None, nullable=True)
    # The pinned card follows the incident: every change it shows counts card_version up; the card is
    # redrawn (chat.update) at card_due_at, and card_shown is the version Slack last showed.
    card_version: int = 0
    card_shown: int = 0
    card_due_at: datetime | None = utc_field(default=None, nullable=True, index=True)
    # When the stored channel copy was last read whole while Slack's message events were being received;
    # None: the events since may have been missed (a restart), so the next compile reads the whole channel.
    channel_read_at: datetime | None = utc_field(default=None, nullable=True)
    answered_at: datetime | None = utc_field(default=None, nullable=True)  # the declarer heard the outcome
    # The head of the timeline's hash chain (domain/chain.py), kept here where deleting events cannot reach it.
    chain_seq: int = 0
    chain_head: str | None = None

    @property
    def key(self) -> str:
        """The incident's human key, e.g. INC-7."""
        return f"INC-{self.number}"

    @property
    def label(self) -> str:
        """`INC-7` plus a drill marker, for headings."""
        return f"{self.key} [DRILL]" if self.is_drill else self.key


class RoleAssignment(SQLModel, table=True):
    """Who held a role, from when until when (released_at is None while held)."""

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    role: str
    user_id: str
    assigned_by: str
    assigned_at: datetime = utc_field()
    released_at: datetime | None = utc_field(default=None, nullable=True)


class Participant(SQLModel, table=True):
    """Someone brought into an incident; private incidents are visible to participants only."""

    __table_args__ = (UniqueConstraint("incident_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    user_id: str = Field(index=True)
    reason: str
    added_at: datetime = utc_field()


class ChecklistItem(SQLModel, table=True):
    """One checklist item of one stage of one incident, copied from its playbook at declare."""

    __table_args__ = (UniqueConstraint("incident_id", "stage", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    stage: str
    position: int
    text: str
    required: bool = False
    checked_by: str | None = None
    checked_at: datetime | None = utc_field(default=None, nullable=True)


class StageEntry(SQLModel, table=True):
    """The incident entered `stage` at entered_at and left it at left_at."""

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    stage: str
    entered_by: str
    entered_at: datetime = utc_field()
    left_at: datetime | None = utc_field(default=None, nullable=True)
    left_forced: bool = False


class TimelineEvent(SQLModel, table=True):
    """Something that happened in an incident, in time order; a link of the incident's hash chain.

    `at` is when it happened (a captured message keeps its own time), `recorded_at` when it was written;
    `seq`, `prev_hash` and `hash` chain the events in the order they were recorded (domain/chain.py).
    """

    __table_args__ = (UniqueConstraint("incident_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    at: datetime = utc_field(index=True)
    kind: str
    actor: str | None = None
    text: str = Field(sa_column=Column(Text, nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    seq: int | None = None
    recorded_at: datetime | None = utc_field(default=None, nullable=True)
    prev_hash: str | None = None
    hash: str | None = None


class Postmortem(SQLModel, table=True):
    """A compiled postmortem, kept even after the channel is archived."""

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    compiled_at: datetime = utc_field()
    compiled_by: str
    markdown: str = Field(sa_column=Column(Text, nullable=False))


class ChannelMessage(SQLModel, table=True):
    """A message of the incident channel as the last postmortem compile read it, top-level or a thread reply.

    A thread's stored replies stand for the thread while its parent shows the same newest reply and reply
    count as they do; the next compile reads the thread again only when Slack shows other figures.
    """

    __tablename__ = "channel_message"
    __table_args__ = (UniqueConstraint("incident_id", "ts"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id")
    ts: str
    thread_ts: str | None = None
    user: str | None = None
    bot_id: str | None = None
    subtype: str | None = None
    text: str = Field(sa_column=Column(Text, nullable=False))
    files: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Counter(SQLModel, table=True):
    """A number handed out in order, one transaction at a time (incident numbers)."""

    name: str = Field(primary_key=True)
    value: int = 0


class Identity(SQLModel, table=True):
    """The Slack user an on-call e-mail address belonged to when Slack was last asked."""

    email: str = Field(primary_key=True)
    user_id: str
    resolved_at: datetime = utc_field()


class AccessRequest(SQLModel, table=True):
    """Someone asking to be let into a private incident, and what became of it."""

    __tablename__ = "access_request"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    user_id: str
    status: str = "pending"  # pending | approved | denied
    requested_at: datetime = utc_field()
    prompt_ts: str | None = None  # the Approve / Deny prompt in the incident channel
    decided_by: str | None = None
    decided_at: datetime | None = utc_field(default=None, nullable=True)


class HomeViewer(SQLModel, table=True):
    """Someone who has opened the App Home tab: their tab is redrawn when an incident they can see changes."""

    __tablename__ = "home_viewer"

    user_id: str = Field(primary_key=True)
    opened_at: datetime = utc_field()
    due_at: datetime | None = utc_field(default=None, nullable=True, index=True)


class ThreadActivity(SQLModel, table=True):
    """A thread (by its parent's ts) Slack's events said moved since the channel copy was read; "*": read it all."""

    __tablename__ = "thread_activity"

    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    thread_ts: str = Field(primary_key=True)
    seen_at: datetime = utc_field()


class PendingDeclare(SQLModel, table=True):
    """A declare (typed or from the form) acknowledged to Slack, not yet recorded: kept so a crash cannot lose it."""

    __tablename__ = "pending_declare"

    request_key: str = Field(primary_key=True)
    declaration: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: datetime = utc_field()
    lease_until: datetime | None = utc_field(default=None, nullable=True)


class HandledRequest(SQLModel, table=True):
    """A Slack delivery already taken (event id or trigger id), so a retry is not handled twice."""

    key: str = Field(primary_key=True)
    received_at: datetime = utc_field()


class PageStep(SQLModel, table=True):
    """One escalation tier due at `due_at`: a durable timer, claimed exactly once when it fires."""

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    round: int = 0
    tier: int
    targets: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    due_at: datetime = utc_field(index=True)
    status: str = Field(default="pending", index=True)  # pending | fired | cancelled
    fired_at: datetime | None = utc_field(default=None, nullable=True)
    created_at: datetime = utc_field()
    clock_id: int | None = None  # a page for an overdue regulatory report: stopped by `clock done`/`stop`, not by ack
    reason: str | None = None  # why the page goes out, when it is not an escalation tier


class OutboxMessage(SQLModel, table=True):
    """A page decided on and not yet delivered; survives a crash between deciding and sending."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    step_id: int | None = Field(default=None, foreign_key="pagestep.id")
    kind: str  # dm | email | invite | channel_line
    recipient: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", index=True)  # pending | sent | suppressed | failed
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime = utc_field()
    next_attempt_at: datetime = utc_field()
    sent_at: datetime | None = utc_field(default=None, nullable=True)
    first_tried_at: datetime | None = utc_field(default=None, nullable=True)
    # True from the moment a send starts until Slack's answer says it did not happen: a process killed
    # mid-send, or an answer lost to a timeout or a 5xx, leaves it set, and the next try looks first.
    outcome_unknown: bool = False


class Impact(SQLModel, table=True):
    """Downtime of an affected system, for the metrics."""

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    system: str
    started_at: datetime = utc_field()
    ended_at: datetime = utc_field()
    recorded_by: str
    recorded_at: datetime = utc_field()


class StatusUpdate(SQLModel, table=True):
    """A status update sent to the channel, the stakeholder channel and the stakeholder e-mail list."""

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    sent_by: str
    sent_at: datetime = utc_field(index=True)
    status: str = Field(sa_column=Column(Text, nullable=False))
    impact: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    next_steps: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    next_update_at: datetime | None = utc_field(default=None, nullable=True)
    delivered: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Reminder(SQLModel, table=True):
    """A durable reminder timer (update overdue, checklist overdue), fired once like an escalation step."""

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    kind: str  # update | checklist
    due_at: datetime = utc_field(index=True)
    status: str = Field(default="pending", index=True)  # pending | fired | cancelled
    fired_at: datetime | None = utc_field(default=None, nullable=True)
    created_at: datetime = utc_field()


class Notice(SQLModel, table=True):
    """A templated notice to an audience (leadership, legal, insurer, staff): drafted, approved, sent."""

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    audience: str
    subject: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="draft")  # draft | sent | cancelled
    drafted_by: str
    drafted_at: datetime = utc_field()
    approved_by: str | None = None
    sent_at: datetime | None = utc_field(default=None, nullable=True)


class Alert(SQLModel, table=True):
    """One alert as a sender posted it, normalised; the durable queue of alert intake until `done`."""

    __table_args__ = (Index("ix_alert_fingerprint", "source", "fingerprint", "received_at"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str  # alertmanager | splunk | sentinel | generic
    fingerprint: str
    group_key: str
    status: str = "firing"  # firing | resolved
    severity: str  # critical | high | medium | low | info
    title: str = Field(sa_column=Column(Text, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    started_at: datetime | None = utc_field(default=None, nullable=True)
    received_at: datetime = utc_field()
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    raw: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Processing: claimed under a lease, decided once (outcome), finished once its Slack part is done.
    done: bool = Field(default=False, index=True)
    lease_until: datetime | None = utc_field(default=None, nullable=True)
    outcome: str | None = None  # an AlertOutcome once decided
    processed_at: datetime | None = utc_field(default=None, nullable=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    triage_ts: str | None = None  # the Declare / Dismiss card in the triage channel
    decided_by: str | None = None  # who declared or dismissed it in triage
    reason: str | None = None  # why it was dismissed, when given
    cleared_at: datetime | None = utc_field(default=None, nullable=True)  # its sender said it cleared (triage)


class AlertGroup(SQLModel, table=True):
    """An alert group (Alertmanager's groupKey) or a fingerprint: the row locked while one of its alerts is decided,
    and the incident its alerts feed."""

    __tablename__ = "alert_group"

    key: str = Field(primary_key=True)  # "<source>:group:<group key>" or "<source>:fp:<fingerprint>"
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
    first_seen_at: datetime = utc_field()
