"""The postmortem's record sections: evidence and custody, indicators, decisions, regulatory notifications."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from sqlmodel import Session, col, select

from ircbot.domain.clocks import lines_of
from ircbot.domain.decisions import decisions_of
from ircbot.domain.indicators import indicators_of
from ircbot.domain.people import People
from ircbot.domain.services import Services
from ircbot.durations import format_duration
from ircbot.store.models import Incident
from ircbot.store.records import CustodyTransfer, Evidence


def record_sections(
    svc: Services, session: Session, incident: Incident, clean: Callable[[str], str], person: People
) -> dict[str, Any]:
    """`evidence`, `indicators`, `decisions` (and `utc` for custody times) for the template; text passes `clean`."""
    assert incident.id is not None
    return {
        "utc": lambda t: t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if t else "—",
        "evidence": _evidence(session, incident.id, clean, person),
        "indicators": [
            {
                "type": row.type,
                "value": clean(row.value),
                "tlp": row.tlp.upper(),
                "first_seen": row.first_seen_at,
                "seen_in": ", ".join(row.seen_in),
            }
            for row in indicators_of(session, incident.id)
        ],
        "clocks": [
            {
                "regime": line.regime.upper(),
                "name": line.regime_name,
                "report": line.report,
                "recipient": line.recipient,
                "due_at": line.due_at,
                "state": line.state,
                "submitted_at": line.submitted_at,
                "submitted_by": person(line.submitted_by) if line.submitted_by else "",
                "reference": clean(line.reference or ""),
                "late_by": format_duration(line.late_by) if line.late_by else "",
                "reason": clean(line.reason or ""),
            }
            for line in lines_of(session, incident.id, svc, svc.clock())
        ],
        "decisions": [
            {
                "label": card.label,
                "text": clean(card.text),
                "status": card.status,
                "approvers": card.approvers,
                "proposed_by": person(card.proposed_by),
                "approved_by": [(person(user), at) for user, at in card.approved_by],
                "rejected_by": (person(card.rejected_by[0]), card.rejected_by[1]) if card.rejected_by else None,
                "reason": clean(card.reason or ""),
            }
            for card in decisions_of(session, incident.id, incident.key)
        ],
    }


def _evidence(session: Session, incident_id: int, clean: Callable[[str], str], person: People) -> list[dict[str, Any]]:
    items = session.exec(
        select(Evidence).where(Evidence.incident_id == incident_id).order_by(col(Evidence.number))
    ).all()
    corrected_by = {item.corrects: item.number for item in items if item.corrects is not None}
    ids = [item.id for item in items]
    transfers = session.exec(
        select(CustodyTransfer)
        .where(col(CustodyTransfer.evidence_id).in_(ids))
        .order_by(col(CustodyTransfer.at), col(CustodyTransfer.id))
    ).all()
    out = []
    for item in items:
        chain = [t for t in transfers if t.evidence_id == item.id]
        out.append(
            {
                "label": f"EV-{item.number}",
                "description": clean(item.description),
                "hash": f"{item.hash_algorithm}:{item.hash_value}" if item.hash_value else "",
                "source": clean(item.source or ""),
                "location": clean(item.location or ""),
                "collected_by": person(item.collected_by),
                "collected_at": item.collected_at,
                "zone": item.collector_timezone,
                "corrects": f"EV-{item.corrects}" if item.corrects else "",
                "corrected_by": f"EV-{corrected_by[item.number]}" if item.number in corrected_by else "",
                "custodian": person(chain[-1].to_user if chain else item.collected_by),
                "custody": [
                    {
                        "from": person(t.from_user),
                        "to": person(t.to_user),
                        "at": t.at,
                        "purpose": clean(t.purpose),
                        "recorded_by": person(t.recorded_by),
                    }
                    for t in chain
                ],
            }
        )
    return out
