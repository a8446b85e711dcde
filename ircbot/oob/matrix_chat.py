"""The chat port on Matrix: the out-of-band room and the bot's direct rooms, people named by their Slack ids.

The domain speaks of people by Slack id; oob.yaml's `people` says who each is on Matrix, and nobody it does
not name is invited or written to. A message is sent with its outbox key as the transaction id, so a send
repeated after a lost answer is the same event on the homeserver, not a second one.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TypeVar

from ircbot.adapters.matrix import MatrixClient, SyncBatch
from ircbot.domain.messages import Message, Topic
from ircbot.domain.oob_policy import OobFile
from ircbot.domain.ports import ChatMessage, Profile
from ircbot.domain.views import IncidentView
from ircbot.errors import GatewayError
from ircbot.oob.render import plain, to_matrix
from ircbot.slack.wording import topic_text
from ircbot.store.db import Database
from ircbot.store.oob import OutOfBandDirect

T = TypeVar("T")


class MatrixChat:
    """ChatPort over a Matrix homeserver; logs in on first use, and again when the homeserver forgot the token."""

    def __init__(self, config: OobFile, db: Database, *, timeout: float = 10.0) -> None:
        assert config.matrix is not None
        self.config = config
        self.server = config.matrix
        self.db = db
        self.timeout = timeout
        self._client: MatrixClient | None = None
        self._lock = threading.Lock()

    # --- the connection -----------------------------------------------------------------------------------

    def client(self) -> MatrixClient:
        """The logged-in client; GatewayError('matrix.login', …) when the homeserver cannot be reached or refuses."""
        with self._lock:
            if self._client is None:
                kind, secret = self.server.secret()
                if not secret:
                    name = self.server.access_token_env or self.server.password_env
                    raise GatewayError("matrix.login", f"{name} is not set")
                if kind == "access_token":
                    self._client = MatrixClient(self.server.homeserver, secret, timeout=self.timeout)
                else:
                    self._client = MatrixClient.login(
                        self.server.homeserver, self.server.user, secret, timeout=self.timeout
                    )
            return self._client

    def _call(self, work: Callable[[MatrixClient], T]) -> T:
        try:
            return work(self.client())
        except GatewayError as exc:
            if exc.error == "M_UNKNOWN_TOKEN" and self.server.password_env:
                with self._lock:
                    self._client = None  # logged out elsewhere: log in again once
                return work(self.client())
            raise

    def sync(self, since: str | None, *, timeout_ms: int) -> SyncBatch:
        """The rooms' news since a position (logging in again when the homeserver forgot the bot's token)."""
        return self._call(lambda c: c.sync(since, timeout_ms=timeout_ms))

    def own_id(self) -> str:
        """The bot's Matrix user id, as configured (the homeserver says the same: it logged in as it)."""
        return self.server.user

    def members(self, room_id: str) -> dict[str, str]:
        """Who is in a room, and how (join, invite, leave, ban)."""
        return self._call(lambda c: c.members(room_id))

    def remove(self, room_id: str, person: str) -> None:
        """Take someone out of a room."""
        self._call(lambda c: c.kick(room_id, person, "not in this incident"))

    def person(self, user_id: str) -> str | None:
        """The Matrix account of a Slack user, None when oob.yaml does not map them."""
        return self.config.matrix_id(user_id)

    # --- the chat port ------------------------------------------------------------------------------------

    def create_channel(self, name: str, *, private: bool) -> str:
        """An invite-only room (out-of-band rooms are never public, whatever the incident in Slack is)."""
        return self._call(lambda c: c.create_room(name=name, topic="", invite=[]))

    def find_channel(self, name: str) -> str | None:
        """Rooms are remembered by id when made; there is no looking one up by name."""
        return None

    def invite(self, channel_id: str, user_ids: list[str]) -> None:
        """Invite the mapped people; the others are left out (the domain says who they were)."""
        for user in user_ids:
            person = self.person(user)
            if person is not None:
                self._invite(channel_id, person)

    def _invite(self, room_id: str, person: str) -> None:
        self._call(lambda c: c.invite(room_id, person))

    def set_topic(self, channel_id: str, topic: Topic) -> None:
        """The room's topic, as Slack's would read (plus that it is out of band)."""
        text = plain(f"{topic_text(topic)} · out of band", self.person)
        self._call(lambda c: c.set_topic(channel_id, text))

    def post(self, channel_id: str, message: Message, *, key: str | None = None) -> str:
        """Into a room (`!…`), or into the direct room of the person a Slack user id names."""
        room = channel_id if channel_id.startswith("!") else self.direct_room(channel_id)
        body, formatted = to_matrix(message, self.person)
        txn = key or uuid.uuid4().hex
        return self._call(lambda c: c.send(room, body, html=formatted, txn_id=txn, key=key))

    def say(self, room_id: str, text: str, *, html: str | None = None, txn_id: str) -> str:
        """An answer into a room (a notice, which bots do not answer), sent once per transaction id."""
        return self._call(lambda c: c.send(room_id, text, html=html, txn_id=txn_id, notice=True))

    def direct_room(self, user_id: str) -> str:
        """The bot's direct room with a person (made on first use, remembered); GatewayError when not mapped."""
        person = self.person(user_id)
        if person is None:
            raise GatewayError("matrix.send", f"not_mapped: {user_id} has no Matrix account in oob.yaml")
        with self.db.transaction() as session:
            known = session.get(OutOfBandDirect, person)
            if known is not None:
                return known.room_id
        room = self._call(lambda c: c.create_dm(person))
        with self.db.transaction() as session:
            if session.get(OutOfBandDirect, person) is None:
                session.add(OutOfBandDirect(person=person, room_id=room))
        return room

    def update(self, channel_id: str, ts: str, message: Message) -> None:
        """Slack's pinned card has no counterpart in the room: `!incident status` shows the state."""

    def publish_home(self, user_id: str, incidents: tuple[IncidentView, ...]) -> None:
        """Matrix has no Home tab."""

    def find_posted(self, channel_id: str, key: str, *, since: datetime) -> str | None:
        """A message tagged `key` among the room's (or the person's direct room's) latest, or None."""
        if channel_id.startswith("!"):
            room: str | None = channel_id
        else:
            person = self.person(channel_id)
            with self.db.transaction() as session:
                known = session.get(OutOfBandDirect, person) if person else None
                room = known.room_id if known is not None else None
        return self._call(lambda c: c.find_key(room, key)) if room else None

    def pin(self, channel_id: str, ts: str) -> None:
        """The room's first messages are its state; nothing is pinned."""

    def upload(self, channel_id: str, *, filename: str, title: str, content: str | bytes, comment: str) -> None:
        """A text file is posted as its text; a binary one is named (the room keeps no files)."""
        shown = content if isinstance(content, str) else f"[{filename}: {len(content)} bytes, not sent here]"
        room = channel_id if channel_id.startswith("!") else self.direct_room(channel_id)
        text = f"{comment}\n\n{title}\n\n{shown}" if comment else f"{title}\n\n{shown}"
        self._call(lambda c: c.send(room, text, txn_id=uuid.uuid4().hex))

    def _slack_only(self, what: str) -> GatewayError:
        return GatewayError("matrix", f"{what} is asked of Slack, not the out-of-band room")

    def user_by_email(self, email: str) -> str | None:
        """Slack's directory; never the room's."""
        raise self._slack_only("users.lookupByEmail")

    def group_members(self, group_id: str) -> list[str]:
        """Slack's user groups; never the room's."""
        raise self._slack_only("usergroups.users.list")

    def profile(self, user_id: str) -> Profile:
        """Slack's profiles; never the room's."""
        raise self._slack_only("users.info")

    def history(self, channel_id: str, *, oldest: str | None = None) -> Iterator[ChatMessage]:
        """The room's messages are kept as timeline events as they arrive; there is no history to read back."""
        return iter(())

    def replies(self, channel_id: str, thread_ts: str, *, oldest: str | None = None) -> Iterator[ChatMessage]:
        """No threads are read back from the room."""
        return iter(())

    def message(self, channel_id: str, ts: str) -> ChatMessage | None:
        """No message is read back from the room."""
        return None
