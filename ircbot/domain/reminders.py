"""Reminders on durable timers: an update is overdue, or required checklist items are still open.

Like escalation steps they are rows claimed with a conditional update, so they survive restarts
and fire once across replicas; what they say goes through the outbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from ircbot.domain import timeline
from ircbot.domain.services import Services
from ircbot.domain.stages import STAGE_TITLES
from ircbot.errors import Conflict
from ircbot.store import queries
from ircbot.store.models import Incident, Reminder

SNOOZE_CHOICES = (15, 60)


def schedule_reminder(session: Session, incident: Incident, *, kind: str, due_at: datetime, now: datetime) -> datetime:
    """Replace the incident's pending reminder of this kind with one due at `due_at`."""
    assert incident.id is not None
    for pending in _pending(session, incident.id, kind):
        pending.status = "cancelled"
    session.add(Reminder(incident_id=incident.id, kind=kind, due_at=due_at, created_at=now))
    return due_at


def start_reminders(svc: Services, session: Session, incident: Incident, now: datetime) -> list[datetime]:
    """At declare: the first update is due after the severity's cadence; checklist reminders likewise."""
    policy = svc.config.escalation.severities[incident.severity].updates
    if policy is None or incident.is_drill:
        return []
    due = []
    if policy.every:
        due.append(schedule_reminder(session, incident, kind="update", due_at=now + policy.every, now=now))
    if policy.checklist_every:
        when = now + policy.checklist_every
        due.append(schedule_reminder(session, incident, kind="checklist", due_at=when, now=now))
    return due


def cancel_reminders(session: Session, incident_id: int) -> None:
    """Stop every pending reminder (the incident was resolved)."""
    for kind in ("update", "checklist"):
        for pending in _pending(session, incident_id, kind):
            pending.status = "cancelled"


def snooze(svc: Services, *, incident_id: int, minutes: int, actor: str) -> datetime:
    """Push the update reminder back by 15 or 60 minutes."""
    if minutes not in SNOOZE_CHOICES:
        raise Conflict(f"Snooze for {' or '.join(map(str, SNOOZE_CHOICES))} minutes.")
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id, lock=True)
        assert incident is not None
        now = svc.clock()
        due = schedule_reminder(session, incident, kind="update", due_at=now + timedelta(minutes=minutes), now=now)
        timeline.record(
            session, incident, kind="reminder_snoozed", actor=actor, at=now, text=f"Update reminder snoozed {minutes}m"
        )
    svc.wake(due)
    return due


def fire_due_reminders(svc: Services) -> int:
    """Fire every reminder that is due; returns how many this process fired."""
    with svc.db.transaction() as session:
        query = select(Reminder.id, Reminder.incident_id).where(
            Reminder.status == "pending", col(Reminder.due_at) <= svc.clock()
        )
        due = list(session.exec(query.order_by(col(Reminder.due_at))).all())
    return sum(_fire(svc, int(reminder_id or 0), incident_id) for reminder_id, incident_id in due)


def _fire(svc: Services, reminder_id: int, incident_id: int) -> int:
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id, lock=True)
        assert incident is not None and incident.id is not None
        now = svc.clock()
        claimed = session.execute(
            update(Reminder)
            .where(col(Reminder.id) == reminder_id, col(Reminder.status) == "pending")
            .values(status="fired", fired_at=now)
        )
        if claimed.rowcount != 1 or incident.status != "open":  # type: ignore[attr-defined]
            return 0
        reminder = session.get(Reminder, reminder_id)
        assert reminder is not None
        policy = svc.config.escalation.severities[incident.severity].updates
        # Keep reminding at the same cadence until someone posts an update (or snoozes).
        if reminder.kind == "update":
            _remind_update(svc, session, incident, now)
            again = policy.every if policy else None
        else:
            _remind_checklist(session, incident, now)
            again = policy.checklist_every if policy else None
        if again:
            svc.wake(schedule_reminder(session, incident, kind=reminder.kind, due_at=now + again, now=now))
    return 1


def _remind_update(svc: Services, session: Session, incident: Incident, now: datetime) -> None:
    assert incident.id is not None and incident.channel_id is not None
    text = f":hourglass: No status update for {incident.key} in a while. Post one with `/incident update <text>`."
    _queue(session, incident, "reminder", incident.channel_id, {"text": text, "snooze": True}, now)
    comms = next(
        (a.user_id for a in queries.active_roles(session=session, incident_id=incident.id) if a.role == "comms"), None
    )
    if comms:
        _queue(session, incident, "reminder", comms, {"text": text, "snooze": True}, now)
    timeline.record(session, incident, kind="reminder", at=now, text="Reminded the channel and comms: update overdue")


def _remind_checklist(session: Session, incident: Incident, now: datetime) -> None:
    assert incident.id is not None
    open_items = [
        i
        for i in queries.checklist(session=session, incident_id=incident.id, stage=incident.stage)
        if i.required and i.checked_by is None
    ]
    manager = next(
        (a.user_id for a in queries.active_roles(session=session, incident_id=incident.id) if a.role == "manager"), None
    )
    if not open_items or manager is None:
        return
    lines = "\n".join(f"• #{i.position}: {i.text}" for i in open_items)
    text = f":clipboard: {incident.key} ({STAGE_TITLES[incident.stage]}) still has required items open:\n{lines}"
    _queue(session, incident, "reminder", manager, {"text": text, "snooze": False}, now)
    timeline.record(
        session, incident, kind="reminder", at=now, text=f"Reminded the manager of {len(open_items)} open item(s)"
    )


def _queue(
    session: Session, incident: Incident, kind: str, recipient: str, payload: dict[str, object], now: datetime
) -> None:
    assert incident.id is not None
    queries.queue_outbox(
        session=session, incident_id=incident.id, kind=kind, recipient=recipient, payload=payload, now=now
    )


def _pending(session: Session, incident_id: int, kind: str) -> list[Reminder]:
    query = select(Reminder).where(
        Reminder.incident_id == incident_id, Reminder.kind == kind, Reminder.status == "pending"
    )
    return list(session.exec(query).all())
