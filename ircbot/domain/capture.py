"""Putting channel messages into the timeline: pinned or marked messages, other bots' messages."""

from __future__ import annotations

from sqlmodel import Session, select

from ircbot.domain.indicators import found_in
from ircbot.domain.kinds import TimelineKind
from ircbot.domain.ports import ChatMessage
from ircbot.domain.services import Services
from ircbot.domain.unit import incident_tx
from ircbot.errors import GatewayError
from ircbot.store import queries
from ircbot.store.models import TimelineEvent

MAX_TEXT = 4000
SEEN_IN = {"pin": "pinned message", "reaction": "marked message", "bot": "bot message"}
"""Where an indicator in a captured message was seen, by how the message came to be captured."""


def capture_message(svc: Services, *, channel_id: str, ts: str, actor: str | None, via: str) -> bool:
    """Store a message (text, author, time) in its incident's timeline; False if not an incident or already kept."""
    with svc.db.transaction() as session:
        incident = queries.incident_by_channel(session=session, channel_id=channel_id)
        if incident is None or incident.id is None:
            return False
        incident_id = incident.id
        if _already_captured(session, incident_id, ts):
            return False
    try:
        message = svc.chat.message(channel_id, ts)
    except GatewayError as exc:
        svc.log.warning("could not read message %s in %s to capture it: %s", ts, channel_id, exc)
        return False
    if message is None:
        return False
    return keep(svc, incident_id=incident_id, message=message, actor=actor, via=via)


def keep(svc: Services, *, incident_id: int, message: ChatMessage, actor: str | None, via: str) -> bool:
    """Record the message as it reads now, so the postmortem keeps it even if it is edited or deleted later."""
    with incident_tx(svc, incident_id) as tx:
        if _already_captured(tx.session, incident_id, message.ts):
            return False
        author = message.user or message.bot_id
        tx.record(
            TimelineKind.CAPTURED,
            message.text.replace("\x00", "")[:MAX_TEXT],  # PostgreSQL refuses NUL in text
            actor=actor or author,
            at=message.at,
            data={"ts": message.ts, "author": author, "via": via, "thread_ts": message.thread_ts},
        )
        found_in(tx, message.text, how=SEEN_IN.get(via, "message"), by=author)
    return True


def _already_captured(session: Session, incident_id: int, ts: str) -> bool:
    query = select(TimelineEvent).where(
        TimelineEvent.incident_id == incident_id, TimelineEvent.kind == TimelineKind.CAPTURED
    )
    return any(e.data.get("ts") == ts for e in session.exec(query).all())
