"""The evidence register of an incident: items (EV-<n>) and their chain of custody (NIST SP 800-86 §3.1.2, RFC 3227).

The register is append-only. An item is never edited or deleted: a correction is a new item that names
the one it corrects, and a hand-over is a new custody transfer. Each item keeps who collected it, when
(UTC, and the collector's own time zone at the time), its hash, where it came from and where it is kept.

Anyone who may act on the incident may record a transfer, as a forensics team records what happened: the
transfer keeps who recorded it as well as who handed the item to whom. Receiving custody does not bring
the recipient into a private incident; the reply says so, and bringing them in stays a separate decision.
Evidence may still be registered and handed over after the incident is resolved: forensics goes on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session, col, select

from ircbot.domain.kinds import TimelineKind
from ircbot.domain.services import Services
from ircbot.domain.unit import incident_tx
from ircbot.errors import Conflict, GatewayError, InvalidInput, NotFound
from ircbot.store import queries
from ircbot.store.records import CustodyTransfer, Evidence

MAX_TEXT = 3000
"""The longest description or purpose taken (as long as a note)."""
MAX_FIELD = 500
"""The longest source or storage location taken."""

HEX_LENGTHS = {"sha256": 64, "sha1": 40, "md5": 32}
"""The hash algorithms the register takes, and how many hexadecimal characters each digest has."""
HASH_NAMES = {"sha256": "a SHA-256", "sha1": "a SHA-1", "md5": "an MD5"}  # as a sentence names one
HASH_FORMS = "`sha256:<64 hex>`, `sha1:<40 hex>` or `md5:<32 hex>`"
EVIDENCE_NUMBER = re.compile(r"^EV-?(\d+)$", re.IGNORECASE)
_HEX = re.compile(r"^[0-9a-f]*$")


@dataclass(frozen=True)
class Digest:
    """A hash of an item of evidence: the algorithm and its lower-case hexadecimal value."""

    algorithm: str
    value: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value}"


@dataclass(frozen=True)
class Transfer:
    """One hand-over of an item: from whom, to whom, when, why, and who recorded it."""

    from_user: str
    to_user: str
    at: datetime
    purpose: str
    recorded_by: str


@dataclass(frozen=True)
class Item:
    """One item of the register as read: its record, its custody chain and the corrections around it."""

    number: int
    description: str
    digest: Digest | None
    source: str | None
    location: str | None
    collected_by: str
    collected_at: datetime
    collector_timezone: str
    corrects: int | None
    corrected_by: int | None
    transfers: tuple[Transfer, ...]

    @property
    def label(self) -> str:
        return f"EV-{self.number}"

    @property
    def custodian(self) -> str:
        """Who holds it now: the last transfer's recipient, or its collector."""
        return self.transfers[-1].to_user if self.transfers else self.collected_by


@dataclass(frozen=True)
class Added:
    """A newly registered item, and who held the item it corrects (when it corrects one)."""

    key: str
    item: Item
    corrected_custodian: str | None = None


@dataclass(frozen=True)
class Handed:
    """A recorded transfer, the item as it now reads, and whether the recipient is in a private incident."""

    key: str
    item: Item
    transfer: Transfer
    outside_private_incident: bool


def parse_digest(text: str) -> Digest:
    """`sha256:<hex>` (or sha1, md5; a bare hex digest whose length names its algorithm) -> Digest.

    Anything else is InvalidInput naming the problem and the right form.
    """
    given = text.strip()
    if not given:
        raise InvalidInput(f"A hash cannot be empty: give {HASH_FORMS}.")
    algorithm, colon, hexdigits = given.partition(":")
    if not colon:
        algorithm, hexdigits = _algorithm_by_length(given), given
    algorithm = algorithm.strip().lower().replace("-", "")
    if algorithm not in HEX_LENGTHS:
        raise InvalidInput(f"`{algorithm or given}` is not a hash algorithm the register takes: give {HASH_FORMS}.")
    name, wanted, value = HASH_NAMES[algorithm], HEX_LENGTHS[algorithm], hexdigits.strip().lower()
    if not _HEX.match(value):
        bad = ", ".join(f"`{c}`" for c in dict.fromkeys(c for c in value if c not in "0123456789abcdef"))
        raise InvalidInput(
            f"`{given}` is not {name} hash: it may hold only hexadecimal characters (0–9, a–f), not {bad}."
        )
    if len(value) != wanted:
        raise InvalidInput(
            f"`{given}` is not {name} hash: it needs {wanted} hexadecimal characters (got {len(value)})."
        )
    return Digest(algorithm, value)


def _algorithm_by_length(hexdigits: str) -> str:
    """The algorithm a bare digest's length names: 64, 40 and 32 characters belong to one algorithm each."""
    value = hexdigits.strip().lower()
    found = next((a for a, n in HEX_LENGTHS.items() if n == len(value)), None)
    if found is None or not _HEX.match(value):
        raise InvalidInput(
            f"`{hexdigits}` is not a hash the register takes: give {HASH_FORMS} "
            "(a bare hexadecimal digest of 64, 40 or 32 characters is taken as SHA-256, SHA-1 or MD5)."
        )
    return found


def parse_number(token: str) -> int | None:
    """`EV-3`, `ev3` -> 3; None when the token does not name an item."""
    match = EVIDENCE_NUMBER.match(token.strip())
    return int(match.group(1)) if match and int(match.group(1)) >= 1 else None


def collector_zone(svc: Services, user_id: str) -> str:
    """The person's Slack time zone, or the bot's own when Slack gives none or cannot be asked."""
    try:
        zone = svc.chat.profile(user_id).tz
    except GatewayError as exc:
        svc.log.warning("time zone of %s not known (%s); the evidence record uses %s", user_id, exc, svc.timezone)
        return svc.timezone
    return zone or svc.timezone


def add_evidence(
    svc: Services,
    *,
    incident_id: int,
    actor: str,
    description: str,
    digest: Digest | None = None,
    source: str | None = None,
    location: str | None = None,
    corrects: int | None = None,
) -> Added:
    """Register a new item in the actor's custody (EV-<next number>), with its timeline event."""
    description = _text(description, "A description of the evidence", MAX_TEXT)
    source = _text(source, "The source", MAX_FIELD) if source is not None else None
    location = _text(location, "The storage location", MAX_FIELD) if location is not None else None
    zone = collector_zone(svc, actor)  # a Slack call: before the incident is locked
    with incident_tx(svc, incident_id) as tx:
        rows = _rows(tx.session, tx.id)
        corrected_custodian = None
        if corrects is not None:
            corrected = _find(rows, corrects, tx.incident.key)
            if corrected.corrected_by is not None:
                raise Conflict(
                    f"EV-{corrects} is already corrected by EV-{corrected.corrected_by}; "
                    f"correct EV-{corrected.corrected_by} instead."
                )
            corrected_custodian = corrected.custodian
        number = max((item.number for item in rows), default=0) + 1
        row = Evidence(
            incident_id=tx.id,
            number=number,
            description=description,
            hash_algorithm=digest.algorithm if digest else None,
            hash_value=digest.value if digest else None,
            source=source,
            location=location,
            collected_by=actor,
            collected_at=tx.now,
            collector_timezone=zone,
            corrects=corrects,
        )
        tx.session.add(row)
        facts: dict[str, object] = {"number": number, "description": description}
        if digest is not None:
            facts["hash"] = str(digest)
        if corrects is not None:
            facts["corrects"] = corrects
        tx.record(TimelineKind.EVIDENCE_ADDED, actor=actor, data=facts)
        return Added(tx.incident.key, _item(row, (), None), corrected_custodian)


def transfer_evidence(
    svc: Services, *, incident_id: int, number: int, to_user: str, purpose: str, actor: str
) -> Handed:
    """Record that the item's current custodian handed it to `to_user`, for `purpose`, as `actor` records it."""
    purpose = _text(purpose, "The purpose of a transfer", MAX_TEXT)
    with incident_tx(svc, incident_id) as tx:
        item = _find(_rows(tx.session, tx.id), number, tx.incident.key)
        if item.custodian == to_user:
            raise Conflict(f"{item.label} is already in <@{to_user}>'s custody.")
        row = _evidence_row(tx.session, tx.id, number)
        assert row.id is not None
        transfer = Transfer(item.custodian, to_user, tx.now, purpose, actor)
        tx.session.add(
            CustodyTransfer(
                evidence_id=row.id,
                from_user=item.custodian,
                to_user=to_user,
                purpose=purpose,
                at=tx.now,
                recorded_by=actor,
            )
        )
        facts = {"number": number, "from": item.custodian, "to": to_user, "purpose": purpose}
        tx.record(TimelineKind.EVIDENCE_TRANSFERRED, actor=actor, data=facts)
        outside = tx.incident.is_private and not queries.is_participant(
            session=tx.session, incident_id=tx.id, user_id=to_user
        )
        return Handed(tx.incident.key, replace(item, transfers=(*item.transfers, transfer)), transfer, outside)


def register(svc: Services, *, incident_id: int) -> tuple[str, tuple[Item, ...]]:
    """The incident's key and every item of its register, in number order."""
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id)
        if incident is None:
            raise NotFound("That incident no longer exists.")
        return incident.key, _rows(session, incident_id)


def evidence_item(svc: Services, *, incident_id: int, number: int) -> tuple[str, Item]:
    """The incident's key and one item with its full custody chain; NotFound names the items there are."""
    key, items = register(svc, incident_id=incident_id)
    return key, _find(items, number, key)


def _text(value: str | None, what: str, limit: int) -> str:
    cleaned = " ".join((value or "").split())
    if not cleaned:
        raise InvalidInput(f"{what} cannot be empty.")
    if len(cleaned) > limit:
        raise InvalidInput(f"{what} can be at most {limit} characters (this one has {len(cleaned)}).")
    return cleaned


def _find(items: Sequence[Item], number: int, key: str) -> Item:
    found = next((item for item in items if item.number == number), None)
    if found is not None:
        return found
    if not items:
        raise NotFound(f"{key} has no evidence registered yet, so there is no EV-{number}.")
    raise NotFound(f"There is no EV-{number} in {key}; its register holds {_labels(items)}.")


def _labels(items: Sequence[Item]) -> str:
    numbers = [item.number for item in items]
    if len(numbers) > 3 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"EV-{numbers[0]} to EV-{numbers[-1]}"
    return ", ".join(f"EV-{n}" for n in numbers)


def _evidence_row(session: Session, incident_id: int, number: int) -> Evidence:
    query = select(Evidence).where(Evidence.incident_id == incident_id, Evidence.number == number)
    return session.exec(query).one()


def _rows(session: Session, incident_id: int) -> tuple[Item, ...]:
    """Every item of the incident with its transfers (oldest first) and the item correcting it, if any."""
    evidence = session.exec(
        select(Evidence).where(Evidence.incident_id == incident_id).order_by(col(Evidence.number))
    ).all()
    ids = [row.id for row in evidence]
    transfers = (
        session.exec(
            select(CustodyTransfer).where(col(CustodyTransfer.evidence_id).in_(ids)).order_by(col(CustodyTransfer.id))
        ).all()
        if ids
        else []
    )
    chains: dict[int | None, list[Transfer]] = {}
    for t in transfers:
        chains.setdefault(t.evidence_id, []).append(Transfer(t.from_user, t.to_user, t.at, t.purpose, t.recorded_by))
    correctors = {row.corrects: row.number for row in evidence if row.corrects is not None}
    return tuple(_item(row, tuple(chains.get(row.id, ())), correctors.get(row.number)) for row in evidence)


def _item(row: Evidence, transfers: tuple[Transfer, ...], corrected_by: int | None) -> Item:
    digest = Digest(row.hash_algorithm, row.hash_value) if row.hash_algorithm and row.hash_value else None
    return Item(
        number=row.number,
        description=row.description,
        digest=digest,
        source=row.source,
        location=row.location,
        collected_by=row.collected_by,
        collected_at=row.collected_at,
        collector_timezone=row.collector_timezone,
        corrects=row.corrects,
        corrected_by=corrected_by,
        transfers=transfers,
    )
