"""Remembering which deliveries were handled, so a redelivered request or event is handled once."""

from __future__ import annotations

from ircbot.domain.services import Services
from ircbot.store import queries


def remember_delivery(svc: Services, key: str) -> bool:
    """Record a delivery key; False when it was recorded before (a redelivery)."""
    with svc.db.transaction() as session:
        return queries.remember_request(session=session, key=key, at=svc.clock())
