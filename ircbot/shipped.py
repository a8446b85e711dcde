"""Where the files ircbot ships with (templates, playbooks, default YAML) live."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped_path(name: str) -> Path:
    """Path of a shipped file or folder: inside an installed wheel, or at the source checkout's top."""
    for candidate in (_PACKAGE / "_shipped" / name, _PACKAGE.parent / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"shipped file {name!r} is missing from the installation")
