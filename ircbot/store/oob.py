"""Out of band: an incident's room on the second chat platform, the bot's direct rooms there, and where its sync is."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from ircbot.store.models import utc_field


class OutOfBand(SQLModel, table=True):
    """An incident's out-of-band room. One per incident: moving out again reuses the room.

    `status` is `moving` from the request until the room holds the incident (a move a crash cut short is
    taken up again by the next `oob`), `away` while the response is in the room, `returned` while it is in
    Slack again (or a move failed before it was away).
    """

    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    room_id: str | None = None
    status: str = "moving"  # moving | away | returned
    moved_by: str
    moved_at: datetime = utc_field()
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    returned_by: str | None = None
    returned_at: datetime | None = utc_field(default=None, nullable=True)
    moves: int = 1  # how many times the incident went out of band


class OutOfBandDirect(SQLModel, table=True):
    """The bot's direct room with one person on the out-of-band platform (their pages and reminders go there)."""

    person: str = Field(primary_key=True)  # the platform's user id, e.g. @alice:example.org
    room_id: str


class OutOfBandSync(SQLModel, table=True):
    """Where the out-of-band platform's event stream was read up to (Matrix's `next_batch`), per bot account."""

    account: str = Field(primary_key=True)
    since: str
    updated_at: datetime = utc_field()
