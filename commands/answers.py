"""One wording for every failure, typed or clicked: the problem and the way out, never a stack trace."""

from __future__ import annotations

import uuid

from ircbot.domain.messages import Reply, Text
from ircbot.domain.services import Services
from ircbot.errors import DomainError, InvalidInput, IrcbotError, UsageError


def failure_reply(svc: Services, exc: Exception, *, what: str, usage: str | None = None) -> Reply:
    """The ephemeral answer to a failed command or interaction; `usage` is the command's, when one applies.

    Call it from an `except` block: a failure ircbot did not expect is logged with its traceback and
    answered with a reference the operators can find in the log.
    """
    if isinstance(exc, InvalidInput):
        shown = exc.usage if isinstance(exc, UsageError) and exc.usage else usage
        text = f":warning: {exc.message}" + (f"\nUsage: `/incident {shown}`" if shown else "")
        return Reply(Text(text), problem="refused")
    if isinstance(exc, DomainError):
        return Reply(Text(f":warning: {exc}"), problem="refused")
    if isinstance(exc, IrcbotError):
        svc.log.error("%s failed: %s", what, exc)
        return Reply(Text(f":x: That did not go through: {exc}"), problem="failed")
    reference = uuid.uuid4().hex[:8]
    svc.log.error("%s failed [ref %s]", what, reference, exc_info=exc)
    return Reply(internal_error(reference), problem="failed")


def internal_error(reference: str) -> Text:
    """What a person sees when ircbot itself failed: no stack trace, a reference for the operators."""
    return Text(
        f":x: That did not go through: ircbot hit an internal error (reference `{reference}`). "
        "Try again in a moment; if it keeps failing, give the reference to whoever runs ircbot."
    )
