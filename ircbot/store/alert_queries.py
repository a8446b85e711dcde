"""Keyword-only store functions of alert intake; each takes the session it works in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from ircbot.domain.kinds import AlertOutcome
from ircbot.store.models import Alert, AlertGroup


def claim_alerts(*, session: Session, now: datetime, lease_until: datetime, limit: int) -> list[int]:
    """Ids of alerts waiting to be processed, oldest first, leased to the caller until `lease_until`.

    Rows another process holds (locked, or leased and not expired) are skipped, so each is taken by one.
    """
    query = (
        select(Alert)
        .where(col(Alert.done).is_(False), or_(col(Alert.lease_until).is_(None), col(Alert.lease_until) <= now))
        .order_by(col(Alert.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = []
    for alert in session.exec(query).all():
        alert.lease_until = lease_until
        claimed.append(alert.id or 0)
    return claimed


def lock_groups(*, session: Session, keys: Sequence[str], now: datetime) -> list[AlertGroup]:
    """The groups named, created if new, locked in key order (so two processes never wait on each other)."""
    keys = sorted(set(keys))
    dialect = session.get_bind().dialect.name
    insert = postgres_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(AlertGroup)
        .values([{"key": key, "first_seen_at": now} for key in keys])
        .on_conflict_do_nothing(index_elements=["key"])
    )
    query = select(AlertGroup).where(col(AlertGroup.key).in_(keys)).order_by(col(AlertGroup.key)).with_for_update()
    return list(session.exec(query).all())


def seen_before(*, session: Session, alert: Alert, since: datetime) -> bool:
    """Whether another alert with this source and fingerprint was received since `since` and processed."""
    query = select(Alert.id).where(
        Alert.source == alert.source,
        Alert.fingerprint == alert.fingerprint,
        col(Alert.received_at) >= since,
        col(Alert.outcome).is_not(None),
        Alert.id != alert.id,
    )
    return session.exec(query.limit(1)).first() is not None


def waiting_in_triage(*, session: Session, alert: Alert) -> Sequence[Alert]:
    """The alerts of this source and fingerprint whose triage card still waits for Declare or Dismiss."""
    query = select(Alert).where(
        Alert.source == alert.source,
        Alert.fingerprint == alert.fingerprint,
        Alert.outcome == "triage",
        col(Alert.triage_ts).is_not(None),
        Alert.id != alert.id,
    )
    return session.exec(query.order_by(col(Alert.id))).all()


def earliest_start(*, session: Session, alert: Alert, since: datetime) -> datetime:
    """The earliest start among this alert and the others of its group received since `since` that no incident
    took yet (an Alertmanager notification brings several at once)."""
    query = select(func.min(func.coalesce(col(Alert.started_at), col(Alert.received_at)))).where(
        Alert.source == alert.source,
        Alert.group_key == alert.group_key,
        col(Alert.incident_id).is_(None),
        col(Alert.received_at) >= since,
    )
    found = session.exec(query).one()
    own = alert.started_at or alert.received_at
    if found is None:
        return own
    if isinstance(found, str):  # SQLite hands back min() of timestamps as text
        found = datetime.fromisoformat(found).replace(tzinfo=own.tzinfo)
    elif found.tzinfo is None:
        found = found.replace(tzinfo=own.tzinfo)
    return min(found, own)


def alerts_of_incident(*, session: Session, incident_id: int) -> Sequence[Alert]:
    """The alerts that fed an incident, in the order they arrived."""
    return session.exec(select(Alert).where(Alert.incident_id == incident_id).order_by(col(Alert.id))).all()


def alert_outcomes(*, session: Session, since: datetime, until: datetime) -> Sequence[tuple[str, str | None, int]]:
    """(source, outcome, how many) of the alerts received in [since, until]; outcome None: not processed yet."""
    query = (
        select(Alert.source, Alert.outcome, func.count())
        .where(col(Alert.received_at) >= since, col(Alert.received_at) <= until)
        .group_by(col(Alert.source), col(Alert.outcome))
    )
    return [(source, outcome, int(n)) for source, outcome, n in session.exec(query).all()]


def return_to_triage(*, session: Session, incident_id: int, triage: bool) -> None:
    """The alerts an incident was declared from, when that incident could not be opened: to the triage channel
    (a card is posted, so a human decides), or stored as unrouted when there is no triage channel."""
    session.execute(
        update(Alert)
        .where(col(Alert.incident_id) == incident_id)
        .values(
            outcome=AlertOutcome.TRIAGE if triage else AlertOutcome.UNROUTED,
            done=not triage,
            lease_until=None,
            triage_ts=None,
            incident_id=None,
        )
    )
