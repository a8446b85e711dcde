"""What a test does when this machine lacks a server or tool it needs: fail, saying how to get it.

A skipped test proves nothing, so a missing PostgreSQL, Alertmanager, Synapse, hadolint or mount namespace is a
failure. `pytest --allow-missing` makes it a skip instead, for a developer who knows what the run leaves out;
never under `CI`, which `.ci/run` gives everything.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

OPTION = "--allow-missing"
_allowed = False


def allow(allowed: bool) -> None:
    """Set from the command line once per process (conftest's pytest_configure)."""
    global _allowed
    _allowed = allowed and not os.environ.get("CI")


def allowed() -> bool:
    return _allowed


def failure(what: str) -> str:
    """What is missing and how to get it, and how to skip instead."""
    return f"{what} (`pytest {OPTION}` skips such tests instead, outside CI)"


def missing(what: str) -> NoReturn:
    """Fail (or, with --allow-missing, skip) naming what is missing and how to get it."""
    if _allowed:
        pytest.skip(f"NOT RUN: {what}")
    pytest.fail(failure(what), pytrace=False)
