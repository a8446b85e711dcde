"""Firing due escalation steps and delivering their pages through the outbox.

Firing claims a step with a conditional update while holding the incident row, so a step fires
once however many processes run. The pages it decides on are outbox rows written in that same
transaction; delivery takes the incident row again and suppresses a page when an acknowledgement
was committed first, so no page leaves after an ack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dateutil import tz
from sqlalchemy import update
from sqlmodel import Session, col, select

from ircbot.domain import timeline
from ircbot.domain.messages import PageCard, ReminderCard, Text
from ircbot.domain.roles import oncall_for
from ircbot.domain.services import Services
from ircbot.domain.views import incident_view
from ircbot.durations import format_duration
from ircbot.errors import DomainError, GatewayError
from ircbot.store import queries
from ircbot.store.models import Incident, OutboxMessage, PageStep, Participant

LATE_AFTER = timedelta(seconds=2)
PAGE_KINDS = frozenset({"invite", "dm", "email", "channel_line"})
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Recipient:
    """Someone a target resolved to: a Slack user (maybe with an e-mail) or an e-mail address only."""

    user_id: str | None
    email: str | None
    tz: str | None = None


class TargetCache:
    """What targets and people resolved to, kept for one firing round so a page storm asks Slack once each."""

    def __init__(self) -> None:
        self.users: dict[str, list[str]] = {}
        self.profiles: dict[str, Recipient | None] = {}


def resolve_targets(svc: Services, targets: list[str], cache: TargetCache | None = None) -> list[Recipient]:
    """People behind `role:`, `user:`, `group:` and `email:` targets, without duplicates."""
    cache = cache or TargetCache()
    user_ids: list[str] = []
    emails: list[str] = []
    for target in targets:
        kind, _, value = target.partition(":")
        if kind == "email":
            emails.append(value)
            continue
        if target not in cache.users:
            cache.users[target] = _users_behind(svc, kind, value, target)
        user_ids.extend(cache.users[target])
    recipients = []
    for user_id in dict.fromkeys(user_ids):
        if user_id not in cache.profiles:
            cache.profiles[user_id] = _recipient(svc, user_id)
        found = cache.profiles[user_id]
        if found is not None:
            recipients.append(found)
    known = {r.email for r in recipients if r.email}
    recipients += [Recipient(user_id=None, email=e) for e in dict.fromkeys(emails) if e not in known]
    return recipients


def _users_behind(svc: Services, kind: str, value: str, target: str) -> list[str]:
    try:
        if kind == "role" and value in svc.config.roles.roles:
            return [oncall_for(svc, value)]
        if kind == "user":
            return [value]
        if kind == "group":
            return svc.chat.group_members(value)
    except (DomainError, GatewayError) as exc:
        svc.log.warning("target %s resolved to nobody: %s", target, exc)
    return []


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
                .where(col(PageStep.id).in_(list(recipients)), col(PageStep.status) == "pending")
                .values(status="fired", fired_at=now)
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
        for step in steps:
            incident = incidents[step.incident_id]
            if incident.status != "open" or _acked_since(incident, step.created_at):
                step.status = "cancelled"
                continue
            _decide_pages(svc, session, incident, step, recipients[step.id or 0], now - step.due_at, participants)
            fired += 1
        return fired


def _acked_since(incident: Incident, decided_at: datetime) -> bool:
    """An ack stops what was planned before it; a severity raised after the ack plans new pages."""
    return incident.acknowledged_at is not None and incident.acknowledged_at >= decided_at


def _decide_pages(
    svc: Services,
    session: Session,
    incident: Incident,
    step: PageStep,
    recipients: list[Recipient],
    late: timedelta,
    participants: set[tuple[int, str]],
) -> None:
    assert incident.id is not None and step.id is not None
    now = svc.clock()
    tier = step.tier + 1
    lateness = f" ({format_duration(late)} late)" if late > LATE_AFTER else ""
    if not recipients:
        following = queries.pending_steps(session=session, incident_id=incident.id)
        if following:
            following[0].due_at = now
        timeline.record(
            session,
            incident,
            kind="page_unresolved",
            at=now,
            text=f"Tier {tier} ({', '.join(step.targets)}) resolved to nobody"
            + ("; paging the next tier now" if following else ""),
            data={"tier": tier, "round": step.round},
        )
        if following:
            svc.wake(now)
        return
    reason = f"Escalation tier {tier} of the {incident.severity.upper()} policy"
    names = []
    for r in recipients:
        if r.user_id:
            names.append(f"<@{r.user_id}>")
            if (incident.id, r.user_id) not in participants:  # the incident row is locked: no one else adds them
                participants.add((incident.id, r.user_id))
                session.add(Participant(incident_id=incident.id, user_id=r.user_id, reason="paged", added_at=now))
            _queue(session, incident, step, "invite", r.user_id, {}, now)
            _queue(session, incident, step, "dm", r.user_id, {"reason": reason, "tz": r.tz}, now)
        else:
            names.append(f"{r.email} (e-mail)")
        if r.email and svc.mail.enabled:
            _queue(session, incident, step, "email", r.email, {"reason": reason, "tier": tier}, now)
    repeat = f", round {step.round + 1}" if step.round else ""
    line = f":rotating_light: Paged tier {tier}{repeat}: {', '.join(names)}{lateness}"
    if incident.channel_id:
        _queue(session, incident, step, "channel_line", incident.channel_id, {"text": line}, now)
    timeline.record(
        session,
        incident,
        kind="paged",
        at=now,
        text=f"Paged tier {tier}{repeat}: {', '.join(names)}{lateness}",
        data={"tier": tier, "round": step.round, "late_seconds": int(late.total_seconds())},
    )


def _queue(
    session: Session,
    incident: Incident,
    step: PageStep,
    kind: str,
    recipient: str,
    payload: dict[str, object],
    now: datetime,
) -> None:
    assert incident.id is not None
    queries.queue_outbox(
        session=session,
        incident_id=incident.id,
        kind=kind,
        recipient=recipient,
        payload=payload,
        now=now,
        step_id=step.id,
    )


def drain_outbox(svc: Services, *, limit: int = 500) -> int:
    """Deliver pending outbox messages, one transaction per incident; returns how many were sent."""
    with svc.db.transaction() as session:
        ready = queries.deliverable_outbox(session=session, now=svc.clock(), limit=limit)
    by_incident: dict[int, list[int]] = {}
    for message_id, incident_id in ready:
        by_incident.setdefault(incident_id, []).append(message_id)
    return sum(deliver(svc, incident_id=i, message_ids=ids) for i, ids in by_incident.items())


def deliver(svc: Services, *, incident_id: int, message_ids: list[int]) -> int:
    """Send an incident's outbox messages while holding its row, unless an ack or resolve came first."""
    sent = 0
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id, lock=True)
        assert incident is not None
        messages = session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.id).in_(message_ids), OutboxMessage.status == "pending")
            .order_by(col(OutboxMessage.id))
            .with_for_update()
        ).all()
        for message in messages:
            sent += _deliver_one(svc, session, incident, message)
    return sent


def _deliver_one(svc: Services, session: Session, incident: Incident, message: OutboxMessage) -> int:
    now = svc.clock()
    if incident.status != "open" or (message.kind in PAGE_KINDS and _acked_since(incident, message.created_at)):
        message.status = "suppressed"
        return 0
    try:
        _send(svc, session, incident, message)
    except GatewayError as exc:
        message.attempts += 1
        message.last_error = exc.error[:500]
        message.next_attempt_at = now + timedelta(seconds=2**message.attempts)
        if message.attempts >= MAX_ATTEMPTS:
            message.status = "failed"
            timeline.record(
                session,
                incident,
                kind="warning",
                at=now,
                text=f"Could not deliver a {message.kind} to {message.recipient}: {exc.error}",
            )
        return 0
    message.status, message.sent_at = "sent", now
    return 1


def _send(svc: Services, session: Session, incident: Incident, message: OutboxMessage) -> None:
    if message.kind == "invite" and incident.channel_id:
        svc.chat.invite(incident.channel_id, [message.recipient])
    elif message.kind == "channel_line":
        svc.chat.post(message.recipient, Text(str(message.payload["text"])))
    elif message.kind == "dm":
        view = incident_view(session=session, incident=incident, config=svc.config, now=svc.clock())
        when = local_time(view.declared_at, message.payload.get("tz"))
        svc.chat.post(
            message.recipient, PageCard(incident=view, reason=str(message.payload["reason"]), declared_local=when)
        )
    elif message.kind == "reminder":
        snooze = bool(message.payload.get("snooze"))
        card = ReminderCard(incident_id=incident.id or 0, text=str(message.payload["text"]), snooze=snooze)
        svc.chat.post(message.recipient, card)
    elif message.kind == "email":
        from ircbot.domain.mailing import page_email

        view = incident_view(session=session, incident=incident, config=svc.config, now=svc.clock())
        reason, tier = str(message.payload["reason"]), int(str(message.payload["tier"]))
        svc.mail.send(page_email(svc, view, to=message.recipient, reason=reason, tier=tier))


def local_time(when: datetime, zone: object) -> str:
    """`2026-11-29 14:03 CET` in the reader's Slack time zone (UTC when unknown)."""
    target = tz.gettz(str(zone)) if zone else None
    local = when.astimezone(target or tz.UTC)
    return local.strftime("%Y-%m-%d %H:%M %Z")
