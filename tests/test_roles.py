"""Assigning response roles: by mention, from roles.yaml on-call (ids, e-mails, user groups), handoffs."""

from __future__ import annotations

from tests.conftest import Harness
from tests.factories import ALICE, BOB, CAROL, ERIN
from tests.scenario import channel_text, events, roles


def test_assign_by_mention_invites_announces_and_lists(harness: Harness) -> None:
    emu = harness.emulator
    _, channel = harness.declare()
    reply = harness.slash(f"assign analyst <@{BOB}|bob>", channel=channel)
    assert "is now Security analyst" in reply.text
    assert BOB in emu.channel(channel)["members"]
    assert "is now *Security analyst*" in channel_text(emu, channel) and "Find the root cause" in channel_text(
        emu, channel
    )
    listing = harness.slash("roles", channel=channel).text
    assert f"*Security analyst*: <@{BOB}>" in listing and "*Legal counsel*: _unassigned_" in listing
    assert roles(harness) == {"manager": ALICE, "analyst": BOB}


def test_plain_mention_form_without_name_is_accepted(harness: Harness) -> None:
    _, channel = harness.declare()
    harness.slash(f"assign legal <@{CAROL}>", channel=channel)
    assert roles(harness)["legal"] == CAROL


def test_assign_without_user_takes_oncall_by_email_and_by_user_group(harness: Harness) -> None:
    emu = harness.emulator
    _, channel = harness.declare("Ransomware on FS01 sev4")  # sev4 pages nobody: every lookup is the assign's
    harness.slash("assign analyst", channel=channel)  # roles.yaml: bob@example.com
    harness.slash("assign forensics", channel=channel)  # roles.yaml: user group S0FORENSIC
    assert roles(harness) == {"manager": ALICE, "analyst": BOB, "forensics": ERIN}
    assert {BOB, ERIN} <= set(emu.channel(channel)["members"])
    assert len(emu.calls_to("users.lookupByEmail")) == 1
    assert len(emu.calls_to("usergroups.users.list")) == 1


def test_handoff_releases_previous_holder_and_manager_change_updates_topic(harness: Harness) -> None:
    emu = harness.emulator
    _, channel = harness.declare()
    harness.slash(f"assign analyst <@{BOB}|bob>", channel=channel)
    harness.slash(f"assign analyst <@{CAROL}|carol>", channel=channel)
    assert roles(harness)["analyst"] == CAROL
    assert any("handed Security analyst over" in e.text for e in events(harness, kind="role_released"))
    assert "taking over from" in channel_text(emu, channel)

    harness.slash(f"assign manager <@{BOB}|bob>", channel=channel)
    assert f"IM: <@{BOB}>" in emu.channel(channel)["topic"]


def test_assigning_the_same_holder_again_changes_nothing(harness: Harness) -> None:
    _, channel = harness.declare()
    reply = harness.slash(f"assign manager <@{ALICE}|alice>", channel=channel)
    assert "already is Incident manager" in reply.text
    assert len(events(harness, kind="role_assigned")) == 1
