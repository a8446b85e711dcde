"""Listening to the out-of-band rooms: `!incident …` runs the same commands, with the same rules, as `/incident`.

A thread long-polls the homeserver's `/sync` and keeps the stream's position (`next_batch`) in the database
after each batch, so a restart neither misses nor replays what was said; each event is also remembered by
id before it is handled, like a Slack delivery, so one that comes again is handled once. The sender's
Matrix id is mapped back to the Slack user oob.yaml names; an account it does not name is nobody and may do
nothing. What people say in an incident's room is kept in its timeline, for the postmortem; none of it
reaches Slack.
"""

from __future__ import annotations

import logging
import threading

from ircbot.adapters.matrix import RoomEvent
from ircbot.commands.base import Invocation
from ircbot.commands.dispatch import dispatch, lookup
from ircbot.commands.parsing import split_words, without_nul
from ircbot.domain.access import INCIDENT_KEY
from ircbot.domain.deliveries import remember_delivery
from ircbot.domain.kinds import TimelineKind
from ircbot.domain.messages import OpenModal, Outcome, Reply, Text
from ircbot.domain.out_of_band import away_rooms, away_row, incident_of_room, room_members
from ircbot.domain.services import Services
from ircbot.domain.unit import incident_tx
from ircbot.errors import GatewayError
from ircbot.oob.matrix_chat import MatrixChat
from ircbot.oob.render import to_matrix
from ircbot.slack.modals import typed_instead
from ircbot.store import queries
from ircbot.store.oob import OutOfBandSync

PREFIX = "!incident"
log = logging.getLogger("ircbot.oob")
MAX_PAUSE = 60.0  # seconds between tries while the homeserver cannot be reached


class RoomListener:
    """Reads the bot's rooms on the homeserver and answers the commands typed there."""

    def __init__(self, svc: Services, chat: MatrixChat, *, poll_ms: int = 30_000) -> None:
        self.svc = svc
        self.chat = chat
        self.poll_ms = poll_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Listen on a thread of its own until `stop`."""
        self._thread = threading.Thread(target=self._run, name="ircbot-oob", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening; a long poll under way is abandoned (its batch is read again at the next start)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)

    def _run(self) -> None:
        pause = 1.0
        while not self._stop.is_set():
            try:
                self.poll(timeout_ms=self.poll_ms)
                pause = 1.0
            except GatewayError as exc:
                log.warning("out-of-band homeserver: %s; trying again in %.0f s", exc, pause)
                self._stop.wait(pause)
                pause = min(pause * 2, MAX_PAUSE)
            except Exception:  # a bug must not end listening: the room would go deaf mid-incident
                log.exception("out-of-band listener failed; going on")
                self._stop.wait(pause)

    def poll(self, *, timeout_ms: int = 0) -> int:
        """One `/sync`: handle what it brought, then keep the position. Returns how many commands ran.

        The first sync ever only takes the position: what the rooms said before this database knew them
        is not a command to run now.
        """
        account = self.chat.server.user
        with self.svc.db.transaction() as session:
            kept = session.get(OutOfBandSync, account)
            since = kept.since if kept is not None else None
        batch = self.chat.sync(since, timeout_ms=timeout_ms)
        ran = 0
        if since is not None:
            own = self.chat.own_id()
            for event in batch.events:
                if event.sender != own and self.handle(event):
                    ran += 1
        with self.svc.db.transaction() as session:
            kept = session.get(OutOfBandSync, account)
            if kept is None:
                session.add(OutOfBandSync(account=account, since=batch.next_batch, updated_at=self.svc.clock()))
            else:
                kept.since, kept.updated_at = batch.next_batch, self.svc.clock()
        self.reconcile()
        return ran

    def reconcile(self) -> None:
        """Each room of an incident away holds only the incident's mapped members: whoever left the incident (or
        lost access to it) since is shown out."""
        with self.svc.db.transaction() as session:
            rooms = [
                (row.room_id, room_members(session, self.svc.config.oob, row.incident_id))
                for row in away_rooms(session)
                if row.room_id is not None
            ]
        own = self.chat.own_id()
        for room_id, allowed in rooms:
            present = self.chat.members(room_id)
            for person, membership in present.items():
                if membership in ("join", "invite") and person != own and person not in allowed:
                    self._show_out(room_id, person)

    def handle(self, event: RoomEvent) -> bool:
        """One room event, once: a command is run and answered, other words in an incident's room are kept, and
        anyone who comes into an incident's room without being in the incident is shown out."""
        with self.svc.db.transaction() as session:
            incident = incident_of_room(session, event.room_id)
            incident_id = incident.id if incident is not None else None
            channel = (incident.channel_id or "") if incident is not None else ""
            away = incident_id is not None and away_row(session, incident_id, self.svc.clock()) is not None
            allowed = room_members(session, self.svc.config.oob, incident_id) if incident_id is not None else None
        if event.type == "m.room.member":
            if allowed is not None and event.membership in ("invite", "join") and event.state_key not in allowed:
                self._show_out(event.room_id, event.state_key or "")
            return False
        if event.type != "m.room.message" or event.msgtype not in ("m.text", "m.emote"):
            return False
        body = without_nul(event.body).strip()
        person = self.svc.config.oob.slack_id(event.sender)
        if body.split(maxsplit=1)[:1] == [PREFIX]:
            if not remember_delivery(self.svc, f"matrix:{event.event_id}"):
                return False
            in_incident = allowed is None or event.sender in allowed
            self._command(event, person if in_incident else None, channel, body[len(PREFIX) :].strip())
            return True
        if away and incident_id is not None:
            self._keep(incident_id, event, person, body)
        return False

    def _show_out(self, room_id: str, person: str) -> None:
        """Remove someone the room may not hold: they left the incident, or came in another way (a homeserver admin)."""
        try:
            self.chat.remove(room_id, person)
            log.warning("removed %s from out-of-band room %s: not in the incident", person, room_id)
        except GatewayError as exc:
            log.error("could not remove %s from out-of-band room %s: %s", person, room_id, exc)

    def _command(self, event: RoomEvent, person: str | None, channel: str, text: str) -> None:
        if person is None:
            line = (
                f"{event.sender} is not one of this incident's people in oob.yaml, so the bot does not act for you: "
                "ask whoever runs ircbot to map your Slack user to this Matrix account."
            )
            answer, private = (line, line), False
        else:
            invocation = Invocation(
                user_id=person, channel_id=channel, text=text, request_key=f"matrix:{event.event_id}", venue="oob"
            )
            outcome = dispatch(self.svc, invocation)
            answer, private = _words(outcome, self.chat), not _for_the_room(outcome, text, channel)
        try:
            room = self.chat.direct_room(person) if private and person else event.room_id
            self.chat.say(room, answer[0], html=answer[1], txn_id=f"answer-{event.event_id}")
        except GatewayError as exc:  # the command ran and is in the timeline; only its answer is lost
            log.warning("could not answer %s in %s: %s", event.event_id, event.room_id, exc)

    def _keep(self, incident_id: int, event: RoomEvent, person: str | None, body: str) -> None:
        """Into the timeline, with the event remembered in the same transaction: kept once, and never lost."""
        with incident_tx(self.svc, incident_id) as tx:
            if not queries.remember_request(session=tx.session, key=f"matrix:{event.event_id}", at=tx.now):
                return
            tx.record(
                TimelineKind.SAID_OUT_OF_BAND,
                body,
                actor=person or event.sender,
                data={"sender": event.sender, "event_id": event.event_id},
            )


def _for_the_room(outcome: Outcome, text: str, channel: str) -> bool:
    """Whether an answer is for the whole room: one about the room's own incident. An answer about another
    incident (typed with its key), or only for the caller (the incidents they may see), goes to their DM."""
    if isinstance(outcome, Reply) and outcome.visibility == "in_channel":
        return True
    words = split_words(text)
    spec = lookup(words[0]) if words and not INCIDENT_KEY.match(words[0]) else None
    keyed = any(INCIDENT_KEY.match(w) for w in words[:2])
    return bool(channel) and spec is not None and spec.needs_incident and not keyed


def _words(outcome: Outcome, chat: MatrixChat) -> tuple[str, str]:
    """A command's answer as the room shows it (there are no ephemeral answers or forms there)."""
    if isinstance(outcome, OpenModal):
        text = typed_instead(outcome).replace("Could not open the", "There are no forms here; instead of the")
        body, formatted = to_matrix(Text(text), chat.person)
    else:
        body, formatted = to_matrix(outcome.message, chat.person)
    return body.replace("/incident ", f"{PREFIX} "), formatted.replace("/incident ", f"{PREFIX} ")
