"""Regulatory clocks: start, remind, page the owner when overdue until done or stopped; chained reports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from ircbot.store.models import PageStep
from tests.conftest import Harness
from tests.factories import BOB, CAROL, MALLORY, roles_config, write_config
from tests.scenario import channel_text, events
from tests.test_card import pinned
from tests.test_postmortem import uploaded

QUICK: dict[str, object] = {
    "regimes": {
        "quick": {
            "name": "Quick test regime",
            "owner": "role:legal",
            "remind": ["50%"],
            "reports": [
                {"name": "first notice", "within": "60s", "recipient": "the regulator"},
                {"name": "final report", "within": "120s", "from": "previous", "recipient": "the regulator"},
            ],
        },
        "gdpr": {
            "name": "GDPR Art. 33",
            "owner": "role:legal",
            "remind": ["50%", "75%", "90%"],
            "reports": [{"name": "notification", "within": "72h", "recipient": "lead supervisory authority"}],
        },
    }
}


def dms(h: Harness, user: str) -> list[str]:
    channel = h.emulator.im_channel(user)
    return [h.emulator.message_text(m) for m in h.emulator.messages(channel)] if channel else []


def clock_pages(h: Harness) -> list[PageStep]:
    with h.bot.db.transaction() as session:
        return list(session.exec(select(PageStep).where(PageStep.clock_id.is_not(None))).all())  # type: ignore[union-attr]


def quick(make_harness: Callable[..., Harness], **kwargs: Any) -> tuple[Harness, str]:
    h = make_harness(regulations=QUICK, **kwargs)
    _, channel = h.declare("Customer database exfiltrated sev2")
    h.slash(f"assign legal <@{CAROL}|carol>", channel=channel)
    return h, channel


def test_start_answers_with_the_deadline_in_each_readers_zone(make_harness: Callable[..., Harness]) -> None:
    h, channel = quick(make_harness)
    reply = h.slash("clock start gdpr --aware 2026-12-01T10:00+01:00", channel=channel)
    assert "started the GDPR Art. 33 clock" in reply.text
    due = "notification to lead supervisory authority — due <!date^1796374800^{date_short_pretty} {time}|"
    assert f"{due}Fri 2026-12-04 10:00 CET>;" in reply.text, "each reader sees their zone; the fallback is the typer's"
    assert "UTC" not in reply.text, "no fixed time beside the token"
    listing = h.slash("clocks", channel=channel, user=BOB).text  # Bob reads it in New York
    assert f"{due}Fri 2026-12-04 04:00 EST>;" in listing and "not legal advice" in listing
    status = h.slash("status", channel=channel).text
    assert "Next deadline" in status and "GDPR notification" in status
    h.advance(seconds=3)  # the pinned card is redrawn once the burst of changes is over
    card = h.emulator.message_text(pinned(h, channel))
    assert "*Next deadline*" in card and "GDPR notification" in card


def test_reminders_then_overdue_pages_the_owner_each_round_until_done(make_harness: Callable[..., Harness]) -> None:
    h, channel = quick(make_harness)
    h.slash("clock start quick", channel=channel)
    h.advance(seconds=31)
    assert any("first notice to the regulator is due in" in t for t in dms(h, CAROL)), "the owner is reminded"
    assert "50% of its window has passed" in channel_text(h.emulator, channel)
    due = re.compile(r"is due in [^(]+ \(<!date\^\d+\^\{date_short_pretty\} \{time\}\|[^>]+ UTC>\);")
    assert due.search(channel_text(h.emulator, channel)), "the deadline in each reader's zone"
    h.advance(seconds=30)
    assert "is OVERDUE (deadline <!date^" in channel_text(h.emulator, channel)
    assert len(clock_pages(h)) == 1 and clock_pages(h)[0].status == "fired"
    assert any("Quick test regime first notice of INC-1 is overdue" in t for t in dms(h, CAROL))
    h.slash("ack", channel=channel, user=CAROL)  # acknowledging the incident's page does not stop the clock
    h.advance(minutes=30)
    assert len(clock_pages(h)) == 2, "paged again a round later"
    reply = h.slash("clock done quick REF-2026-001", channel=channel, user=CAROL)
    assert (
        "first notice to the regulator" in reply.text
        and "reference REF-2026-001" in reply.text
        and "late" in reply.text
    )
    assert "final report to the regulator — due" in reply.text, "the chained report starts now"
    h.advance(minutes=31)
    assert len(clock_pages(h)) == 3, "only the final report's deadline pages now"
    [first] = [e for e in events(h, kind="clock_submitted")]
    assert first.data["reference"] == "REF-2026-001" and first.data["late"]


def test_stop_records_the_reason_and_nothing_fires_after(make_harness: Callable[..., Harness]) -> None:
    h, channel = quick(make_harness)
    h.slash("clock start quick", channel=channel)
    reply = h.slash("clock stop quick no personal data involved", channel=channel)
    assert "not applicable: no personal data involved" in reply.text
    h.advance(minutes=5)
    assert "OVERDUE" not in channel_text(h.emulator, channel) and clock_pages(h) == []
    h.slash("resolve Contained", channel=channel)
    section = uploaded(h).split("## Regulatory notifications", 1)[1].split("## Timeline", 1)[0]
    assert (
        "| QUICK | first notice | the regulator |" in section and "not applicable: no personal data involved" in section
    )


def test_a_drill_clock_reminds_its_channel_and_pages_nobody(make_harness: Callable[..., Harness]) -> None:
    roles = roles_config()
    h = make_harness(regulations=QUICK, roles=roles)
    _, channel = h.declare("Tabletop: ransomware sev2 --drill")
    h.slash("clock start quick", channel=channel)
    h.advance(seconds=61)
    assert "is OVERDUE" in channel_text(h.emulator, channel) and "[DRILL]" in channel_text(h.emulator, channel)
    assert clock_pages(h) == [] and dms(h, CAROL) == []


def test_clock_names_the_problem_with_bad_input(make_harness: Callable[..., Harness]) -> None:
    h, channel = quick(make_harness)
    unknown = h.slash("clock start hipaa", channel=channel).text
    assert "no regime `hipaa`" in unknown and "`quick`" in unknown and "`gdpr`" in unknown
    assert "Say `clock start <regime>`" in h.slash("clock", channel=channel).text
    assert "Say `clock start <regime>`" in h.slash("clock pause gdpr", channel=channel).text
    assert "`--aware`" in h.slash("clock start gdpr --aware yesterday-ish", channel=channel).text
    assert "cannot be in the future" in h.slash("clock start gdpr --aware 2099-01-01T00:00Z", channel=channel).text
    assert "No gdpr report is running" in h.slash("clock done gdpr", channel=channel).text
    assert "Say why the gdpr clock stops" in h.slash("clock stop gdpr", channel=channel).text
    h.slash("clock start gdpr", channel=channel)
    assert "already running" in h.slash("clock start gdpr", channel=channel).text
    assert "No regulatory clocks" not in h.slash("clocks", channel=channel).text
    assert "no incident INC-1 that you can see" in h.slash("INC-1 clocks", user=MALLORY).text


@pytest.mark.slow
def test_ircbot_clocks_deadline_prints_each_report_for_legal_to_check(tmp_path: Path) -> None:
    env = {**os.environ, "IRCBOT_CONFIG_DIR": str(write_config(tmp_path / "config")), "IRCBOT_TIMEZONE": "UTC"}

    def deadline(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "ircbot.cli", "clocks", "deadline", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    sec = deadline("sec", "--aware", "2026-12-24 10:00 America/New_York")
    assert sec.returncode == 0, sec.stderr
    assert "Thu 2026-12-31 22:30 UTC (Thu 2026-12-31 17:30 EST) — within 4 business days" in sec.stdout
    nis2 = deadline("nis2", "--aware", "2026-12-01T09:00Z")
    assert "early warning" in nis2.stdout and "Wed 2026-12-02 09:00 UTC" in nis2.stdout
    assert "within 1 month of the report before it is submitted" in nis2.stdout and "Not legal advice" in nis2.stdout
    unknown = deadline("sox", "--aware", "now")
    assert unknown.returncode == 1 and "there is no regime 'sox'" in unknown.stderr and "gdpr" in unknown.stderr
    garbled = deadline("gdpr", "--aware", "yesterday")
    assert garbled.returncode == 1 and "--aware: 'yesterday' is not a time" in garbled.stderr
