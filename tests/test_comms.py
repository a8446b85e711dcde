"""Stakeholder communication: status updates, reminders with snooze, and notices approved before sending."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlmodel import select

from ircbot.slack.markup import slack_date
from ircbot.store.models import Notice, Reminder, StatusUpdate
from tests.conftest import Harness
from tests.factories import ALICE, BOB, DAVE, escalation_config, roles_config, tier
from tests.scenario import buttons, channel_text, events, incident
from tests.smtp import SmtpServer


def comms_config(stakeholder_channel: str, every: str = "1h", checklist_every: str | None = None) -> dict[str, Any]:
    updates: dict[str, Any] = {"every": every, "channel": stakeholder_channel, "email": ["ciso@example.com"]}
    if checklist_every:
        updates["checklist_every"] = checklist_every
    config = escalation_config(sev2={"name": "High", "tiers": [tier("1h", "role:analyst")], "updates": updates})
    config["audiences"] = {
        "leadership": {"title": "Executive leadership", "email": ["exec@example.com"]},
        "insurer": {"title": "Cyber insurer", "email": ["claims@insurer.example.com"]},
    }
    return config


def dms(h: Harness, user: str) -> list[dict[str, Any]]:
    channel = h.emulator.im_channel(user)
    return h.emulator.messages(channel) if channel else []


def test_update_reaches_channel_stakeholders_and_email_with_private_details_withheld(
    make_harness: Callable[..., Harness], smtp: SmtpServer
) -> None:
    probe = make_harness()
    stakeholders = probe.emulator.add_channel("sec-updates", members=[DAVE], bot_member=True)
    h = make_harness(escalation=comms_config(stakeholders), smtp_url=smtp.url)
    _, private = h.declare("Payroll data exfiltration sev2")
    reply = h.slash("update Contained at the firewall; forensics imaging DB01", channel=private)
    assert "Update sent to the incident channel" in reply.text
    assert "Contained at the firewall" in channel_text(h.emulator, private)
    stakeholder_text = channel_text(h.emulator, stakeholders)
    assert "A SEV2 (High) security incident is being handled" in stakeholder_text
    assert "Payroll" not in stakeholder_text and "firewall" not in stakeholder_text
    h.wait_for(lambda: smtp.inbox.to("ciso@example.com"))
    mail = smtp.inbox.to("ciso@example.com")[0]
    assert "Payroll" not in str(mail) and "firewall" not in str(mail)
    assert mail.get_body(("plain",)) is not None and mail.get_body(("html",)) is not None

    _, public = h.declare("Website defacement sev2 --public")
    h.slash("update Page restored from the CDN origin", channel=public)
    assert "Website defacement" in channel_text(h.emulator, stakeholders)
    h.wait_for(lambda: len(smtp.inbox.to("ciso@example.com")) == 2)
    assert "Page restored" in smtp.inbox.to("ciso@example.com")[1].get_body(("plain",)).get_content()


def test_the_next_update_is_a_date_token_in_slack_and_utc_by_email(
    make_harness: Callable[..., Harness], smtp: SmtpServer
) -> None:
    probe = make_harness()
    stakeholders = probe.emulator.add_channel("sec-updates", members=[DAVE], bot_member=True)
    h = make_harness(escalation=comms_config(stakeholders), smtp_url=smtp.url)
    _, channel = h.declare("Website defacement sev2 --public")
    h.slash("update", channel=channel, wait=False)
    view_id = h.wait_for(
        lambda: next((k for k, v in h.emulator.views.items() if v["callback_id"] == "update_modal"), None)
    )
    values = {
        "status": {"value": {"type": "plain_text_input", "value": "Page restored from the CDN origin"}},
        "next_update": {"value": {"type": "plain_text_input", "value": "2h"}},
    }
    assert h.driver.submit_view(ALICE, view_id, values).status == 200
    h.wait_for(lambda: smtp.inbox.to("ciso@example.com"))  # e-mail goes last, after both channels
    with h.bot.db.transaction() as session:
        promised = session.exec(select(StatusUpdate)).one().next_update_at
    assert promised is not None
    for where in (channel, stakeholders):  # each reader sees it in their own zone
        assert f"*Next update:* {slack_date(promised)}" in channel_text(h.emulator, where)
    mail = smtp.inbox.to("ciso@example.com")[0]  # an e-mail names its zone
    plain, html = (mail.get_body((part,)).get_content() for part in ("plain", "html"))
    assert f"Next update: {promised:%Y-%m-%d %H:%M} UTC\r\n" in plain and "<!date" not in plain
    assert f"<strong>Next update:</strong> {promised:%Y-%m-%d %H:%M} UTC<" in html and "date^" not in html


def test_update_form_and_restricted_senders(make_harness: Callable[..., Harness]) -> None:
    probe = make_harness()
    stakeholders = probe.emulator.add_channel("sec-updates", members=[DAVE], bot_member=True)
    roles = roles_config()
    for key in ("manager", "comms"):
        roles["roles"][key]["may"] = ["update"]  # type: ignore[index]
    h = make_harness(roles=roles, escalation=comms_config(stakeholders))
    _, channel = h.declare("Credential stuffing sev2")
    h.slash(f"assign analyst <@{BOB}|bob>", channel=channel)
    reply = h.slash("update Blocking the botnet ASN", channel=channel, user=BOB)
    assert "Stakeholders were not updated" in reply.text
    assert "Blocking the botnet" in channel_text(h.emulator, channel)
    assert channel_text(h.emulator, stakeholders) == ""

    h.slash("update", channel=channel, wait=False)
    h.wait_for(lambda: any(v["callback_id"] == "update_modal" for v in h.emulator.views.values()))
    view_id = next(k for k, v in h.emulator.views.items() if v["callback_id"] == "update_modal")
    values = {
        "status": {"value": {"type": "plain_text_input", "value": "Rate limits in place"}},
        "impact": {"value": {"type": "plain_text_input", "value": "Login slow for 20 minutes"}},
        "next_steps": {"value": {"type": "plain_text_input", "value": "Reset exposed passwords"}},
        "next_update": {"value": {"type": "plain_text_input", "value": "2h"}},
    }
    assert h.driver.submit_view(ALICE, view_id, values).status == 200
    h.wait_for(lambda: "Rate limits in place" in channel_text(h.emulator, channel))
    assert "Login slow" in channel_text(h.emulator, channel) and "Next update" in channel_text(h.emulator, channel)
    h.wait_for(lambda: "security incident is being handled" in channel_text(h.emulator, stakeholders))
    assert "Rate limits" not in channel_text(h.emulator, stakeholders)  # the incident is private


def test_overdue_update_reminds_channel_and_comms_and_can_be_snoozed(make_harness: Callable[..., Harness]) -> None:
    probe = make_harness()
    stakeholders = probe.emulator.add_channel("sec-updates", bot_member=True)
    h = make_harness(escalation=comms_config(stakeholders, every="1h", checklist_every="30m"))
    _, channel = h.declare("Suspicious admin logins sev2")
    h.slash(f"assign comms <@{DAVE}|dave>", channel=channel)
    h.advance(minutes=30)
    checklist = next(
        h.emulator.message_text(m) for m in dms(h, ALICE) if "required items open" in h.emulator.message_text(m)
    )
    assert f"required items open in <#{channel}>" in checklist, "the DM links the channel"
    assert "No status update" not in channel_text(h.emulator, channel), "the update is not overdue before an hour"
    h.advance(minutes=30)
    assert "No status update" in channel_text(h.emulator, channel)
    assert dms(h, DAVE) and "No status update" in h.emulator.message_text(dms(h, DAVE)[-1])

    reminder = next(
        m for m in reversed(h.emulator.messages(channel)) if "No status update" in h.emulator.message_text(m)
    )
    said = h.emulator.message_text(reminder)
    assert "No status update for INC-1 for 1h 00m (since it was declared; the SEV2 cadence is every 1h 00m)" in said
    assert [b["text"]["text"] for b in buttons(reminder)] == ["Post update", "Snooze 15 min", "Snooze 1 hour"]
    h.driver.click(DAVE, channel, reminder["ts"], "reminder_post_update", wait=False)
    form = h.wait_for(lambda: next((v for v in h.emulator.views.values() if v["callback_id"] == "update_modal"), None))
    assert form["title"]["text"] == "Status update"
    h.driver.click(DAVE, channel, reminder["ts"], "reminder_snooze_15")
    with h.bot.db.transaction() as session:
        pending = session.exec(select(Reminder).where(Reminder.kind == "update", Reminder.status == "pending")).all()
    assert len(pending) == 1 and pending[0].due_at - h.bot.services.clock() > __import__("datetime").timedelta(
        minutes=14
    )
    assert events(h, kind="reminder_snoozed")
    snoozed = next(m for m in h.emulator.messages(channel) if m["ts"] == reminder["ts"])
    assert f"snoozed the update reminder until {slack_date(pending[0].due_at)}." in h.emulator.message_text(snoozed)


def test_notice_is_previewed_then_sent_with_its_approver_recorded(
    make_harness: Callable[..., Harness], smtp: SmtpServer
) -> None:
    probe = make_harness()
    stakeholders = probe.emulator.add_channel("sec-updates", bot_member=True)
    h = make_harness(escalation=comms_config(stakeholders), smtp_url=smtp.url)
    _, channel = h.declare("Ransomware on FS01 sev2")
    assert "no audience `press`" in h.slash("notify press", channel=channel).text
    preview = h.slash("notify leadership", channel=channel)
    assert "Notice to Executive leadership" in preview.text and "exec@example.com" in preview.text
    draft = h.emulator.ephemerals(ALICE)[-1]
    assert [b["text"]["text"] for b in buttons(draft)] == ["Send", "Edit", "Cancel"]
    assert not smtp.inbox.received, "nothing is sent before someone approves it"

    h.driver.click(ALICE, channel, draft["ts"], "notice_send")
    h.wait_for(lambda: smtp.inbox.to("exec@example.com"))
    mail = smtp.inbox.to("exec@example.com")[0]
    assert "INC-1" in mail["Subject"] and "briefing for leadership" in mail["Subject"]
    sent = events(h, kind="notice_sent")
    assert sent and sent[0].actor == ALICE and "approved and sent by" in sent[0].text

    second = h.slash("notify insurer", channel=channel)
    assert "Notice to Cyber insurer" in second.text
    draft = h.emulator.ephemerals(ALICE)[-1]
    h.driver.click(ALICE, channel, draft["ts"], "notice_edit", wait=False)
    h.wait_for(lambda: any(v["callback_id"] == "notice_edit_modal" for v in h.emulator.views.values()))
    view_id = next(k for k, v in h.emulator.views.items() if v["callback_id"] == "notice_edit_modal")
    values = {
        "subject": {"value": {"type": "plain_text_input", "value": "Notice of circumstance: INC-1"}},
        "body": {"value": {"type": "plain_text_input", "value": "Policy 42-A. Ransomware on one file server."}},
    }
    h.driver.submit_view(ALICE, view_id, values)
    h.wait_for(lambda: any("Policy 42-A" in h.emulator.message_text(m) for m in dms(h, ALICE)))
    with h.bot.db.transaction() as session:
        notice = session.exec(select(Notice).where(Notice.audience == "insurer")).one()
    assert notice.body.startswith("Policy 42-A") and notice.status == "draft"
    time.sleep(0.2)
    assert not smtp.inbox.to("claims@insurer.example.com")
    assert incident(h).status == "open"


def test_an_update_reminder_due_while_the_bot_was_down_fires_once_after_the_restart(
    make_harness: Callable[..., Harness],
) -> None:
    probe = make_harness()
    stakeholders = probe.emulator.add_channel("sec-updates", bot_member=True)
    h = make_harness(escalation=comms_config(stakeholders, every="1h"))
    _, channel = h.declare("Suspicious admin logins sev2")
    h.run_timers()
    h.clock.advance_to(h.clock.peek() + timedelta(minutes=90))  # down while the reminder falls due
    assert "No status update" not in channel_text(h.emulator, channel)
    restarted = make_harness(escalation=comms_config(stakeholders, every="1h"))
    restarted.run_timers()
    restarted.run_timers()
    reminders = [m for m in h.emulator.messages(channel) if "No status update" in h.emulator.message_text(m)]
    assert len(reminders) == 1
    restarted.advance(minutes=59)
    assert len([m for m in h.emulator.messages(channel) if "No status update" in h.emulator.message_text(m)]) == 1
    restarted.advance(minutes=1)
    assert len([m for m in h.emulator.messages(channel) if "No status update" in h.emulator.message_text(m)]) == 2


def test_a_notice_draft_warns_at_once_when_email_is_off(make_harness: Callable[..., Harness]) -> None:
    probe = make_harness()
    stakeholders = probe.emulator.add_channel("sec-updates", bot_member=True)
    h = make_harness(escalation=comms_config(stakeholders))  # no SMTP_URL
    _, channel = h.declare("Ransomware on FS01 sev2")
    preview = h.slash("notify leadership", channel=channel).text
    assert ":warning: E-mail is off (SMTP_URL is not set)" in preview and "will not receive it" in preview


def test_help_starts_with_the_first_five_minutes(harness: Harness) -> None:
    text = harness.slash("help").text
    assert text.startswith("*The first five minutes*") and "`/incident declare <what happened> sev1`" in text
    assert text.index("*The first five minutes*") < text.index("*`/incident` subcommands*")
