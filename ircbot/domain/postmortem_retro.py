"""The retrospective parts of a postmortem the bot can prefill: impact, detection, communications, participants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from ircbot.domain.people import People
from ircbot.durations import format_duration
from ircbot.store import alert_queries
from ircbot.store.models import Impact, Incident, Notice, Participant, StatusUpdate

STAGE_CSF = {
    "detection": "Detect (DE.AE)",
    "analysis": "Respond (RS.AN)",
    "containment": "Respond (RS.MI)",
    "eradication": "Respond (RS.MI)",
    "recovery": "Recover (RC.RP)",
    "post-incident": "Identify (ID.IM)",
}
"""Where each NIST SP 800-61 stage the playbooks use falls among NIST CSF 2.0's functions and categories
(SP 800-61 Rev. 3 organises incident response by CSF 2.0; Rev. 2's stages are kept for the checklists)."""

_REASONS = {
    "declared": "declared it",
    "paged": "paged",
    "assigned": "given a role",
    "joined": "joined the channel",
    "asked to join": "asked to join",
    "join approved": "let in on request",
}


def retro_sections(session: Session, incident: Incident, clean: Callable[[str], str], person: People) -> dict[str, Any]:
    """`impact`, `detection`, `communications` and `participants` for the template."""
    assert incident.id is not None
    outages = session.exec(
        select(Impact).where(Impact.incident_id == incident.id).order_by(col(Impact.started_at))
    ).all()
    updates = session.exec(
        select(StatusUpdate).where(StatusUpdate.incident_id == incident.id).order_by(col(StatusUpdate.sent_at))
    ).all()
    notices = session.exec(
        select(Notice).where(Notice.incident_id == incident.id).order_by(col(Notice.drafted_at))
    ).all()
    people = session.exec(
        select(Participant).where(Participant.incident_id == incident.id).order_by(col(Participant.added_at))
    ).all()
    stated = [clean(u.impact) for u in updates if u.impact]
    return {
        "stage_csf": STAGE_CSF,
        "impact": {
            "outages": [
                {
                    "system": clean(o.system),
                    "from": o.started_at,
                    "to": o.ended_at,
                    "for": format_duration(o.ended_at - o.started_at),
                }
                for o in outages
            ],
            "total": format_duration(sum((o.ended_at - o.started_at for o in outages), timedelta())) if outages else "",
            "stated": stated[-1] if stated else "",
        },
        "detection": _detection(session, incident, person),
        "communications": [
            {
                "at": u.sent_at,
                "what": "Status update",
                "to": ", ".join(sorted(u.delivered)) if u.delivered else "the incident channel",
                "by": person(u.sent_by),
                "approved_by": "",
                "text": clean(u.status),
            }
            for u in updates
        ]
        + [
            {
                "at": n.sent_at or n.drafted_at,
                "what": f"Notice to {n.audience}" + ("" if n.status == "sent" else f" ({n.status})"),
                "to": n.audience,
                "by": person(n.drafted_by),
                "approved_by": person(n.approved_by) if n.approved_by else "",
                "text": clean(n.subject),
            }
            for n in notices
        ],
        "participants": [
            {"who": person(p.user_id), "how": _REASONS.get(p.reason, p.reason), "at": p.added_at} for p in people
        ],
    }


def _detection(session: Session, incident: Incident, person: People) -> dict[str, Any]:
    assert incident.id is not None
    alerts = list(alert_queries.alerts_of_incident(session=session, incident_id=incident.id))
    first = min(alerts, key=lambda a: a.started_at or a.received_at) if alerts else None
    ttd = incident.detected_at - incident.started_at if incident.started_at else None
    return {
        "source": f"an alert from {first.source} ({first.title})" if first else person(incident.declared_by),
        "at": incident.detected_at,
        "time_to_detect": format_duration(ttd) if ttd is not None else "",
    }
