"""Declaring an incident: record it, open its channel, bring the declarer in, post the card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ircbot.domain import escalation, reminders
from ircbot.domain.effects import attempt
from ircbot.domain.kinds import TimelineKind
from ircbot.domain.messages import IncidentCard, Topic
from ircbot.domain.naming import channel_name
from ircbot.domain.roles import give_role
from ircbot.domain.services import Services
from ircbot.domain.snapshot import incident_view
from ircbot.domain.stages import SEVERITIES, STAGES
from ircbot.domain.unit import IncidentTx, incident_tx
from ircbot.domain.views import IncidentView
from ircbot.errors import Conflict, GatewayError, InvalidInput, NotFound
from ircbot.store import queries
from ircbot.store.models import ChecklistItem, Incident, StageEntry

_NAME_ATTEMPTS = 20


@dataclass(frozen=True)
class Declaration:
    """What a responder asked for."""

    title: str
    severity: str
    declared_by: str
    is_private: bool = True
    playbook: str = "default"
    is_drill: bool = False
    started_at: datetime | None = None
    request_key: str | None = None


@dataclass(frozen=True)
class Declared:
    """The result of a declare: the incident and anything that went wrong after it was usable."""

    incident: IncidentView
    warnings: tuple[str, ...] = ()
    duplicate: bool = False


def declare(svc: Services, request: Declaration) -> Declared:
    """Record the incident, then open its channel; a channel failure undoes the record."""
    if request.severity not in svc.config.escalation.severities:
        raise InvalidInput(f"There is no severity `{request.severity}`. Severities: {', '.join(SEVERITIES)}.")
    if not request.title.strip():
        raise InvalidInput("An incident needs a title.")
    if request.playbook not in svc.config.playbooks:
        raise NotFound(
            f"There is no playbook `{request.playbook}`. Playbooks: {', '.join(sorted(svc.config.playbooks))}."
        )
    existing = _by_request_key(svc, request.request_key)
    if existing is not None:
        return Declared(incident=existing, duplicate=True)
    incident = _record(svc, request)
    assert incident.id is not None
    try:
        channel_id, name = _open_channel(svc, incident)
    except GatewayError as exc:
        with svc.db.transaction() as session:
            queries.delete_incident(session=session, incident_id=incident.id)
        raise Conflict(
            f"Could not create the incident channel (Slack said `{exc.error}`), so nothing was declared. "
            "Try again; if it keeps failing, check the app's channels:manage and groups:write scopes."
        ) from exc
    with incident_tx(svc, incident.id, defer_wakeups=True) as tx:
        tx.incident.channel_id, tx.incident.channel_name = channel_id, name
        tx.record(TimelineKind.CHANNEL_CREATED, f"Channel #{name} opened")
        escalation.start(tx)
        reminders.start_reminders(tx)
        view = tx.view()
    warnings = tuple(_furnish_channel(svc, view))
    # Wake the runner for tier 0 only now, so its Slack calls do not queue ahead of the declarer's channel.
    tx.issue_wakeups()
    return Declared(incident=view, warnings=warnings)


def _by_request_key(svc: Services, key: str | None) -> IncidentView | None:
    if key is None:
        return None
    with svc.db.transaction() as session:
        row = session.exec(select(Incident).where(Incident.request_key == key)).first()
        if row is None or row.channel_id is None:
            return None
        return incident_view(session=session, incident=row, config=svc.config, now=svc.clock())


def _record(svc: Services, request: Declaration) -> Incident:
    try:
        with svc.db.transaction() as session:
            return _insert(svc, session, request)
    except IntegrityError as exc:  # numbers come from a locked counter; only the same request can collide
        raise Conflict("This incident is being declared already (Slack delivered the request twice).") from exc


def _insert(svc: Services, session: Session, request: Declaration) -> Incident:
    now = svc.clock()
    incident = Incident(
        number=queries.allocate_incident_number(session=session),
        title=request.title,
        severity=request.severity,
        playbook=request.playbook,
        is_private=request.is_private,
        is_drill=request.is_drill,
        declared_by=request.declared_by,
        request_key=request.request_key,
        started_at=request.started_at,
        detected_at=now,
        declared_at=now,
        stage=STAGES[0],
    )
    session.add(incident)
    session.flush()
    assert incident.id is not None
    playbook = svc.config.playbooks[request.playbook]
    for stage, items in playbook.stages.items():
        for position, item in enumerate(items, start=1):
            session.add(
                ChecklistItem(
                    incident_id=incident.id,
                    stage=stage,
                    position=position,
                    text=item.text,
                    required=item.required,
                )
            )
    session.add(StageEntry(incident_id=incident.id, stage=STAGES[0], entered_by=request.declared_by, entered_at=now))
    queries.add_participant(
        session=session, incident_id=incident.id, user_id=request.declared_by, reason="declared", at=now
    )
    # The incident row is new and not yet visible to anyone, so there is nothing to lock; nothing here
    # wakes the timers (escalation starts once the channel exists, in declare()).
    tx, by = IncidentTx(svc=svc, session=session, incident=incident, now=now), request.declared_by
    tx.record(
        TimelineKind.DECLARED,
        actor=by,
        data={
            "key": incident.key,
            "title": request.title,
            "severity": request.severity,
            "playbook": request.playbook,
            "playbook_title": playbook.title,
            "private": request.is_private,
            "drill": request.is_drill,
        },
    )
    if svc.config.roles.declarer_role is not None:
        give_role(tx, role=svc.config.roles.declarer_role, user_id=by, actor=by)
    tx.record(TimelineKind.STAGE_ENTERED, actor=by, data={"stage": STAGES[0]})
    return incident


def _open_channel(svc: Services, incident: Incident) -> tuple[str, str]:
    for tries in range(_NAME_ATTEMPTS):
        name = channel_name(incident.number, incident.title, tries)
        try:
            return svc.chat.create_channel(name, private=incident.is_private), name
        except GatewayError as exc:
            if exc.error != "name_taken":
                raise
    raise GatewayError("conversations.create", "name_taken")


def _furnish_channel(svc: Services, view: IncidentView) -> list[str]:
    """Invite, topic, welcome card, pin. The incident is usable already, so failures become warnings."""
    assert view.channel_id is not None
    channel = view.channel_id
    posted: list[str] = []
    card = IncidentCard(incident=view, heading=f"{view.label}: {view.title}")
    warnings = attempt(
        ("invite you", lambda: svc.chat.invite(channel, [view.declared_by])),
        ("set the topic", lambda: svc.chat.set_topic(channel, Topic(view))),
        ("post the welcome message", lambda: posted.append(svc.chat.post(channel, card))),
    )
    if posted:
        warnings += attempt(("pin the welcome message", lambda: svc.chat.pin(channel, posted[0])))
    if warnings:
        with incident_tx(svc, view.id) as tx:
            for warning in warnings:
                tx.record(TimelineKind.WARNING, warning)
                svc.log.warning("%s: %s", view.key, warning)
    return warnings


def discard_unfinished(svc: Services, *, older_than: timedelta = timedelta(minutes=2)) -> list[str]:
    """Remove incidents whose declare died before their channel opened; returns their keys.

    Such a record was never shown to anyone (lists skip incidents without a channel), so the
    declarer saw an error or nothing and declares again; keeping it would leave a half-made incident.
    """
    with svc.db.transaction() as session:
        stale = queries.unfinished_declares(session=session, before=svc.clock() - older_than)
        keys = [i.key for i in stale]
        for incident in stale:
            assert incident.id is not None
            queries.delete_incident(session=session, incident_id=incident.id)
    for key in keys:
        svc.log.warning("discarded %s: its declare stopped before the channel was opened", key)
    return keys
