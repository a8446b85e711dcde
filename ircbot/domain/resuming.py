"""Picking up declares a crash or a silent Slack cut short, and telling each declarer how they ended.

A declare, typed or from the form, is kept as a small `pending_declare` row as it arrives, before Slack is
acknowledged; recording the incident removes it in the same commit. What a process left behind is
found here once its lease has run out: a request never recorded is declared now, an incident whose
channel or card is missing is finished. Each is taken under its row lock, so one process does it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from ircbot.domain.declare import DECLARE_LEASE, Declaration, channel_refused, check, declare, finish_declare
from ircbot.domain.kinds import OutboxKind, TimelineKind
from ircbot.domain.messages import DeclareOutcome
from ircbot.domain.services import Services
from ircbot.domain.unit import incident_tx
from ircbot.errors import DomainError, GatewayError
from ircbot.store import alert_queries, queries
from ircbot.store.models import Incident, PendingDeclare


def remember_declaration(svc: Services, request: Declaration) -> None:
    """Keep a declare before Slack is acknowledged: one small insert, no lock shared with other declares.

    A declaration `declare` would refuse is not kept: it answers that itself, after the acknowledgement.
    """
    if request.request_key is None:
        return
    try:
        check(svc, request)
        with svc.db.transaction() as session:
            session.add(
                PendingDeclare(request_key=request.request_key, declaration=_stored(request), received_at=svc.clock())
            )
    except (DomainError, IntegrityError):  # refused input, or Slack's retry of the same request
        return


def resume_declares(svc: Services, *, limit: int = 20) -> int:
    """Finish the declares that stopped short; returns how many were finished (the declarer is told by DM).

    What is left is read in one transaction (on most rounds, nothing); each is then taken under its own lock.
    """
    now = svc.clock()
    with svc.db.transaction() as session:
        keys = queries.stalled_requests(session=session, received_before=now - DECLARE_LEASE, now=now, limit=limit)
        stalled = queries.stalled_declares(session=session, now=now, limit=limit)
        unanswered = queries.unanswered_declares(session=session, ready_before=now - DECLARE_LEASE, limit=limit)
    return _declare_pending(svc, keys) + _finish_stalled(svc, stalled) + _tell_unanswered(svc, unanswered)


def declarer_answered(svc: Services, incident_id: int) -> None:
    """The declarer has been told the outcome (the answer to the command or form was delivered)."""
    with svc.db.transaction() as session:
        incident = session.get(Incident, incident_id)
        if incident is not None and incident.answered_at is None:
            incident.answered_at = svc.clock()


def _tell_unanswered(svc: Services, incidents: Sequence[int]) -> int:
    """Declares that finished but whose answer never reached the declarer (the process died first): a DM."""
    return sum(_tell_finished(svc, incident_id) for incident_id in incidents)


def _declare_pending(svc: Services, keys: Sequence[str]) -> int:
    finished = 0
    for key in keys:
        request = _take_request(svc, key)
        if request is None:
            continue
        try:
            result = declare(svc, request)
        except DomainError as exc:
            if _recorded(svc, key):
                continue  # recorded, and Slack did not answer: finished below once its lease runs out
            with svc.db.transaction() as session:
                pending = session.get(PendingDeclare, key)
                if pending is not None:
                    session.delete(pending)
            _tell_given_up(svc, request.declared_by, request.title, str(exc))
            continue
        if result.ready and not result.duplicate:
            _tell_finished(svc, result.incident.id)
            finished += 1
    return finished


def _finish_stalled(svc: Services, stalled: Sequence[int]) -> int:
    finished = 0
    for incident_id in stalled:
        incident = _take_incident(svc, incident_id)
        if incident is None:
            continue
        try:
            result = finish_declare(svc, incident)
        except GatewayError as exc:
            if exc.uncertain:
                svc.log.warning("%s: its declare still waits for Slack: %s", incident.key, exc.error)
            else:
                _give_up(svc, incident, exc.error)
            continue
        if result.ready:  # else the card could not be posted yet: tried again when the lease runs out (a while)
            _tell_finished(svc, incident_id)
            finished += 1
    return finished


def _take_request(svc: Services, key: str) -> Declaration | None:
    with svc.db.transaction() as session:
        pending = session.exec(
            select(PendingDeclare).where(PendingDeclare.request_key == key).with_for_update()
        ).first()
        now = svc.clock()
        if pending is None or (pending.lease_until is not None and pending.lease_until > now):
            return None
        pending.lease_until = now + DECLARE_LEASE
        return _declaration(pending.declaration)


def _take_incident(svc: Services, incident_id: int) -> Incident | None:
    with svc.db.transaction() as session:
        incident = session.exec(select(Incident).where(Incident.id == incident_id).with_for_update()).first()
        now = svc.clock()
        if incident is None or incident.ready_at is not None:
            return None
        if incident.declare_lease_until is not None and incident.declare_lease_until > now:
            return None
        incident.declare_lease_until = now + DECLARE_LEASE
        return incident


def _recorded(svc: Services, key: str) -> bool:
    with svc.db.transaction() as session:
        return session.exec(select(Incident.id).where(Incident.request_key == key)).first() is not None


def _tell_finished(svc: Services, incident_id: int) -> bool:
    """DM the declarer that the declare finished, unless they were told already; False then."""
    with incident_tx(svc, incident_id) as tx:
        if tx.incident.answered_at is not None:
            return False  # already told (the answer itself, or another process)
        tx.incident.answered_at = tx.now  # the DM below is durable (the outbox)
        tx.record(
            TimelineKind.WARNING, "The declare was held up (a restart, or Slack not answering); it was finished later"
        )
        queries.queue_outbox(
            session=tx.session,
            incident_id=tx.id,
            kind=OutboxKind.DECLARED,
            recipient=tx.incident.declared_by,
            payload={},
            now=tx.now,
        )
        key = tx.incident.key
    svc.log.warning("%s: finished a declare that was interrupted", key)
    return True


def _give_up(svc: Services, incident: Incident, error: str) -> None:
    assert incident.id is not None
    with svc.db.transaction() as session:
        triage = bool(svc.config.alerts.triage_channel)
        alert_queries.return_to_triage(session=session, incident_id=incident.id, triage=triage)
        queries.delete_incident(session=session, incident_id=incident.id)
    svc.log.warning("%s: gave up a declare Slack refused (%s); nothing was declared", incident.key, error)
    _tell_given_up(svc, incident.declared_by, incident.title, channel_refused(error))


def _tell_given_up(svc: Services, declarer: str, title: str, problem: str) -> None:
    try:
        svc.chat.post(declarer, DeclareOutcome(title, None, problem))
    except GatewayError as exc:  # nothing was declared, so there is no incident to keep an outbox row under
        svc.log.error("could not tell %s that the declare of %r was given up: %s", declarer, title, exc.error)


_TIMES = ("started_at", "detected_at")


def _stored(request: Declaration) -> dict[str, Any]:
    fields = asdict(request)
    for name in _TIMES:
        fields[name] = fields[name].isoformat() if fields[name] else None
    return fields


def _declaration(stored: dict[str, Any]) -> Declaration:
    times = {name: datetime.fromisoformat(stored[name]) if stored.get(name) else None for name in _TIMES}
    return Declaration(**{**stored, **times})
