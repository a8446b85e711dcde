"""People by name, for what is read outside the chat (a postmortem file): ids mean nothing there."""

from __future__ import annotations

import re

from ircbot.domain.services import Services
from ircbot.errors import GatewayError

# How Slack writes a person inside a message: <@U123> or <@U123|name>.
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")


def without_mentions(text: str) -> str:
    """Mentions as plain `@name` text, for places where no one should be pinged (stakeholder channels, e-mail)."""
    return MENTION.sub(lambda match: f"@{match.group(2) or match.group(1)}", text)


class People:
    """Names for user ids, each looked up once; a failed look-up falls back to what is known."""

    def __init__(self, svc: Services):
        self.svc = svc
        self._names: dict[str, str] = {}

    def __call__(self, user_id: str | None) -> str:
        """The person's name ("—" for nobody)."""
        return self._name(user_id, None) if user_id else "—"

    def in_text(self, text: str) -> str:
        """A message written in the chat, with its mention codes turned into names."""
        return MENTION.sub(lambda match: self._name(match.group(1), match.group(2)), text)

    def _name(self, user_id: str, label: str | None) -> str:
        if user_id not in self._names:
            try:
                self._names[user_id] = self.svc.chat.profile(user_id).name
            except GatewayError:  # a bot, a deleted account, Slack down: the record matters more than the name
                self._names[user_id] = label or user_id
        return self._names[user_id]
