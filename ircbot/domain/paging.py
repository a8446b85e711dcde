"""Firing due escalation steps: who each tier reaches, and the pages decided for them.

Firing claims a step with a conditional update while holding the incident row, so a step fires
once however many processes run. The pages it decides on are outbox rows written in that same
transaction (`ircbot.domain.outbox` delivers them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from ircbot.domain.kinds import IncidentStatus, OutboxKind, TimelineKind, TimerStatus
from ircbot.domain.roles import OncallUnreachable, oncall_for
from ircbot.domain.services import Services
from ircbot.domain.unit import IncidentTx
from ircbot.durations import format_duration
from ircbot.errors import DomainError, GatewayError
from ircbot.store import queries
from ircbot.store.models import Incident, PageStep, Participant
from ircbot.store.records import RegulatoryClock

LATE_AFTER = timedelta(seconds=2)


@dataclass(frozen=True)
class Recipient:
    """Someone a target resolved to: a Slack user (maybe with an e-mail) or an e-mail address only."""

    user_id: str | None
    email: str | None
    tz: str | None = None
    look_up: bool = False  # a Slack member whom Slack could not be asked about: DM them once it answers


class TargetCache:
    """What targets and people resolved to, kept for one firing round so a page storm asks Slack once each."""

    def __init__(self) -> None:
        self.users: dict[str, list[str]] = {}
        self.fallback: dict[str, list[str]] = {}  # e-mails to page when Slack could not say who they are
        self.profiles: dict[str, Recipient | None] = {}


def resolve_targets(svc: Services, targets: list[str], cache: TargetCache | None = None) -> list[Recipient]:
    """People behind `role:`, `user:`, `group:` and `email:` targets, without duplicates."""
    cache = cache or TargetCache()
    user_ids: list[str] = []
    emails: list[str] = []
    unknown: list[str] = []
    for target in targets:
        kind, _, value = target.partition(":")
        if kind == "email":
            emails.append(value)
            continue
        if target not in cache.users:
            cache.users[target], cache.fallback[target] = _users_behind(svc, kind, value, target)
        user_ids.extend(cache.users[target])
        unknown.extend(cache.fallback[target])
    recipients = []
    for user_id in dict.fromkeys(user_ids):
        if user_id not in cache.profiles:
            cache.profiles[user_id] = _recipient(svc, user_id)
        found = cache.profiles[user_id]
        if found is not None:
            recipients.append(found)
    known = {r.email for r in recipients if r.email}
    recipients += [Recipient(user_id=None, email=e, look_up=True) for e in dict.fromkeys(unknown) if e not in known]
    known |= set(unknown)
    recipients += [Recipient(user_id=None, email=e) for e in dict.fromkeys(emails) if e not in known]
    return recipients


def _users_behind(svc: Services, kind: str, value: str, target: str) -> tuple[list[str], list[str]]:
    """(Slack users, e-mails to page instead) behind one target."""
    try:
        if kind == "role" and value in svc.config.roles.roles:
            return [oncall_for(svc, value)], []
        if kind == "user":
            return [value], []
        if kind == "group":
            return svc.chat.group_members(value), []
    except OncallUnreachable as exc:
        svc.log.warning("target %s: Slack could not be asked who it is; paging %s by e-mail", target, exc.emails)
        return [], exc.emails
    except (DomainError, GatewayError) as exc:
        svc.log.warning("target %s resolved to nobody: %s", target, exc)
    return [], []


def _recipient(svc: Services, user_id: str) -> Recipient | None:
    try:
        profile = svc.chat.profile(user_id)
    except GatewayError as exc:
        if exc.error in ("user_not_found", "account_inactive"):
            svc.log.warning("paging target %s is not a workspace member: %s", user_id, exc.error)
            return None
        return Recipient(user_id=user_id, email=None)  # Slack is flaky, the page must still go
    return Recipient(user_id=user_id, email=profile.email, tz=profile.tz)


def fire_due(svc: Services, *, batch: int = 500) -> int:
    """Fire every step that is due, oldest first, a batch per transaction; returns how many this process fired."""
    fired = 0
    cache = TargetCache()
    while True:
        with svc.db.transaction() as session:
            due = queries.due_steps(session=session, now=svc.clock(), limit=batch)
            wanted = {step_id: list(targets) for step_id, _, targets in due}
        if not due:
            return fired
        # Slack lookups happen before any row is locked.
        recipients = {step_id: resolve_targets(svc, targets, cache) for step_id, targets in wanted.items()}
        fired += _claim(svc, sorted({incident_id for _, incident_id, _ in due}), recipients)


def _claim(svc: Services, incident_ids: list[int], recipients: dict[int, list[Recipient]]) -> int:
    """Lock the incidents (in id order, so replicas cannot deadlock), claim the steps still pending, decide pages."""
    with svc.db.transaction() as session:
        locked = session.exec(
            select(Incident).where(col(Incident.id).in_(incident_ids)).order_by(col(Incident.id)).with_for_update()
        ).all()
        incidents = {i.id: i for i in locked}
        now = svc.clock()
        claimed = (
            session.execute(
                update(PageStep)
                .where(col(PageStep.id).in_(list(recipients)), col(PageStep.status) == TimerStatus.PENDING)
                .values(status=TimerStatus.FIRED, fired_at=now)
                .returning(col(PageStep.id))
                .execution_options(synchronize_session=False)
            )
            .scalars()
            .all()
        )
        steps = session.exec(
            select(PageStep)
            .where(col(PageStep.id).in_(claimed))
            .order_by(col(PageStep.due_at), col(PageStep.id))
            .execution_options(populate_existing=True)
        ).all()
        known = session.exec(select(Participant).where(col(Participant.incident_id).in_(incident_ids))).all()
        participants = {(p.incident_id, p.user_id) for p in known}
        fired = 0
        wakeups: list[datetime] = []
        for step in steps:
            incident = incidents[step.incident_id]
            if step.clock_id is not None:  # an overdue report: pages until it is submitted, whatever the ack
                if not clock_running(session, step.clock_id):
                    step.status = TimerStatus.CANCELLED
                    continue
            elif incident.status != IncidentStatus.OPEN or acked_since(incident, step.created_at):
                step.status = TimerStatus.CANCELLED
                continue
            tx = IncidentTx(svc=svc, session=session, incident=incident, now=now, wakeups=wakeups)
            _decide_pages(tx, step, recipients[step.id or 0], participants)
            fired += 1
    for when in wakeups:
        svc.wake(when)
    return fired


def clock_running(session: Session, clock_id: int) -> bool:
    """Whether the regulatory report a page is for is still waiting to be submitted."""
    clock = session.get(RegulatoryClock, clock_id)
    return clock is not None and clock.status == "running"


def acked_since(incident: Incident, decided_at: datetime) -> bool:
    """An ack stops what was planned before it; a severity raised after the ack plans new pages."""
    return incident.acknowledged_at is not None and incident.acknowledged_at >= decided_at


def _decide_pages(
    tx: IncidentTx, step: PageStep, recipients: list[Recipient], participants: set[tuple[int, str]]
) -> None:
    incident, now = tx.incident, tx.now
    late = now - step.due_at
    tier = step.tier + 1
    if not recipients:
        following = queries.pending_steps(session=tx.session, incident_id=tx.id) if step.clock_id is None else []
        if following:
            following[0].due_at = now
            tx.wake(now)
        tx.record(
            TimelineKind.PAGE_UNRESOLVED,
            f"Tier {tier} ({', '.join(step.targets)}) resolved to nobody"
            + ("; paging the next tier now" if following else ""),
            data={"tier": tier, "round": step.round},
        )
        return
    reason = step.reason or f"Escalation tier {tier} of the {incident.severity.upper()} policy"
    paged = []
    for r in recipients:
        paged.append({"user": r.user_id} if r.user_id else {"email": r.email})
        if r.user_id:
            if (tx.id, r.user_id) not in participants:  # the incident row is locked: no one else adds them
                participants.add((tx.id, r.user_id))
                tx.session.add(Participant(incident_id=tx.id, user_id=r.user_id, reason="paged", added_at=now))
            # One message: the invitation and the DM that links the channel go (or are retried) together.
            _queue(tx, step, OutboxKind.DM, r.user_id, {"reason": reason, "tz": r.tz})
        elif r.look_up and r.email:
            # Slack could not say who this on-call is: the DM looks them up when it is delivered.
            _queue(tx, step, OutboxKind.DM, r.email, {"reason": reason, "look_up": True})
        if r.email and tx.svc.mail.enabled:
            _queue(tx, step, OutboxKind.EMAIL, r.email, {"reason": reason, "tier": tier})
    late_words = format_duration(late) if late > LATE_AFTER else None
    if incident.channel_id:
        line = {"tier": tier, "round": step.round, "paged": paged, "late": late_words, "about": step.reason}
        _queue(tx, step, OutboxKind.CHANNEL_LINE, incident.channel_id, line)
    tx.record(
        TimelineKind.PAGED,
        data={
            "tier": tier,
            "round": step.round,
            "paged": paged,
            "late_seconds": int(late.total_seconds()),
            "late": late_words,
            "about": step.reason,
        },
    )


def _queue(tx: IncidentTx, step: PageStep, kind: OutboxKind, recipient: str, payload: dict[str, object]) -> None:
    queries.queue_outbox(
        session=tx.session,
        incident_id=tx.id,
        kind=kind,
        recipient=recipient,
        payload=payload,
        now=tx.now,
        step_id=step.id,
    )
