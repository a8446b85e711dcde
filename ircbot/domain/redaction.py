"""Finding secrets pasted into incident text and replacing them before they reach a postmortem."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

_MAX_PASSES = 8
# Text that was already redacted must not be redacted again: a value that starts with a marker is left alone.
_NOT_A_MARKER = r"(?!\[REDACTED )"
# An unquoted value ends at whitespace, a quote, or the characters that end a URL query value or a Slack
# link (`&`, `<`, `>`, `|`); trailing sentence punctuation is left outside it.
_BARE_VALUE = r"[^\s'\"&<>|]+?(?=[.,;:!?)\]]*(?:[\s'\"&<>|]|\Z))"


@dataclass(frozen=True)
class _Rule:
    """One kind of secret; the first capturing group that took part is the secret, or else the whole match."""

    kind: str
    pattern: re.Pattern[str]

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """Where this kind of secret occurs in the text."""
        for match in self.pattern.finditer(text):
            group = next((i for i in range(1, self.pattern.groups + 1) if match.start(i) >= 0), 0)
            yield match.span(group)


def _assignment(kind: str, keys: str) -> _Rule:
    """A `key = value` rule: only the value is the secret, so the reader still sees what leaked."""
    # The look-behind anchors the key at the start of a word, which keeps the scan linear in long identifiers;
    # `/` is excluded so that `https://token:…@host` is left to the URL rule and keeps its host.
    key = rf"(?<![\w./-])[\w.-]*(?:{keys})[\"']?"
    separator = r"[ \t]*(?::=|=>|[:=])[ \t]*"
    value = rf"(?:\"{_NOT_A_MARKER}([^\"\n]+)\"|'{_NOT_A_MARKER}([^'\n]+)'|{_NOT_A_MARKER}({_BARE_VALUE}))"
    return _Rule(kind, re.compile(key + separator + value, re.IGNORECASE))


# Most specific first: when two rules find the same text, the earlier one names it.
_RULES: tuple[_Rule, ...] = (
    _Rule(
        "private key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
            # A paste cut off before its END line still must not leak its body (and Proc-Type/DEK-Info headers).
            r"|(?:\s*[A-Za-z0-9+/=:,-]+)*)",
            re.DOTALL,
        ),
    ),
    _Rule(
        "Slack webhook URL", re.compile(r"https?://hooks\.slack\.com/(?:services|workflows|triggers)/[\w/-]+", re.ASCII)
    ),
    _Rule(
        "password",
        # The password runs to the last `@` before the host, since pasted passwords often hold an unescaped `@`.
        re.compile(
            rf"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@<>|]*:{_NOT_A_MARKER}([^\s/<>|]+)@(?=[\w\[])"
        ),
    ),
    _Rule("JWT", re.compile(r"(?<![A-Za-z0-9])eyJ[\w-]{2,}\.[\w-]{2,}\.[\w-]*", re.ASCII)),
    _Rule(
        "AWS access key",
        re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
    ),
    _Rule(
        "AWS secret key",
        re.compile(
            r"(?<![A-Za-z0-9])(?:aws[_-]?secret[_-]?(?:access[_-]?)?key|secret[_-]?access[_-]?key)[\"']?"
            r"[ \t]*(?::=|=>|[:=])[ \t]*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
            re.IGNORECASE,
        ),
    ),
    _Rule("Slack token", re.compile(r"(?<![A-Za-z0-9])(?:xox[abposr]|xapp)-[A-Za-z0-9-]{10,}")),
    _Rule("GitHub token", re.compile(r"(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{22,})", re.ASCII)),
    _Rule("Google API key", re.compile(r"(?<![A-Za-z0-9])AIza[\w-]{35}", re.ASCII)),
    _Rule("Stripe key", re.compile(r"(?<![A-Za-z0-9])[sr]k_live_[A-Za-z0-9]{10,}")),
    _assignment("password", r"password|passwd|passphrase|pwd"),
    _assignment("secret", r"secret(?:[_-]?access)?(?:[_-]?key)?"),
    _assignment("API key", r"api[_-]?key"),
    _assignment("token", r"token"),
)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _redact_once(text: str) -> tuple[str, list[str]]:
    """The text with what the rules find replaced, and the kind of each replacement."""
    found = sorted(
        (start, end, priority, rule.kind)
        for priority, rule in enumerate(_RULES)
        for start, end in rule.spans(text)
        if end > start
    )
    pieces: list[str] = []
    kinds: list[str] = []
    position = 0
    index = 0
    while index < len(found):
        # Overlapping finds (a JWT that is also a `token=` value) become one redaction covering all of them,
        # so no part of either leaks and the secret is counted once, named by the longest (then most specific).
        start, end, _, _ = found[index]
        cluster = [found[index]]
        index += 1
        while index < len(found) and found[index][0] < end:
            cluster.append(found[index])
            end = max(end, found[index][1])
            index += 1
        kind = min(cluster, key=lambda f: (f[0] - f[1], f[2]))[3]
        kinds.append(kind)
        pieces += [text[position:start], f"[REDACTED {kind}]"]
        position = end
    pieces.append(text[position:])
    return "".join(pieces), kinds


@dataclass
class Redactor:
    """Replaces secrets in text and counts what it replaced, by kind."""

    counts: Counter[str] = field(default_factory=Counter)

    def redact(self, text: str) -> str:
        """The text with every secret replaced by `[REDACTED <kind>]`; counts accumulate across calls."""
        # A secret glued to another (an AWS key id straight after a fixed-length Google key) only stands on its
        # own once its neighbour is replaced, so passes repeat until one finds nothing; the bound is a guard,
        # never reached in practice, against a text that keeps producing new finds.
        for _ in range(_MAX_PASSES):
            text, kinds = _redact_once(text)
            if not kinds:
                break
            self.counts.update(kinds)
        return text

    @property
    def total(self) -> int:
        """How many secrets were redacted, of all kinds."""
        return sum(self.counts.values())

    def summary(self) -> str:
        """E.g. "3 secrets redacted (2 AWS access keys, 1 Slack token)", or "no secrets redacted"."""
        if not self.total:
            return "no secrets redacted"
        kinds = ", ".join(_plural(count, kind) for kind, count in self.counts.most_common() if count)
        return f"{_plural(self.total, 'secret')} redacted ({kinds})"
