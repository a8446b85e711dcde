"""The pinned incident card follows the incident: redrawn in place after each burst of changes."""

from __future__ import annotations

import json
from typing import Any

from ircbot.domain.cards import pinned_card
from tests.conftest import Harness
from tests.factories import ALICE, BOB
from tests.scenario import buttons, welcome


def pinned(h: Harness, channel: str) -> dict[str, Any]:
    card = welcome(h.emulator, channel)
    return next(m for m in h.emulator.messages(channel) if m["ts"] == card["ts"])


def test_the_card_follows_ticks_stage_role_and_severity_in_one_redraw(harness: Harness) -> None:
    _, channel = harness.declare("Payroll data exfiltration sev2")
    before = harness.emulator.message_text(pinned(harness, channel))
    assert "*Stage*\nDetection" in before and "SEV2" in before

    harness.slash("check 1", channel=channel)
    harness.slash("check 2", channel=channel)
    harness.slash(f"assign analyst <@{BOB}|bob>", channel=channel)
    harness.slash("severity sev1", channel=channel)
    harness.slash("stage next --force", channel=channel)
    assert not harness.emulator.calls_to("chat.update"), "a burst of changes waits to be drawn once"
    harness.advance(seconds=3)

    after = harness.emulator.message_text(pinned(harness, channel))
    assert "*Stage*\nAnalysis" in after and "SEV1" in after and f"*Security analyst*: <@{BOB}>" in after
    assert "Age" not in after and "<!date^" in after, "times are Slack dates each reader sees in their zone"
    assert len(harness.emulator.calls_to("chat.update")) == 1


def test_a_resolved_incidents_card_shows_it_resolved_with_no_live_buttons(harness: Harness) -> None:
    _, channel = harness.declare("Payroll data exfiltration sev2")
    assert buttons(pinned(harness, channel))
    harness.slash("resolve Exfiltration stopped; credentials rotated", channel=channel)
    harness.advance(seconds=3)

    card = pinned(harness, channel)
    assert "*Resolved*" in harness.emulator.message_text(card)
    assert buttons(card) == []


def test_a_refused_redraw_is_tried_again_and_shows_the_latest_state(harness: Harness) -> None:
    _, channel = harness.declare("Payroll data exfiltration sev2")
    harness.emulator.fail_next("chat.update", "update_failed")
    harness.slash("severity sev1", channel=channel)
    harness.advance(seconds=3)
    assert "SEV2" in harness.emulator.message_text(pinned(harness, channel)), "Slack refused the redraw"
    harness.slash("stage next --force", channel=channel)

    harness.advance(seconds=35)

    text = harness.emulator.message_text(pinned(harness, channel))
    assert "SEV1" in text and "*Stage*\nAnalysis" in text


def test_a_tick_on_the_card_redraws_it_at_once_and_tells_the_channel(harness: Harness) -> None:
    _, channel = harness.declare("Payroll data exfiltration sev4")
    card = pinned(harness, channel)

    harness.driver.click(ALICE, channel, card["ts"], "checklist_toggle_1")

    assert buttons(pinned(harness, channel))[0]["text"]["text"] == "Untick"
    harness.wait_for(
        lambda: "ticked Detection #1" in harness.emulator.message_text(harness.emulator.messages(channel)[-1])
    )


def test_a_checklist_longer_than_a_message_holds_names_what_is_not_shown() -> None:
    from datetime import UTC, datetime, timedelta

    from ircbot.domain.messages import ChecklistCard
    from ircbot.domain.views import IncidentView, ItemView, RoleHolder
    from ircbot.emulator.blocks import block_problems
    from ircbot.slack.render import CARD_ITEMS, render_message

    items = tuple(ItemView("detection", n, f"Step {n}", False, None, None) for n in range(1, 61))
    view = IncidentView(
        id=1,
        key="INC-1",
        title="Long",
        severity="sev2",
        stage="detection",
        status="open",
        is_private=True,
        is_drill=True,
        playbook="default",
        channel_id="C1",
        channel_name="inc-1",
        declared_by="U1",
        declared_at=datetime(2026, 12, 1, tzinfo=UTC),
        resolved_at=None,
        age=timedelta(0),
        roles=(RoleHolder("manager", "Incident manager", "U1"),),
        checklist=items,
        progress={"detection": (0, 60)},
        acknowledged_by=None,
        pending_pages=0,
        next_page_at=None,
        undelivered=0,
    )
    _, card = render_message(pinned_card(view))
    _, stage = render_message(ChecklistCard(view, note=""))

    assert not block_problems(card) and not block_problems(stage)
    card_text = json.dumps(card, ensure_ascii=False)
    assert "Items 41–60 are not shown here: `/incident stage` shows the rest" in card_text  # a drill: one block less
    assert CARD_ITEMS == 41, "check-config warns above what the card shows in the worst case"
    assert "Step 60" in json.dumps(stage), "`/incident stage` shows every item"
