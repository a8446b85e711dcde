"""From typed text to an outcome: find the subcommand and its incident, run it, turn errors into answers."""

from __future__ import annotations

from dataclasses import replace

from ircbot.commands import COMMANDS
from ircbot.commands.answers import failure_reply
from ircbot.commands.base import CommandSpec, Context, Invocation
from ircbot.commands.help import help_text
from ircbot.commands.parsing import split_words, without_nul
from ircbot.domain.access import INCIDENT_KEY, Located, NotAnIncidentChannel, locate
from ircbot.domain.messages import Outcome, Reply, Text
from ircbot.domain.services import Services
from ircbot.errors import DomainError, UsageError


def lookup(name: str) -> CommandSpec | None:
    """The subcommand called `name` (or one of its aliases)."""
    name = name.lower()
    return next((s for s in COMMANDS if s.name == name or name in s.aliases), None)


def prepare(svc: Services, invocation: Invocation) -> None:
    """Before the acknowledgement: the `before_ack` work of the command typed, if it has any.

    Anything wrong is left for `dispatch` to answer after the acknowledgement.
    """
    invocation = replace(invocation, text=without_nul(invocation.text))
    try:
        key, words = _head(invocation.text)
        spec = lookup(words[0]) if words else None
        if spec is None or spec.before_ack is None:
            return
        key, args = _arguments(spec, key, words)
        spec.before_ack(Context(svc=svc, invocation=invocation, args=args, rest=_rest(invocation.text, words[0], key)))
    except DomainError:
        return  # typed wrong: dispatch answers it after the acknowledgement
    except Exception:  # never delay or break the acknowledgement; dispatch meets the same problem and answers
        svc.log.warning("before-ack work of %r did not run", invocation.text, exc_info=True)


def dispatch(svc: Services, invocation: Invocation) -> Outcome:
    """Run one `/incident` invocation; every failure becomes an ephemeral answer."""
    spec: CommandSpec | None = None
    invocation = replace(invocation, text=without_nul(invocation.text))
    try:
        key, words = _head(invocation.text)
        if not words:
            return Reply(Text(help_text(COMMANDS)))
        spec = lookup(words[0])
        if spec is None:
            return Reply(Text(help_text(COMMANDS, heading=f":warning: There is no subcommand `{words[0]}`.")))
        key, args = _arguments(spec, key, words)
        located = _incident_for(svc, spec, invocation, key)
        context = Context(
            svc=svc,
            invocation=invocation,
            args=args,
            rest=_rest(invocation.text, words[0], key),
            incident_id=located.incident_id if located else None,
            commands=tuple(COMMANDS),
            key=key,
        )
        outcome = spec.func(context)
        if located and located.channel_id != invocation.channel_id and isinstance(outcome, Reply):
            # Typed elsewhere with the key: what would be announced in the incident's channel is for the
            # caller only, never for the members of the channel it was typed in.
            outcome = replace(outcome, visibility="ephemeral")
        return outcome
    except Exception as exc:  # every failure is answered; failure_reply logs what ircbot did not expect
        return failure_reply(svc, exc, what=f"command {invocation.text!r}", usage=spec.usage if spec else "help")


def _incident_for(svc: Services, spec: CommandSpec, invocation: Invocation, key: str | None) -> Located | None:
    if not spec.needs_incident:
        return None
    try:
        return locate(
            svc,
            user_id=invocation.user_id,
            channel_id=invocation.channel_id,
            key=key,
            permission=spec.permission,
            in_slack=invocation.venue == "slack",
        )
    except NotAnIncidentChannel as exc:
        raise UsageError(exc.message, f"INC-<n> {spec.usage}") from exc


def _head(text: str) -> tuple[str | None, list[str]]:
    """(the incident key typed first, if any; the words from the subcommand on)."""
    words = split_words(text)
    if words and INCIDENT_KEY.match(words[0]):
        return words[0], words[1:]
    return None, words


def _arguments(spec: CommandSpec, key: str | None, words: list[str]) -> tuple[str | None, list[str]]:
    """(the incident key, typed before the subcommand or just after it; the subcommand's arguments)."""
    args = words[1:]
    if spec.needs_incident and key is None and args and INCIDENT_KEY.match(args[0]):
        return args[0], args[1:]
    return key, args


def _rest(text: str, name: str, key: str | None) -> str:
    """The raw text after the subcommand (and key), keeping quotes and spacing for notes."""
    remaining = text.strip()
    for word in (key, name, key):
        if word and remaining.lower().startswith(word.lower()):
            remaining = remaining[len(word) :].strip()
    return remaining
