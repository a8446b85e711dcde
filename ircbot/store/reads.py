"""The statements on the hottest paths (every command, view, card, page and timer round), built once with bind
parameters.

Building a statement costs SQLAlchemy more than executing it once it is built: a small count on SQLite took 0.48 ms
built at each call and 0.11 ms built once. So these are module constants, executed with `params`, each named for
what it reads (or, for the last two, marks; the waiting alerts are leased by their reader).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy
from sqlalchemy import BindParameter, Integer, bindparam, func, or_, update
from sqlmodel import col, select

from ircbot.domain.kinds import PAGE_KINDS, IncidentStatus, OutboxStatus, TimerStatus
from ircbot.store.models import (
    Alert,
    ChecklistItem,
    HomeViewer,
    Incident,
    OutboxMessage,
    PageStep,
    Participant,
    PendingDeclare,
    Reminder,
    RoleAssignment,
)
from ircbot.store.records import ClockTimer, RegulatoryClock

INCIDENT: BindParameter[int] = bindparam("incident")
USER: BindParameter[str] = bindparam("user")
CHANNEL: BindParameter[str] = bindparam("channel")
NOW: BindParameter[Any] = bindparam("now")
LIMIT: BindParameter[int] = bindparam("limit", type_=Integer)

INCIDENT_BY_ID = select(Incident).where(Incident.id == INCIDENT)
INCIDENT_BY_ID_LOCKED = INCIDENT_BY_ID.with_for_update()
INCIDENT_BY_CHANNEL = select(Incident).where(Incident.channel_id == CHANNEL)
IS_PARTICIPANT = select(Participant.id).where(Participant.incident_id == INCIDENT, Participant.user_id == USER)
ROLE_HISTORY = (
    select(RoleAssignment)
    .where(RoleAssignment.incident_id == INCIDENT)
    .order_by(col(RoleAssignment.assigned_at), col(RoleAssignment.id))
)
HELD = (
    select(RoleAssignment.role, RoleAssignment.user_id)
    .where(RoleAssignment.incident_id == INCIDENT, col(RoleAssignment.released_at).is_(None))
    .order_by(col(RoleAssignment.assigned_at), col(RoleAssignment.id))
)
_item: Any = ChecklistItem.__table__.c  # type: ignore[attr-defined]
CHECKLIST_ROWS = (
    sqlalchemy.select(_item.stage, _item.position, _item.text, _item.required, _item.checked_by, _item.checked_at)
    .where(_item.incident_id == INCIDENT)
    .order_by(_item.id)
)
NEAREST_DEADLINE = (
    select(RegulatoryClock.regime, RegulatoryClock.report, RegulatoryClock.due_at)
    .where(RegulatoryClock.incident_id == INCIDENT, RegulatoryClock.status == "running")
    .order_by(col(RegulatoryClock.due_at))
    .limit(1)
)
BROUGHT_IN = select(Participant.user_id).where(Participant.incident_id == INCIDENT).order_by(col(Participant.added_at))
_waiting = (PageStep.incident_id == INCIDENT, PageStep.status == TimerStatus.PENDING, col(PageStep.clock_id).is_(None))
PAGE_FACTS = sqlalchemy.select(
    select(func.count()).where(*_waiting).scalar_subquery(),
    select(func.min(PageStep.due_at)).where(*_waiting).scalar_subquery(),
    select(func.count())
    .where(
        OutboxMessage.incident_id == INCIDENT,
        OutboxMessage.status == OutboxStatus.PENDING,
        col(OutboxMessage.attempts) > 0,
        col(OutboxMessage.kind).in_([kind.value for kind in PAGE_KINDS]),
    )
    .scalar_subquery(),
)
"""(escalation steps still to fire, when the next is due, page messages refused at least once and still to be
delivered); regulatory reports' overdue pages are not escalation steps."""

# What each timer round asks (on most rounds the answer is nothing).
DUE_STEPS = (
    select(PageStep.id, PageStep.incident_id, PageStep.targets)
    .where(PageStep.status == TimerStatus.PENDING, col(PageStep.due_at) <= NOW)
    .order_by(col(PageStep.due_at), col(PageStep.id))
    .limit(LIMIT)
)
DUE_REMINDERS = (
    select(Reminder.id, Reminder.incident_id)
    .where(Reminder.status == TimerStatus.PENDING, col(Reminder.due_at) <= NOW)
    .order_by(col(Reminder.due_at))
)
DUE_CLOCK_TIMERS = (
    select(ClockTimer.id, ClockTimer.incident_id)
    .where(ClockTimer.status == TimerStatus.PENDING, col(ClockTimer.due_at) <= NOW)
    .order_by(col(ClockTimer.due_at), col(ClockTimer.id))
)
WAITING_ALERTS = (
    select(Alert)
    .where(col(Alert.done).is_(False), or_(col(Alert.lease_until).is_(None), col(Alert.lease_until) <= NOW))
    .order_by(col(Alert.id))
    .limit(LIMIT)
    .with_for_update(skip_locked=True)
)
LAST_RECEIVED = select(Alert.received_at).order_by(col(Alert.id).desc()).limit(1)
DUE_CARDS = (
    select(Incident.id)
    .where(col(Incident.card_due_at) <= NOW, col(Incident.card_ts).is_not(None))
    .order_by(col(Incident.card_due_at))
    .limit(LIMIT)
)
DELIVERABLE = (
    select(OutboxMessage.id, OutboxMessage.incident_id)
    .where(OutboxMessage.status == OutboxStatus.PENDING, col(OutboxMessage.next_attempt_at) <= NOW)
    .order_by(col(OutboxMessage.id))
    .limit(LIMIT)
)
UNANSWERED_DECLARES = (
    select(Incident.id)
    .where(col(Incident.ready_at) <= NOW, col(Incident.answered_at).is_(None))
    .order_by(col(Incident.id))
    .limit(LIMIT)
)
STALLED_DECLARES = (
    select(Incident.id)
    .where(
        col(Incident.ready_at).is_(None),
        col(Incident.status) == IncidentStatus.OPEN,
        or_(col(Incident.declare_lease_until).is_(None), col(Incident.declare_lease_until) <= NOW),
    )
    .order_by(col(Incident.id))
    .limit(LIMIT)
)
STALLED_REQUESTS = (
    select(PendingDeclare.request_key)
    .where(
        col(PendingDeclare.received_at) <= bindparam("received_before"),
        or_(col(PendingDeclare.lease_until).is_(None), col(PendingDeclare.lease_until) <= NOW),
    )
    .order_by(col(PendingDeclare.received_at))
    .limit(LIMIT)
)
DUE_HOMES = (
    select(HomeViewer.user_id).where(col(HomeViewer.due_at) <= NOW).order_by(col(HomeViewer.due_at)).limit(LIMIT)
)
# The marks below change rows no session holds as objects, so the ORM need not find and update them in the session
# (it evaluated the WHERE clause against the session's objects: a third of the statement's cost).
_unmarked = (
    update(HomeViewer)
    .where(col(HomeViewer.due_at).is_(None))
    .values(due_at=bindparam("due"))
    .execution_options(synchronize_session=False)
)
MARK_HOMES = _unmarked
"""Every Home tab not yet due (a public incident: everyone who opened the tab can see it)."""
MARK_HOMES_OF_PARTICIPANTS = _unmarked.where(
    col(HomeViewer.user_id).in_(select(Participant.user_id).where(Participant.incident_id == INCIDENT))
)
