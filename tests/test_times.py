"""Typed times: `contained [TIME]`, `declare --started/--detected`, read in the typer's zone and echoed back."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from dateutil import tz
from sqlmodel import select

from ircbot.slack.markup import slack_date
from ircbot.store.models import Postmortem
from tests.conftest import Harness
from tests.factories import BOB
from tests.scenario import events, incident

BERLIN = tz.gettz("Europe/Berlin")


def test_contained_records_the_time_in_the_typers_zone_and_echoes_it(harness: Harness) -> None:
    _, channel = harness.declare("Ransomware on FS01 sev2 --detected 2h")
    now = harness.clock.peek()
    typed = (now - timedelta(minutes=30)).astimezone(UTC)
    local = typed.astimezone(tz.gettz("America/New_York"))
    reply = harness.slash(f"contained {local:%Y-%m-%d %H:%M}", channel=channel, user=BOB)  # Bob is in New York
    read = typed.replace(second=0, microsecond=0)
    # The moment read, which each reader's Slack shows in their zone (Bob sees the wall time he typed); the fallback
    # names the zone it was read in.
    assert f"recorded containment at {slack_date(read, f'{local:%Y-%m-%d %H:%M %Z}')}." in reply.text
    assert "UTC" not in reply.text
    assert incident(harness).contained_at == read
    again = harness.slash("contained 10m", channel=channel)
    assert f"(it said <!date^{int(read.timestamp())}^" in again.text
    assert [e.kind for e in events(harness, kind="contained")] == ["contained", "contained"]


def test_containment_cannot_precede_detection_or_lie_in_the_future(harness: Harness) -> None:
    _, channel = harness.declare("Ransomware on FS01 sev2")
    early = harness.slash("contained 3h", channel=channel).text
    assert "cannot come before detection" in early
    assert f"was detected {slack_date(incident(harness).detected_at)};" in early
    future = harness.slash("contained 2099-01-01 00:00", channel=channel).text  # Alice types in Berlin time
    read = slack_date(datetime(2099, 1, 1, 0, 0, tzinfo=BERLIN), "2099-01-01 00:00 CET")
    assert f"({read}) is in the future" in future
    assert "is not a time for containment" in harness.slash("contained soonish", channel=channel).text
    assert incident(harness).contained_at is None


def test_declare_takes_when_impact_started_and_when_it_was_detected(harness: Harness) -> None:
    result, _ = harness.declare("Data leak sev2 --started 3h --detected 2h")
    stored = incident(harness)
    now = harness.clock.peek()
    assert stored.started_at is not None and abs(stored.started_at - (now - timedelta(hours=3))) < timedelta(minutes=1)
    assert abs(stored.detected_at - (now - timedelta(hours=2))) < timedelta(minutes=1)
    backwards = harness.slash("declare Leak sev2 --started 1h --detected 2h").text
    assert "is before --started" in backwards
    assert result.status == 200 and isinstance(now, datetime)


def test_started_records_when_impact_began_after_the_declare_and_mttd_counts_from_it(harness: Harness) -> None:
    _, channel = harness.declare("Beaconing from a build server sev2 --detected 1h")
    assert "Say when impact began" in harness.slash("started", channel=channel).text
    now = harness.clock.peek()
    reply = harness.slash("started 3h", channel=channel)
    assert "recorded that impact began <!date^" in reply.text
    began = incident(harness).started_at
    assert began is not None and abs(began - (now - timedelta(hours=3))) < timedelta(minutes=1), "3h ago"
    assert "it said" in harness.slash("started 4h", channel=channel).text, "a correction says what it replaced"
    refused = harness.slash("started 30m", channel=channel).text  # after the detection an hour ago
    assert "impact must have begun before it was detected" in refused
    began = incident(harness).started_at
    assert began is not None and abs(began - (now - timedelta(hours=4))) < timedelta(minutes=1), "unchanged"
    assert [e.actor for e in events(harness, kind="impact_started")] == ["U0ALICE", "U0ALICE"]
    harness.slash("resolve Build server reimaged", channel=channel)
    with harness.bot.db.transaction() as session:
        markdown = session.exec(select(Postmortem)).one().markdown
    # From impact (4h ago) to detection (1h ago), less the moments between the commands typed:
    assert re.search(r"\| MTTD \(time to detect\) \| (2h 59m|3h 00m) \|", markdown), markdown.split("## Roles")[0]
