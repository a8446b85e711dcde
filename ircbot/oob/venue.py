"""The chat port in front of Slack and the out-of-band room: what is said about an incident away goes to its room.

The domain keeps speaking to one chat port, of channels and people, and does not know where an incident is
handled. While an incident is away (`ircbot.domain.out_of_band`), this port sends what the domain says in
the incident's channel into its room; a page, reminder or other direct message about it (known by the
outbox message it carries, or the incident it shows) goes to the person's direct room on Matrix and to
their e-mail (a page has an e-mail of its own anyway), never to Slack; the pinned card is left as it was,
and the Home tabs leave the incident out.
Everything else — directories, profiles, histories, incidents in Slack — is Slack's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from ircbot.domain.messages import Message, PageCard, Topic
from ircbot.domain.out_of_band import away_incident_ids, room_of_channel
from ircbot.domain.ports import ChatMessage, ChatPort, Email, MailPort, Profile
from ircbot.domain.views import IncidentView
from ircbot.errors import GatewayError
from ircbot.oob.matrix_chat import MatrixChat
from ircbot.oob.render import to_matrix
from ircbot.store import queries
from ircbot.store.db import Database
from ircbot.store.models import OutboxMessage

OUTBOX_KEY = "outbox-"
log = logging.getLogger("ircbot.oob")


class VenueChat:
    """ChatPort: Slack, except for incidents away, whose words go to the out-of-band room and direct rooms."""

    def __init__(self, slack: ChatPort, room: MatrixChat, db: Database, mail: MailPort) -> None:
        self.slack = slack
        self.room = room
        self.db = db
        self.mail = mail

    # --- where a call goes --------------------------------------------------------------------------------

    def _room_for(self, channel_id: str) -> str | None:
        if not channel_id or channel_id[0] not in "CG":
            return None
        with self.db.transaction() as session:
            return room_of_channel(session, channel_id)

    def _away_dm(self, channel_id: str, message: Message, key: str | None) -> bool:
        """A direct message about an incident that is away."""
        if not channel_id or channel_id[0] not in "UW":
            return False
        incident_id = _incident_shown(message)
        with self.db.transaction() as session:
            if incident_id is None and key is not None and key.startswith(OUTBOX_KEY):
                queued = session.get(OutboxMessage, int(key.removeprefix(OUTBOX_KEY)))
                incident_id = queued.incident_id if queued is not None else None
            return incident_id is not None and incident_id in away_incident_ids(session)

    # --- the chat port ------------------------------------------------------------------------------------

    def create_channel(self, name: str, *, private: bool) -> str:
        """Incident channels are Slack's."""
        return self.slack.create_channel(name, private=private)

    def find_channel(self, name: str) -> str | None:
        """Incident channels are Slack's."""
        return self.slack.find_channel(name)

    def invite(self, channel_id: str, user_ids: list[str]) -> None:
        """Into the room while away (the mapped among them), else into the Slack channel."""
        room = self._room_for(channel_id)
        if room is None:
            self.slack.invite(channel_id, user_ids)
        else:
            self.room.invite(room, user_ids)

    def set_topic(self, channel_id: str, topic: Topic) -> None:
        """The room's topic while away; Slack's topic stays as it was when the incident left."""
        room = self._room_for(channel_id)
        if room is None:
            self.slack.set_topic(channel_id, topic)
        else:
            self.room.set_topic(room, topic)

    def post(self, channel_id: str, message: Message, *, key: str | None = None) -> str:
        """Into the room or a direct room for an incident away, else into Slack."""
        room = self._room_for(channel_id)
        if room is not None:
            return self.room.post(room, message, key=key)
        if self._away_dm(channel_id, message, key):
            return self._direct(channel_id, message, key)
        return self.slack.post(channel_id, message, key=key)

    def _direct(self, user_id: str, message: Message, key: str | None) -> str:
        """The person's direct room on Matrix, then their e-mail; refused (and retried) only when both are missing."""
        address = self._address(user_id)
        sent = ""
        if self.room.person(user_id) is not None:
            sent = self.room.post(user_id, message, key=key)
        elif address is None:
            raise GatewayError("matrix.send", f"not_mapped: {user_id} has neither a Matrix account nor an e-mail")
        if address is not None and self.mail.enabled and not isinstance(message, PageCard):  # a page has its e-mail
            body, _ = to_matrix(message, self.room.person)
            subject = body.splitlines()[0][:150] if body else "Out-of-band incident"
            try:
                self.mail.send(Email(to=(address,), subject=subject, text=body, html=_html(message, self.room)))
            except GatewayError as exc:  # the direct room had it; the e-mail is the second way, not the only one
                if not sent:
                    raise
                log.warning("out-of-band e-mail to %s failed: %s", address, exc)
        return sent or f"mail:{key or ''}"

    def _address(self, user_id: str) -> str | None:
        person = self.room.config.people.get(user_id)
        if person is not None and person.email:
            return person.email
        with self.db.transaction() as session:
            return queries.email_of(session=session, user_id=user_id)

    def update(self, channel_id: str, ts: str, message: Message) -> None:
        """Slack's card is left as it was while the incident is away (it is redrawn when the incident is back)."""
        if self._room_for(channel_id) is None:
            self.slack.update(channel_id, ts, message)

    def publish_home(self, user_id: str, incidents: tuple[IncidentView, ...]) -> None:
        """The Home tab without the incidents that are away."""
        with self.db.transaction() as session:
            away = away_incident_ids(session)
        self.slack.publish_home(user_id, tuple(i for i in incidents if i.id not in away))

    def find_posted(self, channel_id: str, key: str, *, since: datetime) -> str | None:
        """Where the message would have gone: the room, the person's direct room, or Slack."""
        room = self._room_for(channel_id)
        if room is not None:
            return self.room.find_posted(room, key, since=since)
        if key.startswith(OUTBOX_KEY) and channel_id[:1] in ("U", "W"):
            with self.db.transaction() as session:  # decided, then asked outside the transaction
                queued = session.get(OutboxMessage, int(key.removeprefix(OUTBOX_KEY)))
                away = queued is not None and queued.incident_id in away_incident_ids(session)
            if away:
                return self.room.find_posted(channel_id, key, since=since)
        return self.slack.find_posted(channel_id, key, since=since)

    def pin(self, channel_id: str, ts: str) -> None:
        """Slack's pins; nothing is pinned in the room."""
        if self._room_for(channel_id) is None:
            self.slack.pin(channel_id, ts)

    def upload(self, channel_id: str, *, filename: str, title: str, content: str | bytes, comment: str) -> None:
        """Into the room while away, else into Slack."""
        room = self._room_for(channel_id)
        target: ChatPort = self.slack if room is None else self.room
        target.upload(room or channel_id, filename=filename, title=title, content=content, comment=comment)

    def user_by_email(self, email: str) -> str | None:
        """Slack's directory."""
        return self.slack.user_by_email(email)

    def group_members(self, group_id: str) -> list[str]:
        """Slack's user groups."""
        return self.slack.group_members(group_id)

    def profile(self, user_id: str) -> Profile:
        """Slack's profiles."""
        return self.slack.profile(user_id)

    def history(self, channel_id: str, *, oldest: str | None = None) -> Iterator[ChatMessage]:
        """The Slack channel's history."""
        return self.slack.history(channel_id, oldest=oldest)

    def replies(self, channel_id: str, thread_ts: str, *, oldest: str | None = None) -> Iterator[ChatMessage]:
        """A Slack thread's replies."""
        return self.slack.replies(channel_id, thread_ts, oldest=oldest)

    def message(self, channel_id: str, ts: str) -> ChatMessage | None:
        """One Slack message."""
        return self.slack.message(channel_id, ts)


def _incident_shown(message: Message) -> int | None:
    """The incident a message is about, when it carries one."""
    view = getattr(message, "incident", None)
    if isinstance(view, IncidentView):
        return view.id
    found = getattr(message, "incident_id", None)
    return found if isinstance(found, int) else None


def _html(message: Message, room: MatrixChat) -> str:
    return f"<html><body><p>{to_matrix(message, room.person)[1]}</p></body></html>"
