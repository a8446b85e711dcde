"""Recording the downtime of an affected system, for the metrics."""

from __future__ import annotations

from datetime import datetime

from ircbot.domain.kinds import TimelineKind
from ircbot.domain.metrics import Downtime
from ircbot.domain.services import Services
from ircbot.domain.unit import incident_tx
from ircbot.durations import format_duration
from ircbot.errors import InvalidInput
from ircbot.store.models import Impact

MAX_SYSTEM = 80


def record_impact(
    svc: Services, *, incident_id: int, system: str, started_at: datetime, ended_at: datetime, actor: str
) -> Downtime:
    """Record an outage of an affected system, with its timeline event, in one transaction."""
    system = system.strip()
    if not system or len(system) > MAX_SYSTEM:
        raise InvalidInput(f"Name the affected system in 1 to {MAX_SYSTEM} characters, e.g. `mail`.")
    if ended_at <= started_at:
        raise InvalidInput("The downtime must end after it started: give `<from>` before `<to>`.")
    with incident_tx(svc, incident_id) as tx:
        tx.session.add(
            Impact(
                incident_id=tx.id,
                system=system,
                started_at=started_at,
                ended_at=ended_at,
                recorded_by=actor,
                recorded_at=tx.now,
            )
        )
        span = f"{started_at:%Y-%m-%d %H:%M} – {ended_at:%Y-%m-%d %H:%M} UTC"
        tx.record(
            TimelineKind.IMPACT,
            f"Downtime of {system}: {span} ({format_duration(ended_at - started_at)})",
            actor=actor,
            data={"system": system, "started_at": started_at.isoformat(), "ended_at": ended_at.isoformat()},
        )
        return Downtime(tx.id, system, started_at, ended_at)
