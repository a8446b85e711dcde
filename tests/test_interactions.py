"""Buttons go through the same rules as the commands they stand for, and answer like them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import select

from ircbot.domain import notices
from ircbot.store import queries
from ircbot.store.models import Notice
from tests.conftest import Harness
from tests.factories import ALICE, BOB, MALLORY, escalation_config, roles_config
from tests.scenario import incident

LEADERSHIP = {"leadership": {"title": "Executive leadership", "channel": None, "email": ["exec@example.com"]}}


def dms(h: Harness, user: str) -> list[dict[str, Any]]:
    channel = h.emulator.im_channel(user)
    return h.emulator.messages(channel) if channel else []


def test_an_acknowledged_page_stays_in_the_readers_time_zone(harness: Harness) -> None:
    harness.declare("Ransomware on FS01 sev1")
    harness.run_timers()  # tier 1 pages the manager and the analyst at once
    page = dms(harness, ALICE)[0]
    shown = harness.emulator.message_text(page)
    zone = "CEST" if "CEST" in shown else "CET"  # Alice reads Slack in Europe/Berlin
    assert zone in shown and " UTC" not in shown.split("Declared by")[1].split("\n")[0]

    im = harness.emulator.im_channel(ALICE)
    assert im is not None
    harness.driver.click(ALICE, im, str(page["ts"]), "page_ack")
    updated = next(m for m in harness.emulator.messages(im) if m["ts"] == page["ts"])
    after = harness.emulator.message_text(updated)
    assert "Acknowledged by" in after
    assert zone in after and " UTC" not in after.split("Declared by")[1].split("\n")[0]


def test_a_page_button_clicked_by_someone_not_brought_in_is_refused(harness: Harness) -> None:
    harness.declare("Ransomware on FS01 sev1")
    harness.run_timers()
    page = dms(harness, BOB)[0]
    im = harness.emulator.im_channel(BOB)
    assert im is not None

    refused = harness.driver.click(MALLORY, im, str(page["ts"]), "page_ack")

    assert "You were not brought into this incident" in refused.text and "INC-1" not in refused.text
    assert incident(harness).acknowledged_at is None


def test_a_notice_button_allows_no_more_than_the_notify_command(make_harness: Callable[..., Harness]) -> None:
    escalation = {**escalation_config(), "audiences": LEADERSHIP}
    open_to_all = make_harness(escalation=escalation)
    _, channel = open_to_all.declare("Payroll data exfiltration sev2")
    open_to_all.slash("notify leadership", channel=channel)
    draft = open_to_all.emulator.ephemerals(ALICE)[-1]
    # The same workspace and database, now with roles.yaml saying only the comms lead may notify.
    comms_only = roles_config()
    comms_only["roles"]["comms"]["may"] = ["notify"]  # type: ignore[index]
    restricted = make_harness(roles=comms_only, escalation=escalation)

    typed = restricted.slash("notify leadership", channel=channel)
    clicked = restricted.driver.click(ALICE, channel, draft["ts"], "notice_send")

    assert "Only the Communications lead may `notify`" in typed.text
    assert "Only the Communications lead may `notify`" in clicked.text
    with restricted.bot.db.transaction() as session:
        assert [n.status for n in session.exec(select(Notice)).all()] == ["draft"]


def test_a_command_typed_elsewhere_with_the_key_answers_only_the_caller(harness: Harness) -> None:
    harness.declare("Payroll data exfiltration sev2")

    reply = harness.slash("INC-1 note exfil via rclone to 203.0.113.9", channel=harness.general)

    assert "noted in INC-1" in reply.text
    everyone_sees = "\n".join(harness.emulator.message_text(m) for m in harness.emulator.messages(harness.general))
    assert "rclone" not in everyone_sees, "a private incident's details stay out of other channels"


def test_leaving_a_private_incidents_channel_ends_access(harness: Harness) -> None:
    _, channel = harness.declare("Payroll data exfiltration sev2")
    harness.slash(f"assign analyst <@{BOB}|bob>", channel=channel)
    assert "Status of INC-1" in harness.slash("INC-1 status", user=BOB).text

    left = harness.driver.event({"type": "member_left_channel", "user": BOB, "channel": channel}, event_id="Ev0LEFT1")
    assert left.status == 200
    harness.wait_for(lambda: "no incident INC-1 that you can see" in harness.slash("INC-1 status", user=BOB).text)
    assert "INC-1" not in harness.slash("list", user=BOB).text


def test_a_tick_on_a_card_from_before_leaving_is_refused(harness: Harness) -> None:
    _, channel = harness.declare("Payroll data exfiltration sev2")
    harness.slash(f"assign analyst <@{BOB}|bob>", channel=channel)
    harness.slash("check 1", user=BOB, channel=channel)
    harness.slash("status", user=BOB, channel=channel)
    card = harness.emulator.ephemerals(BOB)[-1]  # the status card Bob was shown, with its Tick buttons
    harness.driver.event({"type": "member_left_channel", "user": BOB, "channel": channel}, event_id="Ev0LEFT2")
    harness.wait_for(lambda: "no incident INC-1 that you can see" in harness.slash("INC-1 status", user=BOB).text)

    refused = harness.driver.click(BOB, channel, card["ts"], "checklist_toggle_2")

    assert "You were not brought into this incident" in refused.text
    assert "Payroll" not in refused.text
    with harness.bot.db.transaction() as session:
        items = queries.checklist(session=session, incident_id=incident(harness).id or 0)
    assert [i.checked_by for i in items if i.checked_by] == [BOB], "only the item Bob ticked while he was in"


def test_send_approves_the_words_the_approver_saw(make_harness: Callable[..., Harness]) -> None:
    probe = make_harness()
    board = probe.emulator.add_channel("exec-briefing", bot_member=True)
    escalation = {**escalation_config(), "audiences": {"leadership": {"title": "Leadership", "channel": board}}}
    h = make_harness(escalation=escalation)
    _, channel = h.declare("Payroll data exfiltration sev2")
    h.slash("notify leadership", channel=channel)
    seen = h.emulator.ephemerals(ALICE)[-1]
    with h.bot.db.transaction() as session:  # someone else saves new words through the editor meanwhile
        draft = session.exec(select(Notice)).one()
    notices.edit(h.bot.services, notice_id=draft.id or 0, subject="Briefing", body="Forged figures", actor=BOB)

    stale = h.driver.click(ALICE, channel, seen["ts"], "notice_send")

    assert "Not sent: the words changed" in stale.text and "Forged figures" in stale.text
    assert "Forged figures" not in "\n".join(h.emulator.message_text(m) for m in h.emulator.messages(board))
    with h.bot.db.transaction() as session:
        assert session.exec(select(Notice)).one().status == "draft"
