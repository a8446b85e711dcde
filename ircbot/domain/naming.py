"""Incident channel names that obey Slack's rules: lowercase, [a-z0-9_-], at most 80 characters."""

from __future__ import annotations

import re
import unicodedata

MAX_CHANNEL_NAME = 80


def slugify(title: str) -> str:
    """`Ransomware on FS01!` -> `ransomware-on-fs01`."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def channel_name(number: int, title: str, attempt: int = 0) -> str:
    """Name for incident `number`; attempt > 0 adds a suffix after a name was taken."""
    prefix = f"inc-{number}"
    suffix = f"-{attempt + 1}" if attempt else ""
    room = MAX_CHANNEL_NAME - len(prefix) - len(suffix) - 1
    slug = slugify(title)[:room].strip("-")
    return f"{prefix}-{slug}{suffix}" if slug else f"{prefix}{suffix}"
