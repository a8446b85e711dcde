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
from ircbot.store.models import Incident, OutboxMessage, PageStep

LATE_AFTER = timedelta(seconds=2)
PAGE_KINDS = frozenset({"invite", "dm", "email", "channel_line"})
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Recipient:
    """Someone a target resolved to: a Slack user (maybe with an e-mail) or an e-mail address only."""

    user_id: str | None
    email: str | None
    tz: str | None = None


def resolve_targets(svc: Services, targets: list[str]) -> list[Recipient]:
    """People behind `role:`, `user:`, `group:` and `email:` targets, without duplicates."""
    user_ids: list[str] = []
    emails: list[str] = []
    for target in targets:
        kind, _, value = target.partition(":")
        try:
            if kind == "role" and value in svc.config.roles.roles:
                user_ids.append(oncall_for(svc, value))
            elif kind == "user":
                user_ids.append(value)
            elif kind == "group":
                user_ids.extend(svc.chat.group_members(value))
            elif kind == "email":
                emails.append(value)
        except (DomainError, GatewayError) as exc:
            svc.log.warning("target %s resolved to nobody: %s", target, exc)
    recipients = []
    for user_id in dict.fromkeys(user_ids):
        try:
            profile = svc.chat.profile(user_id)
            recipients.append(Recipient(user_id=user_id, email=profile.email, tz=profile.tz))
        except GatewayError as exc:
            if exc.error in ("user_not_found", "account_inactive"):
                svc.log.warning("paging target %s is not a workspace member: %s", user_id, exc.error)
                continue
            recipients.append(Recipient(user_id=user_id, email=None))  # Slack is flaky, the page must still go
    known = {r.email for r in recipients if r.email}
    recipients += [Recipient(user_id=None, email=e) for e in dict.fromkeys(emails) if e not in known]
    return recipients


def fire_due(svc: Services, *, limit: int = 500) -> int:
    """Fire every step that is due, oldest first; returns how many this process fired."""
    fired = 0
    while True:
        with svc.db.transaction() as session:
            due = queries.due_steps(session=session, now=svc.clock(), limit=limit)
        if not due:
            return fired
        for step_id, incident_id in due:
            fired += fire_step(svc, step_id=step_id, incident_id=incident_id)


def fire_step(svc: Services, *, step_id: int, incident_id: int) -> int:
    """Claim one step and decide its pages; 0 when another process or an ack got there first."""
    with svc.db.transaction() as session:
        step = session.get(PageStep, step_id)
        if step is None or step.status != "pending":
            return 0
        targets = list(step.targets)
    recipients = resolve_targets(svc, targets)  # Slack lookups happen before any row is locked
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id, lock=True)
        assert incident is not None and incident.id is not None
        now = svc.clock()
        claimed = session.execute(
            update(PageStep)
            .where(col(PageStep.id) == step_id, col(PageStep.status) == "pending")
            .values(status="fired", fired_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return 0
        step = session.get(PageStep, step_id)
        assert step is not None
        session.refresh(step)
        if incident.status != "open" or _acked_since(incident, step.created_at):
            step.status = "cancelled"
            return 0
        late = now - step.due_at
        _decide_pages(svc, session, incident, step, recipients, late)
    return 1


def _acked_since(incident: Incident, decided_at: datetime) -> bool:
    """An ack stops what was planned before it; a severity raised after the ack plans new pages."""
    return incident.acknowledged_at is not None and incident.acknowledged_at >= decided_at


def _decide_pages(
    svc: Services, session: Session, incident: Incident, step: PageStep, recipients: list[Recipient], late: timedelta
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
            queries.add_participant(session=session, incident_id=incident.id, user_id=r.user_id, reason="paged", at=now)
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
    session.add(
        OutboxMessage(
            incident_id=incident.id,
            step_id=step.id,
            kind=kind,
            recipient=recipient,
            payload=payload,
            created_at=now,
            next_attempt_at=now,
        )
    )


def drain_outbox(svc: Services, *, limit: int = 500) -> int:
    """Deliver pending outbox messages; returns how many were sent."""
    with svc.db.transaction() as session:
        ready = queries.deliverable_outbox(session=session, now=svc.clock(), limit=limit)
    return sum(deliver(svc, message_id=m, incident_id=i) for m, i in ready)


def deliver(svc: Services, *, message_id: int, incident_id: int) -> int:
    """Send one outbox message while holding the incident row, unless an ack or resolve came first."""
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id, lock=True)
        assert incident is not None
        message = session.exec(select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()).first()
        if message is None or message.status != "pending":
            return 0
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
