"""Turning the text after `/incident` into arguments: words, quotes, mentions, flags."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from ircbot.domain.stages import SEVERITIES
from ircbot.errors import UsageError

MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
SEVERITY_LIKE = re.compile(r"^(?:sev|p)-?\d+$", re.IGNORECASE)


def without_nul(text: str) -> str:
    """Text with NUL characters removed: PostgreSQL refuses them in text, and no one means one."""
    return text.replace("\x00", "")


def split_words(text: str) -> list[str]:
    """Split like a shell (quotes group words); unbalanced quotes fall back to plain spaces."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def mention(token: str, usage: str) -> str:
    """The user id in a Slack mention (`<@U123|name>` or `<@U123>`); otherwise a UsageError."""
    match = MENTION.match(token.strip())
    if match:
        return match.group(1)
    hint = (
        " Pick the person from Slack's @-autocomplete so the mention becomes a link." if token.startswith("@") else ""
    )
    raise UsageError(f"`{token}` is not a Slack user mention.{hint}", usage)


def severity(token: str, usage: str) -> str:
    """`SEV1`, `sev1`, `sev-1` -> `sev1`; anything else a UsageError listing sev1–sev4."""
    cleaned = token.strip().lower().replace("-", "")
    if cleaned in SEVERITIES:
        return cleaned
    raise UsageError(f"`{token}` is not a severity. Severities: {', '.join(SEVERITIES)} (sev1 is most severe).", usage)


def positive_int(token: str, what: str, usage: str) -> int:
    """A 1-based number such as a checklist item."""
    if token.isascii() and token.isdigit() and int(token) >= 1:
        return int(token)
    raise UsageError(f"`{token}` is not a {what} number; give a whole number such as 1.", usage)


@dataclass
class Flags:
    """Words and `--flags` pulled apart; flags taking a value get the next word."""

    words: list[str] = field(default_factory=list)
    switches: set[str] = field(default_factory=set)
    values: dict[str, str] = field(default_factory=dict)


def split_flags(tokens: list[str], *, switches: set[str], valued: set[str], usage: str) -> Flags:
    """Separate words from known flags; an unknown flag or a missing value is a UsageError."""
    out = Flags()
    iterator = iter(tokens)
    for token in iterator:
        normalized = token.replace("—", "--").replace("–", "--")  # Slack clients "smart"-convert --
        if not normalized.startswith("--") or len(normalized) == 2:
            out.words.append(token)
            continue
        name, eq, value = normalized[2:].partition("=")
        name = name.lower()
        if name in switches and not eq:
            out.switches.add(name)
        elif name in valued:
            value = value if eq else next(iterator, "")
            if not value or value.startswith("--"):
                raise UsageError(f"`--{name}` needs a value.", usage)
            out.values[name] = value
        else:
            known = ", ".join(f"--{f}" for f in sorted(switches | valued)) or "none"
            raise UsageError(f"Unknown option `{token}`. Options here: {known}.", usage)
    return out
