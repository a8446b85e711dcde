"""The decision log: a decision stands only once N distinct people approved it, by button or typed command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ircbot.config import load_config
from ircbot.errors import ConfigError
from tests.conftest import Harness
from tests.factories import ALICE, BOB, CAROL, MALLORY, roles_config, write_config
from tests.scenario import channel_text, events


def card(h: Harness, channel: str, label: str = "D-1") -> dict[str, Any]:
    """The decision card as the channel shows it now."""

    def find() -> dict[str, Any] | None:
        for message in h.emulator.messages(channel):
            text = h.emulator.message_text(message)
            if f"{label} " in text and ("Proposed by" in text):
                return message
        return None

    return h.wait_for(find)


def team(h: Harness) -> str:
    _, channel = h.declare()
    h.slash(f"assign analyst <@{BOB}|bob>", channel=channel)
    h.slash(f"assign legal <@{CAROL}|carol>", channel=channel)
    return channel


def test_a_containment_decision_needs_two_people_and_the_proposer_counts_once(harness: Harness) -> None:
    channel = team(harness)
    reply = harness.slash("decide Isolate FS01 from the network", channel=channel)
    assert "proposed D-1; it needs 2 distinct approvals" in reply.text
    posted = card(harness, channel)
    assert "needs 2 distinct approval(s): 1 so far" in harness.emulator.message_text(posted)

    again = harness.driver.click(ALICE, channel, posted["ts"], "decision_approve")
    assert "already approved D-1 (proposing it counts as your approval)" in again.text
    assert not events(harness, kind="decision_approved")

    harness.driver.click(BOB, channel, posted["ts"], "decision_approve")

    shown = harness.emulator.message_text(card(harness, channel))
    assert "D-1 APPROVED" in shown and f"<@{ALICE}>" in shown and f"<@{BOB}>" in shown
    assert "decision_approve" not in str(card(harness, channel).get("blocks")), "no buttons once settled"
    (approved,) = events(harness, kind="decision_approved")
    assert approved.data["approved_by"] == [ALICE, BOB] and approved.data["text"] == "Isolate FS01 from the network"
    # The announcement is the click's second answer to its response_url: the click waited for the first.
    harness.wait_for(lambda: "D-1 is approved by" in channel_text(harness.emulator, channel))
    assert "D-1 is already approved" in harness.slash("approve D-1", channel=channel, user=CAROL).text


def test_one_rejection_settles_it_with_the_reason(harness: Harness) -> None:
    channel = team(harness)
    harness.slash("decide Pay the ransom --approvers 3", channel=channel)
    harness.slash("approve D-1", channel=channel, user=BOB)
    reply = harness.slash("reject D-1 Backups are intact; paying funds crime", channel=channel, user=CAROL)
    assert "rejected D-1: Backups are intact" in reply.text
    shown = harness.emulator.message_text(card(harness, channel))
    assert "D-1 REJECTED" in shown and f"Rejected by* <@{CAROL}>" in shown and "Backups are intact" in shown
    assert [e.kind for e in events(harness) if e.kind.startswith("decision")] == [
        "decision_proposed",
        "decision_voted",
        "decision_voted",
        "decision_rejected",
    ]
    assert "D-1 is already rejected" in harness.slash("approve D-1", channel=channel, user=BOB).text


def test_an_ordinary_decision_needs_only_its_proposer_and_config_changes_that(
    make_harness: Callable[..., Harness],
) -> None:
    h = make_harness()
    channel = team(h)
    assert "decided D-1: Brief the board at 9" in h.slash("decide Brief the board at 9", channel=channel).text
    assert events(h, kind="decision_approved")

    strict = make_harness(record={"decisions": {"approvers": 2, "rules": []}})
    _, other = strict.declare("Lost laptop sev4")
    assert "needs 2 distinct approvals" in strict.slash("decide Brief the board at 9", channel=other).text


def test_outsiders_and_buttons_cannot_do_what_the_command_refuses(make_harness: Callable[..., Harness]) -> None:
    # Only the manager may decide (roles.yaml `may:`): a button is held to the same rule as the typed command.
    roles = roles_config()
    roles["roles"]["manager"]["may"] = ["decide"]  # type: ignore[index]
    h = make_harness(roles=roles)
    channel = team(h)
    h.slash("decide Disable the svc-backup account", channel=channel)
    posted = card(h, channel)
    refused = h.driver.click(BOB, channel, posted["ts"], "decision_approve")
    assert "Incident manager" in refused.text and not events(h, kind="decision_voted")
    assert "Incident manager" in h.slash("approve D-1", channel=channel, user=BOB).text
    assert "no incident INC-1 that you can see" in h.slash("INC-1 approve D-1", user=MALLORY).text
    forged = h.driver.click(MALLORY, channel, posted["ts"], "decision_approve")
    assert not events(h, kind="decision_voted") and "decision_approve" in str(card(h, channel)["blocks"]), forged.text


def test_decide_names_the_problem_with_bad_input(harness: Harness) -> None:
    channel = team(harness)
    assert "Say what is decided" in harness.slash("decide", channel=channel).text
    assert "from 1 to 10" in harness.slash("decide Wipe it --approvers 0", channel=channel).text
    assert "from 1 to 10" in harness.slash("decide Wipe it --approvers many", channel=channel).text
    assert "`--approvers` needs a value" in harness.slash("decide Wipe it --approvers", channel=channel).text
    assert "Name the decision to approve" in harness.slash("approve", channel=channel, user=BOB).text
    assert "Name the decision to reject" in harness.slash("reject yes", channel=channel, user=BOB).text
    assert "has no decision D-4 yet" in harness.slash("approve D-4", channel=channel, user=BOB).text
    harness.slash("decide Wipe FS01", channel=channel)
    assert "its only decision is D-1" in harness.slash("approve D-2", channel=channel, user=BOB).text
    assert "takes only the decision" in harness.slash("approve D-1 sure", channel=channel, user=BOB).text
    harness.slash("resolve Done", channel=channel)
    assert "resolved; its decisions are closed" in harness.slash("approve D-1", channel=channel, user=BOB).text


def test_a_bad_record_yaml_is_refused_naming_file_line_and_field(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config")
    assert load_config(folder).record.decisions.approvers_for("Wipe FS01") == 2, "the shipped default"
    (folder / "record.yaml").write_text(
        "decisions:\n"  # 1
        "  approvers: 0\n"  # 2
        "  rules:\n"  # 3
        "    - when: '/isolat(/'\n"  # 4
        "      approvers: 2\n"  # 5
        "indicators:\n"  # 6
        "  tlp: white\n"  # 7
    )
    with pytest.raises(ConfigError) as caught:
        load_config(folder)
    problems = "\n".join(caught.value.problems)
    assert f"{folder / 'record.yaml'}:2: decisions.approvers:" in problems
    assert ":4: decisions.rules.0.when:" in problems and "not a valid regular expression" in problems
    assert ":7: indicators.tlp:" in problems and "'white' is not a TLP 2.0 level" in problems
