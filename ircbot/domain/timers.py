"""What the timer engine asks of the domain: when it is next needed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ircbot.domain.services import Services
from ircbot.store import queries


def upcoming(svc: Services) -> Sequence[datetime]:
    """Due times of pending escalation steps and reminders still in the future (wake-ups after a restart)."""
    with svc.db.transaction() as session:
        return queries.future_due_times(session=session, now=svc.clock())
