"""An incident's indicators of compromise: added by hand, or found in notes, captured messages and alerts.

Found indicators are refanged, validated and deduplicated by `ioc_extract`; private and documentation
addresses are left out unless a responder adds them by hand. Each indicator carries a TLP 2.0 level: the
adder's, else record.yaml's default (TLP:AMBER; TLP:RED in a private incident). Seeing a known indicator
again only adds where it was seen. The first sighting of each is a timeline event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from ircbot.domain.ioc_extract import Indicator as Found
from ircbot.domain.ioc_extract import extract, parse_manual
from ircbot.domain.kinds import TimelineKind
from ircbot.domain.record_policy import tlp_level
from ircbot.domain.services import Services
from ircbot.domain.unit import IncidentTx, incident_tx
from ircbot.errors import UsageError
from ircbot.store.records import Indicator

BY_HAND = "added by hand"
MAX_SCANNED = 20_000  # characters of one text searched for indicators
_LINK_LABELS = ("url", "link", "href", "uri")  # an alert's links point at the sender's own console, not at an IOC


@dataclass(frozen=True)
class Added:
    """An indicator added by hand: the stored row, and whether it was new."""

    type: str
    value: str
    tlp: str
    new: bool


def add_indicator(
    svc: Services, *, incident_id: int, value: str, type: str | None, tlp: str | None, actor: str, usage: str
) -> Added:
    """Record an indicator a responder typed; a malformed value or TLP is refused naming the right form."""
    found = parse_manual(value, type)
    level = None
    if tlp is not None:
        try:
            level = tlp_level(tlp)
        except ValueError as exc:
            raise UsageError(f"`--tlp {tlp}`: {exc}.", usage) from None
    with incident_tx(svc, incident_id) as tx:
        known = _known(tx.session, tx.id, found)
        if known is not None:
            if BY_HAND not in known.seen_in:
                known.seen_in = [*known.seen_in, BY_HAND]
            if level is not None and level != known.tlp:
                known.tlp = level
                tx.record(TimelineKind.IOC_ADDED, actor=actor, data=_facts(known, how=BY_HAND))
            return Added(known.type, known.value, known.tlp, new=False)
        row = _store(tx, found, tlp=level, how=BY_HAND, by=actor)
        return Added(row.type, row.value, row.tlp, new=True)


def found_in(tx: IncidentTx, text: str, *, how: str, by: str | None) -> list[Indicator]:
    """Record the indicators in a text written into the incident (a note, a message, an alert); the new ones."""
    new = []
    for found in extract(text[:MAX_SCANNED]):
        known = _known(tx.session, tx.id, found)
        if known is None:
            new.append(_store(tx, found, tlp=None, how=how, by=by))
        elif how not in known.seen_in:
            known.seen_in = [*known.seen_in, how]
    return new


def alert_text(title: str, description: str, labels: dict[str, Any]) -> str:
    """What of an alert is searched for indicators: its title, description and label values, not its links."""
    values = [str(v) for k, v in labels.items() if not any(word in k.lower() for word in _LINK_LABELS)]
    return "\n".join([title, description, *values])


def indicators_of(session: Session, incident_id: int) -> list[Indicator]:
    """The incident's indicators in the order they were first seen."""
    query = select(Indicator).where(Indicator.incident_id == incident_id)
    return list(session.exec(query.order_by(col(Indicator.first_seen_at), col(Indicator.id))).all())


def list_indicators(svc: Services, *, incident_id: int) -> list[Indicator]:
    """`indicators_of` in a transaction of its own."""
    with svc.db.transaction() as session:
        return indicators_of(session, incident_id)


def _known(session: Session, incident_id: int, found: Found) -> Indicator | None:
    query = select(Indicator).where(
        Indicator.incident_id == incident_id, Indicator.type == found.type, Indicator.value == found.value
    )
    return session.exec(query).first()


def _store(tx: IncidentTx, found: Found, *, tlp: str | None, how: str, by: str | None) -> Indicator:
    default = tx.svc.config.record.indicators.default_tlp(private=tx.incident.is_private)
    row = Indicator(
        incident_id=tx.id,
        type=found.type,
        value=found.value,
        tlp=tlp or default,
        first_seen_at=tx.now,
        seen_in=[how],
        added_by=by,
    )
    tx.session.add(row)
    tx.session.flush()  # a second sighting in the same text or transaction finds it
    tx.record(TimelineKind.IOC_ADDED, actor=by, data=_facts(row, how=how))
    return row


def _facts(row: Indicator, *, how: str) -> dict[str, object]:
    return {"type": row.type, "value": row.value, "tlp": row.tlp, "how": how}
