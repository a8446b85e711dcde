"""Delivering what the engine decided: the outbox, one registered sender per kind, retried until it goes.

Delivery decides under the incident's lock (withholding pages an acknowledgement came before) and
calls Slack or SMTP only after that commit, so no database lock waits on a slow or rate-limited
Slack; a message that is refused is retried with growing pauses.

Each message is posted at most once in practice: it carries its outbox id in Slack's message
metadata, and a try whose outcome is unknown (the process died mid-send, or the answer was lost to
a timeout or a 5xx) is followed by a look at the conversation's history before posting again. What
remains is an e-mail whose SMTP answer was lost, and a Slack that does not yet show a message it
accepted when the look comes (the look comes at least seconds later: the backoff, or the lease).
A webhook whose answer was lost is simply sent again: it carries the same X-Ircbot-Delivery, for the
receiver to drop.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from dateutil import tz
from sqlmodel import col, select

from ircbot.domain.identities import user_for_email
from ircbot.domain.kinds import (
    PAGE_KINDS,
    REPORT_KINDS,
    IncidentStatus,
    OutboxKind,
    OutboxStatus,
    ReminderKind,
    TimelineKind,
)
from ircbot.domain.mailing import page_email
from ircbot.domain.messages import DeclareOutcome, Message, PageCard, PageLine, ReminderCard, Text
from ircbot.domain.paging import acked_since
from ircbot.domain.services import Services
from ircbot.domain.unit import IncidentTx, incident_tx
from ircbot.domain.webhooks import NOT_CONFIGURED, prepare_webhook
from ircbot.errors import GatewayError
from ircbot.store import queries
from ircbot.store.models import OutboxMessage

MAX_ATTEMPTS = 5  # what is not a page (a reminder) is given up, loudly, after this many refusals
MAX_BACKOFF = timedelta(minutes=1)  # a page keeps being retried at least this often while Slack is down
STILL_FAILING = 5  # a page refused this many times is said to be failing in the timeline (once)

Send = Callable[[], object]
Prepare = Callable[[IncidentTx, OutboxMessage], Send]
DELIVERY_WORKERS = 8  # incidents delivered at once; the WebClient's connection pool and Slack's limits bound it
LEASE = timedelta(minutes=2)  # a claimed message waits this long for its sender before another may try


@dataclass(frozen=True)
class Patience:
    """How a kind that is not Slack's is retried: pauses up to `max_backoff`, given up (logged) past `give_up_after`."""

    max_backoff: timedelta
    give_up_after: timedelta
    hopeless: frozenset[str] = frozenset()


PATIENCE: dict[str, Patience] = {
    OutboxKind.WEBHOOK: Patience(timedelta(minutes=15), timedelta(hours=24), frozenset({NOT_CONFIGURED})),
}
"""Kinds retried on their own terms, each message on a worker of its own, so a slow or dead endpoint holds up no
page."""


def _invite(tx: IncidentTx, message: OutboxMessage) -> Send:
    """Pages queued before the DM carried its own invitation had it as a message of its own."""
    channel, user = tx.incident.channel_id, message.recipient
    return lambda: tx.svc.chat.invite(channel, [user]) if channel else None


def _channel_line(tx: IncidentTx, message: OutboxMessage) -> Send:
    payload = message.payload
    line: Message
    if "paged" not in payload:  # queued before pages were kept as facts
        line = Text(str(payload.get("text", "")))
    else:
        users = tuple(p["user"] for p in payload["paged"] if p.get("user"))
        emails = tuple(p["email"] for p in payload["paged"] if not p.get("user"))
        line = PageLine(
            int(payload["tier"]), int(payload["round"]), users, emails, payload.get("late"), payload.get("about")
        )
    return _post_once(tx, message, message.recipient, line)


def _dm(tx: IncidentTx, message: OutboxMessage) -> Send:
    """A page: into the channel first, then the DM linking it, so no one gets a link they cannot open.

    A page addressed to an e-mail (Slack could not say who it was when the tier fired) looks the
    person up first; while Slack cannot be asked, that fails like any delivery and is retried.
    """
    view = tx.view()
    when = local_time(view.declared_at, message.payload.get("tz"))
    card = PageCard(incident=view, reason=str(message.payload["reason"]), declared_local=when)
    svc, channel = tx.svc, view.channel_id
    look_up = bool(message.payload.get("look_up"))
    post = _post_once(tx, message, message.recipient, card)

    def page() -> None:
        user = _slack_user(svc, message.recipient) if look_up else message.recipient
        if channel:
            svc.chat.invite(channel, [user])
        post(user)

    return page


def _slack_user(svc: Services, email: str) -> str:
    user = user_for_email(svc, email)
    if user is None:
        raise GatewayError("users.lookupByEmail", "users_not_found")
    return user


def _reminder(tx: IncidentTx, message: OutboxMessage) -> Send:
    payload = message.payload
    card: Message
    if "about" not in payload and not payload.get("snooze"):  # queued before reminders were kept as facts
        card = Text(str(payload.get("text", "")))
    else:
        items = tuple((int(p), str(t)) for p, t in payload.get("items", []))
        about = payload.get("about", ReminderKind.UPDATE)  # an older snoozable reminder was about the update
        card = ReminderCard(
            tx.id,
            tx.incident.key,
            about,
            str(payload.get("stage", "")),
            items,
            since=str(payload.get("since", "")),
            first=bool(payload.get("first", False)),
            cadence=str(payload.get("cadence", "")),
            severity=str(payload.get("severity", "")),
            channel_id=tx.incident.channel_id,
        )
    return _post_once(tx, message, message.recipient, card)


def _post_once(tx: IncidentTx, message: OutboxMessage, channel: str, content: Message) -> Callable[..., None]:
    """Post tagged with the outbox id; when an earlier try may have arrived, look for it before posting again.

    Built while claiming, before the claim marks this try's outcome unknown in turn. The returned
    function posts to `channel`, or to the conversation it is given.
    """
    chat, key, look_first = tx.svc.chat, f"outbox-{message.id}", message.outcome_unknown
    since = message.first_tried_at or tx.now

    def post(to: str = channel) -> None:
        if look_first and chat.find_posted(to, key, since=since) is not None:
            return
        chat.post(to, content, key=key)

    return post


def _declared(tx: IncidentTx, message: OutboxMessage) -> Send:
    return _post_once(tx, message, message.recipient, DeclareOutcome(tx.incident.title, tx.view()))


def _alert_line(tx: IncidentTx, message: OutboxMessage) -> Send:
    channel = tx.incident.channel_id
    if channel is None:  # the channel is still being opened: refused for now, tried again shortly

        def not_yet() -> None:
            raise GatewayError("chat.postMessage", "channel_not_opened_yet")

        return not_yet
    return _post_once(tx, message, channel, Text(str(message.payload["text"])))


def _text_line(tx: IncidentTx, message: OutboxMessage) -> Send:
    return _post_once(tx, message, message.recipient, Text(str(message.payload["text"])))


def _email(tx: IncidentTx, message: OutboxMessage) -> Send:
    reason, tier = str(message.payload["reason"]), int(str(message.payload["tier"]))
    email = page_email(tx.svc, tx.view(), to=message.recipient, reason=reason, tier=tier)
    return partial(tx.svc.mail.send, email)


DELIVER: dict[OutboxKind, Prepare] = {
    OutboxKind.INVITE: _invite,
    OutboxKind.CHANNEL_LINE: _channel_line,
    OutboxKind.DM: _dm,
    OutboxKind.REMINDER: _reminder,
    OutboxKind.EMAIL: _email,
    OutboxKind.DECLARED: _declared,
    OutboxKind.ALERT_LINE: _alert_line,
    OutboxKind.WEBHOOK: prepare_webhook,
    OutboxKind.CLOCK: lambda tx, message: _post_once(
        tx, message, message.recipient, Text(str(message.payload["text"]))
    ),
}
"""For each kind, what to send: decided under the incident's lock, sent after the commit."""


def drain_outbox(svc: Services, *, limit: int = 500) -> int:
    """Deliver pending outbox messages, several incidents at once (each in order, each webhook apart); returns how
    many were sent."""
    with svc.db.transaction() as session:
        ready = queries.deliverable_outbox(session=session, now=svc.clock(), limit=limit)
        on_their_own = queries.outbox_of_kinds(session=session, message_ids=[m for m, _ in ready], kinds=PATIENCE)
    batches: dict[tuple[int, int], list[int]] = {}  # (incident, 0 or the message delivered on its own) -> ids
    for message_id, incident_id in ready:
        lane = message_id if message_id in on_their_own else 0  # so one slow endpoint waits alone
        batches.setdefault((incident_id, lane), []).append(message_id)
    if len(batches) <= 1:
        return sum(deliver(svc, incident_id=i, message_ids=ids) for (i, _), ids in batches.items())
    # Slack calls are made outside any lock, so one slow incident's pages need not hold up another's.
    with ThreadPoolExecutor(max_workers=DELIVERY_WORKERS, thread_name_prefix="ircbot-deliver") as pool:
        return sum(pool.map(lambda item: deliver(svc, incident_id=item[0][0], message_ids=item[1]), batches.items()))


def deliver(svc: Services, *, incident_id: int, message_ids: list[int]) -> int:
    """Claim an incident's due messages under its lock, then send each with no lock held, then record it.

    An ack or resolve committed before the claim withholds the pages; one that lands while a claimed
    page is on its way cannot stop that page (the window is one Slack call). A process that dies
    between sending and recording leaves the message leased: it is tried again after LEASE.
    """
    with incident_tx(svc, incident_id) as tx, tx.one_view():  # the incident as every message of the claim shows it
        claimed = _claim(tx, message_ids)
    return sum(_send(svc, incident_id, message_id, send) for message_id, send in claimed)


def _claim(tx: IncidentTx, message_ids: list[int]) -> list[tuple[int, Send]]:
    messages = tx.session.exec(
        select(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(message_ids),
            OutboxMessage.status == OutboxStatus.PENDING,
            col(OutboxMessage.next_attempt_at) <= tx.now,  # not leased by another process meanwhile
        )
        .order_by(col(OutboxMessage.id))
        .with_for_update()
    ).all()
    claimed = []
    for message in messages:
        withheld = message.kind in PAGE_KINDS and acked_since(tx.incident, message.created_at)
        closed = tx.incident.status != IncidentStatus.OPEN and message.kind not in REPORT_KINDS
        if closed or withheld:
            message.status = OutboxStatus.SUPPRESSED
            continue
        try:
            send = DELIVER[OutboxKind(message.kind)](tx, message)
        except (KeyError, TypeError, ValueError) as exc:
            # A row this version cannot read: give it up loudly rather than undo the whole batch.
            message.status, message.last_error = OutboxStatus.FAILED, f"unreadable: {exc!r}"[:500]
            tx.svc.log.error("outbox message %s (%s) cannot be delivered: %r", message.id, message.kind, exc)
            tx.record(TimelineKind.WARNING, f"Could not deliver a {message.kind} to {message.recipient}: unreadable")
            continue
        message.next_attempt_at = tx.now + LEASE
        message.first_tried_at = message.first_tried_at or tx.now
        message.outcome_unknown = True  # until Slack's answer says otherwise, even if this process dies
        claimed.append((message.id or 0, send))
    return claimed


def _send(svc: Services, incident_id: int, message_id: int, send: Send) -> int:
    """The one retry wrapper: a refused send waits 2, 4, 8 … seconds (at most MAX_BACKOFF, at least what a
    rate limit's Retry-After asked) and is tried again.

    A page is never dropped while its incident is open and unacknowledged (an ack or resolve withholds
    it); anything else gives up loudly after MAX_ATTEMPTS.
    """
    try:
        send()
    except GatewayError as failure:
        return _refused(svc, incident_id, message_id, failure)
    with svc.db.transaction() as session:
        queries.mark_sent(session=session, message_id=message_id, at=svc.clock())
    return 1


def _refused(svc: Services, incident_id: int, message_id: int, failure: GatewayError) -> int:
    """Record a refused send under the incident's lock (it may say so in the timeline) and when to try again."""
    with incident_tx(svc, incident_id) as tx:
        message = tx.session.get(OutboxMessage, message_id)
        assert message is not None
        error = failure.error
        message.attempts += 1
        message.last_error = error[:500]
        message.outcome_unknown = failure.uncertain
        patience = PATIENCE.get(message.kind)
        if patience is not None:
            _retry_patiently(tx, message, failure, patience)
            return 0
        backoff = min(timedelta(seconds=2 ** min(message.attempts, 16)), MAX_BACKOFF)
        message.next_attempt_at = tx.now + max(backoff, timedelta(seconds=failure.retry_after or 0))
        what = f"the {WHAT.get(message.kind, message.kind)} to {_who(message.recipient)}"
        if error in HOPELESS or (message.kind not in PAGE_KINDS and message.attempts >= MAX_ATTEMPTS):
            message.status = OutboxStatus.FAILED
            tx.record(TimelineKind.WARNING, f"Could not deliver {what}: Slack said `{error}`; it is given up")
        elif message.attempts == STILL_FAILING:
            tx.record(TimelineKind.WARNING, f"Still trying to deliver {what} (`{error}`); retrying every minute")
        return 0


def _retry_patiently(tx: IncidentTx, message: OutboxMessage, failure: GatewayError, patience: Patience) -> None:
    """Try again after 2, 4, 8 … seconds (at most `max_backoff`); past `give_up_after`, give up with a warning."""
    backoff = min(timedelta(seconds=2 ** min(message.attempts, 16)), patience.max_backoff)
    message.next_attempt_at = tx.now + max(backoff, timedelta(seconds=failure.retry_after or 0))
    what = f"{WHAT.get(message.kind, message.kind)} {message.id} of {tx.incident.key} to {message.recipient}"
    if failure.error in patience.hopeless or tx.now - message.created_at >= patience.give_up_after:
        message.status = OutboxStatus.FAILED
        tx.svc.log.warning("gave up delivering %s after %d tries: %s", what, message.attempts, failure.error)
    elif message.attempts == STILL_FAILING:
        tx.svc.log.warning("still trying to deliver %s (%s)", what, failure.error)


HOPELESS = frozenset(
    {
        "users_not_found",
        "user_not_found",
        "user_disabled",
        "account_inactive",
        "invalid_blocks",
        "invalid_arguments",
        "msg_too_long",
    }
)
"""Slack's answers no retry can change (no such person; a message Slack will never take): the message, even a
page, is given up at once, loudly. A channel the bot lost is not among them: someone can add the bot back."""
WHAT: dict[str, str] = {
    OutboxKind.DM: "page",
    OutboxKind.EMAIL: "page e-mail",
    OutboxKind.INVITE: "invitation",
    OutboxKind.CHANNEL_LINE: "channel's page line",
    OutboxKind.REMINDER: "reminder",
    OutboxKind.DECLARED: "declare notice",
    OutboxKind.ALERT_LINE: "alert line",
    OutboxKind.WEBHOOK: "webhook",
    OutboxKind.CLOCK: "regulatory clock notice",
}


def _who(recipient: str) -> str:
    return f"<@{recipient}>" if recipient[:1] in ("U", "W") else recipient


def local_time(when: datetime, zone: object) -> str:
    """`2026-11-29 14:03 CET` in the reader's Slack time zone (UTC when unknown)."""
    target = tz.gettz(str(zone)) if zone else None
    local = when.astimezone(target or tz.UTC)
    return local.strftime("%Y-%m-%d %H:%M %Z")
