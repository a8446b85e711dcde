"""The code passes its own linters: ruff (lint and format) and mypy on ircbot/ and commands/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts real subprocesses

ROOT = Path(__file__).resolve().parents[1]
MYPY = ("mypy", "ircbot")
# conftest starts mypy when the session's tests are collected, so it checks on a spare core meanwhile.
EARLY_MYPY = pytest.StashKey[subprocess.Popen[str]]()


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    try:
        stdout, stderr = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return finish(start(*args))


def test_ruff_lint_is_clean() -> None:
    done = run("ruff", "check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_is_clean() -> None:
    done = run("ruff", "format", "--check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_is_clean(request: pytest.FixtureRequest) -> None:
    early = request.config.stash.get(EARLY_MYPY, None)
    done = finish(early) if early is not None else run(*MYPY)
    assert done.returncode == 0, done.stdout + done.stderr
