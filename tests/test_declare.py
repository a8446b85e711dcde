"""Declaring incidents through signed slash commands, the modal, and Slack's retries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from ircbot.store.models import PendingDeclare
from tests.conftest import Harness
from tests.factories import ALICE, BOB
from tests.scenario import bot_messages, buttons, channel_text, events, incident, incident_count, welcome


def test_declare_opens_private_channel_with_topic_welcome_and_link(harness: Harness) -> None:
    emu = harness.emulator
    result, channel_id = harness.declare("Ransomware on FS01 sev1")

    assert result.status == 200 and result.elapsed < 3.0
    channel = emu.channel(channel_id)
    assert channel["name"] == "inc-1-ransomware-on-fs01"
    assert channel["is_private"] is True
    assert ALICE in channel["members"]
    assert "SEV1" in channel["topic"] and "Detection" in channel["topic"] and f"<@{ALICE}>" in channel["topic"]

    card = welcome(emu, channel_id)
    assert card.get("pinned")
    text = emu.message_text(card)
    assert "INC-1: Ransomware on FS01" in text and "Detection checklist" in text
    assert "Incident manager" in text and f"<@{ALICE}>" in text
    assert [b["text"]["text"] for b in buttons(card)][:1] == ["Tick"]
    assert f"<#{channel_id}>" in result.text or channel_id in str(result.responses)

    stored = incident(harness)
    assert (stored.severity, stored.stage, stored.is_private, stored.channel_id) == (
        "sev1",
        "detection",
        True,
        channel_id,
    )
    kinds = [e.kind for e in events(harness)]
    assert kinds[:2] == ["declared", "role_assigned"] and "channel_created" in kinds


def test_declare_stays_within_six_web_api_calls(harness: Harness) -> None:
    harness.slash("help")  # Bolt's one-off auth.test happens on the first request
    before = len(harness.emulator.calls)
    harness.declare("Phish wave sev4")  # sev4 pages nobody, so only the declare's own calls are counted
    methods = [c.method for c in harness.emulator.calls[before:]]
    assert len(methods) <= 6, methods
    assert methods[0] == "conversations.create"


def test_public_playbook_and_drill_flags(harness: Harness) -> None:
    emu = harness.emulator
    _, channel_id = harness.declare("Tabletop: lost laptop sev3 --public --playbook phishing --drill")
    assert emu.channel(channel_id)["is_private"] is False
    assert "DRILL" in emu.channel(channel_id)["topic"]
    text = emu.message_text(welcome(emu, channel_id))
    assert "[DRILL]" in text and "Drill" in text
    stored = incident(harness)
    assert stored.is_drill and stored.playbook == "phishing" and stored.severity == "sev3"


def test_em_dash_flags_from_slack_clients_work(harness: Harness) -> None:
    _, channel_id = harness.declare("Website defaced sev2 —public")
    assert harness.emulator.channel(channel_id)["is_private"] is False


def test_taken_channel_name_gets_a_suffix(harness: Harness) -> None:
    harness.emulator.add_channel("inc-1-db-leak", members=[BOB])
    _, channel_id = harness.declare("DB leak")
    assert harness.emulator.channel(channel_id)["name"] == "inc-1-db-leak-2"


def test_long_and_unicode_titles_make_valid_channel_names(harness: Harness) -> None:
    _, channel_id = harness.declare("Ünïcödé exfiltration via S3 bucket " + "very long words " * 6)
    name = harness.emulator.channel(channel_id)["name"]
    assert len(name) <= 80 and name.startswith("inc-1-unicode-exfiltration-via-s3-bucket")


def test_channel_creation_failure_leaves_no_incident(harness: Harness) -> None:
    harness.emulator.fail_next("conversations.create", "restricted_action")
    result = harness.slash("declare Ransomware on FS01 sev1")
    assert "restricted_action" in result.text and "nothing was declared" in result.text
    assert incident_count(harness) == 0
    assert "No open incidents" in harness.slash("list").text


def test_a_rate_limited_channel_creation_waits_and_is_retried(harness: Harness) -> None:
    harness.emulator.rate_limit_next("conversations.create", retry_after=0)
    _, channel_id = harness.declare("Credential stuffing sev2")
    assert len(harness.emulator.calls_to("conversations.create")) == 2
    assert bot_messages(harness.emulator, channel_id)


def test_a_welcome_card_slack_failed_to_post_is_posted_once_when_the_declare_resumes(harness: Harness) -> None:
    harness.emulator.server_error_next("chat.postMessage", status=503)  # a 503 may come after the work: no blind retry
    result, channel_id = harness.declare("Credential stuffing sev2")
    assert "post the welcome message" in result.text
    assert not cards(harness, channel_id)
    harness.advance(seconds=31)  # the declare's lease runs out; the runner resumes it
    harness.run_timers()  # and tells the declarer on its next round
    assert len(cards(harness, channel_id)) == 1
    told = [harness.emulator.message_text(m) for m in dm_messages(harness, ALICE)]
    assert len(told) == 1 and "has now finished" in told[0] and channel_id in told[0]


def test_a_welcome_card_whose_answer_was_lost_is_not_posted_twice(harness: Harness) -> None:
    harness.emulator.lose_answer_next("chat.postMessage", status=500)
    _, channel_id = harness.declare("Credential stuffing sev2")
    assert len(cards(harness, channel_id)) == 1
    harness.advance(seconds=31)
    assert len(cards(harness, channel_id)) == 1, "the resumed declare found its tagged card"
    assert cards(harness, channel_id)[0].get("pinned_to")


def test_a_channel_created_while_its_answer_was_lost_is_found_not_made_again(harness: Harness) -> None:
    harness.emulator.lose_answer_next("conversations.create", status=500)
    result = harness.slash("declare Credential stuffing sev2")
    assert "Slack did not answer" in result.text and "tell you by DM" in result.text
    made = [c for c in harness.emulator.channels() if c["name"].startswith("inc-1-")]
    assert len(made) == 1
    harness.advance(seconds=31)
    harness.run_timers()
    assert [c["id"] for c in harness.emulator.channels() if c["name"].startswith("inc-")] == [made[0]["id"]]
    assert len(cards(harness, made[0]["id"])) == 1
    assert ALICE in harness.emulator.channel(made[0]["id"])["members"]
    told = [harness.emulator.message_text(m) for m in dm_messages(harness, ALICE)]
    assert len(told) == 1 and "INC-1" in told[0]
    assert not harness.emulator.violations


def cards(harness: Harness, channel: str) -> list[dict[str, Any]]:
    return [m for m in bot_messages(harness.emulator, channel) if m["text"].startswith("INC-1: ")]


def dm_messages(harness: Harness, user: str) -> list[dict[str, Any]]:
    channel = harness.emulator.im_channel(user)
    return harness.emulator.messages(channel) if channel else []


def test_slack_retry_of_the_same_command_declares_once(harness: Harness) -> None:
    first = harness.slash("declare Ransomware on FS01 sev1")
    retry = harness.driver.resend(first)
    again = harness.driver.resend(first)
    assert retry.status == 200 and again.status == 200
    harness.wait_for(lambda: incident_count(harness) == 1)
    assert incident_count(harness) == 1
    assert len([c for c in harness.emulator.channels() if c["name"].startswith("inc-")]) == 1
    assert len(harness.emulator.calls_to("conversations.create")) == 1


def test_declare_without_arguments_opens_the_modal(harness: Harness) -> None:
    emu = harness.emulator
    harness.slash("declare", wait=False)
    harness.wait_for(lambda: emu.views)
    view_id, view = next(iter(emu.views.items()))
    assert view["callback_id"] == "declare_modal"

    empty = harness.driver.submit_view(ALICE, view_id, {"title": {"value": {"type": "plain_text_input", "value": ""}}})
    assert empty.status == 200 and empty.json()["response_action"] == "errors"
    assert incident_count(harness) == 0

    values = {
        "title": {"value": {"type": "plain_text_input", "value": "Suspicious OAuth app"}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": "sev2"}}},
        "playbook": {"value": {"type": "static_select", "selected_option": {"value": "phishing"}}},
        "options": {"value": {"type": "checkboxes", "selected_options": [{"value": "public"}]}},
    }
    assert harness.driver.submit_view(ALICE, view_id, values).status == 200
    harness.wait_for(lambda: emu.im_channel(ALICE) and bot_messages(emu, emu.im_channel(ALICE) or ""))
    stored = incident(harness)
    assert (stored.title, stored.severity, stored.playbook, stored.is_private) == (
        "Suspicious OAuth app",
        "sev2",
        "phishing",
        False,
    )
    assert "INC-1" in channel_text(emu, emu.im_channel(ALICE) or "")


def test_the_declare_form_takes_when_impact_started_and_when_it_was_detected(harness: Harness) -> None:
    emu = harness.emulator
    harness.slash("declare", wait=False)
    view_id = harness.wait_for(lambda: next(iter(emu.views), None))
    labels = [b["label"]["text"] for b in emu.views[view_id]["blocks"] if b.get("type") == "input"]
    assert any(label.startswith("Impact started") for label in labels) and any(
        label.startswith("Detected") for label in labels
    )

    def text(value: str) -> dict[str, str]:
        return {"type": "plain_text_input", "value": value}

    values = {"title": {"value": text("Payroll export leaked")}, "started": {"value": text("yesterday-ish")}}
    refused = harness.driver.submit_view(ALICE, view_id, values)
    assert refused.json()["response_action"] == "errors" and "started" in refused.json()["errors"]
    values = {
        "title": {"value": text("Payroll export leaked")},
        "started": {"value": text("5h")},
        "detected": {"value": text("2h")},
    }
    assert harness.driver.submit_view(ALICE, view_id, values).status == 200
    harness.wait_for(lambda: incident_count(harness) == 1)
    stored = incident(harness)
    now = harness.clock.peek()
    assert stored.started_at is not None and abs(stored.started_at - (now - timedelta(hours=5))) < timedelta(minutes=1)
    assert abs(stored.detected_at - (now - timedelta(hours=2))) < timedelta(minutes=1)


def test_a_failing_step_after_the_channel_exists_is_reported_and_recorded(harness: Harness) -> None:
    harness.emulator.fail_next("conversations.setTopic", "restricted_action")
    result, channel_id = harness.declare("Phish wave sev4")
    assert "Could not set the topic: Slack said `restricted_action`" in result.text
    assert [e.text for e in events(harness, kind="warning")] == [
        "Could not set the topic: Slack said `restricted_action`."
    ]
    assert welcome(harness.emulator, channel_id).get("pinned"), "the other steps still happened"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # a row lock another connection holds
def test_a_submitted_declare_form_is_kept_before_the_form_closes(harness: Harness) -> None:
    harness.declare("Credential stuffing sev4")  # the incident-number counter row now exists
    harness.slash("declare", wait=False)
    view_id = harness.wait_for(lambda: next(iter(harness.emulator.views), None))
    values = {"title": {"value": {"type": "plain_text_input", "value": "Suspicious OAuth app"}}}
    with harness.bot.db.engine.connect() as other:  # another replica is allocating a number: the declare waits
        other.execute(text("SELECT value FROM counter FOR UPDATE"))

        assert harness.driver.submit_view(ALICE, view_id, values).status == 200

        with harness.bot.db.transaction() as session:  # the form is closed: a crash now must not lose it
            kept = session.exec(select(PendingDeclare)).all()
        assert [p.request_key for p in kept] == [f"view:{view_id}"]
        other.rollback()
    harness.wait_for(lambda: incident_count(harness) == 2)
    assert incident(harness, 2).title == "Suspicious OAuth app"
    with harness.bot.db.transaction() as session:
        assert session.exec(select(PendingDeclare)).all() == []
