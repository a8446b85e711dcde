"""What the shipped configuration allows out of the box."""

from __future__ import annotations

from pathlib import Path

from ircbot.config import load_config


def test_only_the_manager_and_comms_speak_outside_the_channel_by_default(tmp_path: Path) -> None:
    roles = load_config(tmp_path).roles.roles  # an empty folder: the shipped files
    allowed = sorted(key for key, role in roles.items() if role.may and "update" in role.may)
    assert allowed == ["comms", "manager"]
