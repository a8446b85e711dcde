"""Writing timeline events; callers do it inside the transaction of the change they record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from ircbot.store.models import Incident, TimelineEvent


def record(
    session: Session,
    incident: Incident,
    *,
    kind: str,
    text: str,
    at: datetime,
    actor: str | None = None,
    data: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Add an event to the incident's timeline in the caller's transaction."""
    assert incident.id is not None
    event = TimelineEvent(incident_id=incident.id, at=at, kind=kind, actor=actor, text=text, data=data or {})
    session.add(event)
    return event
