"""Outbound webhooks: an event an endpoint subscribed to is queued in the event's own transaction and POSTed,
signed the way Slack signs its requests, from the outbox after the commit.

Signature: `X-Ircbot-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">` with the endpoint's secret and
`X-Ircbot-Request-Timestamp: {timestamp}` (unix seconds of this try); `X-Ircbot-Delivery` is fixed when the event
is queued, so every retry carries the same one and a receiver can drop repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from functools import partial
from typing import TYPE_CHECKING, Any

from ircbot.domain.kinds import OutboxKind
from ircbot.domain.timeline import WORDED
from ircbot.errors import GatewayError
from ircbot.store import queries
from ircbot.store.models import Incident, OutboxMessage, TimelineEvent

if TYPE_CHECKING:
    from ircbot.domain.unit import IncidentTx

PRIVATE_FIELDS = ("event", "key", "severity", "stage")
"""All a private incident's webhook says, unless the endpoint has include_private: true."""


def queue_webhooks(tx: IncidentTx, event: TimelineEvent) -> None:
    """Queue one delivery per endpoint subscribed to this event, in the event's transaction."""
    incident = tx.incident
    for name, hook in tx.svc.config.webhooks.subscribed(event.kind):
        facts = {k: v for k, v in (event.data or {}).items() if k != WORDED}
        payload: dict[str, object] = {
            "delivery": str(uuid.uuid4()),
            "body": {
                "event": name,
                "key": incident.key,
                "severity": incident.severity,
                "stage": incident.stage,
                "time": event.at.isoformat(),
                "title": incident.title,
                "channel": incident.channel_id,
                "actor": event.actor,
                "text": event.text,
                "facts": facts,
            },
            "private": incident.is_private,
        }
        queries.queue_outbox(
            session=tx.session,
            incident_id=tx.id,
            kind=OutboxKind.WEBHOOK,
            recipient=hook.url,
            payload=json.loads(json.dumps(payload, default=str)),  # what the JSON column can hold
            now=tx.now,
        )


def webhook_body(payload: dict[str, Any], incident: Incident, *, include_private: bool) -> dict[str, Any]:
    """What the endpoint is told: everything for a public incident (or include_private), else PRIVATE_FIELDS.

    An incident private when the event happened, or private now, counts as private.
    """
    body = dict(payload["body"])
    if (payload.get("private") or incident.is_private) and not include_private:
        return {name: body[name] for name in PRIVATE_FIELDS}
    if body.get("channel") is None:  # the event came before the channel was opened (a declare)
        body["channel"] = incident.channel_id
    return body


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`v0=` and the hex HMAC-SHA256 of `v0:{timestamp}:{body}`: the scheme Slack signs its requests with."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def prepare_webhook(tx: IncidentTx, message: OutboxMessage) -> partial[None]:
    """The signed POST of one queued delivery, stamped with this try's time."""
    hook = tx.svc.config.webhooks.endpoint(message.recipient)
    if hook is None:
        return partial(_unconfigured, message.recipient)
    body = webhook_body(message.payload, tx.incident, include_private=hook.include_private)
    data = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(tx.now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "ircbot-webhooks",
        "X-Ircbot-Request-Timestamp": timestamp,
        "X-Ircbot-Signature": signature(hook.secret, timestamp, data),
        "X-Ircbot-Delivery": str(message.payload["delivery"]),
    }
    return partial(tx.svc.webhooks.post, hook.url, data, headers)


NOT_CONFIGURED = "not_in_webhooks_yaml"


def _unconfigured(url: str) -> None:
    raise GatewayError("webhook", NOT_CONFIGURED)
