"""The incident's record beyond its timeline: evidence and its custody, indicators of compromise, decisions.

Evidence and custody rows are never updated: a correction is a new item that names the one it corrects.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from ircbot.store.models import utc_field


class Evidence(SQLModel, table=True):
    """One item of the evidence register (EV-<number>); append-only: a correction is a new item naming the old."""

    __table_args__ = (UniqueConstraint("incident_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    number: int
    description: str = Field(sa_column=Column(Text, nullable=False))
    hash_algorithm: str | None = None  # sha256 | sha1 | md5
    hash_value: str | None = None  # lower-case hex
    source: str | None = None  # the host or system it came from
    location: str | None = None  # where it is stored
    collected_by: str
    collected_at: datetime = utc_field()
    collector_timezone: str  # the collector's Slack time zone at the time, e.g. Europe/Berlin
    corrects: int | None = None  # the number of the item this one corrects


class CustodyTransfer(SQLModel, table=True):
    """An item of evidence handed from one custodian to another; append-only."""

    id: int | None = Field(default=None, primary_key=True)
    evidence_id: int = Field(foreign_key="evidence.id", index=True)
    from_user: str
    to_user: str
    purpose: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = utc_field()
    recorded_by: str


class Indicator(SQLModel, table=True):
    """An indicator of compromise of an incident: added by hand, or found in a note, pinned message or alert."""

    __table_args__ = (UniqueConstraint("incident_id", "type", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    type: str  # ip | domain | url | sha256 | sha1 | md5 | email | file
    value: str = Field(sa_column=Column(Text, nullable=False))
    tlp: str  # TLP 2.0: clear | green | amber | amber+strict | red
    first_seen_at: datetime = utc_field()
    seen_in: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    added_by: str | None = None  # who added it by hand, or who wrote the text it was found in


class Decision(SQLModel, table=True):
    """A decision put to the team (D-<number>): approved once `approvers` distinct people approve it."""

    __table_args__ = (UniqueConstraint("incident_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    number: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    approvers: int
    proposed_by: str
    proposed_at: datetime = utc_field()
    status: str = "pending"  # pending | approved | rejected
    decided_at: datetime | None = utc_field(default=None, nullable=True)
    card_channel: str | None = None
    card_ts: str | None = None


class DecisionVote(SQLModel, table=True):
    """One person's approval or rejection of a decision; one per person."""

    __table_args__ = (UniqueConstraint("decision_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="decision.id", index=True)
    user_id: str
    approve: bool
    reason: str | None = None
    at: datetime = utc_field()


class RegulatoryClock(SQLModel, table=True):
    """One report of a notification regime (GDPR's notification, NIS2's early warning …) and its deadline.

    `starts_at` is what the report counts from (awareness, or the previous report's submission) in UTC, with
    the offset it was given in kept in `starts_offset`; `due_at` is None while it waits for the report before.
    """

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    regime: str
    position: int  # the report's place in the regime's list, from 0
    report: str
    recipient: str = ""
    starts_at: datetime | None = utc_field(default=None, nullable=True)
    starts_offset: str = "+00:00"
    due_at: datetime | None = utc_field(default=None, nullable=True)
    status: str = "running"  # waiting | running | submitted | stopped
    started_by: str
    submitted_at: datetime | None = utc_field(default=None, nullable=True)
    submitted_by: str | None = None
    reference: str | None = None
    stopped_by: str | None = None
    stopped_at: datetime | None = utc_field(default=None, nullable=True)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ClockTimer(SQLModel, table=True):
    """A reminder point or the deadline of a regulatory clock: a durable timer fired once, like a page step."""

    id: int | None = Field(default=None, primary_key=True)
    clock_id: int = Field(foreign_key="regulatoryclock.id", index=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    kind: str  # remind | overdue
    share: float = 0.0  # the part of the window gone when a reminder fires (0.5 at 50%)
    due_at: datetime = utc_field(index=True)
    status: str = Field(default="pending", index=True)  # pending | fired | cancelled
    fired_at: datetime | None = utc_field(default=None, nullable=True)
