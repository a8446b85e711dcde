"""Escalation plans: which tier is paged when, kept as database rows so nothing is lost on restart.

A tier's `after` counts from when escalation starts (the declare, or a severity change). With
`repeat: N` the tiers run N more times while nobody acknowledges; each round starts one cycle
later, a cycle being the last tier's `after` plus the gap before it (5 minutes for a single tier
at 0s). All arithmetic is on UTC instants, so a DST change never moves a due time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from ircbot.domain.effects import attempt
from ircbot.domain.kinds import REPORT_KINDS, OutboxStatus, TimelineKind, TimerStatus
from ircbot.domain.messages import AckNotice, Topic
from ircbot.domain.policy import SeverityPolicy
from ircbot.domain.services import Services
from ircbot.domain.stages import SEVERITIES
from ircbot.domain.unit import IncidentTx, incident_tx
from ircbot.domain.views import IncidentView
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


def start(tx: IncidentTx) -> None:
    """Snapshot the severity's policy onto the incident and schedule its tiers (none for drills)."""
    incident = tx.incident
    policy = tx.svc.config.escalation.severities[incident.severity]
    incident.policy = snapshot(policy)
    if incident.is_drill:
        tx.record(TimelineKind.ESCALATION, "Drill: escalation paging is off")
        return
    steps = plan(incident.policy, tx.now)
    if steps:
        tx.record(
            TimelineKind.ESCALATION,
            f"Escalation started: {policy.name} policy, {len(policy.tiers)} tier(s), repeat {policy.repeat}",
        )
    schedule(tx, steps)


def schedule(tx: IncidentTx, steps: list[PlannedStep]) -> None:
    """Store planned steps as pending rows, and wake the runner at their due times."""
    for step in steps:
        tx.session.add(
            PageStep(
                incident_id=tx.id,
                round=step.round,
                tier=step.tier,
                targets=list(step.targets),
                due_at=step.due_at,
                created_at=tx.now,
            )
        )
    tx.wake(*(s.due_at for s in steps))


def cancel_pending(session: Session, incident: Incident) -> int:
    """Cancel every pending step and suppress undelivered pages; returns how many steps were cancelled."""
    assert incident.id is not None
    cancelled = 0
    for step in queries.pending_steps(session=session, incident_id=incident.id):
        step.status = TimerStatus.CANCELLED
        cancelled += 1
    for message in session.exec(
        select(OutboxMessage).where(
            OutboxMessage.incident_id == incident.id,
            OutboxMessage.status == OutboxStatus.PENDING,
            col(OutboxMessage.kind).not_in(REPORT_KINDS),
        )
    ).all():
        message.status = OutboxStatus.SUPPRESSED
    return cancelled


@dataclass(frozen=True)
class Acknowledged:
    """Who acknowledged and whether this call was the first acknowledgement."""

    incident: IncidentView
    by: str
    at: datetime
    first: bool
    cancelled: int
    warnings: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.incident.key


def acknowledge(svc: Services, *, incident_id: int, actor: str) -> Acknowledged:
    """Stop escalation: stamp the first acknowledgement, cancel pending tiers and undelivered pages, say so."""
    with incident_tx(svc, incident_id) as tx:
        incident = tx.incident
        first = incident.acknowledged_at is None
        if first:
            incident.acknowledged_at, incident.acknowledged_by = tx.now, actor
        cancelled = cancel_pending(tx.session, incident)
        if first or cancelled:
            tx.record(TimelineKind.ACKNOWLEDGED, actor=actor, data={"cancelled": cancelled})
        view = tx.view()
        by, at = incident.acknowledged_by or actor, incident.acknowledged_at or tx.now
    warnings: list[str] = []
    channel = view.channel_id
    if channel and (first or cancelled):
        line = AckNotice(by=actor, key=view.key)
        warnings = attempt(("say so in the channel", lambda: svc.chat.post(channel, line)))
    return Acknowledged(incident=view, by=by, at=at, first=first, cancelled=cancelled, warnings=tuple(warnings))


@dataclass(frozen=True)
class Escalated:
    """Which tier (1-based) is paged now."""

    tier: int


def escalate_now(svc: Services, *, incident_id: int, actor: str) -> Escalated:
    """Page the next tier now."""
    with incident_tx(svc, incident_id, closed="{key} is resolved; nothing to escalate.") as tx:
        pending = queries.pending_steps(session=tx.session, incident_id=tx.id)
        if pending:
            step = pending[0]
            step.due_at = tx.now
        else:
            step = _next_unpaged_tier(tx)
        tx.session.add(step)
        tx.record(TimelineKind.ESCALATED, actor=actor, data={"tier": step.tier + 1})
        tx.wake(tx.now)
        return Escalated(tier=step.tier + 1)


def _next_unpaged_tier(tx: IncidentTx) -> PageStep:
    incident = tx.incident
    tiers = (incident.policy or {}).get("tiers") or []
    fired = queries.fired_steps(session=tx.session, incident_id=tx.id)
    following = (max(s.tier for s in fired) + 1) if fired else 0
    if following >= len(tiers):
        raise Conflict(
            f"All {len(tiers)} tier(s) of the {incident.severity.upper()} policy have been paged. "
            "Bring someone in directly with `/incident page <role>`."
        )
    return PageStep(
        incident_id=tx.id,
        round=0,
        tier=following,
        targets=list(tiers[following]["notify"]),
        due_at=tx.now,
        created_at=tx.now,
    )


@dataclass(frozen=True)
class SeverityChanged:
    """The incident at its new severity, and how many escalation steps were planned for it."""

    incident: IncidentView
    old: str
    planned: int
    warnings: tuple[str, ...] = ()


def change_severity(svc: Services, *, incident_id: int, severity: str, actor: str) -> SeverityChanged:
    """Set a new severity, re-plan escalation from its policy, and show it in the channel topic."""
    if severity not in SEVERITIES:
        raise Conflict(f"Unknown severity {severity}.")
    with incident_tx(svc, incident_id, closed="{key} is resolved; its severity is final.") as tx:
        incident = tx.incident
        old = incident.severity
        if old == severity:
            raise Conflict(f"{incident.key} already is {severity.upper()}.")
        incident.severity = severity
        cancel_pending(tx.session, incident)
        tx.record(TimelineKind.SEVERITY_CHANGED, actor=actor, data={"from": old, "to": severity})
        planned = _replan(tx)
        view = tx.view()
    channel = view.channel_id
    warnings = attempt(("update the topic", lambda: svc.chat.set_topic(channel, Topic(view)))) if channel else []
    return SeverityChanged(incident=view, old=old, planned=planned, warnings=tuple(warnings))


def _replan(tx: IncidentTx) -> int:
    """After an ack only targets never paged before are paged (once); otherwise the new policy runs in full."""
    incident = tx.incident
    policy = tx.svc.config.escalation.severities[incident.severity]
    incident.policy = snapshot(policy)
    if incident.is_drill:
        return 0
    steps = plan(incident.policy, tx.now)
    if incident.acknowledged_at is not None:
        paged = {t for s in queries.fired_steps(session=tx.session, incident_id=tx.id) for t in s.targets}
        steps = [
            PlannedStep(s.round, s.tier, tuple(t for t in s.targets if t not in paged), s.due_at)
            for s in steps
            if s.round == 0 and any(t not in paged for t in s.targets)
        ]
    if steps:
        tx.record(
            TimelineKind.ESCALATION, f"Escalation re-planned for {incident.severity.upper()}: {len(steps)} step(s)"
        )
    schedule(tx, steps)
    return len(steps)
