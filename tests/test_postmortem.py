"""Timeline capture from the channel, and the postmortem compiled from the whole history."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlmodel import select

from ircbot.store.models import ThreadActivity
from tests.conftest import Harness, serve_environment
from tests.factories import ALICE, BOB, CAROL, MALLORY
from tests.scenario import events

PAGE = 999  # the gateway's page size


def uploaded(h: Harness) -> str:
    """The newest postmortem uploaded into Slack."""
    files = list(h.emulator.files.values())
    assert files, "no postmortem was uploaded"
    return str(files[-1]["content"].decode())


def reaction(user: str, name: str, channel: str, ts: str) -> dict[str, object]:
    """A reaction_added event as Slack sends it."""
    item = {"type": "message", "channel": channel, "ts": ts}
    return {"type": "reaction_added", "user": user, "reaction": name, "item": item, "event_ts": ts}


def condensed_total(markdown: str) -> int:
    """How many channel messages the appendix's transcript lists."""
    appendix = markdown.split("## Appendix: channel transcript", 1)[1].split("\n---\n", 1)[0]
    return len(re.findall(r"^- \d{4}-\d\d-\d\d ", appendix, re.MULTILINE))


def test_every_message_is_read_across_page_boundaries_including_long_threads(harness: Harness) -> None:
    emu = harness.emulator
    _, channel = harness.declare("Exfiltration via S3 sev4")
    harness.slash(f"assign analyst <@{BOB}|bob>", channel=channel)
    top = 2 * PAGE + 3
    for i in range(top):
        emu.post(channel, user=BOB if i % 2 else ALICE, text=f"message {i}")
    parent = emu.messages(channel)[-1]["ts"]
    replies = 1_003  # more than one page of conversations.replies
    for i in range(replies):
        emu.post(channel, user=ALICE, text=f"reply {i}", thread_ts=parent)
    history_calls = len(emu.calls_to("conversations.history"))
    reply_calls = len(emu.calls_to("conversations.replies"))

    harness.slash("postmortem", channel=channel)
    markdown = uploaded(harness)
    assert condensed_total(markdown) == top + replies
    assert len(emu.calls_to("conversations.history")) - history_calls == 3  # ceil((top + bot posts) / 999)
    assert len(emu.calls_to("conversations.replies")) - reply_calls == 2


def test_pinned_and_marked_messages_are_kept_in_full_once_even_after_edits(harness: Harness) -> None:
    emu = harness.emulator
    _, channel = harness.declare("Phishing wave sev4")
    first = emu.post(channel, user=BOB, text="C2 is 203.0.113.7; sha256 " + "ab" * 32)
    second = emu.post(channel, user=ALICE, text="Blocked the domain at the proxy")
    pushpin = reaction(ALICE, "pushpin", channel, first["ts"])
    assert harness.driver.event(pushpin, event_id="Ev0PIN1").status == 200
    assert harness.driver.event(pushpin, event_id="Ev0PIN1", retry_num=1).status == 200  # Slack redelivers
    pin = {
        "type": "pin_added",
        "user": BOB,
        "channel_id": channel,
        "item": {"type": "message", "channel": channel, "message": {"ts": second["ts"], "text": second["text"]}},
    }
    assert harness.driver.event(pin, event_id="Ev0PIN2").status == 200
    other = reaction(BOB, "eyes", channel, second["ts"])
    harness.driver.event(other, event_id="Ev0EYES")
    harness.wait_for(lambda: len(events(harness, kind="captured")) == 2)
    first["text"] = "edited away"  # a later edit must not change what was captured

    harness.slash("postmortem", channel=channel)
    markdown = uploaded(harness)
    assert ":pushpin: C2 is 203.0.113.7; sha256 " + "ab" * 32 in markdown, "IOCs survive redaction"
    assert ":pushpin: Blocked the domain at the proxy" in markdown
    assert "edited away" not in markdown
    assert len(events(harness, kind="captured")) == 2


def test_other_bots_messages_are_captured_and_ours_are_not(harness: Harness) -> None:
    emu = harness.emulator
    _, channel = harness.declare("SIEM alert storm sev4")
    alert = emu.post(channel, user=CAROL, text="GuardDuty: UnauthorizedAccess:EC2/SSHBruteForce")
    message = {
        "type": "message",
        "channel": channel,
        "user": CAROL,
        "bot_id": "B0SIEM",
        "text": alert["text"],
        "ts": alert["ts"],
        "event_ts": alert["ts"],
    }
    harness.driver.event(message, event_id="Ev0BOT1")
    human = {"type": "message", "channel": channel, "user": BOB, "text": "looking", "ts": "2.0", "event_ts": "2.0"}
    harness.driver.event(human, event_id="Ev0HUM1")
    harness.wait_for(lambda: events(harness, kind="captured"))
    assert [e.data["via"] for e in events(harness, kind="captured")] == ["bot"]


def test_sections_action_items_redaction_and_order(harness: Harness) -> None:
    emu = harness.emulator
    _, channel = harness.declare("Credential leak sev1")
    harness.slash("ack", channel=channel)
    leak = emu.post(channel, user=BOB, text="found AKIAIOSFODNN7EXAMPLE and postgres://admin:hunter2@db.internal/app")
    mark = reaction(BOB, "pushpin", channel, leak["ts"])
    harness.driver.event(mark, event_id="Ev0LEAK")
    harness.wait_for(lambda: events(harness, kind="captured"))
    emu.post(channel, user=BOB, text=f"AI: rotate the leaked key <@{CAROL}>")
    harness.slash(f"action Add secret scanning to CI <@{BOB}|bob>", channel=channel)
    harness.slash("severity sev2", channel=channel)
    harness.slash("stage containment --force", channel=channel)
    harness.slash("stage eradication", channel=channel)
    harness.slash("resolve Keys rotated, history rewritten", channel=channel)
    markdown = uploaded(harness)

    for section in (
        "## Summary",
        "## Impact",
        "### Severity history",
        "## Response metrics",
        "## Roles",
        "## Stages and checklists",
        "## Escalation",
        "## Timeline",
        "## Action items",
        "## Lessons learned",
    ):
        assert section in markdown, section
    assert "AKIAIOSFODNN7EXAMPLE" not in markdown and "hunter2" not in markdown
    assert "[REDACTED AWS access key]" in markdown and "postgres://admin:[REDACTED password]@db.internal" in markdown
    assert re.search(r"Redaction: 2 secrets redacted", markdown)
    assert "rotate the leaked key Carol Counsel — owner Carol Counsel" in markdown
    assert "Add secret scanning to CI — owner Bob Investigator" in markdown
    assert "<@U" not in markdown, "people are written by name"
    assert "| SEV1 |" in markdown and "| SEV2 |" in markdown
    assert "| MTTD (time to detect) | — (impact start not recorded: `started TIME`" in markdown, "unknown, not 0"
    assert re.search(r"\| MTTA \(time to acknowledge\) \| \d", markdown) and "— (never acknowledged)" not in markdown
    assert "Acknowledged by Alice Analyst-Lead" in markdown and "skipped with --force" in markdown
    assert "What information was needed sooner?" in markdown
    assert "All times are UTC." in markdown
    times = re.findall(r"^\| (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \|", markdown.split("## Timeline")[1], re.MULTILINE)
    assert times and times == sorted(times)


def test_private_postmortems_stay_private(harness: Harness) -> None:
    _, channel = harness.declare("Insider case sev4")
    assert "no incident INC-1 that you can see" in harness.slash("INC-1 postmortem", user=MALLORY).text
    harness.slash("postmortem", channel=channel)
    (upload,) = harness.emulator.files.values()
    assert upload["channels"] == [channel]


@pytest.mark.slow
def test_template_override_and_the_cli_writes_the_same_file(harness: Harness, tmp_path: Path) -> None:
    _, channel = harness.declare("Lost laptop sev4")
    folder = Path(harness.bot.settings.config_dir)
    (folder / "templates").mkdir()
    (folder / "templates" / "postmortem.md.j2").write_text(
        "Custom report for {{ key }}: {{ title }}\n{{ redaction }}\n"
    )
    harness.slash("postmortem", channel=channel)
    assert uploaded(harness) == "Custom report for INC-1: Lost laptop\nno secrets redacted\n"

    output = tmp_path / "pm.md"
    env = serve_environment(harness.emulator, str(harness.bot.settings.database_url), folder)
    done = subprocess.run(
        [sys.executable, "-m", "ircbot.cli", "postmortem", "INC-1", "-o", str(output)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert output.read_text() == uploaded(harness)


def slack_says(h: Harness, event: dict[str, object]) -> None:
    """Deliver a message event as Slack would for what was just posted, and wait until the bot has noted it."""

    def noted() -> int:
        with h.bot.db.transaction() as session:
            return len(session.exec(select(ThreadActivity)).all())

    before = noted()
    assert h.driver.event(event, event_id=f"Ev{uuid.uuid4().hex[:10].upper()}").status == 200
    h.wait_for(lambda: noted() > before)


def reads(h: Harness) -> tuple[int, int]:
    """conversations.history and conversations.replies calls made so far."""
    return len(h.emulator.calls_to("conversations.history")), len(h.emulator.calls_to("conversations.replies"))


def test_a_recompile_of_an_unchanged_channel_reads_one_history_page_and_no_thread(harness: Harness) -> None:
    emu = harness.emulator
    _, channel = harness.declare("Beaconing from FS02 sev4")
    parents = [emu.post(channel, user=BOB if i % 2 else ALICE, text=f"finding {i}") for i in range(4)]
    for parent in parents[:2]:
        for i in range(3):
            emu.post(channel, user=CAROL, text=f"reply {i}", thread_ts=parent["ts"])
    harness.slash("postmortem", channel=channel)
    first = uploaded(harness)
    history, replies = reads(harness)
    assert condensed_total(first) == 4 + 6

    harness.slash("postmortem", channel=channel)
    assert reads(harness) == (history + 1, replies)
    assert condensed_total(uploaded(harness)) == 4 + 6, "the stored replies stand in for the threads"


def test_a_recompile_reads_only_the_thread_that_moved_and_shows_what_was_added(harness: Harness) -> None:
    emu = harness.emulator
    _, channel = harness.declare("Beaconing from FS03 sev4")
    busy = emu.post(channel, user=BOB, text="EDR alert on FS03")
    quiet = emu.post(channel, user=ALICE, text="proxy logs pulled")
    for i in range(2):
        stored_newest = emu.post(channel, user=ALICE, text=f"busy reply {i}", thread_ts=busy["ts"])["ts"]
        emu.post(channel, user=BOB, text=f"quiet reply {i}", thread_ts=quiet["ts"])
    harness.slash("postmortem", channel=channel)
    before = condensed_total(uploaded(harness))

    emu.post(channel, user=CAROL, text="AI: rebuild FS03 from the golden image")
    reply = emu.post(channel, user=BOB, text="TODO: block the beacon's second domain", thread_ts=busy["ts"])
    slack_says(
        harness, {"type": "message", "channel": channel, "user": BOB, "ts": reply["ts"], "thread_ts": busy["ts"]}
    )
    history, replies = reads(harness)
    harness.slash("postmortem", channel=channel)
    markdown = uploaded(harness)

    assert condensed_total(markdown) == before + 2
    assert "rebuild FS03 from the golden image" in markdown
    assert "block the beacon's second domain" in markdown, "a new reply in a thread read before is found"
    thread_reads = emu.calls_to("conversations.replies")[replies:]
    assert [(c.args["ts"], c.args.get("oldest")) for c in thread_reads] == [(busy["ts"], stored_newest)]
    assert [bool(c.args.get("oldest")) for c in emu.calls_to("conversations.history")[history:]] == [True], (
        "one history call, for what came after the stored copy"
    )


def test_edits_are_seen_and_a_history_slack_refuses_falls_back_to_the_stored_copy(harness: Harness) -> None:
    emu = harness.emulator
    _, channel = harness.declare("Stolen VPN certificate sev4")
    parent = emu.post(channel, user=BOB, text="AI: rotate the VPN certificate")
    emu.post(channel, user=ALICE, text="AI: revoke the old one at the CA", thread_ts=parent["ts"])
    harness.slash("postmortem", channel=channel)
    assert "rotate the VPN certificate" in uploaded(harness)

    parent["text"] = "AI: rotate the VPN certificate and the RADIUS secret"  # edited in Slack after the compile
    edited = {"ts": parent["ts"], "user": BOB, "text": parent["text"]}
    changed = {"type": "message", "subtype": "message_changed", "hidden": True, "channel": channel, "message": edited}
    slack_says(harness, {**changed, "ts": f"{float(parent['ts']) + 60:.6f}"})
    harness.slash("postmortem", channel=channel)
    assert "rotate the VPN certificate and the RADIUS secret" in uploaded(harness)

    emu.fail_next("conversations.history", "fatal_error")
    _, replies = reads(harness)
    harness.slash("postmortem", channel=channel)
    markdown = uploaded(harness)
    assert "could not be read (Slack said `fatal_error`)" in markdown
    assert "rotate the VPN certificate and the RADIUS secret" in markdown
    assert "revoke the old one at the CA" in markdown
    assert condensed_total(markdown) == 2
    assert reads(harness)[1] == replies


def test_a_draft_trusts_only_what_slack_said_and_the_final_postmortem_reads_everything(harness: Harness) -> None:
    emu = harness.emulator
    _, channel = harness.declare("Beaconing from FS04 sev4")
    parent = emu.post(channel, user=BOB, text="EDR alert on FS04")
    emu.post(channel, user=ALICE, text="first look", thread_ts=parent["ts"])
    harness.slash("postmortem", channel=channel)
    emu.post(channel, user=CAROL, text="AI: reimage FS04", thread_ts=parent["ts"])  # its event never arrived

    harness.slash("postmortem", channel=channel)
    assert "reimage FS04" not in uploaded(harness), "a draft reads only what Slack said moved"
    harness.slash("resolve Beacon blocked", channel=channel)

    assert "reimage FS04" in uploaded(harness), "the final postmortem reads the channel whole"


def test_a_timeline_row_does_not_name_its_actor_twice(harness: Harness) -> None:
    _, channel = harness.declare("Beaconing from FS05 sev4")
    harness.slash("check 1", channel=channel)
    harness.slash("severity sev2", channel=channel)
    harness.slash("resolve Beacon blocked", channel=channel)

    rows = [line.split(" | ") for line in uploaded(harness).splitlines() if line.startswith("| 20")]

    changed = [row for row in rows if "changed severity" in row[2]]
    assert changed and changed[0][1] and changed[0][2].startswith("changed severity SEV4 → SEV2")
    assert not [row for row in rows if "ticked Detection #1" in row[2]], "checks are in the stage sections"
    assert "Alice Analyst-Lead, " in uploaded(harness).split("### Detection", 1)[1].split("###", 1)[0]
    assert not [row for row in rows if row[1].strip() and row[2].startswith(row[1].strip())]


def test_the_record_sections_list_evidence_custody_indicators_and_decisions(harness: Harness) -> None:
    _, channel = harness.declare()
    digest = "ab" * 32
    harness.slash(
        f'evidence add Memory image of FS01 --hash sha256:{digest} --source FS01 --location "Locker 3"', channel=channel
    )
    harness.slash(f"evidence transfer EV-1 <@{BOB}|bob> imaging at the lab", channel=channel)
    harness.slash("note C2 at 45.77.1[.]9", channel=channel)
    harness.slash(f"assign analyst <@{BOB}|bob>", channel=channel)
    harness.slash("decide Isolate FS01 from the network", channel=channel)
    harness.slash("approve D-1", channel=channel, user=BOB)
    harness.slash("decide Pay the ransom", channel=channel)
    harness.slash("reject D-2 Backups are intact", channel=channel, user=BOB)
    harness.slash("postmortem", channel=channel)
    markdown = uploaded(harness)
    evidence = markdown.split("## Evidence", 1)[1].split("## Indicators", 1)[0]
    assert "**EV-1** Memory image of FS01" in evidence and f"`sha256:{digest}`" in evidence
    assert "stored at: Locker 3" in evidence and "custodian now: Bob Investigator" in evidence
    assert "Alice Analyst-Lead → Bob Investigator, imaging at the lab" in evidence
    indicators = markdown.split("## Indicators", 1)[1].split("## Decisions", 1)[0]
    assert "| ip | `45.77.1.9` | RED |" in indicators and "| note |" in indicators
    decisions = markdown.split("## Decisions", 1)[1].split("## Timeline", 1)[0]
    assert "**D-1 approved**: Isolate FS01 from the network" in decisions
    assert "approved by Alice Analyst-Lead, Bob Investigator" in decisions
    assert (
        "**D-2 rejected**: Pay the ransom" in decisions
        and "rejected by Bob Investigator (Backups are intact)" in decisions
    )
    assert "hash chain verified intact" in markdown


def test_the_retrospective_credits_authors_and_prefills_impact_people_and_communications(harness: Harness) -> None:
    emu = harness.emulator
    _, channel = harness.declare("Ransomware on FS01 sev2")
    finding = emu.post(channel, user=BOB, text="Patient zero is j.doe's laptop")
    pin = {
        "type": "pin_added",
        "user": ALICE,
        "channel_id": channel,
        "item": {"type": "message", "channel": channel, "message": {"ts": finding["ts"], "text": finding["text"]}},
    }
    harness.driver.event(pin, event_id="Ev0PINAUTHOR")
    harness.wait_for(lambda: events(harness, kind="captured"))
    harness.slash("impact fileserver 2026-03-29T01:30Z 2026-03-29T13:28Z", channel=channel)
    harness.slash(f"page analyst <@{BOB}|bob>", channel=channel)
    harness.slash("update Contained to FS01; restores under way", channel=channel)
    harness.slash("postmortem", channel=channel)
    markdown = uploaded(harness)
    row = next(line for line in markdown.splitlines() if "Patient zero" in line)
    assert "| Bob Investigator |" in row and "(pinned by Alice Analyst-Lead)" in row, row
    impact = markdown.split("## Impact", 1)[1].split("## Detection", 1)[0]
    assert "| fileserver |" in impact and "Downtime recorded in all: 11h 58m" in impact
    assert "Detected " in markdown and " by Alice Analyst-Lead." in markdown.split("## Detection", 1)[1]
    participants = markdown.split("## Participants", 1)[1].split("## Communications", 1)[0]
    assert "Alice Analyst-Lead — declared it" in participants
    communications = markdown.split("## Communications", 1)[1].split("## Escalation", 1)[0]
    assert "Status update to" in communications and "Contained to FS01" in communications
    assert "CSF 2.0 Respond (RS.MI)" in markdown and "Rev. 2 was withdrawn in April 2025" in markdown
    assert "is Incident manager" not in markdown.split("## Timeline", 1)[1], "the declarer's own role is no news"
    assert "Escalation started" not in markdown.split("## Timeline", 1)[1]


def test_action_items_carry_owner_due_date_and_priority(harness: Harness) -> None:
    _, channel = harness.declare("Ransomware on FS01 sev2")
    reply = harness.slash(f"action Enforce MFA on the VPN <@{BOB}|bob> --due 2026-12-15 --priority p1", channel=channel)
    assert f"(owner <@{BOB}>, due 2026-12-15, P1)" in reply.text
    assert "is not a date" in harness.slash("action Patch it --due next-week", channel=channel).text
    assert "use p1, p2, p3" in harness.slash("action Patch it --priority urgent", channel=channel).text
    harness.slash("action Review the backup schedule", channel=channel)
    harness.slash("postmortem", channel=channel)
    items = uploaded(harness).split("## Action items", 1)[1].split("##", 1)[0]
    assert "- [ ] **P1** Enforce MFA on the VPN — owner Bob Investigator, due 2026-12-15" in items
    assert "Review the backup schedule — _owner: to assign_" in items
