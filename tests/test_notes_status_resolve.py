"""Timeline notes, status, listing and resolving with a postmortem upload."""

from __future__ import annotations

from tests.conftest import Harness
from tests.factories import BOB, MALLORY
from tests.scenario import channel_text, events, incident


def test_note_is_recorded_and_shown(harness: Harness) -> None:
    _, channel = harness.declare()
    harness.slash('note Found "mimikatz" on FS01 — isolating', channel=channel, user=BOB)
    notes = events(harness, kind="note")
    assert [n.text for n in notes] == ['Found "mimikatz" on FS01 — isolating'] and notes[0].actor == BOB
    assert "mimikatz" in channel_text(harness.emulator, channel)


def test_status_shows_severity_stage_roles_progress_and_when_declared(harness: Harness) -> None:
    _, channel = harness.declare()
    harness.slash("check 1", channel=channel)
    text = harness.slash("status", channel=channel).text
    for expected in ("SEV1", "Detection", "Incident manager", "*Declared*\n<!date^", "1/4 done", "Analysis 0/"):
        assert expected in text, expected


def test_key_first_works_outside_the_channel_and_private_incidents_stay_hidden(harness: Harness) -> None:
    harness.declare()
    assert "Status of INC-1" in harness.slash("INC-1 status").text
    assert "Status of INC-1" in harness.slash("status INC-1").text
    hidden = harness.slash("INC-1 status", user=MALLORY).text
    assert "no incident INC-1 that you can see" in hidden and "Ransomware" not in hidden
    assert "Ransomware" in harness.slash("list").text
    assert "No open incidents" in harness.slash("list", user=MALLORY).text


def test_resolve_stamps_posts_summary_and_uploads_the_postmortem(harness: Harness) -> None:
    emu = harness.emulator
    _, channel = harness.declare()
    harness.slash(f"assign analyst <@{BOB}|bob>", channel=channel)
    harness.slash("check 1", channel=channel)
    harness.slash("note Patient zero: phishing mail to j.doe", channel=channel)
    reply = harness.slash("resolve Restored from immutable backups --false-positive", channel=channel)
    assert "is resolved" in reply.text

    stored = incident(harness)
    assert stored.status == "resolved" and stored.resolved_at is not None and stored.false_positive
    assert stored.summary == "Restored from immutable backups"
    assert "resolved* by" in channel_text(emu, channel) and "false positive" in channel_text(emu, channel)
    assert [c.method for c in emu.calls if c.method.startswith("files.")] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    (upload,) = emu.files.values()
    markdown = upload["content"].decode()
    for expected in (
        "# Postmortem INC-1: Ransomware on FS01",
        "Security analyst",
        "### Detection",
        "[x] ",
        "Patient zero",
        "MTTR (time to resolve)",
        "Restored from immutable backups",
    ):
        assert expected in markdown, expected
    assert channel in upload["channels"]
    assert "already resolved" in harness.slash("resolve", channel=channel).text
    assert "checklists are closed" in harness.slash("check 2", channel=channel).text


def test_postmortem_recompiles_on_request(harness: Harness) -> None:
    _, channel = harness.declare()
    assert "Postmortem compiled" in harness.slash("postmortem", channel=channel).text
    assert len(harness.emulator.files) == 1
