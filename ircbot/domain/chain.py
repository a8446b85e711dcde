"""The tamper-evident timeline: every event is a link of a per-incident hash chain.

Each event gets the next sequence number of its incident, the hash of the event before it (`prev_hash`,
64 zeros for the first), and its own hash: SHA-256 over the event's canonical JSON (keys sorted, no
insignificant whitespace, UTF-8, as RFC 8785 canonicalises the JSON the events hold) followed by
`prev_hash`. The head (last sequence number and hash) is kept on the incident row too, so deleting the
last events is seen, and is printed in the postmortem and posted with the resolve summary, so a copy
lives outside the database.

The chain has no secret: someone who can write the database can rebuild it from the start. What it
gives is that any edit, deletion, insertion or reordering of stored events is found against a head
that was published (the postmortem, the resolve line in Slack) before the change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from ircbot.store.models import Incident, TimelineEvent

GENESIS = "0" * 64


def canonical(value: Any) -> bytes:
    """The canonical JSON bytes of a JSON value: sorted keys, no whitespace, UTF-8 (RFC 8785 style)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def body(
    *, key: str, seq: int, at: datetime, recorded_at: datetime, kind: str, actor: str | None, text: str, data: Any
) -> dict[str, Any]:
    """What an event's hash covers: everything it says, and where it sits in which incident's chain.

    `data` is passed through JSON first, so the body hashes the same before it is stored and after it is
    read back (tuples become lists, keys strings).
    """
    return {
        "incident": key,
        "seq": seq,
        "at": _when(at),
        "recorded_at": _when(recorded_at),
        "kind": str(kind),
        "actor": actor,
        "text": text,
        "data": json.loads(json.dumps(data)),
    }


def event_body(key: str, event: TimelineEvent) -> dict[str, Any]:
    """The body of a stored (or about to be stored) event."""
    assert event.seq is not None and event.recorded_at is not None
    return body(
        key=key,
        seq=event.seq,
        at=event.at,
        recorded_at=event.recorded_at,
        kind=event.kind,
        actor=event.actor,
        text=event.text,
        data=event.data,
    )


def link_hash(event_body: Mapping[str, Any], prev_hash: str) -> str:
    """The hash of one link: SHA-256 of the event's canonical JSON followed by the previous link's hash."""
    return hashlib.sha256(canonical(event_body) + prev_hash.encode()).hexdigest()


@dataclass(frozen=True)
class Link:
    """A stored event as the verifier reads it."""

    event_id: int
    seq: int | None
    prev_hash: str | None
    hash: str | None
    body: dict[str, Any]  # as `body()` builds it from the stored columns (with the stored seq)


@dataclass(frozen=True)
class Break:
    """The first thing wrong with a chain: which event (by id and sequence number) and what."""

    what: str  # edited | missing | inserted | reordered | truncated | backwards
    event_id: int | None
    seq: int | None
    detail: str

    def __str__(self) -> str:
        where = f"event #{self.seq}" if self.seq is not None else "the chain"
        if self.event_id is not None:
            where += f" (id {self.event_id})"
        return f"{where}: {self.what} — {self.detail}"


@dataclass(frozen=True)
class Verdict:
    """The outcome of verifying one incident's chain."""

    key: str
    events: int
    head_seq: int
    head_hash: str | None
    broken: Break | None

    @property
    def intact(self) -> bool:
        """True when every link, the sequence and the head check out."""
        return self.broken is None

    def line(self) -> str:
        """One line for a person: intact with its head, or the first break."""
        if self.broken is None:
            return f"{self.key}: intact — {self.events} events, head #{self.head_seq} {self.head_hash or GENESIS}"
        return f"{self.key}: BROKEN at {self.broken}"


def verify(key: str, links: Iterable[Link], *, head_seq: int, head_hash: str | None) -> Verdict:
    """Check a chain against its head: hashes, links, sequence, recording times; name the first break.

    `links` may hold events without a sequence number (written around the chain): those are insertions.
    """
    links = list(links)
    chained = sorted((link for link in links if link.seq is not None), key=lambda link: (link.seq or 0, link.event_id))
    broken = _first_break(chained, head_seq=head_seq, head_hash=head_hash)
    loose = [link for link in links if link.seq is None]
    if broken is None and loose:
        broken = Break("inserted", loose[0].event_id, None, "this event is not part of the chain (no sequence number)")
    return Verdict(key=key, events=len(chained), head_seq=head_seq, head_hash=head_hash, broken=broken)


def _first_break(chained: list[Link], *, head_seq: int, head_hash: str | None) -> Break | None:
    prev_hash, prev_seq, prev_recorded = GENESIS, 0, ""
    hashes = {link.hash: link for link in chained}
    for link in chained:
        seq = link.seq or 0
        if seq > head_seq:
            return Break("inserted", link.event_id, seq, f"it lies past the head kept on the incident (#{head_seq})")
        if seq == prev_seq:
            return Break("inserted", link.event_id, seq, f"a second event with sequence number {seq}")
        if link_hash(link.body, link.prev_hash or "") != link.hash:
            moved = _original_seq(link, upto=max(head_seq, seq) + 1)
            if moved is not None:
                return Break("reordered", link.event_id, seq, f"its sequence number was {moved}, not {seq}")
            return Break("edited", link.event_id, seq, "its content no longer matches its hash")
        if seq > prev_seq + 1:
            gap = f"#{prev_seq + 1}" if seq == prev_seq + 2 else f"#{prev_seq + 1}–#{seq - 1}"
            return Break("missing", link.event_id, seq, f"event {gap} before it is gone")
        if link.prev_hash != prev_hash:
            if link.prev_hash in hashes:
                before = hashes[link.prev_hash]
                return Break("reordered", link.event_id, seq, f"it was recorded after event #{before.seq}")
            return Break("inserted", link.event_id, seq, "it does not link to the event before it")
        recorded = str(link.body.get("recorded_at", ""))
        if recorded < prev_recorded:
            return Break("backwards", link.event_id, seq, f"recorded at {recorded}, before the event before it")
        prev_hash, prev_seq, prev_recorded = link.hash or "", seq, recorded
    if prev_seq < head_seq:
        gap = f"#{prev_seq + 1}" if head_seq == prev_seq + 1 else f"#{prev_seq + 1}–#{head_seq}"
        return Break("truncated", None, None, f"the head is #{head_seq}; event {gap} at the end is gone")
    if head_seq and prev_hash != head_hash:
        return Break("edited", None, prev_seq, "the last event's hash is not the head kept on the incident")
    return None


def _original_seq(link: Link, *, upto: int) -> int | None:
    """The sequence number the event's hash was made with, when only its number was changed."""
    for seq in range(1, upto + 1):
        if link_hash({**link.body, "seq": seq}, link.prev_hash or "") == link.hash:
            return seq
    return None


def verify_incident(session: Session, incident: Incident) -> Verdict:
    """Verify one stored incident's timeline against the head kept on its row."""
    events = session.exec(
        select(TimelineEvent).where(TimelineEvent.incident_id == incident.id).order_by(col(TimelineEvent.id))
    ).all()
    links = [
        Link(
            event_id=event.id or 0,
            seq=event.seq,
            prev_hash=event.prev_hash,
            hash=event.hash,
            body=event_body(incident.key, event) if event.seq is not None and event.recorded_at else {},
        )
        for event in events
    ]
    return verify(incident.key, links, head_seq=incident.chain_seq, head_hash=incident.chain_head)
