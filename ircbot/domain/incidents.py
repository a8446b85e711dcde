"""Everyday incident operations: look up, list, note, resolve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ircbot.domain import escalation, reminders
from ircbot.domain.date_token import slack_date
from ircbot.domain.effects import attempt
from ircbot.domain.indicators import found_in
from ircbot.domain.kinds import IncidentStatus, TimelineKind
from ircbot.domain.messages import ResolvedNotice, Topic
from ircbot.domain.postmortem import publish_postmortem
from ircbot.domain.services import Services
from ircbot.domain.snapshot import incident_view
from ircbot.domain.unit import incident_tx
from ircbot.domain.views import IncidentView
from ircbot.errors import InvalidInput, IrcbotError
from ircbot.store import queries

MAX_NOTE = 3000


def view(svc: Services, incident_id: int) -> IncidentView:
    """A fresh snapshot of the incident."""
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id)
        assert incident is not None
        return incident_view(session=session, incident=incident, config=svc.config, now=svc.clock())


def visible_open(svc: Services, user_id: str) -> tuple[IncidentView, ...]:
    """Open incidents the user may see, most severe first, then oldest."""
    with svc.db.transaction() as session:
        rows = queries.open_incidents_visible_to(session=session, user_id=user_id)
        now = svc.clock()
        return tuple(incident_view(session=session, incident=r, config=svc.config, now=now) for r in rows)


def add_note(svc: Services, *, incident_id: int, text: str, actor: str) -> str:
    """Add a note to the timeline; returns the incident's label (`INC-7`, marked when a drill)."""
    text = text.strip()
    if not text:
        raise InvalidInput("A note needs text.")
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"A note can be at most {MAX_NOTE} characters (this one has {len(text)}).")
    with incident_tx(svc, incident_id) as tx:
        tx.record(TimelineKind.NOTE, text, actor=actor)
        found_in(tx, text, how="note", by=actor)
        return tx.incident.label


PRIORITIES = ("p1", "p2", "p3")


def add_action_item(
    svc: Services,
    *,
    incident_id: int,
    text: str,
    owner: str | None,
    actor: str,
    due: date | None = None,
    priority: str | None = None,
) -> None:
    """Record an action item for the postmortem, with an owner, a due date and a priority when given."""
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"An action item can be at most {MAX_NOTE} characters.")
    facts = {"owner": owner, "due": due.isoformat() if due else None, "priority": priority}
    with incident_tx(svc, incident_id) as tx:
        tx.record(TimelineKind.ACTION_ITEM, text, actor=actor, data=facts)


@dataclass(frozen=True)
class Resolved:
    """The resolved incident, its postmortem and anything that failed on the way."""

    incident: IncidentView
    postmortem: str
    warnings: tuple[str, ...]


def mark_contained(svc: Services, *, incident_id: int, at: datetime, actor: str) -> datetime | None:
    """Containment is a fact with a time: set (or correct) when it was reached; returns the time it replaced."""
    with incident_tx(svc, incident_id) as tx:
        incident = tx.incident
        if at < incident.detected_at:
            raise InvalidInput(
                f"{incident.key} was detected {slack_date(incident.detected_at)}; containment cannot come before "
                "detection (MTTC counts from detection)."
            )
        before, incident.contained_at = incident.contained_at, at
        text = f"Contained at {at:%Y-%m-%d %H:%M} UTC" + (
            f" (corrected from {before:%Y-%m-%d %H:%M} UTC)" if before else ""
        )
        tx.record(TimelineKind.CONTAINED, text, actor=actor)
        return before


def mark_started(svc: Services, *, incident_id: int, at: datetime, actor: str) -> datetime | None:
    """When impact began, learnt after the declare (an incident an alert opened never knows it): set or correct it;
    returns the time it replaced. MTTD counts from it to detection, so it cannot come after detection."""
    with incident_tx(svc, incident_id) as tx:
        incident = tx.incident
        if at > incident.detected_at:
            raise InvalidInput(
                f"{incident.key} was detected {slack_date(incident.detected_at)}; impact must have begun before it "
                "was detected (MTTD counts from impact to detection). Record downtime after that with `impact`."
            )
        before, incident.started_at = incident.started_at, at
        text = f"Impact began at {at:%Y-%m-%d %H:%M} UTC" + (
            f" (corrected from {before:%Y-%m-%d %H:%M} UTC)" if before else ""
        )
        tx.record(TimelineKind.IMPACT_STARTED, text, actor=actor)
        return before


def resolve(svc: Services, *, incident_id: int, summary: str, false_positive: bool, actor: str) -> Resolved:
    """Stamp resolution, close the stage, post a summary and publish the first postmortem."""
    with incident_tx(
        svc, incident_id, closed="{key} is already resolved. Recompile with `/incident postmortem`."
    ) as tx:
        incident = tx.incident
        incident.status, incident.resolved_at = IncidentStatus.RESOLVED, tx.now
        escalation.cancel_pending(tx.session, incident)
        reminders.cancel_reminders(tx.session, tx.id)
        incident.summary = summary.strip() or None
        incident.false_positive = false_positive
        for entry in queries.stage_entries(session=tx.session, incident_id=tx.id):
            if entry.left_at is None:
                entry.left_at = tx.now
        tx.record(
            TimelineKind.RESOLVED,
            actor=actor,
            data={"key": incident.key, "false_positive": false_positive, "summary": incident.summary},
        )
        resolved_view = tx.view()
        head = (incident.chain_seq, incident.chain_head or "")
    warnings: list[str] = []
    channel = resolved_view.channel_id
    if channel:
        notice = ResolvedNotice(
            resolved_view,
            by=actor,
            false_positive=false_positive,
            summary=summary.strip(),
            chain_seq=head[0],
            chain_head=head[1],
        )
        warnings += attempt(
            ("post the summary", lambda: svc.chat.post(channel, notice)),
            ("update the topic", lambda: svc.chat.set_topic(channel, Topic(resolved_view))),
        )
    try:
        published = publish_postmortem(svc, incident_id=incident_id, actor=actor, whole=True)  # the final record
    except IrcbotError as exc:  # the incident is resolved either way; the postmortem can be recompiled
        warnings.append(f"The postmortem could not be compiled ({exc}); run `/incident postmortem` to retry.")
        return Resolved(incident=resolved_view, postmortem="", warnings=tuple(warnings))
    return Resolved(
        incident=resolved_view, postmortem=published.markdown, warnings=tuple(warnings + published.warnings)
    )
