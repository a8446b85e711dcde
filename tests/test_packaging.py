"""The wheel a user installs: the subcommands ship inside the ircbot package, never as a top-level package."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_installs_only_the_ircbot_package_with_its_subcommands_inside(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.startswith("ircbot-")}
    assert top_level == {"ircbot"}
    shipped = {name.removeprefix("ircbot/commands/") for name in names if name.startswith("ircbot/commands/")}
    in_checkout = {path.name for path in (ROOT / "commands").glob("*.py")}
    assert shipped == in_checkout
    assert "ircbot/_shipped/roles.yaml" in names and not any("__pycache__" in name for name in names)


def test_the_checkout_imports_the_subcommands_as_ircbot_commands() -> None:
    import ircbot.commands

    assert Path(ircbot.commands.__file__).resolve() == ROOT / "commands" / "__init__.py"
