"""Read-only snapshots of an incident, for messages, replies and templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


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
    undelivered: int = 0  # page messages Slack or SMTP has refused so far, still being retried
    others: tuple[str, ...] = ()  # people brought in who hold no role (paged, joined, let in)
    next_deadline: tuple[str, datetime] | None = None  # the regulatory report due soonest: ("GDPR notification", due)

    @property
    def manager(self) -> str | None:
        return next((r.user_id for r in self.roles if r.role == "manager"), None)

    @property
    def label(self) -> str:
        """`INC-7` plus a drill marker, for headings."""
        return f"{self.key} [DRILL]" if self.is_drill else self.key
