"""From typed text to an outcome: find the subcommand and its incident, run it, turn errors into answers."""

from __future__ import annotations

import uuid

from ircbot.commands import COMMANDS
from ircbot.commands.base import CommandSpec, Context, Invocation
from ircbot.commands.help import help_text
from ircbot.commands.parsing import split_words
from ircbot.domain.access import INCIDENT_KEY, find_visible, require_permission
from ircbot.domain.messages import Outcome, Reply, Text, internal_error
from ircbot.domain.services import Services
from ircbot.errors import DomainError, IrcbotError, UsageError
from ircbot.store import queries


def lookup(name: str) -> CommandSpec | None:
    """The subcommand called `name` (or one of its aliases)."""
    name = name.lower()
    return next((s for s in COMMANDS if s.name == name or name in s.aliases), None)


def dispatch(svc: Services, invocation: Invocation) -> Outcome:
    """Run one `/incident` invocation; every failure becomes an ephemeral answer."""
    spec: CommandSpec | None = None
    try:
        words = split_words(invocation.text)
        key = None
        if words and INCIDENT_KEY.match(words[0]):
            key, words = words[0], words[1:]
        if not words:
            return Reply(Text(help_text(COMMANDS)))
        spec = lookup(words[0])
        if spec is None:
            return Reply(Text(help_text(COMMANDS, heading=f":warning: There is no subcommand `{words[0]}`.")))
        args = words[1:]
        if spec.needs_incident and key is None and args and INCIDENT_KEY.match(args[0]):
            key, args = args[0], args[1:]
        context = Context(
            svc=svc,
            invocation=invocation,
            args=args,
            rest=_rest(invocation.text, words[0], key),
            incident_id=_incident_for(svc, spec, invocation, key),
        )
        return spec.func(context)
    except UsageError as exc:
        usage = exc.usage or (spec.usage if spec else "help")
        return Reply(Text(f":warning: {exc.message}\nUsage: `/incident {usage}`"))
    except DomainError as exc:
        return Reply(Text(f":warning: {exc}"))
    except IrcbotError as exc:
        svc.log.error("command %r failed: %s", invocation.text, exc)
        return Reply(Text(f":x: That did not go through: {exc}"))
    except Exception:  # a bug or an outage: answer with a reference instead of a stack trace
        reference = uuid.uuid4().hex[:8]
        svc.log.exception("command %r failed [ref %s]", invocation.text, reference)
        return Reply(internal_error(reference))


def _incident_for(svc: Services, spec: CommandSpec, invocation: Invocation, key: str | None) -> int | None:
    if not spec.needs_incident:
        return None
    with svc.db.transaction() as session:
        if key is not None:
            incident = find_visible(session, key, invocation.user_id)
        else:
            found = queries.incident_by_channel(session=session, channel_id=invocation.channel_id)
            if found is None:
                raise UsageError(
                    "This is not an incident channel. Run the command in the incident's channel, "
                    "or put the incident key first.",
                    f"INC-<n> {spec.usage}",
                )
            incident = found
        if spec.permission:
            require_permission(session, svc.config, incident, invocation.user_id, spec.permission)
        return incident.id


def _rest(text: str, name: str, key: str | None) -> str:
    """The raw text after the subcommand (and key), keeping quotes and spacing for notes."""
    remaining = text.strip()
    for word in (key, name, key):
        if word and remaining.lower().startswith(word.lower()):
            remaining = remaining[len(word) :].strip()
    return remaining
