"""Reminders on durable timers: an update is overdue, or required checklist items are still open.

Like escalation steps they are rows claimed with a conditional update, so they survive restarts
and fire once across replicas; what they say goes through the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from ircbot.domain.kinds import IncidentStatus, OutboxKind, ReminderKind, TimelineKind, TimerStatus
from ircbot.domain.services import Services
from ircbot.domain.unit import IncidentTx, incident_tx
from ircbot.durations import format_duration
from ircbot.errors import Conflict
from ircbot.store import queries, reads
from ircbot.store.models import Reminder, StatusUpdate

SNOOZE_CHOICES = (15, 60)


def schedule_reminder(tx: IncidentTx, kind: ReminderKind, due_at: datetime) -> datetime:
    """Replace the incident's pending reminder of this kind with one due at `due_at`, and wake then."""
    for pending in _pending(tx.session, tx.id, kind):
        pending.status = TimerStatus.CANCELLED
    tx.session.add(Reminder(incident_id=tx.id, kind=kind, due_at=due_at, created_at=tx.now))
    tx.wake(due_at)
    return due_at


def start_reminders(tx: IncidentTx) -> None:
    """At declare: the first update is due after the severity's cadence; checklist reminders likewise."""
    policy = tx.svc.config.escalation.severities[tx.incident.severity].updates
    if policy is None or tx.incident.is_drill:
        return
    if policy.every:
        schedule_reminder(tx, ReminderKind.UPDATE, tx.now + policy.every)
    if policy.checklist_every:
        schedule_reminder(tx, ReminderKind.CHECKLIST, tx.now + policy.checklist_every)


def cancel_reminders(session: Session, incident_id: int) -> None:
    """Stop every pending reminder (the incident was resolved)."""
    for kind in ReminderKind:
        for pending in _pending(session, incident_id, kind):
            pending.status = TimerStatus.CANCELLED


@dataclass(frozen=True)
class Snoozed:
    """When the update reminder is due now."""

    until: datetime


def snooze(svc: Services, *, incident_id: int, minutes: int, actor: str) -> Snoozed:
    """Push the update reminder back by 15 or 60 minutes."""
    if minutes not in SNOOZE_CHOICES:
        raise Conflict(f"Snooze for {' or '.join(map(str, SNOOZE_CHOICES))} minutes.")
    with incident_tx(svc, incident_id) as tx:
        due = schedule_reminder(tx, ReminderKind.UPDATE, tx.now + timedelta(minutes=minutes))
        tx.record(TimelineKind.REMINDER_SNOOZED, f"Update reminder snoozed {minutes}m", actor=actor)
        return Snoozed(until=due)


def fire_due_reminders(svc: Services) -> int:
    """Fire every reminder that is due; returns how many this process fired."""
    with svc.db.transaction() as session:
        due = list(session.exec(reads.DUE_REMINDERS, params={"now": svc.clock()}).all())
    return sum(_fire(svc, int(reminder_id or 0), incident_id) for reminder_id, incident_id in due)


def _fire(svc: Services, reminder_id: int, incident_id: int) -> int:
    with incident_tx(svc, incident_id) as tx:
        claimed = tx.session.execute(
            update(Reminder)
            .where(col(Reminder.id) == reminder_id, col(Reminder.status) == TimerStatus.PENDING)
            .values(status=TimerStatus.FIRED, fired_at=tx.now)
        )
        if claimed.rowcount != 1 or tx.incident.status != IncidentStatus.OPEN:  # type: ignore[attr-defined]
            return 0
        reminder = tx.session.get(Reminder, reminder_id)
        assert reminder is not None
        policy = svc.config.escalation.severities[tx.incident.severity].updates
        # Keep reminding at the same cadence until someone posts an update (or snoozes).
        if reminder.kind == ReminderKind.UPDATE:
            _remind_update(tx)
            again = policy.every if policy else None
        else:
            _remind_checklist(tx)
            again = policy.checklist_every if policy else None
        if again:
            schedule_reminder(tx, ReminderKind(reminder.kind), tx.now + again)
    return 1


def _remind_update(tx: IncidentTx) -> None:
    incident = tx.incident
    assert incident.channel_id is not None
    policy = tx.svc.config.escalation.severities[incident.severity].updates
    last = tx.session.exec(
        select(StatusUpdate.sent_at).where(StatusUpdate.incident_id == tx.id).order_by(col(StatusUpdate.sent_at).desc())
    ).first()
    overdue: dict[str, object] = {
        "about": ReminderKind.UPDATE,
        "since": format_duration(tx.now - (last or incident.declared_at)),
        "first": last is None,
        "cadence": format_duration(policy.every) if policy and policy.every else "",
        "severity": incident.severity,
    }
    _queue(tx, incident.channel_id, overdue)
    comms = _holder(tx, "comms")
    if comms:
        _queue(tx, comms, overdue)
    tx.record(TimelineKind.REMINDER, "Reminded the channel and comms: update overdue")


def _remind_checklist(tx: IncidentTx) -> None:
    incident = tx.incident
    open_items = [
        i
        for i in queries.checklist(session=tx.session, incident_id=tx.id, stage=incident.stage)
        if i.required and i.checked_by is None
    ]
    manager = _holder(tx, "manager")
    if not open_items or manager is None:
        return
    items = [[i.position, i.text] for i in open_items]
    facts: dict[str, object] = {"about": ReminderKind.CHECKLIST, "stage": incident.stage, "items": items}
    _queue(tx, manager, facts)
    tx.record(TimelineKind.REMINDER, f"Reminded the manager of {len(open_items)} open item(s)")


def _holder(tx: IncidentTx, role: str) -> str | None:
    held = queries.holding(session=tx.session, incident_id=tx.id, role=role)
    return held.user_id if held is not None else None


def _queue(tx: IncidentTx, recipient: str, facts: dict[str, object]) -> None:
    queries.queue_outbox(
        session=tx.session, incident_id=tx.id, kind=OutboxKind.REMINDER, recipient=recipient, payload=facts, now=tx.now
    )


def _pending(session: Session, incident_id: int, kind: ReminderKind) -> list[Reminder]:
    query = select(Reminder).where(
        Reminder.incident_id == incident_id, Reminder.kind == kind, Reminder.status == TimerStatus.PENDING
    )
    return list(session.exec(query).all())
