"""The App Home tab: the viewer's open incidents, what they may see of them, and declaring from it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ircbot.domain.views import IncidentView, RoleHolder
from ircbot.emulator.blocks import flatten_view
from ircbot.slack.home import EMPTY_TEXT, MAX_HOME_BLOCKS, home_view
from tests.conftest import Harness
from tests.factories import ALICE, BOB, MALLORY
from tests.scenario import buttons

PRIVATE_TITLES = ("Ransomware on FS01", "Leaked API key")


def publishes(h: Harness, user: str) -> int:
    """How many times the bot published this user's Home tab."""
    return sum(1 for c in h.emulator.calls_to("views.publish") if c.args.get("user_id") == user)


def open_home(h: Harness, user: str, event_id: str | None = None) -> dict[str, Any]:
    """Open the Home tab as Slack reports it, and return the view the bot published in answer."""
    before = publishes(h, user)
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home", "event_ts": f"{time.time()}"}
    assert h.driver.event(event, event_id=event_id).status == 200
    h.wait_for(lambda: publishes(h, user) > before)
    return h.emulator.home_tabs[user]


def declare_three(h: Harness) -> dict[str, str]:
    """INC-1 private, INC-2 public, INC-3 a private drill with Bob as analyst; title -> channel id."""
    channels = {}
    for text in ("Ransomware on FS01 sev3", "Phishing wave sev4 --public", "Leaked API key sev4 --drill"):
        _, channels[text.split(" sev")[0]] = h.declare(text)
    h.slash(f"assign analyst <@{BOB}|bob>", channel=channels["Leaked API key"])
    return channels


def test_home_lists_the_viewers_incidents_with_role_severity_stage_and_paging(harness: Harness) -> None:
    declare_three(harness)
    text = flatten_view(open_home(harness, ALICE))
    for line in ("INC-1*: Ransomware on FS01", "INC-2*: Phishing wave", "INC-3 [DRILL]*: Leaked API key"):
        assert line in text
    assert text.count("*Your role*\nIncident manager") == 3
    assert "*Severity*\nSEV3" in text and "*Stage*\nDetection" in text and "*Declared*" in text
    assert "1 pending, next <!date^" in text  # sev3 pages the analyst after an hour
    bob = flatten_view(open_home(harness, BOB))
    assert "*Your role*\nSecurity analyst" in bob and "*Your role*\n—" in bob
    assert "Leaked API key" in bob and "Phishing wave" in bob and "Ransomware" not in bob


def test_outsider_sees_only_the_public_incident_and_never_a_private_title(harness: Harness) -> None:
    declare_three(harness)
    text = flatten_view(open_home(harness, MALLORY))
    assert "INC-2*: Phishing wave" in text and "Open incidents (1)" in text
    seen = "\n".join(s.text for s in harness.emulator.seen_by(MALLORY))
    assert not any(title in seen for title in PRIVATE_TITLES)


def test_open_channel_button_links_to_the_channel_and_its_click_is_acknowledged(harness: Harness) -> None:
    channels = declare_three(harness)
    view = open_home(harness, MALLORY)
    (button,) = [b for b in buttons(view) if b.get("url")]
    assert button["url"] == f"https://slack.com/app_redirect?channel={channels['Phishing wave']}"
    assert button["action_id"] == "home_open_channel"
    assert harness.driver.click_in_view(MALLORY, view["id"], "home_open_channel").status == 200


def test_declare_button_opens_the_declare_modal(harness: Harness) -> None:
    view = open_home(harness, ALICE)
    assert EMPTY_TEXT in flatten_view(view) and "[Declare an incident]" in flatten_view(view)
    assert harness.driver.click_in_view(ALICE, view["id"], "home_declare").status == 200
    modal = harness.wait_for(
        lambda: [v for v in harness.emulator.views.values() if v["callback_id"] == "declare_modal"]
    )
    assert harness.emulator.view_owners[modal[0]["id"]] == ALICE


def test_a_resolved_incident_leaves_the_home_tab(harness: Harness) -> None:
    _, channel = harness.declare("Ransomware on FS01 sev3")
    assert "Ransomware on FS01" in flatten_view(open_home(harness, ALICE))
    harness.slash("resolve Restored from backups", channel=channel)
    assert EMPTY_TEXT in flatten_view(open_home(harness, ALICE))


def test_a_redelivered_home_event_publishes_once(harness: Harness) -> None:
    harness.declare("Ransomware on FS01 sev3")
    open_home(harness, ALICE, event_id="Ev0HOME1")
    retry = {"type": "app_home_opened", "user": ALICE, "channel": "D0HOME", "tab": "home", "event_ts": "1.0"}
    assert harness.driver.event(retry, event_id="Ev0HOME1", retry_num=1).status == 200
    open_home(harness, ALICE, event_id="Ev0HOME2")  # a later, distinct visit: published after the retry was handled
    time.sleep(0.3)
    assert publishes(harness, ALICE) == 2


def test_the_messages_tab_publishes_nothing(harness: Harness) -> None:
    event = {"type": "app_home_opened", "user": ALICE, "channel": "D0HOME", "tab": "messages", "event_ts": "1.0"}
    assert harness.driver.event(event).status == 200
    open_home(harness, ALICE)
    assert publishes(harness, ALICE) == 1


def test_click_in_view_refuses_a_view_the_user_does_not_have_open(harness: Harness) -> None:
    view = open_home(harness, ALICE)
    with pytest.raises(AssertionError, match="no view"):
        harness.driver.click_in_view(MALLORY, view["id"], "home_declare")
    with pytest.raises(AssertionError, match="no element with action_id"):
        harness.driver.click_in_view(ALICE, view["id"], "page_ack")


def _incident(number: int) -> IncidentView:
    return IncidentView(
        id=number,
        key=f"INC-{number}",
        title=f"Incident {number}",
        severity="sev4",
        stage="detection",
        status="open",
        is_private=False,
        is_drill=False,
        playbook="default",
        channel_id=f"C{number:08d}",
        channel_name=None,
        declared_by=ALICE,
        declared_at=datetime(2026, 1, 1, tzinfo=UTC),
        resolved_at=None,
        age=timedelta(minutes=5),
        roles=(RoleHolder("manager", "Incident manager", ALICE),),
        checklist=(),
        progress={},
    )


def test_a_long_list_stays_within_the_home_block_limit_and_counts_the_rest() -> None:
    view = home_view(ALICE, tuple(_incident(n) for n in range(1, 121)))
    assert len(view["blocks"]) <= MAX_HOME_BLOCKS
    assert "…and 72 more" in flatten_view(view)


def test_an_open_home_tab_follows_the_incidents_its_viewer_can_see(harness: Harness) -> None:
    _, channel = harness.declare("Ransomware on FS01 sev3")
    assert "Ransomware" in flatten_view(open_home(harness, ALICE))
    assert "No open incidents" in flatten_view(open_home(harness, MALLORY))
    alice_before, mallory_before = publishes(harness, ALICE), publishes(harness, MALLORY)

    harness.slash("severity sev1", channel=channel)
    harness.slash("stage next --force", channel=channel)
    harness.declare("Public phishing wave sev4 --public")
    harness.advance(seconds=3)

    alice = flatten_view(harness.emulator.home_tabs[ALICE])
    assert "*Severity*\nSEV1" in alice and "*Stage*\nAnalysis" in alice and "Public phishing wave" in alice
    assert publishes(harness, ALICE) == alice_before + 1, "a burst of changes is one redraw"
    mallory = flatten_view(harness.emulator.home_tabs[MALLORY])
    assert "Public phishing wave" in mallory and "Ransomware" not in mallory
    assert publishes(harness, MALLORY) == mallory_before + 1


def test_leaving_a_private_incident_takes_it_off_the_home_tab(harness: Harness) -> None:
    _, channel = harness.declare("Ransomware on FS01 sev3")
    harness.slash(f"assign analyst <@{BOB}|bob>", channel=channel)
    assert "Ransomware" in flatten_view(open_home(harness, BOB))

    harness.driver.event({"type": "member_left_channel", "user": BOB, "channel": channel}, event_id="Ev0LEFTH")
    harness.wait_for(lambda: "no incident INC-1" in harness.slash("INC-1 status", user=BOB).text)
    harness.advance(seconds=3)

    assert "Ransomware" not in flatten_view(harness.emulator.home_tabs[BOB])


def test_list_puts_the_most_severe_first_and_pages_honestly(harness: Harness) -> None:
    for n in range(22):
        harness.declare(f"Phishing report {n:02d} sev4 --public")
    harness.declare("Domain controller compromise sev1 --public")

    first = harness.slash("list").text
    assert first.index("Domain controller compromise") < first.index("Phishing report 00")
    assert "1–20 of 23" in first and "`/incident list 2` shows the next" in first
    second = harness.slash("list 2").text
    assert "21–23 of 23" in second and "Phishing report 21" in second and "shows the next" not in second
    assert "only 2 page(s)" in harness.slash("list 3").text
