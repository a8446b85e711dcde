"""Keyword-only store functions; each takes the session it works in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from ircbot.domain.kinds import IncidentStatus, OutboxStatus, TimerStatus
from ircbot.store import reads
from ircbot.store.inserts import insert_or_skip
from ircbot.store.models import (
    Alert,
    AlertGroup,
    ChannelMessage,
    ChecklistItem,
    Counter,
    HandledRequest,
    HomeViewer,
    Identity,
    Impact,
    Incident,
    Notice,
    OutboxMessage,
    PageStep,
    Participant,
    Reminder,
    RoleAssignment,
    StageEntry,
    StatusUpdate,
    ThreadActivity,
    TimelineEvent,
)
from ircbot.store.oob import OutOfBand
from ircbot.store.records import ClockTimer


def allocate_incident_number(*, session: Session) -> int:
    """Take the next incident number: the counter row stays locked until this transaction ends, so concurrent
    declares (on any replica) queue for it instead of colliding on the same number."""
    taken = session.execute(
        update(Counter)
        .where(col(Counter.name) == "incident")
        .values(value=col(Counter.value) + 1)
        .returning(col(Counter.value))
    )
    return int(taken.scalar_one())


def incident_by_number(*, session: Session, number: int, lock: bool = False) -> Incident | None:
    """The incident INC-<number>; `lock` serializes writers on the incident row."""
    query = select(Incident).where(Incident.number == number)
    return session.exec(query.with_for_update() if lock else query).first()


def incident_by_id(*, session: Session, incident_id: int, lock: bool = False) -> Incident | None:
    """The incident with this row id."""
    query = reads.INCIDENT_BY_ID_LOCKED if lock else reads.INCIDENT_BY_ID
    return session.exec(query, params={"incident": incident_id}).first()


def incident_by_channel(*, session: Session, channel_id: str) -> Incident | None:
    """The incident whose dedicated channel this is."""
    return session.exec(reads.INCIDENT_BY_CHANNEL, params={"channel": channel_id}).first()


def open_incidents_visible_to(*, session: Session, user_id: str) -> Sequence[Incident]:
    """Open incidents that are public or that the user was brought into, most severe first, then oldest.

    Incidents handled out of band are left out: Slack may be the attacker's, and the room is where they are seen.
    """
    brought_in = select(Participant.incident_id).where(Participant.user_id == user_id)
    away = select(OutOfBand.incident_id).where(col(OutOfBand.status).in_(("moving", "away")))
    query = (
        select(Incident)
        .where(Incident.status == IncidentStatus.OPEN, col(Incident.channel_id).is_not(None))
        .where(or_(col(Incident.is_private).is_(False), col(Incident.id).in_(brought_in)))
        .where(col(Incident.id).not_in(away))
        .order_by(col(Incident.severity), col(Incident.declared_at), col(Incident.number))
    )
    return session.exec(query).all()


def is_participant(*, session: Session, incident_id: int, user_id: str) -> bool:
    """Whether the user was brought into the incident."""
    return session.exec(reads.IS_PARTICIPANT, params={"incident": incident_id, "user": user_id}).first() is not None


def add_participant(*, session: Session, incident_id: int, user_id: str, reason: str, at: datetime) -> bool:
    """Record a participant; False when they already were one (another transaction may add them at the same
    moment: the unique constraint decides)."""
    row = {"incident_id": incident_id, "user_id": user_id, "reason": reason, "added_at": at}
    return insert_or_skip(session, Participant, [row], key=("incident_id", "user_id")) == 1


def participants(*, session: Session, incident_id: int) -> Sequence[Participant]:
    """The people brought into an incident, in the order they came."""
    return session.exec(
        select(Participant).where(Participant.incident_id == incident_id).order_by(col(Participant.added_at))
    ).all()


def email_of(*, session: Session, user_id: str) -> str | None:
    """The on-call address a Slack user was last found by, if any."""
    return session.exec(select(Identity.email).where(Identity.user_id == user_id)).first()


def remove_participant(*, session: Session, incident_id: int, user_id: str) -> bool:
    """Forget that the user was brought in (they left the channel); False when they were not a participant."""
    found = session.exec(
        select(Participant).where(Participant.incident_id == incident_id, Participant.user_id == user_id)
    ).first()
    if found is not None:
        session.delete(found)
    return found is not None


def active_roles(*, session: Session, incident_id: int) -> Sequence[RoleAssignment]:
    """Roles currently held, in the order they were given."""
    return [a for a in role_history(session=session, incident_id=incident_id) if a.released_at is None]


def holding(*, session: Session, incident_id: int, role: str) -> RoleAssignment | None:
    """The assignment of `role` held now, if anyone holds it."""
    return next((a for a in active_roles(session=session, incident_id=incident_id) if a.role == role), None)


def role_history(*, session: Session, incident_id: int) -> Sequence[RoleAssignment]:
    """Every role assignment ever made in the incident, oldest first."""
    return session.exec(reads.ROLE_HISTORY, params={"incident": incident_id}).all()


def checklist(*, session: Session, incident_id: int, stage: str | None = None) -> Sequence[ChecklistItem]:
    """Checklist items of an incident (of one stage if given), in order."""
    query = select(ChecklistItem).where(ChecklistItem.incident_id == incident_id)
    if stage is not None:
        query = query.where(ChecklistItem.stage == stage)
    return session.exec(query.order_by(col(ChecklistItem.id))).all()


def checklist_rows(*, session: Session, incident_id: int) -> Sequence[Any]:
    """The checklist as plain rows (stage, position, text, required, checked_by, checked_at), in order: for reading."""
    return session.execute(reads.CHECKLIST_ROWS, {"incident": incident_id}).all()


def stage_entries(*, session: Session, incident_id: int) -> Sequence[StageEntry]:
    """The stage history, oldest first."""
    query = select(StageEntry).where(StageEntry.incident_id == incident_id).order_by(col(StageEntry.id))
    return session.exec(query).all()


def timeline(*, session: Session, incident_id: int) -> Sequence[TimelineEvent]:
    """The incident's timeline, in time order."""
    query = select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
    return session.exec(query.order_by(col(TimelineEvent.at), col(TimelineEvent.id))).all()


def remember_request(*, session: Session, key: str, at: datetime) -> bool:
    """Record a Slack delivery key; False if it was seen before (a retry)."""
    return insert_or_skip(session, HandledRequest, [{"key": key, "received_at": at}], key=("key",)) == 1


def delete_incident(*, session: Session, incident_id: int) -> None:
    """Remove an incident and everything recorded under it (undoing a declare that failed)."""
    for table in (
        ChannelMessage,
        ThreadActivity,
        Impact,
        StatusUpdate,
        Reminder,
        Notice,
        OutboxMessage,
        PageStep,
        TimelineEvent,
        ChecklistItem,
        StageEntry,
        RoleAssignment,
        Participant,
    ):
        for row in session.exec(select(table).where(table.incident_id == incident_id)).all():
            session.delete(row)
    for fed in (Alert, AlertGroup):  # the alerts stay, as alerts no incident took
        session.execute(update(fed).where(col(fed.incident_id) == incident_id).values(incident_id=None))
    session.flush()
    incident = session.get(Incident, incident_id)
    if incident is not None:
        session.delete(incident)
        # Give the number back if no later declare took one, so a declare that failed leaves no gap.
        session.execute(
            update(Counter)
            .where(col(Counter.name) == "incident", col(Counter.value) == incident.number)
            .values(value=incident.number - 1)
        )


def pending_steps(*, session: Session, incident_id: int) -> Sequence[PageStep]:
    """Escalation steps still waiting to fire, soonest first (not the pages of overdue regulatory reports)."""
    return _steps(session, incident_id, TimerStatus.PENDING, col(PageStep.due_at))


def fired_steps(*, session: Session, incident_id: int) -> Sequence[PageStep]:
    """Escalation steps that have fired, oldest first."""
    return _steps(session, incident_id, TimerStatus.FIRED, col(PageStep.fired_at))


def _steps(session: Session, incident_id: int, status: TimerStatus, first: Any) -> Sequence[PageStep]:
    query = select(PageStep).where(
        PageStep.incident_id == incident_id, PageStep.status == status, col(PageStep.clock_id).is_(None)
    )
    return session.exec(query.order_by(first, col(PageStep.id))).all()


def due_steps(*, session: Session, now: datetime, limit: int) -> Sequence[tuple[int, int, list[str]]]:
    """(step id, incident id, targets) of pending steps due by `now`, in due order."""
    found = session.exec(reads.DUE_STEPS, params={"now": now, "limit": limit}).all()
    return [(int(step_id or 0), incident_id, list(targets)) for step_id, incident_id, targets in found]


def future_due_times(*, session: Session, now: datetime) -> Sequence[datetime]:
    """Due times of pending steps, reminders, clock timers and redraws after `now` (wake-ups after a restart)."""
    steps = select(PageStep.due_at).where(PageStep.status == TimerStatus.PENDING, col(PageStep.due_at) > now)
    reminders = select(Reminder.due_at).where(Reminder.status == TimerStatus.PENDING, col(Reminder.due_at) > now)
    cards = select(Incident.card_due_at).where(col(Incident.card_due_at) > now, col(Incident.card_ts).is_not(None))
    homes = select(HomeViewer.due_at).where(col(HomeViewer.due_at) > now)
    clocks = select(ClockTimer.due_at).where(ClockTimer.status == TimerStatus.PENDING, col(ClockTimer.due_at) > now)
    return [
        *session.exec(clocks.distinct()).all(),
        *session.exec(steps.distinct()).all(),
        *session.exec(reminders.distinct()).all(),
        *[when for when in session.exec(cards.distinct()).all() if when is not None],
        *[when for when in session.exec(homes.distinct()).all() if when is not None],
    ]


def due_cards(*, session: Session, now: datetime, limit: int) -> Sequence[int]:
    """Ids of incidents whose pinned card is due to be redrawn, longest waiting first."""
    return [found for found in session.exec(reads.DUE_CARDS, params={"now": now, "limit": limit}).all() if found]


def page_facts(*, session: Session, incident_id: int) -> tuple[int, datetime | None, int]:
    """(steps still to fire, when the next is due, pages refused and still to deliver): see `reads.PAGE_FACTS`."""
    pending, next_due, undelivered = session.execute(reads.PAGE_FACTS, {"incident": incident_id}).one()
    return int(pending), next_due, int(undelivered)


def deliverable_outbox(*, session: Session, now: datetime, limit: int) -> Sequence[tuple[int, int]]:
    """(outbox id, incident id) of messages ready to send, oldest first."""
    found = session.exec(reads.DELIVERABLE, params={"now": now, "limit": limit}).all()
    return [(int(message_id or 0), incident_id) for message_id, incident_id in found]


def outbox_of_kinds(*, session: Session, message_ids: Sequence[int], kinds: Iterable[str]) -> set[int]:
    """Which of these outbox messages are of one of these kinds."""
    if not message_ids:
        return set()
    query = select(OutboxMessage.id).where(
        col(OutboxMessage.id).in_(message_ids), col(OutboxMessage.kind).in_(list(kinds))
    )
    return {int(message_id or 0) for message_id in session.exec(query).all()}


def mark_sent(*, session: Session, message_id: int, at: datetime) -> None:
    """Record that an outbox message reached its recipient (one statement: no incident lock is needed for that)."""
    query = update(OutboxMessage).where(col(OutboxMessage.id) == message_id)
    sent = query.values(status=OutboxStatus.SENT, sent_at=at, outcome_unknown=False)
    session.execute(sent.execution_options(synchronize_session=False))  # its own transaction: no objects to update


def unanswered_declares(*, session: Session, ready_before: datetime, limit: int) -> Sequence[int]:
    """Incidents ready since before `ready_before` whose declarer never heard (the answer died with a process)."""
    return [i for i in session.exec(reads.UNANSWERED_DECLARES, params={"now": ready_before, "limit": limit}).all() if i]


def stalled_declares(*, session: Session, now: datetime, limit: int) -> Sequence[int]:
    """Incidents whose declare is not finished and whose lease has run out (a crash, a Slack that did not answer)."""
    return [i for i in session.exec(reads.STALLED_DECLARES, params={"now": now, "limit": limit}).all() if i]


def stalled_requests(*, session: Session, received_before: datetime, now: datetime, limit: int) -> Sequence[str]:
    """Keys of acknowledged declares never recorded (their process died), whose lease has run out."""
    params = {"received_before": received_before, "now": now, "limit": limit}
    return list(session.exec(reads.STALLED_REQUESTS, params=params).all())


def queue_outbox(
    *,
    session: Session,
    incident_id: int,
    kind: str,
    recipient: str,
    payload: dict[str, object],
    now: datetime,
    step_id: int | None = None,
) -> None:
    """Add a message to the outbox, to be delivered after this transaction commits."""
    session.add(
        OutboxMessage(
            incident_id=incident_id,
            step_id=step_id,
            kind=kind,
            recipient=recipient,
            payload=payload,
            created_at=now,
            next_attempt_at=now,
        )
    )


def mark_homes_due(*, session: Session, incident_id: int, is_private: bool, due_at: datetime) -> None:
    """Have the Home tabs of those who can see the incident redrawn at `due_at` (unless due sooner)."""
    query = reads.MARK_HOMES_OF_PARTICIPANTS if is_private else reads.MARK_HOMES
    session.execute(query, {"incident": incident_id, "due": due_at})


def mark_home_due(*, session: Session, user_id: str, due_at: datetime) -> None:
    """Have one person's Home tab redrawn at `due_at` (unless due sooner); nothing if they never opened it."""
    session.execute(
        update(HomeViewer)
        .where(col(HomeViewer.user_id) == user_id, col(HomeViewer.due_at).is_(None))
        .values(due_at=due_at)
        .execution_options(synchronize_session=False)  # as reads.MARK_HOMES
    )


def due_homes(*, session: Session, now: datetime, limit: int) -> Sequence[str]:
    """Users whose Home tab is due to be redrawn, longest waiting first."""
    return session.exec(reads.DUE_HOMES, params={"now": now, "limit": limit}).all()
