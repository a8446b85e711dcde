"""Test data in one place: the emulated workspace's people and a config folder that names them."""

from __future__ import annotations

from pathlib import Path

import yaml

from ircbot.emulator import SlackEmulator

ALICE, BOB, CAROL, DAVE, ERIN, MALLORY = "U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0ERIN", "U0MALLORY"
ONCALL_GROUP = "S0FORENSIC"

PEOPLE = [
    (ALICE, "alice", "Alice Analyst-Lead", "alice@example.com", "Europe/Berlin"),
    (BOB, "bob", "Bob Investigator", "bob@example.com", "America/New_York"),
    (CAROL, "carol", "Carol Counsel", "carol@example.com", "America/Chicago"),
    (DAVE, "dave", "Dave Comms", "dave@example.com", "Europe/London"),
    (ERIN, "erin", "Erin DFIR", "erin@dfir.example.net", "UTC"),
    (MALLORY, "mallory", "Mallory Outsider", "mallory@example.com", "UTC"),
]


def populate(emulator: SlackEmulator) -> None:
    """Add the people every scenario uses, and a user group for the forensics retainer."""
    for user_id, name, real_name, email, tz in PEOPLE:
        emulator.add_user(user_id, name, real_name=real_name, email=email, tz=tz)
    emulator.add_usergroup(ONCALL_GROUP, "dfir-oncall", [ERIN])
    emulator.add_channel("general", members=[u[0] for u in PEOPLE])


def roles_config(**overrides: object) -> dict[str, object]:
    """roles.yaml content naming the emulated people: ids, an e-mail and a user group."""
    roles = {
        "declarer_role": "manager",
        "roles": {
            "manager": {
                "title": "Incident manager",
                "description": "Owns the response.",
                "duties": ["Decide", "Speak for the response"],
                "oncall": [ALICE],
            },
            "analyst": {
                "title": "Security analyst",
                "description": "Investigates.",
                "duties": ["Find the root cause"],
                "oncall": ["bob@example.com"],
            },
            "legal": {"title": "Legal counsel", "description": "Advises on obligations.", "oncall": [CAROL]},
            "comms": {
                "title": "Communications lead",
                "description": "Speaks to stakeholders.",
                "oncall": [DAVE],
            },
            "forensics": {
                "title": "External forensics",
                "description": "DFIR retainer.",
                "oncall_group": ONCALL_GROUP,
            },
        },
    }
    roles.update(overrides)
    return roles


def tier(after: str, *notify: str) -> dict[str, object]:
    """One escalation tier."""
    return {"after": after, "notify": list(notify)}


def escalation_config(**severities: dict[str, object]) -> dict[str, object]:
    """escalation.yaml for the emulated people; sev1 pages manager and analyst at once, later tiers are far off."""
    policies: dict[str, dict[str, object]] = {
        "sev1": {
            "name": "Critical",
            "tiers": [
                tier("0s", "role:manager", "role:analyst"),
                tier("10m", f"group:{ONCALL_GROUP}", "email:soc-lead@example.com"),
                tier("20m", f"user:{DAVE}"),
            ],
            "repeat": 1,
        },
        "sev2": {"name": "High", "tiers": [tier("0s", "role:analyst"), tier("30m", f"user:{CAROL}")]},
        "sev3": {"name": "Medium", "tiers": [tier("1h", "role:analyst")]},
        "sev4": {"name": "Low", "tiers": []},
    }
    policies.update(severities)
    return {"severities": policies}


def write_config(
    folder: Path, roles: dict[str, object] | None = None, escalation: dict[str, object] | None = None
) -> Path:
    """A config folder with roles.yaml and escalation.yaml naming the emulated people."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "roles.yaml").write_text(yaml.safe_dump(roles or roles_config(), sort_keys=False))
    (folder / "escalation.yaml").write_text(yaml.safe_dump(escalation or escalation_config(), sort_keys=False))
    return folder
