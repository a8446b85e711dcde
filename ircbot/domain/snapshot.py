"""Snapshots of an incident as people see it at one moment, read from the database."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from ircbot.domain.policy import Config
from ircbot.domain.stages import STAGES
from ircbot.domain.views import IncidentView, ItemView, RoleHolder
from ircbot.store import queries, reads
from ircbot.store.models import Incident


def incident_view(*, session: Session, incident: Incident, config: Config, now: datetime) -> IncidentView:
    """Snapshot an incident: roles (every configured role, held or not) and current checklist."""
    assert incident.id is not None
    held = dict(session.exec(reads.HELD, params={"incident": incident.id}).all())
    roles = [RoleHolder(role=key, title=role.title, user_id=held.get(key)) for key, role in config.roles.roles.items()]
    roles += [RoleHolder(role=k, title=k, user_id=u) for k, u in held.items() if k not in config.roles.roles]
    items = queries.checklist_rows(session=session, incident_id=incident.id)
    done, total = dict.fromkeys(STAGES, 0), dict.fromkeys(STAGES, 0)
    for item in items:
        total[item.stage] = total.get(item.stage, 0) + 1
        done[item.stage] = done.get(item.stage, 0) + bool(item.checked_by)
    progress = {stage: (done[stage], total[stage]) for stage in STAGES}
    current = tuple(
        ItemView(i.stage, i.position, i.text, i.required, i.checked_by, i.checked_at)
        for i in items
        if i.stage == incident.stage
    )
    end = incident.resolved_at or now
    pending, next_page_at, undelivered = queries.page_facts(session=session, incident_id=incident.id)
    due = session.exec(reads.NEAREST_DEADLINE, params={"incident": incident.id}).first()
    holders = set(held.values())
    brought_in = session.exec(reads.BROUGHT_IN, params={"incident": incident.id}).all()
    others = tuple(user for user in brought_in if user not in holders)
    return IncidentView(
        id=incident.id,
        key=incident.key,
        title=incident.title,
        severity=incident.severity,
        stage=incident.stage,
        status=incident.status,
        is_private=incident.is_private,
        is_drill=incident.is_drill,
        playbook=incident.playbook,
        channel_id=incident.channel_id,
        channel_name=incident.channel_name,
        declared_by=incident.declared_by,
        declared_at=incident.declared_at,
        resolved_at=incident.resolved_at,
        age=end - incident.declared_at,
        roles=tuple(roles),
        checklist=current,
        progress=progress,
        acknowledged_by=incident.acknowledged_by,
        pending_pages=pending,
        next_page_at=next_page_at,
        others=others,
        next_deadline=(f"{due[0].upper()} {due[1]}", due[2]) if due and due[2] else None,
        undelivered=undelivered,
    )
