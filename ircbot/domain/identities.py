"""Who an on-call e-mail address is in Slack, remembered, so a page still finds them while Slack is down."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from ircbot.domain.services import Services
from ircbot.errors import GatewayError
from ircbot.store.models import Identity

FRESH = timedelta(hours=12)  # an answer younger than this is used without asking Slack again


def user_for_email(svc: Services, email: str) -> str | None:
    """The Slack user with this e-mail: asked of Slack and remembered; while Slack cannot be asked, the last
    answer however old. Raises GatewayError only when Slack cannot be asked and nothing is remembered."""
    key = email.strip().lower()
    now = svc.clock()
    with svc.db.transaction() as session:
        known = session.get(Identity, key)
        remembered = (known.user_id, known.resolved_at) if known else None
    if remembered and now - remembered[1] < FRESH:
        return remembered[0]
    try:
        user = svc.chat.user_by_email(email)
    except GatewayError:
        if remembered:
            return remembered[0]  # a day-old answer pages the right person; no answer pages nobody
        raise
    try:
        with svc.db.transaction() as session:
            row = session.get(Identity, key)
            if user is None:
                if row is not None:
                    session.delete(row)  # they left the workspace
            elif row is None:
                session.add(Identity(email=key, user_id=user, resolved_at=now))
            else:
                row.user_id, row.resolved_at = user, now
    except IntegrityError:
        pass  # another replica remembered the same answer a moment ago
    return user


def remember_oncall(svc: Services) -> int:
    """Look up every on-call e-mail of roles.yaml now (at start), so an outage later finds them remembered."""
    found = 0
    for role in svc.config.roles.roles.values():
        for entry in role.oncall:
            if "@" in entry:
                try:
                    found += user_for_email(svc, entry) is not None
                except GatewayError as exc:
                    svc.log.warning("could not look up on-call %s in Slack yet: %s", entry, exc.error)
    return found
