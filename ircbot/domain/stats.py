"""Metrics read from the database: the incidents one viewer may count, and their recorded downtime."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import col, select

from ircbot.domain.metrics import REPEAT_WINDOW, Downtime, IncidentTimes, Metrics, compute
from ircbot.store.db import Database
from ircbot.store.models import Impact, Incident, Participant


def collect(
    db: Database, *, viewer: str | None, since: datetime, until: datetime, severity: str | None = None
) -> Metrics:
    """Metrics from the database; private incidents count only if `viewer` was brought in (None: all)."""
    query = select(Incident).where(
        col(Incident.is_drill).is_(False),
        col(Incident.declared_at) >= since - REPEAT_WINDOW,
        col(Incident.declared_at) <= until,
    )
    if viewer is not None:
        brought_in = select(Participant.incident_id).where(Participant.user_id == viewer)
        query = query.where(or_(col(Incident.is_private).is_(False), col(Incident.id).in_(brought_in)))
    with db.transaction() as session:
        incidents = [_times(row) for row in session.exec(query).all()]
        in_window = [i.id for i in incidents if i.declared_at >= since]
        rows = session.exec(select(Impact).where(col(Impact.incident_id).in_(in_window))).all() if in_window else []
        outages = [Downtime(r.incident_id, r.system, r.started_at, r.ended_at) for r in rows]
    return compute(incidents, outages, since=since, until=until, severity=severity, viewer=viewer)


def _times(row: Incident) -> IncidentTimes:
    return IncidentTimes(**{f.name: getattr(row, f.name) for f in fields(IncidentTimes)})
