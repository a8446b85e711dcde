"""Moving a running incident out of band, to a room on a second chat platform, and back.

When Slack itself may be compromised, the response moves — roles, checklist, timers and timeline stay
the incident's own; only where people talk and where the bot speaks change. The room is another chat
port (`svc.oob_chat`); while the incident is away, the chat port in front of both (`ircbot.oob.venue`)
sends what the domain says about it into the room, and the edges refuse Slack commands about it.

Slack hears one line with no details (neither the reason nor the room). A move is a resumable saga:
the row is `moving` from the request until the room holds the incident; a move cut short by a crash or
a homeserver outage is taken up again by the next `oob`, reusing the room it had created.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from ircbot.domain.effects import attempt
from ircbot.domain.kinds import TimelineKind
from ircbot.domain.messages import IncidentCard, RolesCard, Text, Topic
from ircbot.domain.oob_policy import OobFile
from ircbot.domain.ports import ChatPort
from ircbot.domain.services import Services
from ircbot.domain.unit import incident_tx
from ircbot.errors import Conflict, InvalidInput, PermissionDenied
from ircbot.store import queries
from ircbot.store.models import Incident, TimelineEvent
from ircbot.store.oob import OutOfBand

PLATFORM = "Matrix"
MOVE_LEASE = timedelta(minutes=2)
"""How long a move holds the incident before it is taken to have died (its room is reused by the next move)."""


@dataclass(frozen=True)
class Moved:
    """What a move did: the room, who was invited, who could not be (not in oob.yaml's people)."""

    key: str
    room_id: str
    invited: tuple[str, ...]
    not_mapped: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def away_row(session: Session, incident_id: int, now: datetime) -> OutOfBand | None:
    """The incident's out-of-band row while it is away, or being moved there (a move a crash cut short counts only
    until its lease runs out: then the incident is Slack's again, and the next `oob` takes the move up)."""
    row = session.get(OutOfBand, incident_id)
    if row is None:
        return None
    moving = row.status == "moving" and now - row.moved_at < MOVE_LEASE
    return row if row.status == "away" or moving else None


def refuse_if_away(session: Session, incident: Incident, now: datetime) -> None:
    """Refuse Slack a command, click or form about an incident that is away: Slack may be the attacker's (checked in
    the transaction that found the incident and the asker's rights: `access.locate`, `access.authorise`)."""
    assert incident.id is not None
    if away_row(session, incident.id, now) is not None:
        raise PermissionDenied(
            f"{incident.key} is being handled out of band: nothing about it is answered or done in Slack until it is "
            "back."
        )


def incident_away(svc: Services, channel_id: str) -> bool:
    """Whether the incident of a Slack channel is away (or being moved there)."""
    with svc.db.transaction() as session:
        incident = queries.incident_by_channel(session=session, channel_id=channel_id) if channel_id else None
        return (
            incident is not None and incident.id is not None and away_row(session, incident.id, svc.clock()) is not None
        )


def room_of_channel(session: Session, channel_id: str) -> str | None:
    """The room an incident channel's messages go to while its incident is away (moved, not moving), else None."""
    found = session.exec(
        select(OutOfBand.room_id)
        .join(Incident, Incident.id == OutOfBand.incident_id)  # type: ignore[arg-type]
        .where(Incident.channel_id == channel_id, OutOfBand.status == "away")
    ).first()
    return found


def incident_of_room(session: Session, room_id: str) -> Incident | None:
    """The incident whose out-of-band room this is (away or returned), or None."""
    row = session.exec(select(OutOfBand).where(OutOfBand.room_id == room_id)).first()
    return session.get(Incident, row.incident_id) if row is not None else None


def away_rooms(session: Session) -> list[OutOfBand]:
    """The rows of the incidents away now."""
    return list(session.exec(select(OutOfBand).where(OutOfBand.status == "away")).all())


def away_incident_ids(session: Session) -> set[int]:
    """The incidents away now."""
    return set(session.exec(select(OutOfBand.incident_id).where(OutOfBand.status == "away")).all())


def spans(events: Iterable[TimelineEvent]) -> list[tuple[datetime, datetime | None]]:
    """The spans an incident spent out of band, read from its timeline: (moved, back, or None while away)."""
    found: list[tuple[datetime, datetime | None]] = []
    for event in events:
        if event.kind == TimelineKind.MOVED_OUT_OF_BAND:
            found.append((event.at, None))
        elif event.kind == TimelineKind.RETURNED_FROM_OUT_OF_BAND and found and found[-1][1] is None:
            found[-1] = (found[-1][0], event.at)
    return found


def within(at: datetime, windows: list[tuple[datetime, datetime | None]]) -> bool:
    """Whether a time falls in one of the spans out of band."""
    return any(start <= at and (end is None or at < end) for start, end in windows)


def incident_members(session: Session, incident_id: int) -> list[str]:
    """Everyone in the incident: role holders and the people brought in, in the order they came."""
    people = [a.user_id for a in queries.active_roles(session=session, incident_id=incident_id)]
    people += [p.user_id for p in queries.participants(session=session, incident_id=incident_id)]
    return list(dict.fromkeys(people))


def room_members(session: Session, oob: OobFile, incident_id: int) -> set[str]:
    """The Matrix accounts an incident's room may hold: the mapped members of the incident."""
    return {m for user in incident_members(session, incident_id) if (m := oob.matrix_id(user))}


def _room_port(svc: Services) -> ChatPort:
    if svc.oob_chat is None or not svc.config.oob.enabled:
        raise InvalidInput(
            "No out-of-band channel is set up. Write oob.yaml in the config folder (the Matrix homeserver, the bot's "
            "account and who is who there) and restart the bot; `ircbot check-config` checks it."
        )
    return svc.oob_chat


def move(svc: Services, incident_id: int, *, by: str, reason: str | None) -> Moved:
    """Move the incident to its out-of-band room: create (or reuse) it, invite the mapped members, post the state.

    Raises InvalidInput when no out-of-band channel is configured, Conflict when it is already away, and
    GatewayError when the homeserver fails (the incident stays in Slack, and a later `oob` takes the move up).
    """
    room_chat = _room_port(svc)
    with incident_tx(svc, incident_id, closed="{key} is resolved; there is nothing left to move.") as tx:
        row = tx.session.get(OutOfBand, incident_id)
        if row is not None and row.status == "away":
            raise Conflict(f"{tx.incident.key} is already out of band; `!incident return` in the room brings it back.")
        if row is not None and away_row(tx.session, incident_id, tx.now) is not None:  # moving, within its lease
            raise Conflict(f"{tx.incident.key} is being moved out of band already; it will be there in a moment.")
        previous = row.status if row is not None else None
        if row is None:
            row = OutOfBand(incident_id=incident_id, moved_by=by, moved_at=tx.now, moves=0)
        if row.status != "moving":  # a move taken up again is the same move
            row.moves += 1
        row.status, row.moved_by, row.moved_at, row.reason = "moving", by, tx.now, reason
        tx.session.add(row)
        members = incident_members(tx.session, incident_id)
        view, room_id, key = tx.view(), row.room_id, tx.incident.key
    mapping = svc.config.oob
    invited = tuple(u for u in members if mapping.matrix_id(u))
    not_mapped = tuple(u for u in members if not mapping.matrix_id(u))
    try:
        if room_id is None:
            room_id = room_chat.create_channel(f"{key} {view.title}", private=True)
            with svc.db.transaction() as session:  # kept at once: a move taken up again reuses this room
                kept = session.get(OutOfBand, incident_id)
                assert kept is not None
                kept.room_id = room_id
        room_chat.invite(room_id, list(invited))
        room_chat.set_topic(room_id, Topic(view))
        room_chat.post(room_id, IncidentCard(incident=view, heading=f"{key} is out of band: {view.title}"))
        room_chat.post(room_id, RolesCard(incident=view))
        room_chat.post(room_id, Text(_how_to(key, reason, not_mapped)))
    except Exception:  # the homeserver failed (or anything else): the incident stays in Slack
        _undo(svc, incident_id, previous)
        raise
    # Slack hears that the incident left, nothing more; while the row is `moving` this line still goes to Slack.
    warnings = attempt(
        ("tell Slack the incident moved", lambda: svc.chat.post(view.channel_id or by, Text(left_slack(key))))
    )
    with incident_tx(svc, incident_id) as tx:
        row = tx.session.get(OutOfBand, incident_id)
        assert row is not None
        row.status = "away"
        data = {"platform": PLATFORM, "invited": list(invited), "not_mapped": list(not_mapped), "reason": reason}
        tx.record(TimelineKind.MOVED_OUT_OF_BAND, actor=by, data=data)
        tx.homes_changed()  # the incident leaves the Slack Home tabs
    return Moved(key, room_id, invited, not_mapped, tuple(warnings))


def _undo(svc: Services, incident_id: int, previous: str | None) -> None:
    """A move the homeserver cut short: the incident stays in Slack (the room, if made, is kept for the next try)."""
    with svc.db.transaction() as session:
        row = session.get(OutOfBand, incident_id)
        if row is not None and row.status == "moving":
            row.status = previous or "returned"


def come_back(svc: Services, incident_id: int, *, by: str, summary: bool) -> str:
    """Move the response back to Slack; with `summary`, Slack also gets where the incident stands."""
    with incident_tx(svc, incident_id) as tx:
        row = tx.session.get(OutOfBand, incident_id)
        if row is None or row.status != "away":
            raise Conflict(f"{tx.incident.key} is not out of band; its channel in Slack is where it is handled.")
        row.status, row.returned_by, row.returned_at = "returned", by, tx.now
        tx.record(TimelineKind.RETURNED_FROM_OUT_OF_BAND, actor=by, data={"summary": summary})
        tx.card_changed()  # Slack's pinned card was left as it was when the incident moved
        tx.homes_changed()
        view, room_id, key = tx.view(), row.room_id, tx.incident.key
    warnings: list[str] = []
    channel = view.channel_id
    if channel:
        warnings += attempt(("tell Slack the incident is back", lambda: svc.chat.post(channel, Text(back(key)))))
        if summary:
            heading = f"{key} is back from out of band: where it stands"
            card = IncidentCard(incident=view, heading=heading, purpose="status")
            warnings += attempt(("post the summary in Slack", lambda: svc.chat.post(channel, card)))
    if svc.oob_chat is not None and room_id is not None:
        room = svc.oob_chat
        warnings += attempt(("say so in the room", lambda: room.post(room_id, Text(f"{key} is back in Slack."))))
    done = f"{key} is back in Slack" + (" with a summary of where it stands." if summary else ".")
    return " ".join([done, *warnings])


def left_slack(key: str) -> str:
    """The one line Slack gets when an incident moves: no room, no reason, no state."""
    return f"{key} has moved to an out-of-band channel."


def back(key: str) -> str:
    """The line Slack gets when it returns."""
    return f"{key} is back in this channel."


def _how_to(key: str, reason: str | None, not_mapped: tuple[str, ...]) -> str:
    lines = [
        f"This room is where {key} is handled now; nothing said here reaches Slack.",
        "Commands work as in Slack, typed `!incident <subcommand>`: `!incident status`, `!incident note <text>`, "
        "`!incident check <n>`, `!incident ack`, `!incident help`. `!incident return` moves the response back "
        "(`--summary` also posts where it stands in Slack).",
    ]
    if reason:
        lines.append(f"Why it moved: {reason}")
    if not_mapped:
        names = ", ".join(f"<@{u}>" for u in not_mapped)
        lines.append(f"Not invited (no Matrix account in oob.yaml): {names}. Add them there to bring them in.")
    return "\n".join(lines)
