"""Compiling the postmortem from what the database recorded, and publishing it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from ircbot.domain import timeline
from ircbot.domain.services import Services
from ircbot.domain.stages import STAGE_TITLES, STAGES
from ircbot.durations import format_duration
from ircbot.errors import GatewayError
from ircbot.store import queries
from ircbot.store.models import Incident, Postmortem

METRIC_DEFINITIONS = {
    "MTTD": ("time to detect", "detected − impact started", "started_at", "detected_at"),
    "MTTA": ("time to acknowledge", "first acknowledgement − declared", "declared_at", "acknowledged_at"),
    "MTTC": ("time to contain", "contained − detected", "detected_at", "contained_at"),
    "MTTR": ("time to resolve", "resolved − detected", "detected_at", "resolved_at"),
}


@dataclass
class Published:
    """The compiled Markdown and what could not be delivered."""

    markdown: str
    filename: str
    warnings: list[str] = field(default_factory=list)


def metrics(incident: Incident) -> list[dict[str, Any]]:
    """The four response metrics of one incident, each with its definition."""
    rows = []
    for name, (label, definition, start, end) in METRIC_DEFINITIONS.items():
        began: datetime | None = getattr(incident, start)
        ended: datetime | None = getattr(incident, end)
        value: timedelta | None = ended - began if began and ended else None
        rows.append({"name": name, "label": label, "definition": definition, "value": format_duration(value)})
    return rows


def compile_postmortem(svc: Services, session: Session, incident: Incident) -> str:
    """Render templates/postmortem.md.j2 (or the config folder's override) for the incident."""
    assert incident.id is not None
    roles = svc.config.roles.roles
    items = queries.checklist(session=session, incident_id=incident.id)
    entries = queries.stage_entries(session=session, incident_id=incident.id)
    stages = []
    for stage in STAGES:
        visits = [e for e in entries if e.stage == stage]
        spent = sum(((e.left_at or svc.clock()) - e.entered_at for e in visits), timedelta())
        stage_items = [i for i in items if i.stage == stage]
        stages.append(
            {
                "title": STAGE_TITLES[stage],
                "visited": bool(visits),
                "duration": format_duration(spent) if visits else "not entered",
                "forced": any(e.left_forced for e in visits),
                "done": sum(1 for i in stage_items if i.checked_by),
                "checklist": stage_items,
            }
        )
    context = {
        "incident": incident,
        "key": incident.key,
        "playbook": svc.config.playbooks.get(incident.playbook),
        "role_history": [
            {
                "title": roles[a.role].title if a.role in roles else a.role,
                "user": a.user_id,
                "since": a.assigned_at,
                "until": a.released_at,
            }
            for a in queries.role_history(session=session, incident_id=incident.id)
        ],
        "stages": stages,
        "timeline": queries.timeline(session=session, incident_id=incident.id),
        "metrics": metrics(incident),
        "compiled_at": svc.clock(),
    }
    return svc.templates.get_template("postmortem.md.j2").render(**context)


def store_postmortem(svc: Services, session: Session, incident: Incident, actor: str) -> Published:
    """Compile and keep the postmortem in the caller's transaction, so a failure undoes the whole change."""
    assert incident.id is not None
    now = svc.clock()
    timeline.record(session, incident, kind="postmortem", actor=actor, at=now, text="Postmortem compiled")
    session.flush()
    markdown = compile_postmortem(svc, session, incident)
    session.add(Postmortem(incident_id=incident.id, compiled_at=now, compiled_by=actor, markdown=markdown))
    return Published(markdown=markdown, filename=f"postmortem-{incident.key}.md")


def upload_postmortem(svc: Services, incident: Incident, published: Published, actor: str) -> None:
    """Share the compiled postmortem into the incident channel; a failure becomes a warning."""
    if not incident.channel_id:
        return
    try:
        svc.chat.upload(
            incident.channel_id,
            filename=published.filename,
            title=f"Postmortem {incident.key}: {incident.title}",
            content=published.markdown,
            comment=f":memo: Postmortem for {incident.key} compiled by <@{actor}>.",
        )
    except GatewayError as exc:
        published.warnings.append(f"Could not upload the postmortem: Slack said `{exc.error}`.")


def publish_postmortem(svc: Services, *, incident_id: int, actor: str) -> Published:
    """Compile, keep in the database, record in the timeline, and upload into the incident channel."""
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id, lock=True)
        assert incident is not None
        published = store_postmortem(svc, session, incident, actor)
    upload_postmortem(svc, incident, published, actor)
    return published


def latest_postmortem(svc: Services, *, incident_id: int) -> str | None:
    """The most recently compiled postmortem's Markdown, if any."""
    with svc.db.transaction() as session:
        query = select(Postmortem).where(Postmortem.incident_id == incident_id).order_by(col(Postmortem.id).desc())
        latest = session.exec(query).first()
        return latest.markdown if latest else None
