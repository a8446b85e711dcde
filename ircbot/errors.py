"""The one exception tree of ircbot.

IrcbotError
├── ConfigError          a config file or variable is wrong; names file, line, field
├── MissingExtra         an optional feature's packages are not installed; names the pip command
├── DomainError          the request is understood but refused (answered to the user)
│   ├── InvalidInput     the domain cannot take this input (the command layer adds the usage line)
│   │   └── UsageError   a command was typed wrong; carries the usage line
│   ├── NotFound         no such incident, role, stage or item the caller may see
│   ├── PermissionDenied the caller may not do this
│   └── Conflict         the incident's state does not allow it (e.g. required items left)
└── GatewayError         an outbound call (Slack, e-mail) failed after its retries
"""

from __future__ import annotations


class IrcbotError(Exception):
    """Base class of every error ircbot raises on purpose."""


class ConfigError(IrcbotError):
    """One or more configuration problems, each naming file, line and field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


DISTRIBUTION = "ircbot-incident"  # the name pip knows ircbot by (`ircbot` on PyPI is another project)


class MissingExtra(IrcbotError):
    """An optional feature's packages are not installed; `install` is the command that brings them."""

    def __init__(self, feature: str, extra: str, missing: str):
        self.feature = feature
        self.extra = extra
        self.missing = missing
        self.install = f"pip install '{DISTRIBUTION}[{extra}]'"
        super().__init__(
            f"{feature} needs the {extra} extra, and {missing} is not installed: {self.install} "
            f"(in a checkout: pip install -e '.[{extra}]')"
        )


class DomainError(IrcbotError):
    """A request the domain refuses, with a message meant for the user."""


class InvalidInput(DomainError):
    """Input the domain cannot take; `message` says what is wrong and what would be right."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class UsageError(InvalidInput):
    """A command's arguments are wrong; `usage` is the right form."""

    def __init__(self, message: str, usage: str | None = None):
        self.usage = usage
        super().__init__(message)


class NotFound(DomainError):
    """The thing asked for does not exist, or the caller may not see it."""


class PermissionDenied(DomainError):
    """The caller lacks the role this action needs."""


class Conflict(DomainError):
    """The incident's current state does not allow the action."""


class GatewayError(IrcbotError):
    """An outbound call failed; `method` and `error` say which and why.

    `uncertain` means the far side may have done the work anyway (the answer was lost: a timeout, a
    dropped connection, a 5xx), so repeating a call that is not idempotent needs a check first.
    `retry_after` is how long the far side asked us to wait (a rate limit), when it said.
    """

    def __init__(self, method: str, error: str, *, uncertain: bool = False, retry_after: float | None = None):
        self.method = method
        self.error = error
        self.uncertain = uncertain
        self.retry_after = retry_after
        super().__init__(f"{method} failed: {error}")
