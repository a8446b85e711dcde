"""Escalation by severity tier on durable timers: pages, e-mail, acknowledgement, re-planning, joining."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from tests.conftest import Harness
from tests.factories import ALICE, BOB, CAROL, DAVE, ERIN, MALLORY, ONCALL_GROUP, escalation_config, tier
from tests.scenario import buttons, channel_text, events, incident
from tests.smtp import SmtpServer

POLICY = escalation_config(
    sev1={
        "name": "Critical",
        "tiers": [
            tier("0s", "role:manager", "role:analyst"),
            tier("10m", f"group:{ONCALL_GROUP}", "email:soc-lead@example.com"),
            tier("20m", f"user:{DAVE}"),
        ],
    },
)


def dms(h: Harness, user: str) -> list[dict[str, object]]:
    """Messages the bot sent to a user's DM."""
    channel = h.emulator.im_channel(user)
    return h.emulator.messages(channel) if channel else []


def test_tier_one_pages_at_once_by_dm_with_ack_button_invite_channel_line_and_email(
    make_harness: Callable[..., Harness], smtp: SmtpServer
) -> None:
    h = make_harness(escalation=POLICY, smtp_url=smtp.url)
    _, channel = h.declare("Ransomware on FS01 sev1")
    assert not dms(h, BOB), "pages go out when the runner fires the step, not inside the declare"
    h.run_timers()
    assert dms(h, BOB) and "Paged tier 1" in channel_text(h.emulator, channel)
    page = dms(h, BOB)[0]
    text = h.emulator.message_text(page)
    assert "SEV1" in text and "INC-1: Ransomware on FS01" in text and f"<@{ALICE}>" in text and channel in text
    assert [b["text"]["text"] for b in buttons(page)] == ["Acknowledge"]
    assert "America/New_York" not in text and ("EST" in text or "EDT" in text)  # Bob's own time zone
    assert BOB in h.emulator.channel(channel)["members"]
    assert "Paged tier 1: <@U0ALICE>, <@U0BOB>" in channel_text(h.emulator, channel)
    assert [e.data["late_seconds"] for e in events(h, kind="paged")] == [0]
    assert smtp.inbox.to("bob@example.com"), "the page's e-mail went out in the same round"
    mail = smtp.inbox.to("bob@example.com")[0]
    assert "[SEV1] INC-1 paged: Ransomware on FS01" in mail["Subject"]
    assert mail.get_body(("plain",)) is not None and mail.get_body(("html",)) is not None


def test_unacknowledged_pages_climb_tiers_and_email_targets(
    make_harness: Callable[..., Harness], smtp: SmtpServer
) -> None:
    h = make_harness(escalation=POLICY, smtp_url=smtp.url)
    h.declare("Ransomware on FS01 sev1")
    h.run_timers()
    h.advance(minutes=9, seconds=59)
    assert not dms(h, ERIN) and not smtp.inbox.to("soc-lead@example.com"), "tier 2 is not due before 10 minutes"
    h.advance(seconds=1)
    assert dms(h, ERIN)
    assert smtp.inbox.to("soc-lead@example.com") and smtp.inbox.to("bob@example.com")
    assert not dms(h, DAVE)
    h.advance(minutes=10)
    assert dms(h, DAVE)
    tiers = [e.data["tier"] for e in events(h, kind="paged")]
    assert tiers == [1, 2, 3]
    assert all(e.data["late_seconds"] < 2 for e in events(h, kind="paged"))
    assert [e.data["late_seconds"] for e in events(h, kind="paged")] == [0, 0, 0]


def test_acknowledge_button_stops_every_pending_tier(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(escalation=POLICY)
    _, channel = h.declare("Ransomware on FS01 sev1")
    h.run_timers()
    assert dms(h, ALICE)
    page = dms(h, ALICE)[0]
    im = h.emulator.im_channel(ALICE)
    assert im is not None
    h.driver.click(ALICE, im, str(page["ts"]), "page_ack")
    stored = incident(h)
    assert stored.acknowledged_at is not None and stored.acknowledged_by == ALICE
    assert "acknowledged INC-1; escalation stopped" in channel_text(h.emulator, channel)
    updated = next(m for m in h.emulator.messages(im) if m["ts"] == page["ts"])
    assert "Acknowledged by" in h.emulator.message_text(updated) and not buttons(updated)
    h.advance(hours=2)  # past tiers 2 and 3
    assert not dms(h, ERIN) and not dms(h, DAVE)
    assert [e.data["tier"] for e in events(h, kind="paged")] == [1]


def test_ack_command_and_resolve_cancel_pending_tiers(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(escalation=POLICY)
    _, channel = h.declare("Ransomware on FS01 sev1")
    h.run_timers()  # tier 1 (0s) has fired; tiers 2 and 3 are pending
    assert "You acknowledged INC-1; 2 pending tier(s) cancelled" in h.slash("ack", channel=channel).text
    assert "already acknowledged" in h.slash("ack", channel=channel).text
    _, second = h.declare("Credential stuffing sev1")
    h.slash("resolve Blocked at the WAF", channel=second)
    h.advance(hours=2)
    assert not dms(h, ERIN) and not dms(h, DAVE)
    assert incident(h, 1).acknowledged_by == ALICE


def test_target_that_resolves_to_nobody_pages_the_next_tier_at_once(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(
        escalation=escalation_config(
            sev1={
                "name": "Critical",
                "tiers": [tier("0s", "group:S0NOSUCHGRP", "user:U0GHOST"), tier("1h", f"user:{DAVE}")],
            }
        )
    )
    h.declare("Ransomware on FS01 sev1")
    h.run_timers()
    assert dms(h, DAVE), "the hour-away tier is paged in the same round, not an hour later"
    unresolved = events(h, kind="page_unresolved")
    assert unresolved and "resolved to nobody" in unresolved[0].text


def test_escalate_pages_the_next_tier_now(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()  # tier 2 of the test policy is 10 minutes out
    _, channel = h.declare("Ransomware on FS01 sev1")
    h.run_timers()
    assert dms(h, BOB)
    reply = h.slash("escalate", channel=channel)
    assert "paging tier 2 now" in reply.text
    h.run_timers()  # no time passes
    assert dms(h, ERIN)


def test_severity_change_replans_escalation(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    _, channel = h.declare("Suspicious login sev3")  # sev3 pages the analyst after an hour
    assert not dms(h, BOB)
    h.advance(minutes=59)
    assert not dms(h, BOB)
    reply = h.slash("severity sev1", channel=channel)
    assert "SEV3 → *SEV1*" in reply.text
    h.run_timers()
    assert dms(h, BOB) and dms(h, ALICE)
    assert "SEV1" in h.emulator.channel(channel)["topic"]
    h.slash("ack", channel=channel)
    h.slash("severity sev2", channel=channel)
    assert incident(h).severity == "sev2"
    h.slash("severity sev4", channel=channel)
    assert "no escalation steps pending" in channel_text(h.emulator, channel)
    assert "sev7" in h.slash("severity sev7", channel=channel).text


def test_raising_severity_after_ack_pages_only_new_targets(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(
        escalation=escalation_config(
            sev2={"name": "High", "tiers": [tier("0s", "role:analyst")]},
            sev1={"name": "Critical", "tiers": [tier("0s", "role:analyst", f"user:{CAROL}")]},
        )
    )
    _, channel = h.declare("Phishing wave sev2")
    h.run_timers()
    assert dms(h, BOB)
    h.slash("ack", channel=channel, user=BOB)
    h.slash("severity sev1", channel=channel)
    h.run_timers()
    assert dms(h, CAROL)
    h.advance(hours=1)
    assert len(dms(h, BOB)) == 1, "the analyst already acknowledged and is not paged again"


def test_page_role_brings_legal_in_with_a_dm_and_private_visibility_follows(harness: Harness) -> None:
    _, channel = harness.declare("Data exposure sev4")
    assert "no incident INC-1 that you can see" in harness.slash("INC-1 status", user=CAROL).text
    reply = harness.slash("page legal", channel=channel)
    assert f"paged the Legal counsel on call, <@{CAROL}>, into this channel (not assigned the role" in reply.text
    shown = harness.slash("roles", channel=channel)  # the roles card lists her apart from the role holders
    assert f"*Also in the incident* (no role): <@{CAROL}>" in shown.text
    assert CAROL in harness.emulator.channel(channel)["members"]
    dm = harness.emulator.message_text(dms(harness, CAROL)[0])
    assert "as *Legal counsel*" in dm and "Advises on obligations" in dm
    assert "Status of INC-1" in harness.slash("INC-1 status", user=CAROL).text
    assert "no incident INC-1 that you can see" in harness.slash("INC-1 status", user=MALLORY).text
    assert "Data exposure" not in harness.slash("list", user=MALLORY).text
    assert "no role `janitor`" in harness.slash("page janitor", channel=channel).text


def test_drills_do_not_page(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(escalation=POLICY)
    h.declare("Tabletop ransomware sev1 --drill")
    h.advance(hours=2)
    assert not dms(h, BOB) and not events(h, kind="paged")


def test_steps_due_while_the_bot_was_down_fire_once_in_due_order_marked_late_by_exactly_the_downtime(
    make_harness: Callable[..., Harness],
) -> None:
    h = make_harness(escalation=POLICY)
    h.declare("Ransomware on FS01 sev1")
    h.run_timers()
    h.clock.advance_to(h.clock.peek() + timedelta(minutes=25))  # down: nothing runs while tiers 2 and 3 fall due
    assert not dms(h, ERIN) and not dms(h, DAVE)
    restarted = make_harness(escalation=POLICY)  # a new process on the same database
    restarted.run_timers()
    restarted.run_timers()
    assert len(dms(h, ERIN)) == 1 and len(dms(h, DAVE)) == 1, "each overdue step fires once"
    paged = events(h, kind="paged")
    assert [e.data["tier"] for e in paged] == [1, 2, 3], "overdue steps fire in due order"
    assert [e.data["late_seconds"] for e in paged] == [0, 15 * 60, 5 * 60]
    assert "(15m 00s late)" in paged[1].text and "(5m 00s late)" in paged[2].text


def test_a_page_whose_answer_was_lost_is_not_sent_twice(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(escalation=POLICY)
    _, channel = h.declare("Ransomware on FS01 sev1")
    # Slack posts every tier-1 message (two DMs and the channel line) but each answer is a 500.
    h.emulator.lose_answer_next("chat.postMessage", status=500, times=3)
    h.run_timers()
    assert len(dms(h, BOB)) == 1, "Slack had the DM already"
    h.advance(seconds=10)  # the retries: each looks for its tag in the conversation before posting
    assert len(dms(h, BOB)) == 1 and len(dms(h, ALICE)) == 1
    assert channel_text(h.emulator, channel).count("Paged tier 1") == 1
    assert h.emulator.calls_to("conversations.open"), "the DM's history was looked at"
    assert not h.emulator.violations


def test_a_page_answered_too_late_is_not_sent_twice(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(escalation=POLICY, slack_timeout=1)
    h.declare("Ransomware on FS01 sev1")
    h.emulator.answer_late_next("chat.postMessage", seconds=1.5)
    h.run_timers()
    h.advance(seconds=10)
    assert len(dms(h, BOB)) + len(dms(h, ALICE)) == 2, "one page each, though one answer timed out"
    assert not h.emulator.violations


def test_pages_wait_out_a_slack_outage_and_go_once_when_it_ends(make_harness: Callable[..., Harness]) -> None:
    """Bob's on-call entry is an e-mail nobody looked up yet: his page looks him up once Slack answers."""
    h = make_harness(escalation=POLICY)
    _, channel = h.declare("Ransomware on FS01 sev1")
    h.emulator.go_down()
    try:
        h.run_timers()
        h.clock.advance_to(h.clock.peek() + timedelta(minutes=5))
        h.run_timers()
        assert not dms(h, BOB)
    finally:
        h.emulator.come_back()
    h.advance(minutes=1)  # the backoff is at most a minute
    assert len(dms(h, BOB)) == 1 and BOB in h.emulator.channel(channel)["members"]
    assert len(dms(h, ALICE)) == 1
    assert channel_text(h.emulator, channel).count("Paged tier 1") == 1


def test_a_rate_limited_page_waits_as_long_as_slack_asks(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(escalation=POLICY)
    _, channel = h.declare("Ransomware on FS01 sev1")
    # slack_sdk waits out three 429s itself; the fourth comes back to the outbox, which must honour it.
    h.emulator.rate_limit_next("chat.postMessage", retry_after=0, times=3)
    h.emulator.rate_limit_next("chat.postMessage", retry_after=120)
    h.run_timers()
    pages = len(dms(h, ALICE)) + len(dms(h, BOB)) + channel_text(h.emulator, channel).count("Paged tier 1")
    assert pages == 2, "one of the three tier-1 messages was refused"
    h.advance(seconds=100)
    assert len(dms(h, ALICE)) + len(dms(h, BOB)) + channel_text(h.emulator, channel).count("Paged tier 1") == 2
    h.advance(seconds=25)
    assert len(dms(h, ALICE)) == len(dms(h, BOB)) == 1
    assert channel_text(h.emulator, channel).count("Paged tier 1") == 1
