"""Delivering what the engine decided: the outbox, one registered sender per kind, retried until it goes.

Delivery takes the incident row and suppresses a page when an acknowledgement was committed first,
so no page leaves after an ack; a message Slack or SMTP refuses is retried with growing pauses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from dateutil import tz
from sqlmodel import col, select

from ircbot.domain.kinds import PAGE_KINDS, IncidentStatus, OutboxKind, OutboxStatus, ReminderKind, TimelineKind
from ircbot.domain.mailing import page_email
from ircbot.domain.messages import PageCard, PageLine, ReminderCard, Text
from ircbot.domain.paging import acked_since
from ircbot.domain.services import Services
from ircbot.domain.unit import IncidentTx, incident_tx
from ircbot.errors import GatewayError
from ircbot.store import queries
from ircbot.store.models import OutboxMessage

MAX_ATTEMPTS = 5  # what is not a page (a reminder) is given up, loudly, after this many refusals
MAX_BACKOFF = timedelta(minutes=1)  # a page keeps being retried at least this often while Slack is down
STILL_FAILING = 5  # a page refused this many times is said to be failing in the timeline (once)

Deliver = Callable[[IncidentTx, OutboxMessage], None]


def _invite(tx: IncidentTx, message: OutboxMessage) -> None:
    if tx.incident.channel_id:
        tx.svc.chat.invite(tx.incident.channel_id, [message.recipient])


def _channel_line(tx: IncidentTx, message: OutboxMessage) -> None:
    payload = message.payload
    if "paged" not in payload:  # queued before pages were kept as facts
        tx.svc.chat.post(message.recipient, Text(str(payload.get("text", ""))))
        return
    users = tuple(p["user"] for p in payload["paged"] if p.get("user"))
    emails = tuple(p["email"] for p in payload["paged"] if not p.get("user"))
    line = PageLine(int(payload["tier"]), int(payload["round"]), users, emails, payload.get("late"))
    tx.svc.chat.post(message.recipient, line)


def _dm(tx: IncidentTx, message: OutboxMessage) -> None:
    view = tx.view()
    when = local_time(view.declared_at, message.payload.get("tz"))
    tx.svc.chat.post(
        message.recipient, PageCard(incident=view, reason=str(message.payload["reason"]), declared_local=when)
    )


def _reminder(tx: IncidentTx, message: OutboxMessage) -> None:
    payload = message.payload
    if "about" not in payload and not payload.get("snooze"):  # queued before reminders were kept as facts
        tx.svc.chat.post(message.recipient, Text(str(payload.get("text", ""))))
        return
    items = tuple((int(p), str(t)) for p, t in payload.get("items", []))
    about = payload.get("about", ReminderKind.UPDATE)  # an older snoozable reminder was about the update
    card = ReminderCard(tx.id, tx.incident.key, about, str(payload.get("stage", "")), items)
    tx.svc.chat.post(message.recipient, card)


def _email(tx: IncidentTx, message: OutboxMessage) -> None:
    reason, tier = str(message.payload["reason"]), int(str(message.payload["tier"]))
    tx.svc.mail.send(page_email(tx.svc, tx.view(), to=message.recipient, reason=reason, tier=tier))


DELIVER: dict[OutboxKind, Deliver] = {
    OutboxKind.INVITE: _invite,
    OutboxKind.CHANNEL_LINE: _channel_line,
    OutboxKind.DM: _dm,
    OutboxKind.REMINDER: _reminder,
    OutboxKind.EMAIL: _email,
}


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
    with incident_tx(svc, incident_id) as tx:
        messages = tx.session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.id).in_(message_ids), OutboxMessage.status == OutboxStatus.PENDING)
            .order_by(col(OutboxMessage.id))
            .with_for_update()
        ).all()
        return sum(_deliver_one(tx, message) for message in messages)


def _deliver_one(tx: IncidentTx, message: OutboxMessage) -> int:
    """The one retry wrapper: a refused send waits 2, 4, 8 … seconds (at most MAX_BACKOFF) and is tried again.

    A page is never dropped while its incident is open and unacknowledged (an ack or resolve withholds
    it); anything else gives up loudly after MAX_ATTEMPTS.
    """
    incident, now = tx.incident, tx.svc.clock()
    withheld = message.kind in PAGE_KINDS and acked_since(incident, message.created_at)
    if incident.status != IncidentStatus.OPEN or withheld:
        message.status = OutboxStatus.SUPPRESSED
        return 0
    try:
        DELIVER[OutboxKind(message.kind)](tx, message)
    except (KeyError, TypeError, ValueError) as exc:
        # A row this version cannot read: give it up loudly, or it would undo the batch and resend the rest.
        message.status, message.last_error = OutboxStatus.FAILED, f"unreadable: {exc!r}"[:500]
        tx.svc.log.error("outbox message %s (%s) cannot be delivered: %r", message.id, message.kind, exc)
        tx.record(
            TimelineKind.WARNING, f"Could not deliver a {message.kind} to {message.recipient}: unreadable", at=now
        )
        return 0
    except GatewayError as exc:
        message.attempts += 1
        message.last_error = exc.error[:500]
        message.next_attempt_at = now + min(timedelta(seconds=2 ** min(message.attempts, 16)), MAX_BACKOFF)
        if message.kind in PAGE_KINDS:
            if message.attempts == STILL_FAILING:
                tx.record(
                    TimelineKind.WARNING,
                    f"Still trying to deliver a {message.kind} to {message.recipient}: {exc.error}",
                    at=now,
                )
        elif message.attempts >= MAX_ATTEMPTS:
            message.status = OutboxStatus.FAILED
            tx.record(
                TimelineKind.WARNING, f"Could not deliver a {message.kind} to {message.recipient}: {exc.error}", at=now
            )
        return 0
    message.status, message.sent_at = OutboxStatus.SENT, now
    return 1


def local_time(when: datetime, zone: object) -> str:
    """`2026-11-29 14:03 CET` in the reader's Slack time zone (UTC when unknown)."""
    target = tz.gettz(str(zone)) if zone else None
    local = when.astimezone(target or tz.UTC)
    return local.strftime("%Y-%m-%d %H:%M %Z")
