"""`/incident join`: public incidents let anyone in; private ones ask who may approve, telling the asker nothing."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness
from tests.factories import ALICE, BOB, MALLORY
from tests.scenario import channel_text, events


def dms(h: Harness, user: str) -> list[str]:
    channel = h.emulator.im_channel(user)
    return [h.emulator.message_text(m) for m in h.emulator.messages(channel)] if channel else []


def prompt(h: Harness, channel: str) -> dict[str, Any]:
    return h.wait_for(lambda: next((m for m in h.emulator.messages(channel) if "asks to join" in m["text"]), None))


def test_anyone_joins_a_public_incident_at_once(harness: Harness) -> None:
    _, channel = harness.declare("Phishing wave against finance --public sev3")

    reply = harness.slash("join INC-1", user=MALLORY)

    assert f"<#{channel}>" in reply.text
    assert MALLORY in harness.emulator.channel(channel)["members"]
    assert [e.actor for e in events(harness, kind="join_asked")] == [MALLORY]


def test_a_private_incident_asks_its_manager_and_tells_the_asker_nothing(harness: Harness) -> None:
    _, channel = harness.declare("Payroll data exfiltration sev2")
    harness.slash(f"assign analyst <@{BOB}|bob>", channel=channel)

    reply = harness.slash("join INC-1", user=MALLORY)

    assert "request to join INC-1 was sent" in reply.text
    assert "Payroll" not in reply.text and channel not in reply.text
    assert MALLORY not in harness.emulator.channel(channel)["members"]
    asked = prompt(harness, channel)
    refused = harness.driver.click(BOB, channel, asked["ts"], "join_approve")
    assert "Only the Incident manager may answer requests to join INC-1" in refused.text
    assert "no incident INC-1 that you can see" in harness.slash("INC-1 status", user=MALLORY).text

    harness.driver.click(ALICE, channel, asked["ts"], "join_approve")

    assert MALLORY in harness.emulator.channel(channel)["members"]
    assert "Payroll" in harness.slash("INC-1 status", user=MALLORY).text
    assert any("let you into INC-1" in text for text in dms(harness, MALLORY))
    answered = next(m for m in harness.emulator.messages(channel) if m["ts"] == asked["ts"])
    assert f"let in by <@{ALICE}>" in harness.emulator.message_text(answered)
    assert [(e.actor, e.data["user"]) for e in events(harness, kind="join_approved")] == [(ALICE, MALLORY)]


def test_a_turned_down_request_says_so_and_keeps_the_incident_hidden(harness: Harness) -> None:
    _, channel = harness.declare("Payroll data exfiltration sev2")
    harness.slash("join INC-1", user=MALLORY)
    prompt(harness, channel)

    harness.slash(f"join deny <@{MALLORY}>", channel=channel)

    told = dms(harness, MALLORY)
    assert any("request to join INC-1 was turned down" in text for text in told)
    assert not any("Payroll" in text for text in told)
    assert "no incident INC-1 that you can see" in harness.slash("INC-1 status", user=MALLORY).text
    assert "turned down" in channel_text(harness.emulator, channel)
    again = harness.slash(f"join approve <@{MALLORY}>", channel=channel)
    assert "has no request to join waiting" in again.text


def test_the_asker_cannot_answer_their_own_request(harness: Harness) -> None:
    _, channel = harness.declare("Payroll data exfiltration sev2")
    harness.slash("join INC-1", user=MALLORY)
    asked = prompt(harness, channel)

    forged = harness.driver.click(MALLORY, channel, asked["ts"], "join_approve")

    assert "You were not brought into this incident" in forged.text
    assert MALLORY not in harness.emulator.channel(channel)["members"]


def test_join_names_the_problem_with_bad_input(harness: Harness) -> None:
    assert "There is no incident INC-99" in harness.slash("join INC-99", user=MALLORY).text
    assert "/incident join INC-7" in harness.slash("join", user=MALLORY).text
    assert "Name the incident to join" in harness.slash("join FS01", user=MALLORY).text
