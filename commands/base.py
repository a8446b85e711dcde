"""The command decorator and the context a command runs in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ircbot.domain.messages import Outcome
from ircbot.domain.services import Services


@dataclass(frozen=True)
class Invocation:
    """One `/incident …` (or `!incident …` in the out-of-band room) as typed: who, where, what."""

    user_id: str
    channel_id: str
    text: str
    trigger_id: str | None = None
    request_key: str | None = None
    venue: Literal["slack", "oob", "shell"] = "slack"  # typed in Slack, in the out-of-band room, or at a shell


@dataclass(frozen=True)
class Context:
    """What a command function receives: the services, the caller, and its arguments."""

    svc: Services
    invocation: Invocation
    args: list[str]
    rest: str
    incident_id: int | None = None
    commands: tuple[CommandSpec, ...] = ()
    key: str | None = None  # the incident key as typed, for commands that find their incident themselves

    @property
    def user(self) -> str:
        return self.invocation.user_id

    def require_incident(self) -> int:
        assert self.incident_id is not None, "dispatcher resolves the incident for needs_incident commands"
        return self.incident_id


CommandFunc = Callable[[Context], Outcome]


@dataclass(frozen=True)
class CommandSpec:
    """A subcommand's name, usage line, help text and permission."""

    name: str
    usage: str
    help: str
    func: CommandFunc
    needs_incident: bool = True
    permission: str | None = None
    aliases: tuple[str, ...] = ()
    before_ack: Callable[[Context], None] | None = None  # made durable before Slack hears the command arrived


def command(
    name: str,
    usage: str,
    *,
    needs_incident: bool = True,
    permission: str | None = None,
    aliases: tuple[str, ...] = (),
    before_ack: Callable[[Context], None] | None = None,
) -> Callable[[CommandFunc], CommandSpec]:
    """Tag a function as the subcommand `name`; the docstring's first line is its help.

    `before_ack` runs before Slack is acknowledged (so it must be quick): what must survive a crash
    right after the acknowledgement, such as a declare's record.
    """

    def tag(func: CommandFunc) -> CommandSpec:
        help_line = (func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else ""
        return CommandSpec(name, usage, help_line, func, needs_incident, permission, aliases, before_ack)

    return tag
