"""Read-only snapshots of an incident, for messages, replies and templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from ircbot.config import Config
from ircbot.domain.stages import STAGES
from ircbot.store import queries
from ircbot.store.models import Incident


@dataclass(frozen=True)
class RoleHolder:
    """A role and who holds it now (None when unassigned)."""

    role: str
    title: str
    user_id: str | None


@dataclass(frozen=True)
class ItemView:
    """One checklist item."""

    stage: str
    position: int
    text: str
    required: bool
    checked_by: str | None
    checked_at: datetime | None

    @property
    def checked(self) -> bool:
        return self.checked_by is not None


@dataclass(frozen=True)
class IncidentView:
    """An incident as people see it at one moment."""

    id: int
    key: str
    title: str
    severity: str
    stage: str
    status: str
    is_private: bool
    is_drill: bool
    playbook: str
    channel_id: str | None
    channel_name: str | None
    declared_by: str
    declared_at: datetime
    resolved_at: datetime | None
    age: timedelta
    roles: tuple[RoleHolder, ...]
    checklist: tuple[ItemView, ...]
    progress: dict[str, tuple[int, int]]
    acknowledged_by: str | None = None
    pending_pages: int = 0
    next_page_at: datetime | None = None

    @property
    def manager(self) -> str | None:
        return next((r.user_id for r in self.roles if r.role == "manager"), None)

    @property
    def label(self) -> str:
        """`INC-7` plus a drill marker, for headings."""
        return f"{self.key} [DRILL]" if self.is_drill else self.key


def incident_view(*, session: Session, incident: Incident, config: Config, now: datetime) -> IncidentView:
    """Snapshot an incident: roles (every configured role, held or not) and current checklist."""
    assert incident.id is not None
    held = {a.role: a.user_id for a in queries.active_roles(session=session, incident_id=incident.id)}
    roles = [RoleHolder(role=key, title=role.title, user_id=held.get(key)) for key, role in config.roles.roles.items()]
    roles += [RoleHolder(role=k, title=k, user_id=u) for k, u in held.items() if k not in config.roles.roles]
    items = queries.checklist(session=session, incident_id=incident.id)
    progress = {
        stage: (
            sum(1 for i in items if i.stage == stage and i.checked_by),
            sum(1 for i in items if i.stage == stage),
        )
        for stage in STAGES
    }
    current = tuple(
        ItemView(i.stage, i.position, i.text, i.required, i.checked_by, i.checked_at)
        for i in items
        if i.stage == incident.stage
    )
    end = incident.resolved_at or now
    pending = queries.pending_steps(session=session, incident_id=incident.id)
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
        pending_pages=len(pending),
        next_page_at=pending[0].due_at if pending else None,
    )
