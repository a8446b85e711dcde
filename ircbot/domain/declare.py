"""Declaring an incident: record it, open its channel, bring the declarer in, post the card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ircbot.domain import escalation, reminders
from ircbot.domain.cards import pinned_card
from ircbot.domain.effects import attempt
from ircbot.domain.kinds import TimelineKind
from ircbot.domain.messages import Topic
from ircbot.domain.naming import channel_name
from ircbot.domain.roles import give_role
from ircbot.domain.services import Services
from ircbot.domain.snapshot import incident_view
from ircbot.domain.stages import SEVERITIES, STAGES
from ircbot.domain.unit import CARD_COALESCE, IncidentTx, incident_tx
from ircbot.domain.views import IncidentView
from ircbot.errors import Conflict, GatewayError, InvalidInput, NotFound
from ircbot.store import queries
from ircbot.store.models import ChecklistItem, Incident, PendingDeclare, StageEntry

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
    detected_at: datetime | None = None  # when the first alert saw it; None: at the declare


@dataclass(frozen=True)
class Declared:
    """The result of a declare: the incident and anything that went wrong after it was usable."""

    incident: IncidentView
    warnings: tuple[str, ...] = ()
    duplicate: bool = False
    ready: bool = True  # False while the card is not up yet: the declare is resumed later


def declare(svc: Services, request: Declaration) -> Declared:
    """Record the incident, then open and furnish its channel, each step recorded as it is done.

    Slack refusing the channel undoes the record. Slack not answering (the channel may exist) keeps
    it: the declare is resumed once its lease runs out (`resume_declares`), finding the channel by
    name, and the declarer is told by DM how it ended.
    """
    check(svc, request)
    incident, new = _record(svc, request)
    if not new and incident.ready_at is not None:
        return Declared(incident=_view(svc, incident)[0], duplicate=True)
    if not new:
        raise Conflict(f"{incident.key} is being opened already; you will be told by DM when it is ready.")
    assert incident.id is not None
    try:
        return finish_declare(svc, incident)
    except GatewayError as exc:
        if exc.uncertain:
            raise Conflict(
                f"Slack did not answer while {incident.key}'s channel was being opened "
                f"(`{exc.error.partition(':')[0]}`). "
                f"{incident.key} is recorded: I will finish opening it as soon as Slack answers and tell you by DM."
            ) from exc
        with svc.db.transaction() as session:
            queries.delete_incident(session=session, incident_id=incident.id)
        raise Conflict(channel_refused(exc.error)) from exc


def channel_refused(error: str) -> str:
    """What the declarer is told when Slack refused the incident channel: nothing was declared."""
    return (
        f"Could not create the incident channel (Slack said `{error}`), so nothing was declared. "
        "Try again; if it keeps failing, check the app's channels:manage and groups:write scopes."
    )


def check(svc: Services, request: Declaration) -> None:
    """Refuse a declaration naming a severity or playbook that does not exist, or without a title."""
    if request.severity not in svc.config.escalation.severities:
        raise InvalidInput(f"There is no severity `{request.severity}`. Severities: {', '.join(SEVERITIES)}.")
    if not request.title.strip():
        raise InvalidInput("An incident needs a title.")
    if request.playbook not in svc.config.playbooks:
        raise NotFound(
            f"There is no playbook `{request.playbook}`. Playbooks: {', '.join(sorted(svc.config.playbooks))}."
        )


def finish_declare(svc: Services, incident: Incident) -> Declared:
    """The declare's remaining steps: open the channel (or find the one opened before), post the card, furnish.

    `incident` is the row as recorded (or as found when resuming). Each step is recorded when done,
    so a declare resumed after a crash does only what is left. Raises GatewayError when the channel
    cannot be opened; later failures become warnings.
    """
    assert incident.id is not None
    incident_id = incident.id
    if incident.channel_id is None:
        channel_id, name = _open_channel(svc, incident.number, incident.title, incident.is_private)
        with incident_tx(svc, incident_id, defer_wakeups=True) as tx:
            if tx.incident.channel_id is None:  # else a resume that took over first has opened it
                tx.incident.channel_id, tx.incident.channel_name = channel_id, name
                tx.record(TimelineKind.CHANNEL_CREATED, f"Channel #{name} opened")
                escalation.start(tx)
                reminders.start_reminders(tx)
            tx.incident.declare_lease_until = tx.now + DECLARE_LEASE  # the card comes next, without a pause
            view, version = tx.view(), tx.incident.card_version
        warnings, ready = _furnish_channel(svc, view, version, card_posted=None, resumed=False)
        # Wake the runner for tier 0 only now, so its Slack calls do not queue ahead of the declarer's channel.
        tx.issue_wakeups()
    else:
        view, version = _view(svc, incident)
        warnings, ready = _furnish_channel(svc, view, version, card_posted=incident.card_ts, resumed=True)
    return Declared(incident=view, warnings=tuple(warnings), ready=ready)


DECLARE_LEASE = timedelta(seconds=30)
"""How long a declare's next step may take before another process (or this one, restarted) resumes it."""
CARD_PATIENCE = timedelta(minutes=15)
"""How long a resumed declare keeps trying to post its welcome card before it is ready without one."""


def _view(svc: Services, incident: Incident) -> tuple[IncidentView, int]:
    """The incident as it reads now, and the card version that is."""
    with svc.db.transaction() as session:
        row = session.get(Incident, incident.id)
        assert row is not None
        return incident_view(session=session, incident=row, config=svc.config, now=svc.clock()), row.card_version


def _record(svc: Services, request: Declaration) -> tuple[Incident, bool]:
    """(the incident, True) with its checklist and first events, the request kept since it arrived removed in the
    same commit; or (the incident this request recorded before, False): Slack delivered it twice, or it is resumed."""
    try:
        with svc.db.transaction() as session:
            if request.request_key is not None:
                query = select(Incident).where(Incident.request_key == request.request_key)
                if (found := session.exec(query).first()) is not None:
                    return found, False
                pending = session.get(PendingDeclare, request.request_key)
                if pending is not None:
                    session.delete(pending)
            return _insert(svc, session, request), True
    except IntegrityError as exc:  # numbers come from a locked counter; only the same request can collide
        raise Conflict("This incident is being declared already (Slack delivered the request twice).") from exc


def record_in(svc: Services, session: Session, request: Declaration) -> Incident:
    """Record the incident in the caller's transaction (an alert's, under its group lock); `finish_declare` after
    the commit opens its channel, or `resume_declares` does once the declare's lease has run out."""
    check(svc, request)
    return _insert(svc, session, request)


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
        detected_at=min(request.detected_at, now) if request.detected_at else now,
        declared_at=now,
        stage=STAGES[0],
        declare_lease_until=now + DECLARE_LEASE,
    )
    session.add(incident)
    session.flush()
    assert incident.id is not None
    playbook = svc.config.playbooks[request.playbook]
    checklist = [
        {"incident_id": incident.id, "stage": stage, "position": position, "text": item.text, "required": item.required}
        for stage, items in playbook.stages.items()
        for position, item in enumerate(items, start=1)
    ]
    session.execute(insert(ChecklistItem), checklist)  # one statement for the ~30 rows, no objects to track
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


def _open_channel(svc: Services, number: int, title: str, private: bool) -> tuple[str, str]:
    for tries in range(_NAME_ATTEMPTS):
        name = channel_name(number, title, tries)
        try:
            return svc.chat.create_channel(name, private=private), name
        except GatewayError as exc:
            if exc.error != "name_taken":
                raise
        # Taken: perhaps by this declare's own earlier try, whose answer was lost before it was recorded.
        try:
            found = svc.chat.find_channel(name)
        except GatewayError as exc:  # the channel may be ours: not a refusal, whatever Slack said
            raise GatewayError(exc.method, exc.error, uncertain=True) from exc
        if found is not None and not _belongs_to_an_incident(svc, found):
            return found, name
    raise GatewayError("conversations.create", "name_taken")


def _belongs_to_an_incident(svc: Services, channel_id: str) -> bool:
    with svc.db.transaction() as session:
        return session.exec(select(Incident.id).where(Incident.channel_id == channel_id)).first() is not None


def _furnish_channel(
    svc: Services, view: IncidentView, version: int, *, card_posted: str | None, resumed: bool
) -> tuple[list[str], bool]:
    """Card, invite, topic, pin; the declare is ready once the card is up. Failures become warnings.

    Returns the warnings and whether the declare is ready.

    The card goes first and is tagged, so a resumed declare finds it instead of posting a second one.
    Invitation, topic and pin may be repeated harmlessly.
    """
    assert view.channel_id is not None
    channel, key = view.channel_id, f"card-{view.id}"
    posted: list[str] = [card_posted] if card_posted else []
    card = pinned_card(view)

    def post_card() -> None:
        found = svc.chat.find_posted(channel, key, since=view.declared_at) if resumed else None
        posted.append(found or svc.chat.post(channel, card, key=key))

    steps = [] if posted else [("post the welcome message", post_card)]
    steps += [
        ("invite you", lambda: svc.chat.invite(channel, [view.declared_by])),
        ("set the topic", lambda: svc.chat.set_topic(channel, Topic(view))),
    ]
    warnings = attempt(*steps)
    if posted:
        warnings += attempt(("pin the welcome message", lambda: svc.chat.pin(channel, posted[0])))
    with incident_tx(svc, view.id) as tx:
        gave_up = not posted and resumed and tx.now - view.declared_at >= CARD_PATIENCE
        if gave_up:
            warnings.append("Gave up posting the welcome message; the incident works without it (see `status`)")
        if posted or gave_up:
            tx.incident.card_ts, tx.incident.ready_at = (posted[0] if posted else None), tx.now
            tx.incident.declare_lease_until = None
        if posted and not card_posted:  # the card shows `version`; what changed since is redrawn shortly
            tx.incident.card_shown = version
            if tx.incident.card_version > version:
                tx.incident.card_due_at = tx.now + CARD_COALESCE
                tx.wake(tx.incident.card_due_at)
        for warning in warnings:
            svc.log.warning("%s: %s", view.key, warning)
            if not resumed or posted or gave_up:  # a retry that changed nothing is not news for the timeline
                tx.record(TimelineKind.WARNING, warning)
    return warnings, bool(posted) or gave_up
