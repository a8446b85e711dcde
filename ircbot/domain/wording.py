"""The incident fields every message template can use."""

from __future__ import annotations

from ircbot.domain.services import Services
from ircbot.domain.stages import STAGE_TITLES
from ircbot.store.models import Incident


def incident_fields(svc: Services, incident: Incident) -> dict[str, object]:
    """key, title, severity (and its policy name), stage, privacy, drill and times, ready for a template."""
    policy = svc.config.escalation.severities.get(incident.severity)
    return {
        "key": incident.key,
        "title": incident.title,
        "severity": incident.severity.upper(),
        "severity_name": policy.name if policy else incident.severity.upper(),
        "stage": STAGE_TITLES[incident.stage],
        "private": incident.is_private,
        "drill": incident.is_drill,
        "channel_id": incident.channel_id,
        "declared_at": incident.declared_at.strftime("%Y-%m-%d %H:%M UTC"),
        "detected_at": incident.detected_at.strftime("%Y-%m-%d %H:%M UTC"),
        "contained": incident.contained_at is not None,
        "summary": incident.summary or "",
    }
