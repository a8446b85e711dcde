"""Metrics read from the database: the incidents one viewer may count, and their recorded downtime."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import col, select

from ircbot.domain.metrics import REPEAT_WINDOW, AlertCounts, Downtime, IncidentTimes, Metrics, compute
from ircbot.store import alert_queries
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
        found_rows = session.exec(query).all()
        ids = [row.id for row in found_rows]
        impacts = session.exec(select(Impact).where(col(Impact.incident_id).in_(ids))).all() if ids else []
        systems: dict[int, set[str]] = {}
        for impact in impacts:
            systems.setdefault(impact.incident_id, set()).add(impact.system.strip().lower())
        incidents = [_times(row, tuple(sorted(systems.get(row.id or 0, ())))) for row in found_rows]
        in_window = {i.id for i in incidents if i.declared_at >= since}
        outages = [
            Downtime(r.incident_id, r.system, r.started_at, r.ended_at) for r in impacts if r.incident_id in in_window
        ]
        alerts = alert_counts(alert_queries.alert_outcomes(session=session, since=since, until=until))
    found = compute(incidents, outages, since=since, until=until, severity=severity, viewer=viewer)
    return replace(found, alerts=alerts)


def alert_counts(rows: Sequence[tuple[str, str | None, int]]) -> tuple[AlertCounts, ...]:
    """Per source, from (source, outcome, how many): received counts them all."""
    by_source: dict[str, dict[str, int]] = {}
    for source, outcome, n in rows:
        counts = by_source.setdefault(source, {})
        counts["received"] = counts.get("received", 0) + n
        if outcome in ("deduplicated", "declared", "dismissed", "dropped"):
            counts[outcome] = counts.get(outcome, 0) + n
    return tuple(AlertCounts(source, **counts) for source, counts in sorted(by_source.items()))


def _times(row: Incident, systems: tuple[str, ...]) -> IncidentTimes:
    facts = {f.name: getattr(row, f.name) for f in fields(IncidentTimes) if f.name != "systems"}
    return IncidentTimes(**facts, systems=systems)
