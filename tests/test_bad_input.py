"""Bad input gets an ephemeral answer naming the problem and the usage; forged requests get 401.

The answers are checked at the dispatcher; one signed-HTTP test per path (slash command, click, form,
event) shows they reach the person the same way.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from ircbot.commands.base import Invocation
from ircbot.commands.dispatch import dispatch
from ircbot.domain.messages import Reply, Text
from ircbot.domain.services import Services
from ircbot.store.models import Incident
from tests.conftest import CHANNEL_LINK, Harness
from tests.factories import ALICE
from tests.scenario import incident_count
from tests.test_domain import FakeChat, FakeClock, make_services


def ephemeral(result_text: str, responses: list[dict[str, object]]) -> str:
    assert all(r.get("response_type", "ephemeral") == "ephemeral" for r in responses), responses
    return result_text


GENERAL = "C0GENERAL"


def answer(svc: Services, text: str, channel: str = GENERAL) -> str:
    """What the dispatcher answers `/incident <text>` typed by Alice: an ephemeral text, never a crash."""
    outcome = dispatch(svc, Invocation(user_id=ALICE, channel_id=channel, text=text))
    assert isinstance(outcome, Reply) and outcome.visibility == "ephemeral", outcome
    assert isinstance(outcome.message, Text), outcome
    return outcome.message.text


def declared_channel(svc: Services) -> str:
    """Declare the harness's default incident through the dispatcher; its channel id."""
    found = CHANNEL_LINK.findall(answer(svc, "declare Ransomware on FS01 sev1"))
    assert found, "declare did not answer with a channel link"
    return str(found[0])


@pytest.fixture
def svc(tmp_path: Path, sqlite_template: Path) -> Iterator[Services]:
    """The domain behind the commands: real config and SQLite, a recording chat port."""
    yield from make_services(tmp_path, FakeChat(), FakeClock(), template=sqlite_template)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("frobnicate", ["no subcommand `frobnicate`", "/incident declare"]),
        ("", ["`/incident` subcommands"]),
        (
            "assign wizard",
            ["no role `wizard`", "manager, analyst, legal, comms, forensics", "Usage: `/incident assign"],
        ),
        ("assign", ["Name the role", "Usage: `/incident assign"]),
        ("assign analyst @bob", ["not a Slack user mention", "autocomplete", "Usage: `/incident assign"]),
        ("stage launch", ["no stage `launch`", "detection, analysis, containment", "Usage: `/incident stage"]),
        ("check 99", ["no item 99", "has items 1–4"]),
        ("check one", ["not a checklist item number", "Usage: `/incident check <n>`"]),
        ("check", ["Give one item number", "Usage: `/incident check <n>`"]),
        ("note", ["A note needs text", "Usage: `/incident note <text>`"]),
        ("stage next --fast", ["Unknown option `--fast`", "--force"]),
    ],
)
def test_bad_commands_inside_an_incident_are_answered_ephemerally(
    svc: Services, command: str, expected: list[str]
) -> None:
    channel = declared_channel(svc)
    text = answer(svc, command, channel)
    for fragment in expected:
        assert fragment in text, (fragment, text)
    assert "Traceback" not in text


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("declare Outage sev7", ["`sev7` is not a severity", "sev1, sev2, sev3, sev4"]),
        ("declare Outage sev1 sev2", ["one severity"]),
        ("declare sev1", ["needs a title"]),
        ("declare Outage --playbook cooking", ["no playbook `cooking`", "data-breach, default, phishing, ransomware"]),
        ("declare Outage --playbook", ["`--playbook` needs a value"]),
        ("declare Outage --started tomorrowish", ["is not a time for --started"]),
        ("status", ["not an incident channel", "INC-<n> status"]),
        ("INC-42 status", ["no incident INC-42"]),
        ('note "unbalanced quote', ["not an incident channel"]),
    ],
)
def test_bad_commands_outside_an_incident_make_nothing(svc: Services, command: str, expected: list[str]) -> None:
    text = answer(svc, command)
    for fragment in expected:
        assert fragment in text, (fragment, text)
    with svc.db.transaction() as session:
        assert session.exec(select(Incident)).first() is None, "no incident was recorded"
    assert isinstance(svc.chat, FakeChat) and svc.chat.create_attempts == [], "no channel was even attempted"


# --- the same answers end to end: a signed slash command, a click, a form and an event over HTTP ----------------


def test_bad_slash_commands_over_signed_http_are_answered_ephemerally_and_make_nothing(harness: Harness) -> None:
    result = harness.slash("declare Outage sev7")
    text = ephemeral(result.text, result.responses)
    assert "`sev7` is not a severity" in text and "sev1, sev2, sev3, sev4" in text
    assert incident_count(harness) == 0
    assert not [c for c in harness.emulator.channels() if c["name"].startswith("inc-")]
    _, channel = harness.declare()
    result = harness.slash("frobnicate", channel=channel)
    text = ephemeral(result.text, result.responses)
    assert "no subcommand `frobnicate`" in text and "/incident declare" in text
    assert "Traceback" not in text


def test_a_bad_form_over_signed_http_names_the_field_and_posts_nothing(harness: Harness) -> None:
    _, channel = harness.declare("Credential stuffing sev4")
    before = len(harness.emulator.messages(channel))
    harness.slash("update", channel=channel, wait=False)
    view_id = harness.wait_for(
        lambda: next((k for k, v in harness.emulator.views.items() if v["callback_id"] == "update_modal"), None)
    )
    values = {
        "status": {"value": {"type": "plain_text_input", "value": "Blocking the botnet"}},
        "next_update": {"value": {"type": "plain_text_input", "value": "soonish"}},
    }
    submitted = harness.driver.submit_view(ALICE, view_id, values)
    assert submitted.status == 200
    assert submitted.json() == {
        "response_action": "errors",
        "errors": {"next_update": "Write a duration such as 30m or 2h."},
    }
    assert len(harness.emulator.messages(channel)) == before


def _slash_body(text: str) -> bytes:
    return urllib.parse.urlencode(
        {"command": "/incident", "text": text, "user_id": ALICE, "channel_id": "C0NOWHERE00", "team_id": "T0EMULATOR"}
    ).encode()


def test_forged_signature_is_rejected_with_401(harness: Harness) -> None:
    body = _slash_body("declare Forged sev1")
    headers = harness.driver.sign(body)
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert harness.driver.post_raw(body, headers).status == 401
    assert incident_count(harness) == 0


def test_stale_signature_is_rejected_with_401(harness: Harness) -> None:
    body = _slash_body("declare Replayed sev1")
    headers = harness.driver.sign(body, timestamp=int(time.time()) - 6 * 60)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert harness.driver.post_raw(body, headers).status == 401


def test_unsigned_garbage_is_rejected_and_signed_garbage_is_not_a_500(harness: Harness) -> None:
    assert harness.driver.post_raw(b"\x00\xff", {"Content-Type": "application/json"}).status == 400
    assert harness.driver.post_raw(b"{}", {"Content-Type": "application/json"}).status == 401
    body = json.dumps({"type": "event_callback", "event": {"type": "unknown_thing"}, "event_id": "Ev0X"}).encode()
    headers = {**harness.driver.sign(body), "Content-Type": "application/json"}
    assert harness.driver.post_raw(body, headers).status < 500


def test_healthz_is_green_once_ready(harness: Harness) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{harness.server.url}/healthz", timeout=5) as response:
        assert response.status == 200


def test_event_redelivery_is_recorded_once(harness: Harness) -> None:
    _, channel = harness.declare()
    event = {"type": "member_joined_channel", "user": "U0BOB", "channel": channel, "event_ts": "1.000001"}
    first = harness.driver.event(event, event_id="Ev0JOIN1")
    retry = harness.driver.event(event, event_id="Ev0JOIN1", retry_num=1)
    assert first.status == 200 and retry.status == 200
    from tests.scenario import events

    harness.wait_for(lambda: events(harness, kind="member_joined"))
    time.sleep(0.2)
    assert len(events(harness, kind="member_joined")) == 1


def test_a_failure_after_the_ack_is_answered_with_a_reference_not_silence(harness: Harness) -> None:
    _, channel = harness.declare("Ransomware on FS01 sev4")
    from tests.scenario import welcome

    card = welcome(harness.emulator, channel)
    result = harness.driver.click(ALICE, channel, card["ts"], "checklist_toggle_1", value="{not json")
    assert "ircbot hit an internal error (reference `" in result.text
    assert "Traceback" not in result.text and "JSONDecodeError" not in result.text
