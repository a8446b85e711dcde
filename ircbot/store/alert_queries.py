"""Keyword-only store functions of alert intake; each takes the session it works in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, update
from sqlmodel import Session, col, select

from ircbot.domain.kinds import AlertOutcome, OutboxKind, OutboxStatus
from ircbot.store import reads
from ircbot.store.inserts import insert_or_skip
from ircbot.store.models import Alert, AlertGroup, Incident, OutboxMessage


def insert_alerts(*, session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Store alerts (one row each, every column given) in one statement; their ids, in the order of `rows`."""
    table = Alert.__table__  # type: ignore[attr-defined]  # a Core insert: no objects to track on the hot path
    inserted = session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return [int(i) for i in inserted.scalars().all()]


def claim_alerts(*, session: Session, now: datetime, lease_until: datetime, limit: int) -> list[Alert]:
    """The alerts waiting to be processed, oldest first, leased to the caller until `lease_until`.

    Rows another process holds (locked, or leased and not expired) are skipped, so each is taken by one.
    """
    claimed = list(session.exec(reads.WAITING_ALERTS, params={"now": now, "limit": limit}).all())
    for alert in claimed:
        alert.lease_until = lease_until
    return claimed


def last_received(*, session: Session) -> datetime | None:
    """When the newest alert was received (the one with the highest id: no scan of the table)."""
    return session.exec(reads.LAST_RECEIVED).first()


def lock_alerts(*, session: Session, ids: Sequence[int]) -> list[Alert]:
    """The alerts named that are not finished yet, locked, oldest first."""
    query = select(Alert).where(col(Alert.id).in_(ids), col(Alert.done).is_(False)).order_by(col(Alert.id))
    return list(session.exec(query.with_for_update()).all())


def lock_groups(*, session: Session, keys: Sequence[str], now: datetime) -> list[AlertGroup]:
    """The groups named, created if new, locked in key order (so two processes never wait on each other)."""
    keys = sorted(set(keys))
    if not keys:
        return []
    insert_or_skip(session, AlertGroup, [{"key": key, "first_seen_at": now} for key in keys], key=("key",))
    query = select(AlertGroup).where(col(AlertGroup.key).in_(keys)).order_by(col(AlertGroup.key)).with_for_update()
    return list(session.exec(query).all())


def lock_incidents(*, session: Session, ids: Sequence[int]) -> list[Incident]:
    """The incidents named, locked in id order, as every writer of several incidents takes them."""
    if not ids:
        return []
    query = select(Incident).where(col(Incident.id).in_(sorted(set(ids)))).order_by(col(Incident.id))
    return list(session.exec(query.with_for_update()).all())


def seen_fingerprints(*, session: Session, alerts: Sequence[Alert], since: datetime) -> set[tuple[str, str]]:
    """(source, fingerprint) of the given alerts' fingerprints that an alert received since `since` and processed
    already carries."""
    fingerprints = sorted({alert.fingerprint for alert in alerts})
    if not fingerprints:
        return set()
    query = (
        select(Alert.source, Alert.fingerprint)
        .where(
            col(Alert.fingerprint).in_(fingerprints), col(Alert.received_at) >= since, col(Alert.outcome).is_not(None)
        )
        .distinct()
    )
    return {(source, fingerprint) for source, fingerprint in session.exec(query).all()}


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


def unsent_alert_line(*, session: Session, incident_id: int, resolved: bool) -> OutboxMessage | None:
    """The incident's channel line of attached alerts (of alerts cleared at their source, with `resolved`) that is
    queued and was never tried, so more alerts may join it; the caller holds the incident's lock."""
    query = select(OutboxMessage).where(
        OutboxMessage.incident_id == incident_id,
        OutboxMessage.kind == OutboxKind.ALERT_LINE,
        OutboxMessage.status == OutboxStatus.PENDING,
        col(OutboxMessage.first_tried_at).is_(None),
    )
    for message in session.exec(query.order_by(col(OutboxMessage.id).desc())).all():
        if "count" in message.payload and bool(message.payload.get("resolved")) == resolved:
            return message
    return None


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
