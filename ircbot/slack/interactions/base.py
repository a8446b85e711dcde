"""The interaction decorator and the context an interaction runs in, shaped like the commands' own."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ircbot.commands.base import CommandSpec
from ircbot.domain.messages import Message, Outcome
from ircbot.domain.services import Services
from ircbot.slack import ids

Kind = Literal["action", "view", "event"]


@dataclass(frozen=True)
class OpenView:
    """An interaction's answer that opens a form the edge built (Block Kit), e.g. the notice editor."""

    view: dict[str, Any]
    fallback: str  # what to say when Slack will not open it


@dataclass(frozen=True)
class PublishHome:
    """An interaction's answer that replaces the user's App Home tab."""

    view: dict[str, Any]


@dataclass(frozen=True)
class Replace:
    """Rewrite the message that was clicked (a ticked checklist, an acknowledged page)."""

    message: Message
    note: str = ""  # appended to the fallback text, e.g. "Sent to 2 e-mail recipient(s)."
    announce: Message | None = None  # also posted in the channel, as the typed command would have said it


Answer = Outcome | OpenView | PublishHome | Replace | None


@dataclass(frozen=True)
class Interaction:
    """One click, form submission or event as the pipeline hands it over."""

    svc: Services
    user: str
    payload: dict[str, Any]  # the clicked action, the submitted view, or the event
    incident_id: int | None = None

    @property
    def value(self) -> str:
        """What the clicked button or the submitted form carries."""
        return ids.carried(self.payload)

    def require_incident(self) -> int:
        """The incident the pipeline located (and authorised) for this interaction."""
        assert self.incident_id is not None, "the pipeline locates the incident for interactions that name one"
        return self.incident_id


Handler = Callable[[Interaction], Answer]
Locate = Callable[[Services, dict[str, Any]], int | None]
Validate = Callable[[dict[str, Any]], dict[str, str] | None]
Accepts = Callable[[Services, dict[str, Any]], bool]
Keep = Callable[[Services, str, dict[str, Any]], None]


@dataclass(frozen=True)
class InteractionSpec:
    """What Slack sends (kind and id), where its incident is, which command's rules it obeys, and its handler."""

    kind: Kind
    id: str | re.Pattern[str]
    func: Handler
    name: str
    command: CommandSpec | None = None
    locate: Locate | None = None
    validate: Validate | None = None
    accepts: Accepts | None = None  # events ircbot ignores are dropped before any database work
    before_ack: Keep | None = None  # made durable before Slack hears it arrived (user, payload), like a command's

    @property
    def permission(self) -> str | None:
        """The `may:` word of the typed command this interaction stands for: a button allows no more."""
        return self.command.permission if self.command else None


def interaction(
    kind: Kind,
    id: str | re.Pattern[str],
    *,
    command: CommandSpec | None = None,
    locate: Locate | None = None,
    validate: Validate | None = None,
    accepts: Accepts | None = None,
    before_ack: Keep | None = None,
) -> Callable[[Handler], InteractionSpec]:
    """Tag a function as the handler of one kind of click, form or event; the docstring's first line names it."""

    def tag(func: Handler) -> InteractionSpec:
        name = (func.__doc__ or func.__name__).strip().splitlines()[0]
        return InteractionSpec(
            kind=kind,
            id=id,
            func=func,
            name=name,
            command=command,
            locate=locate,
            validate=validate,
            accepts=accepts,
            before_ack=before_ack,
        )

    return tag


def from_value(svc: Services, payload: dict[str, Any]) -> int:
    """The incident id a button or form carries."""
    return ids.parse_number(ids.carried(payload))
