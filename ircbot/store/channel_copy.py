"""The stored copy of an incident channel that postmortem compiles reuse, and the threads known to have moved."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy
from sqlalchemy import update
from sqlmodel import Session, col, select

from ircbot.store.inserts import insert_or_skip
from ircbot.store.models import ChannelMessage, Incident, ThreadActivity

WHOLE = "*"
"""The thread_ts of a ThreadActivity row saying the whole channel must be read (a top-level edit or deletion)."""
REWRITTEN = "~"
"""After a parent's ts: a thread whose replies were edited or deleted (not just added), to be read whole."""

COPIED_FIELDS = ("thread_ts", "user", "bot_id", "subtype", "text", "files")
"""The columns of a stored channel message besides its ts: what a newer read may have changed."""


def channel_copy(*, session: Session, incident_id: int) -> Sequence[Any]:
    """The incident channel's messages as the last postmortem compile stored them, as plain rows: for reading."""
    message = ChannelMessage.__table__.c  # type: ignore[attr-defined]
    query = sqlalchemy.select(message.ts, *(message[name] for name in COPIED_FIELDS))
    return session.execute(query.where(message.incident_id == incident_id)).all()


def store_channel_copy(*, session: Session, incident_id: int, messages: Sequence[dict[str, Any]]) -> int:
    """Make the stored copy hold exactly `messages` (each with ts and COPIED_FIELDS), writing only the rows that
    differ; returns how many rows were written or removed."""
    table = ChannelMessage.__table__  # type: ignore[attr-defined]
    query = sqlalchemy.select(table.c.id, table.c.ts, *(table.c[name] for name in COPIED_FIELDS))
    stored = {row.ts: row for row in session.execute(query.where(table.c.incident_id == incident_id))}
    wanted = {message["ts"]: message for message in messages}
    added = [{**message, "incident_id": incident_id} for ts, message in wanted.items() if ts not in stored]
    changed = [
        {**message, "id": stored[ts].id}
        for ts, message in wanted.items()
        if ts in stored and any(getattr(stored[ts], name) != message[name] for name in COPIED_FIELDS)
    ]
    gone = [row.id for ts, row in stored.items() if ts not in wanted]
    if added:
        session.execute(sqlalchemy.insert(table), added)
    if changed:
        session.execute(update(ChannelMessage), changed)  # by primary key, many rows in one statement
    for start in range(0, len(gone), 500):
        session.execute(sqlalchemy.delete(table).where(table.c.id.in_(gone[start : start + 500])))
    return len(added) + len(changed) + len(gone)


def forget_channel_copy(*, session: Session, incident_id: int) -> None:
    """Drop the stored copy of the incident channel, so the next postmortem compile reads it all again."""
    table = ChannelMessage.__table__  # type: ignore[attr-defined]
    session.execute(sqlalchemy.delete(table).where(table.c.incident_id == incident_id))


def note_thread_activity(*, session: Session, incident_id: int, thread_ts: str, at: datetime) -> None:
    """Remember that a thread moved (or, with WHOLE, that the channel must be read whole) until the next read."""
    row = {"incident_id": incident_id, "thread_ts": thread_ts, "seen_at": at}
    insert_or_skip(session, ThreadActivity, [row], key=("incident_id", "thread_ts"))  # or noted since the last read


def moved_threads(*, session: Session, incident_id: int) -> Sequence[str]:
    """The threads (parent ts, or WHOLE) noted since the channel copy was last read."""
    query = select(ThreadActivity.thread_ts).where(ThreadActivity.incident_id == incident_id)
    return session.exec(query).all()


def read_done(*, session: Session, incident_id: int, started: datetime, whole: bool) -> None:
    """After a read that began at `started`: forget what it covered; a whole read makes the copy trusted again."""
    table = ThreadActivity.__table__  # type: ignore[attr-defined]
    session.execute(sqlalchemy.delete(table).where(table.c.incident_id == incident_id, table.c.seen_at <= started))
    if whole:
        session.execute(update(Incident).where(col(Incident.id) == incident_id).values(channel_read_at=started))


def distrust_channel_copies(*, session: Session) -> None:
    """A process starting may have missed message events: the next compile of each incident reads it whole."""
    session.execute(update(Incident).where(col(Incident.channel_read_at).is_not(None)).values(channel_read_at=None))
