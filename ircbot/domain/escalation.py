"""Escalation plans: which tier is paged when, kept as database rows so nothing is lost on restart.

A tier's `after` counts from when escalation starts (the declare, or a severity change). With
`repeat: N` the tiers run N more times while nobody acknowledges; each round starts one cycle
later, a cycle being the last tier's `after` plus the gap before it (5 minutes for a single tier
at 0s). All arithmetic is on UTC instants, so a DST change never moves a due time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from ircbot.config import SeverityPolicy
from ircbot.domain import timeline
from ircbot.domain.effects import attempt
from ircbot.domain.messages import Text
from ircbot.domain.services import Services
from ircbot.domain.stages import SEVERITIES
from ircbot.errors import Conflict
from ircbot.store import queries
from ircbot.store.models import Incident, OutboxMessage, PageStep

DEFAULT_CYCLE = timedelta(minutes=5)


@dataclass(frozen=True)
class PlannedStep:
    """One tier of one round, due at an instant."""

    round: int
    tier: int
    targets: tuple[str, ...]
    due_at: datetime


def snapshot(policy: SeverityPolicy) -> dict[str, Any]:
    """The policy as stored on the incident, so later edits of escalation.yaml do not change it."""
    return {
        "name": policy.name,
        "repeat": policy.repeat,
        "tiers": [{"after_seconds": int(t.after.total_seconds()), "notify": list(t.notify)} for t in policy.tiers],
    }


def plan(policy: dict[str, Any], start: datetime) -> list[PlannedStep]:
    """Every step of a snapshotted policy from `start`, in due order."""
    tiers = policy.get("tiers") or []
    if not tiers:
        return []
    offsets = [timedelta(seconds=t["after_seconds"]) for t in tiers]
    gap = offsets[-1] - offsets[-2] if len(offsets) > 1 else offsets[-1]
    cycle = offsets[-1] + gap if offsets[-1] + gap > timedelta() else DEFAULT_CYCLE
    return [
        PlannedStep(round=r, tier=i, targets=tuple(tier["notify"]), due_at=start + r * cycle + offsets[i])
        for r in range(int(policy.get("repeat", 0)) + 1)
        for i, tier in enumerate(tiers)
    ]


def schedule(session: Session, incident: Incident, steps: list[PlannedStep], now: datetime) -> list[datetime]:
    """Store planned steps as pending rows; returns their due times for wake-ups."""
    assert incident.id is not None
    for step in steps:
        session.add(
            PageStep(
                incident_id=incident.id,
                round=step.round,
                tier=step.tier,
                targets=list(step.targets),
                due_at=step.due_at,
                created_at=now,
            )
        )
    return [s.due_at for s in steps]


def start(svc: Services, session: Session, incident: Incident, now: datetime) -> list[datetime]:
    """Snapshot the severity's policy onto the incident and schedule its tiers (none for drills)."""
    policy = svc.config.escalation.severities[incident.severity]
    incident.policy = snapshot(policy)
    if incident.is_drill:
        timeline.record(session, incident, kind="escalation", at=now, text="Drill: escalation paging is off")
        return []
    steps = plan(incident.policy, now)
    if steps:
        timeline.record(
            session,
            incident,
            kind="escalation",
            at=now,
            text=f"Escalation started: {policy.name} policy, {len(policy.tiers)} tier(s), repeat {policy.repeat}",
        )
    return schedule(session, incident, steps, now)


def cancel_pending(session: Session, incident: Incident) -> int:
    """Cancel every pending step and suppress undelivered pages; returns how many steps were cancelled."""
    assert incident.id is not None
    cancelled = 0
    for step in queries.pending_steps(session=session, incident_id=incident.id):
        step.status = "cancelled"
        cancelled += 1
    for message in session.exec(
        select(OutboxMessage).where(OutboxMessage.incident_id == incident.id, OutboxMessage.status == "pending")
    ).all():
        message.status = "suppressed"
    return cancelled


@dataclass(frozen=True)
class Acknowledged:
    """Who acknowledged and whether this call was the first acknowledgement."""

    key: str
    channel_id: str | None
    by: str
    at: datetime
    first: bool
    cancelled: int
    warnings: list[str] = field(default_factory=list)


def acknowledge(svc: Services, *, incident_id: int, actor: str) -> Acknowledged:
    """Stop escalation: stamp the first acknowledgement, cancel pending tiers and undelivered pages, say so."""
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id, lock=True)
        assert incident is not None
        now = svc.clock()
        first = incident.acknowledged_at is None
        if first:
            incident.acknowledged_at, incident.acknowledged_by = now, actor
        cancelled = cancel_pending(session, incident)
        if first or cancelled:
            text = f"<@{actor}> acknowledged the page" + (
                f"; {cancelled} pending tier(s) cancelled" if cancelled else ""
            )
            timeline.record(session, incident, kind="acknowledged", actor=actor, at=now, text=text)
        result = Acknowledged(
            key=incident.key,
            channel_id=incident.channel_id,
            by=incident.acknowledged_by or actor,
            at=incident.acknowledged_at or now,
            first=first,
            cancelled=cancelled,
        )
    channel = result.channel_id
    if channel and (first or cancelled):
        line = Text(f":white_check_mark: <@{actor}> acknowledged {result.key}; escalation stopped.")
        result.warnings.extend(attempt(("say so in the channel", lambda: svc.chat.post(channel, line))))
    return result


def escalate_now(svc: Services, *, incident_id: int, actor: str) -> int:
    """Page the next tier now; returns its 1-based tier number."""
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id, lock=True)
        assert incident is not None and incident.id is not None
        if incident.status != "open":
            raise Conflict(f"{incident.key} is resolved; nothing to escalate.")
        now = svc.clock()
        pending = queries.pending_steps(session=session, incident_id=incident.id)
        if pending:
            step = pending[0]
            step.due_at = now
        else:
            step = _next_unpaged_tier(session, incident, now)
        session.add(step)
        timeline.record(
            session,
            incident,
            kind="escalated",
            actor=actor,
            at=now,
            text=f"<@{actor}> escalated to tier {step.tier + 1}",
        )
        tier = step.tier + 1
    svc.wake(now)
    return tier


def _next_unpaged_tier(session: Session, incident: Incident, now: datetime) -> PageStep:
    assert incident.id is not None
    tiers = (incident.policy or {}).get("tiers") or []
    fired = queries.fired_steps(session=session, incident_id=incident.id)
    following = (max(s.tier for s in fired) + 1) if fired else 0
    if following >= len(tiers):
        raise Conflict(
            f"All {len(tiers)} tier(s) of the {incident.severity.upper()} policy have been paged. "
            "Bring someone in directly with `/incident page <role>`."
        )
    return PageStep(
        incident_id=incident.id,
        round=0,
        tier=following,
        targets=list(tiers[following]["notify"]),
        due_at=now,
        created_at=now,
    )


def change_severity(svc: Services, *, incident_id: int, severity: str, actor: str) -> tuple[str, str, int]:
    """Set a new severity and re-plan escalation from its policy; returns (old, new, steps planned)."""
    if severity not in SEVERITIES:
        raise Conflict(f"Unknown severity {severity}.")
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id, lock=True)
        assert incident is not None and incident.id is not None
        if incident.status != "open":
            raise Conflict(f"{incident.key} is resolved; its severity is final.")
        old = incident.severity
        if old == severity:
            raise Conflict(f"{incident.key} already is {severity.upper()}.")
        now = svc.clock()
        incident.severity = severity
        cancel_pending(session, incident)
        timeline.record(
            session,
            incident,
            kind="severity_changed",
            actor=actor,
            at=now,
            text=f"<@{actor}> changed severity {old.upper()} → {severity.upper()}",
            data={"from": old, "to": severity},
        )
        due = _replan(svc, session, incident, now)
    for when in due:
        svc.wake(when)
    return old, severity, len(due)


def _replan(svc: Services, session: Session, incident: Incident, now: datetime) -> list[datetime]:
    """After an ack only targets never paged before are paged (once); otherwise the new policy runs in full."""
    assert incident.id is not None
    policy = svc.config.escalation.severities[incident.severity]
    incident.policy = snapshot(policy)
    if incident.is_drill:
        return []
    steps = plan(incident.policy, now)
    if incident.acknowledged_at is not None:
        paged = {t for s in queries.fired_steps(session=session, incident_id=incident.id) for t in s.targets}
        steps = [
            PlannedStep(s.round, s.tier, tuple(t for t in s.targets if t not in paged), s.due_at)
            for s in steps
            if s.round == 0 and any(t not in paged for t in s.targets)
        ]
    if steps:
        timeline.record(
            session,
            incident,
            kind="escalation",
            at=now,
            text=f"Escalation re-planned for {incident.severity.upper()}: {len(steps)} step(s)",
        )
    return schedule(session, incident, steps, now)
