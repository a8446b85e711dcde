"""Stage checklists: ticking by command and by button, moving on, the required-item guard."""

from __future__ import annotations

from tests.conftest import Harness
from tests.factories import BOB
from tests.scenario import buttons, channel_text, events, incident, welcome


def test_stage_shows_the_current_checklist(harness: Harness) -> None:
    _, channel = harness.declare()
    text = harness.slash("stage", channel=channel).text
    assert "Detection checklist" in text and "(required)" in text and "1." in text


def test_check_and_uncheck_by_command(harness: Harness) -> None:
    emu = harness.emulator
    _, channel = harness.declare()
    ticked = harness.slash("check 1", channel=channel, user=BOB)
    assert ticked.responses[-1]["response_type"] == "in_channel"
    assert "ticked Detection #1" in channel_text(emu, channel)
    assert "already ticked" in harness.slash("check 1", channel=channel).text
    harness.slash("uncheck 1", channel=channel)
    kinds = [e.kind for e in events(harness) if e.kind.startswith("item_")]
    assert kinds == ["item_checked", "item_unchecked"]


def test_button_ticks_the_item_and_updates_the_message_in_place(harness: Harness) -> None:
    emu = harness.emulator
    _, channel = harness.declare("Ransomware on FS01 sev4")  # no pages posting around the card
    card = welcome(emu, channel)
    assert buttons(card)[0]["text"]["text"] == "Tick"
    harness.driver.event({"type": "member_joined_channel", "user": BOB, "channel": channel}, event_id="Ev0JOINB")
    # Bob may see the incident once his join is processed ("There is no incident INC-1 that you can see" before).
    harness.wait_for(lambda: "Status of INC-1" in harness.slash("INC-1 status", user=BOB).text)
    posted_before = len(emu.messages(channel))
    items = [
        b["text"]["text"].split(". ", 1)[1].removesuffix(" *(required)*") for b in card["blocks"] if b.get("accessory")
    ]
    clicked = harness.driver.click(BOB, channel, card["ts"], "checklist_toggle_1")
    updated = next(m for m in emu.messages(channel) if m["ts"] == card["ts"])
    calls = [(c.method, c.args.get("ts")) for c in emu.calls if c.method == "chat.update"]
    assert buttons(updated)[0]["text"]["text"] == "Untick", (clicked.responses, calls)
    assert f"<@{BOB}>" in emu.message_text(updated)
    told = harness.wait_for(lambda: emu.messages(channel)[posted_before:])
    assert [emu.message_text(m) for m in told] == [
        f":ballot_box_with_check: <@{BOB}> ticked Detection #1: {items[0]} (1/4 done)"
    ], "the card is edited in place, and the channel told as when the command ticks"
    harness.driver.click(BOB, channel, card["ts"], "checklist_toggle_1")
    again = next(m for m in emu.messages(channel) if m["ts"] == card["ts"])
    assert buttons(again)[0]["text"]["text"] == "Tick"
    harness.wait_for(lambda: "unticked Detection #1" in emu.message_text(emu.messages(channel)[-1]))


def test_required_items_block_moving_on_unless_forced_and_force_is_recorded(harness: Harness) -> None:
    _, channel = harness.declare()
    refused = harness.slash("stage next", channel=channel).text
    assert "required item(s) are not ticked" in refused and "--force" in refused
    assert incident(harness).stage == "detection"

    harness.slash("stage next --force", channel=channel)
    assert incident(harness).stage == "analysis"
    forced = events(harness, kind="stage_forced")
    assert len(forced) == 1 and forced[0].data["skipped"]


def test_moving_by_name_and_leaving_containment_stamps_contained_at(harness: Harness) -> None:
    _, channel = harness.declare()
    harness.slash("stage containment --force", channel=channel)
    assert incident(harness).stage == "containment" and incident(harness).contained_at is None
    harness.slash("stage eradication --force", channel=channel)
    stored = incident(harness)
    assert stored.stage == "eradication" and stored.contained_at is not None
    assert "Stage: Eradication" in harness.emulator.channel(channel)["topic"]


def test_ticking_all_required_items_lets_the_stage_move(harness: Harness) -> None:
    _, channel = harness.declare()
    harness.slash("check 1", channel=channel)
    harness.slash("check 2", channel=channel)
    moved = harness.slash("stage next", channel=channel)
    assert "to *Analysis*" in moved.text
    assert events(harness, kind="stage_forced") == []
