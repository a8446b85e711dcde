"""Response metrics against a hand-computed data set; the chart; `/incident stats` and `impact`; `ircbot stats`."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from matplotlib.image import imread
from sqlmodel import select

from ircbot.adapters.charts import monthly_chart
from ircbot.domain.metrics import (
    Downtime,
    IncidentTimes,
    Metrics,
    Spread,
    Summary,
    compute,
    merged_downtime,
    months_from_to,
    parse_since,
    severity_order,
    spread,
)
from ircbot.domain.metrics_report import report_body, report_csv_rows, report_json, report_text
from ircbot.domain.stats import collect
from ircbot.emulator import SlackEmulator
from ircbot.store.db import Database
from ircbot.store.models import Impact, Incident, Participant
from tests.conftest import Harness, serve_environment
from tests.factories import ALICE, BOB, MALLORY
from tests.scenario import events

NOW = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)
SINCE = datetime(2026, 1, 1, tzinfo=UTC)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def at(text: str) -> datetime:
    """A UTC instant written as `2026-01-10 08:30`."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# The data set. Times in UTC; the comments give the intervals the expected numbers are built from.
INCIDENTS: list[dict[str, Any]] = [
    # INC-1 phishing: MTTD 30m, MTTA 10m, MTTC 2h, MTTR 4h; repeats INC-8 (26 days before)
    dict(number=1, severity="sev2", playbook="phishing", started_at=at("2026-01-10 08:00"),
         detected_at=at("2026-01-10 08:30"), declared_at=at("2026-01-10 09:00"),
         acknowledged_at=at("2026-01-10 09:10"), contained_at=at("2026-01-10 10:30"),
         resolved_at=at("2026-01-10 12:30")),
    # INC-2 across the month boundary, counted in January: MTTA 5m, MTTR 40m
    dict(number=2, severity="sev1", playbook="ransomware", detected_at=at("2026-01-31 23:40"),
         declared_at=at("2026-01-31 23:50"), acknowledged_at=at("2026-01-31 23:55"),
         resolved_at=at("2026-02-01 00:20")),
    # INC-3 false positive: MTTA 20m, MTTC 2h, MTTR 4h; repeats INC-1 (50 days), not the drill INC-6
    dict(number=3, severity="sev2", playbook="phishing", detected_at=at("2026-03-01 09:00"),
         declared_at=at("2026-03-01 10:00"), acknowledged_at=at("2026-03-01 10:20"),
         contained_at=at("2026-03-01 11:00"), resolved_at=at("2026-03-01 13:00"), false_positive=True),
    # INC-4 the night Europe moves to summer time (01:30 CET – 04:30 CEST on the wall): MTTD 30m, MTTA 30m,
    # MTTC 1h, MTTR 2h (not the 3h the wall clock suggests); not a repeat of INC-9 (91 days before)
    dict(number=4, severity="sev1", playbook="default", started_at=at("2026-03-29 00:00"),
         detected_at=at("2026-03-29 00:30"), declared_at=at("2026-03-29 00:45"),
         acknowledged_at=at("2026-03-29 01:15"), contained_at=at("2026-03-29 01:30"),
         resolved_at=at("2026-03-29 02:30")),
    # INC-5 still open, never acknowledged; repeats INC-2 (68 days)
    dict(number=5, severity="sev3", playbook="ransomware", detected_at=at("2026-04-10 07:00"),
         declared_at=at("2026-04-10 08:00")),
    # INC-6 a drill with a 100-hour MTTR: excluded everywhere
    dict(number=6, severity="sev1", playbook="phishing", is_drill=True, detected_at=at("2026-02-15 09:00"),
         declared_at=at("2026-02-15 09:00"), acknowledged_at=at("2026-02-15 09:01"),
         resolved_at=at("2026-02-19 13:00"), false_positive=True),
    # INC-7 private, only Bob was brought in: MTTA 30m, MTTR 10h
    dict(number=7, severity="sev2", playbook="data-breach", is_private=True, declared_by=BOB,
         detected_at=at("2026-02-20 11:00"), declared_at=at("2026-02-20 12:00"),
         acknowledged_at=at("2026-02-20 12:30"), resolved_at=at("2026-02-20 21:00")),
    # INC-8 and INC-9 before the window: only earlier incidents that later ones may repeat
    dict(number=8, severity="sev3", playbook="phishing", detected_at=at("2025-12-15 10:00"),
         declared_at=at("2025-12-15 10:00"), resolved_at=at("2025-12-15 11:00")),
    dict(number=9, severity="sev4", playbook="default", detected_at=at("2025-12-28 00:00"),
         declared_at=at("2025-12-28 00:00")),
]  # fmt: skip

OUTAGES = [
    (1, "mail", "2026-01-10 08:00", "2026-01-10 10:00"),  # overlaps the next one: mail down 08:00–11:00 = 3h
    (1, "mail", "2026-01-10 09:00", "2026-01-10 11:00"),
    (3, "MAIL", "2026-03-01 09:00", "2026-03-01 09:30"),  # same system whatever the case: mail 3h30m in all
    (4, "fileserver", "2026-03-29 00:00", "2026-03-29 02:00"),  # touching the next: fileserver 2h30m
    (4, "fileserver", "2026-03-29 02:00", "2026-03-29 02:30"),
    (6, "mail", "2026-02-15 09:00", "2026-02-15 19:00"),  # the drill's: excluded
    (7, "crm", "2026-02-20 11:00", "2026-02-20 15:00"),  # private: crm 4h for those who may see INC-7
]


def insert_data_set(db: Database) -> None:
    """The incidents, Bob's participation in the private one, and the recorded outages, through the store."""
    with db.transaction() as session:
        ids = {}
        for spec in INCIDENTS:
            fields = {"is_private": False, "declared_by": ALICE, **spec}
            number = fields["number"]
            incident = Incident(
                title=f"Incident {number}", status="resolved" if fields.get("resolved_at") else "open", **fields
            )
            incident.channel_id, incident.channel_name = f"C0INC{number}", f"inc-{number}"
            session.add(incident)
            session.flush()
            ids[number] = incident.id
            session.add(
                Participant(
                    incident_id=incident.id,
                    user_id=incident.declared_by,
                    reason="declared",
                    added_at=incident.declared_at,
                )
            )
        for number, system, start, end in OUTAGES:
            session.add(
                Impact(incident_id=ids[number], system=system, started_at=at(start), ended_at=at(end),
                       recorded_by=ALICE, recorded_at=NOW)
            )  # fmt: skip


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    insert_data_set(database)
    yield database
    database.dispose()


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def seconds(metrics: Metrics) -> dict[str, Any]:
    return report_json(metrics)["summary"]


# --- the numbers -----------------------------------------------------------------------------------------------


def test_operator_view_matches_the_hand_computed_numbers(db: Database) -> None:
    metrics = collect(db, viewer=None, since=SINCE, until=NOW)
    total = metrics.total
    assert (total.incidents, total.resolved, total.false_positives) == (6, 5, 1)
    assert total.false_positive_rate == pytest.approx(0.2)
    assert total.mttd == Spread(2, timedelta(minutes=30), timedelta(minutes=30), timedelta(minutes=30))
    assert total.mtta == Spread(5, timedelta(seconds=1140), timedelta(minutes=20), timedelta(minutes=30))
    assert total.mttc == Spread(3, timedelta(seconds=6000), hours(2), hours(2))
    # MTTR over 40m, 2h, 4h, 4h, 10h: p90 sits 0.6 of the way from 4h to 10h
    assert total.mttr == Spread(5, timedelta(seconds=14880), hours(4), timedelta(seconds=27360))
    assert [(r.key, r.playbook, r.repeat_of) for r in metrics.repeats] == [
        ("INC-1", "phishing", "INC-8"),
        ("INC-3", "phishing", "INC-1"),
        ("INC-5", "ransomware", "INC-2"),
    ]
    assert total.downtime == (("crm", hours(4)), ("fileserver", hours(2.5)), ("mail", hours(3.5)))


def test_months_are_utc_calendar_months_and_the_boundary_incident_counts_in_january(db: Database) -> None:
    months = collect(db, viewer=None, since=SINCE, until=NOW).months
    table = [(m.period, m.incidents, m.resolved, m.false_positives, m.repeats, m.mttr.median) for m in months]
    assert table == [
        ("2026-01", 2, 2, 0, 1, timedelta(seconds=8400)),  # median of 4h and 40m
        ("2026-02", 1, 1, 0, 0, hours(10)),
        ("2026-03", 2, 2, 1, 1, hours(3)),  # median of 4h and the DST night's 2h
        ("2026-04", 1, 0, 0, 1, None),
    ]
    assert [m.total_downtime for m in months] == [hours(3), hours(4), hours(3), timedelta()]


def test_private_incidents_count_only_for_people_brought_into_them(db: Database) -> None:
    outsider = collect(db, viewer=ALICE, since=SINCE, until=NOW)
    insider = collect(db, viewer=BOB, since=SINCE, until=NOW)
    operator = collect(db, viewer=None, since=SINCE, until=NOW)
    assert report_json(insider) == report_json(operator)
    total = outsider.total
    assert (total.incidents, total.resolved, total.false_positives) == (5, 4, 1)
    assert total.false_positive_rate == pytest.approx(0.25)
    assert total.mttr == Spread(4, timedelta(seconds=9600), hours(3), hours(4))
    assert total.mtta == Spread(4, timedelta(seconds=975), timedelta(minutes=15), timedelta(seconds=1620))
    assert [(m.period, m.incidents) for m in outsider.months] == [
        ("2026-01", 2),
        ("2026-02", 0),  # the empty month between first and last is still a row
        ("2026-03", 2),
        ("2026-04", 1),
    ]
    assert [system for system, _ in total.downtime] == ["fileserver", "mail"]
    assert "INC-7" not in report_text(outsider) and "crm" not in report_text(outsider)


def test_severity_filter_keeps_one_severity(db: Database) -> None:
    metrics = collect(db, viewer=None, since=SINCE, until=NOW, severity="sev1")
    assert metrics.total.incidents == 2 and metrics.total.mttr.median == timedelta(minutes=80)
    assert [(m.period, m.incidents) for m in metrics.months] == [("2026-01", 1), ("2026-02", 0), ("2026-03", 1)]
    assert metrics.repeats == ()


def test_since_cuts_the_window_and_keeps_older_incidents_only_for_repeats(db: Database) -> None:
    metrics = collect(db, viewer=None, since=at("2026-03-01 00:00"), until=NOW)
    assert [m.period for m in metrics.months] == ["2026-03", "2026-04"] and metrics.total.incidents == 3
    assert [r.key for r in metrics.repeats] == ["INC-3", "INC-5"]  # their earlier incidents are before the cut


def test_spread_merge_months_and_since_parsing() -> None:
    assert spread([]) == Spread(0)
    assert spread([hours(1)]) == Spread(1, hours(1), hours(1), hours(1))
    assert spread([hours(h) for h in range(1, 11)]).p90 == hours(9.1)
    merged = merged_downtime(
        [
            Downtime(1, "vpn", at("2026-01-01 10:00"), at("2026-01-01 12:00")),
            Downtime(2, "vpn", at("2026-01-01 11:00"), at("2026-01-01 11:30")),  # inside the first
            Downtime(2, "vpn", at("2026-01-01 13:00"), at("2026-01-01 14:00")),
        ]
    )
    assert merged == (("vpn", hours(3)),)
    assert months_from_to("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert parse_since("90d", NOW) == NOW - timedelta(days=90)
    assert parse_since("2026-01-01", NOW) == SINCE
    assert parse_since("2026-01-01T00:00+01:00", NOW) == at("2025-12-31 23:00")
    for bad in ("yesterday", "2026-13-01", "2027-01-01"):
        with pytest.raises(ValueError):
            parse_since(bad, NOW)


def test_report_shapes(db: Database) -> None:
    metrics = collect(db, viewer=None, since=SINCE, until=NOW)
    shape = report_json(metrics)
    assert list(shape) == ["since", "until", "severity", "months", "summary", "repeats", "by_severity", "alerts"]
    assert shape["summary"]["mttr"] == {"n": 5, "mean_s": 14880, "median_s": 14400, "p90_s": 27360}
    assert shape["summary"]["downtime_s"] == {"crm": 14400, "fileserver": 9000, "mail": 12600}
    assert shape["months"][3]["mttr"] == {"n": 0, "mean_s": None, "median_s": None, "p90_s": None}
    rows = report_csv_rows(metrics)
    assert [r["period"] for r in rows] == ["2026-01", "2026-02", "2026-03", "2026-04", "total"]
    assert rows[-1]["mttr_median_s"] == 14400 and rows[3]["mttr_median_s"] == "" and rows[-1]["downtime_s"] == 36000
    assert [s["severity"] for s in shape["by_severity"]] == ["sev1", "sev2", "sev3"]
    sev2 = shape["by_severity"][1]["months"]
    assert [m["period"] for m in sev2] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert [m["mttr"]["median_s"] for m in sev2] == [14400, 36000, 14400, None]
    text = report_text(metrics)
    for expected in ("MTTR", "2026-02", "False positives: 1 of 5 resolved (20%)", "INC-3 (phishing, after INC-1)"):
        assert expected in text, expected
    assert text.startswith("Incidents declared 2026-01-01 00:00 – 2026-04-15 12:00 UTC · all severities · drills")
    assert text.endswith(report_body(metrics)) and "UTC" not in report_body(metrics), "chats state the window"


# --- per severity -----------------------------------------------------------------------------------------------


def medians(months: tuple[Summary, ...], metric: str) -> list[tuple[int, timedelta | None]]:
    """(n, median) of one interval, month by month."""
    return [(getattr(m, metric).n, getattr(m, metric).median) for m in months]


def test_each_severity_has_its_own_months_of_every_interval(db: Database) -> None:
    metrics = collect(db, viewer=None, since=SINCE, until=NOW)
    by_severity = {s.severity: s.months for s in metrics.by_severity}
    assert list(by_severity) == ["sev1", "sev2", "sev3"]
    for months in by_severity.values():
        assert [m.period for m in months] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    sev1, sev2, sev3 = by_severity["sev1"], by_severity["sev2"], by_severity["sev3"]
    assert [m.incidents for m in sev1] == [1, 0, 1, 0]  # INC-2 in January, the DST night's INC-4 in March
    assert medians(sev1, "mttd") == [(0, None), (0, None), (1, minutes(30)), (0, None)]
    assert medians(sev1, "mtta") == [(1, minutes(5)), (0, None), (1, minutes(30)), (0, None)]
    assert medians(sev1, "mttc") == [(0, None), (0, None), (1, hours(1)), (0, None)]
    assert medians(sev1, "mttr") == [(1, minutes(40)), (0, None), (1, hours(2)), (0, None)]
    assert [m.incidents for m in sev2] == [1, 1, 1, 0]  # INC-1, the private INC-7, the false positive INC-3
    assert medians(sev2, "mttd") == [(1, minutes(30)), (0, None), (0, None), (0, None)]
    assert medians(sev2, "mtta") == [(1, minutes(10)), (1, minutes(30)), (1, minutes(20)), (0, None)]
    assert medians(sev2, "mttc") == [(1, hours(2)), (0, None), (1, hours(2)), (0, None)]
    assert medians(sev2, "mttr") == [(1, hours(4)), (1, hours(10)), (1, hours(4)), (0, None)]
    assert [m.incidents for m in sev3] == [0, 0, 0, 1]  # INC-5, still open: no interval has both its times
    assert all(medians(sev3, metric) == [(0, None)] * 4 for metric in ("mttd", "mtta", "mttc", "mttr"))
    for month in range(4):  # the severities split the month's incidents, nothing lost or counted twice
        assert sum(s.months[month].incidents for s in metrics.by_severity) == metrics.months[month].incidents


def test_the_private_incident_is_a_gap_in_sev2_for_whoever_may_not_see_it(db: Database) -> None:
    sev2 = next(s.months for s in collect(db, viewer=ALICE, since=SINCE, until=NOW).by_severity if s.severity == "sev2")
    assert [m.incidents for m in sev2] == [1, 0, 1, 0]
    assert medians(sev2, "mttr") == [(1, hours(4)), (0, None), (1, hours(4)), (0, None)]


def test_a_severity_filter_leaves_one_severity() -> None:
    def times(n: int, severity: str, declared: str, resolved_after: float) -> IncidentTimes:
        when = at(declared)
        return IncidentTimes(id=n, key=f"INC-{n}", severity=severity, playbook="default", declared_at=when,
                             detected_at=when, resolved_at=when + hours(resolved_after))  # fmt: skip

    incidents = [times(1, "sev1", "2026-01-05 10:00", 1), times(2, "sev4", "2026-02-05 10:00", 9)]
    only = compute(incidents, [], since=SINCE, until=NOW, severity="sev4")
    assert [s.severity for s in only.by_severity] == ["sev4"]
    assert [m.period for m in only.by_severity[0].months] == ["2026-02"]


def test_a_slow_severity_does_not_hide_another_severitys_medians() -> None:
    """Three sev1 incidents in January resolved in 1h, 2h and 6h, and a sev4 in 100h: the month's median MTTR
    over all four is 4h, sev1's own is 2h. March has a sev1 again, February none (n=0, no median: a gap)."""

    def times(n: int, severity: str, declared: str, ack_minutes: int, resolved_after: float) -> IncidentTimes:
        when = at(declared)
        return IncidentTimes(
            id=n, key=f"INC-{n}", severity=severity, playbook="default", declared_at=when, detected_at=when,
            acknowledged_at=when + timedelta(minutes=ack_minutes), resolved_at=when + hours(resolved_after),
        )  # fmt: skip

    incidents = [
        times(1, "sev1", "2026-01-05 10:00", 5, 1),
        times(2, "sev1", "2026-01-12 10:00", 15, 6),
        times(3, "sev1", "2026-01-19 10:00", 10, 2),
        times(4, "sev4", "2026-01-20 10:00", 600, 100),
        times(5, "sev10", "2026-03-01 10:00", 1, 1),
        times(6, "sev1", "2026-03-02 10:00", 2, 0.5),
    ]
    metrics = compute(incidents, [], since=SINCE, until=NOW)
    assert [s.severity for s in metrics.by_severity] == ["sev1", "sev4", "sev10"]  # by number, not as text
    sev1 = metrics.by_severity[0].months
    assert [m.period for m in sev1] == ["2026-01", "2026-02", "2026-03"]
    assert sev1[0].mttr == Spread(3, hours(3), hours(2), timedelta(seconds=18720))  # p90 0.8 of the way from 2h to 6h
    assert medians(sev1, "mttr") == [(3, hours(2)), (0, None), (1, hours(0.5))]
    assert medians(sev1, "mtta") == [(3, minutes(10)), (0, None), (1, minutes(2))]
    assert metrics.months[0].mttr.median == hours(4)
    assert medians(metrics.by_severity[1].months, "mttr") == [(1, hours(100)), (0, None), (0, None)]
    assert severity_order("sev2") < severity_order("sev10") < severity_order("sevx")


# --- the chart --------------------------------------------------------------------------------------------------


def test_chart_draws_each_interval_per_month_and_severity_with_its_n_and_its_gaps(db: Database) -> None:
    chart = monthly_chart(collect(db, viewer=None, since=SINCE, until=NOW))
    assert chart.png.startswith(PNG_MAGIC)
    pixels = imread(io.BytesIO(chart.png), format="png")
    assert pixels.shape[0] > 0 and pixels.shape[1] > 0 and pixels.std() > 0  # decodes, and is not blank
    assert chart.months == ("2026-01", "2026-02", "2026-03", "2026-04")
    assert chart.incidents == {"sev1": (1, 0, 1, 0), "sev2": (1, 1, 1, 0), "sev3": (0, 0, 0, 1)}
    # Read back from the lines drawn, in hours whatever the panel's unit; None: a gap in the line, not a zero.
    assert chart.hours["mttr"] == {
        "sev1": (pytest.approx(40 / 60), None, 2.0, None),
        "sev2": (4.0, 10.0, 4.0, None),
        "sev3": (None, None, None, None),
    }
    assert chart.hours["mtta"]["sev1"] == (pytest.approx(5 / 60), None, 0.5, None)  # a panel drawn in minutes
    assert chart.hours["mttd"]["sev2"] == (0.5, None, None, None)
    assert chart.hours["mttc"]["sev1"] == (None, None, 1.0, None)
    assert chart.labels["mtta"] == {"sev1": ("n=1", "n=1"), "sev2": ("n=1", "n=1", "n=1"), "sev3": ()}


def test_chart_changes_with_the_data_and_only_with_it(db: Database) -> None:
    everyone = monthly_chart(collect(db, viewer=None, since=SINCE, until=NOW))
    assert monthly_chart(collect(db, viewer=None, since=SINCE, until=NOW)).png == everyone.png
    outsider = monthly_chart(collect(db, viewer=ALICE, since=SINCE, until=NOW))  # without the private INC-7
    assert outsider.png != everyone.png
    assert outsider.incidents["sev2"] == (1, 0, 1, 0) and outsider.hours["mttr"]["sev2"] == (4.0, None, 4.0, None)
    sev1 = monthly_chart(collect(db, viewer=None, since=SINCE, until=NOW, severity="sev1"))
    assert sev1.months == ("2026-01", "2026-02", "2026-03") and list(sev1.incidents) == ["sev1"]
    assert sev1.png != everyone.png


def test_chart_is_sharp_says_its_window_and_says_no_incidents_when_empty(db: Database) -> None:
    chart = monthly_chart(collect(db, viewer=None, since=SINCE, until=NOW))
    pixels = imread(io.BytesIO(chart.png), format="png")
    assert pixels.shape[:2] == (1720, 2400), "12 in wide, 2.6 in and 2 in per severity high, at 200 dpi"
    empty = monthly_chart(collect(db, viewer=None, since=NOW - timedelta(days=1), until=NOW))
    assert empty.incidents == {} and empty.png.startswith(PNG_MAGIC)
    blank = imread(io.BytesIO(empty.png), format="png")
    assert blank.std() > 0, "the empty chart still says something"


# --- Slack ------------------------------------------------------------------------------------------------------


def test_stats_answers_the_caller_and_sends_the_chart_to_their_dm_only(harness: Harness) -> None:
    emu = harness.emulator
    _, channel = harness.declare("Ransomware on FS01 sev1")  # private: Alice is in it, Mallory is not
    harness.slash("resolve Restored", channel=channel)
    answer = harness.slash("stats --since 30d")
    assert "MTTR" in answer.text and "Total" in answer.text and "direct messages" in answer.text
    assert all(r.get("response_type", "ephemeral") == "ephemeral" for r in answer.responses)
    charts = [f for f in emu.files.values() if f["name"].endswith(".png")]
    assert len(charts) == 1 and charts[0]["content"].startswith(PNG_MAGIC)
    dm = emu.im_channel(ALICE)
    assert dm is not None and charts[0]["channels"] == [dm]
    assert not any(f["name"].endswith(".png") for m in emu.messages(harness.general) for f in m.get("files") or [])

    outsider = harness.slash("stats", user=MALLORY)
    assert "No incidents in this period" in outsider.text and "Ransomware" not in outsider.text
    assert len([f for f in emu.files.values() if f["name"].endswith(".png")]) == 1


def test_stats_bad_options_get_usage(harness: Harness) -> None:
    for text, expected in (
        ("stats --since soon", "is neither a duration"),
        ("stats --severity sev9", "not a severity"),
        ("stats lately", "takes only options"),
        ("stats --until now", "Unknown option"),
    ):
        answer = harness.slash(text).text
        assert expected in answer and "Usage: `/incident stats" in answer, (text, answer)


def test_impact_records_downtime_with_offsets_across_the_dst_change(harness: Harness) -> None:
    _, channel = harness.declare()
    reply = harness.slash("impact fileserver 2026-03-29T01:30+01:00 2026-03-29T04:30+02:00", channel=channel)
    assert "fileserver" in reply.text and "2h 00m" in reply.text
    with harness.bot.db.transaction() as session:
        (row,) = session.exec(select(Impact)).all()
        assert (row.system, row.started_at, row.ended_at) == (
            "fileserver",
            at("2026-03-29 00:30"),
            at("2026-03-29 02:30"),
        )
    (event,) = events(harness, kind="impact")
    assert "fileserver" in event.text and event.actor == ALICE
    assert "recorded downtime" in harness.slash('impact vpn "2026-03-29 05:00" now', channel=channel).text


def test_impact_bad_input_gets_usage_and_records_nothing(harness: Harness) -> None:
    _, channel = harness.declare()
    for text, expected in (
        ("impact", "Give the system"),
        ("impact mail 2026-03-29 01:30 02:30", "4 words given"),
        ("impact mail yesterday now", "`yesterday` is not a time"),
        ("impact mail 12 now", "`12` is not a time"),
        ("impact mail 2026-02-30T10:00 now", "is not a time"),
        ("impact mail 2026-03-29T10:00 2026-03-29T09:00", "is not after"),
        ("impact mail 2026-03-29T10:00 2999-01-01T00:00", "in the future"),
    ):
        answer = harness.slash(text, channel=channel).text
        assert expected in answer and "Usage: `/incident impact <system> <from|2h> <to|now>`" in answer, (text, answer)
    with harness.bot.db.transaction() as session:
        assert session.exec(select(Impact)).all() == []
    assert events(harness, kind="impact") == []


# --- the command line -------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_ircbot_stats_prints_json_csv_and_writes_the_chart(
    emulator: SlackEmulator, database_url: str, config_dir: Path, db: Database, tmp_path: Path
) -> None:
    env = serve_environment(emulator, database_url, config_dir)
    chart = tmp_path / "chart.png"

    started: list[subprocess.Popen[str]] = []

    def ircbot(*args: str) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "ircbot.cli", "stats", "--since", "2026-01-01", *args]
        started.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        return started[-1]

    def output(process: subprocess.Popen[str]) -> str:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        return stdout

    try:
        # Three independent runs of the command, side by side.
        as_json, as_csv, as_table = (
            ircbot("--json"),
            ircbot("--csv", "--severity", "SEV1", "--chart", str(chart)),
            ircbot(),
        )

        shape = json.loads(output(as_json))
        summary = shape["summary"]
        assert shape["since"] == "2026-01-01T00:00:00+00:00" and shape["severity"] is None
        assert (summary["incidents"], summary["resolved"], summary["false_positive_rate"]) == (6, 5, 0.2)
        assert summary["mttr"] == {"n": 5, "mean_s": 14880, "median_s": 14400, "p90_s": 27360}  # private INC-7 in
        assert [m["period"] for m in shape["months"]] == ["2026-01", "2026-02", "2026-03", "2026-04"]
        assert [r["incident"] for r in shape["repeats"]] == ["INC-1", "INC-3", "INC-5"]

        rows = list(csv.DictReader(io.StringIO(output(as_csv))))
        assert [(r["period"], r["incidents"], r["mttr_median_s"]) for r in rows] == [
            ("2026-01", "1", "2400"),
            ("2026-02", "0", ""),
            ("2026-03", "1", "7200"),
            ("total", "2", "4800"),
        ]
        assert chart.read_bytes().startswith(PNG_MAGIC)
        table = output(as_table)
        assert "MTTR" in table and "Private incidents included" in table
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.communicate()


def test_the_catch_all_playbook_makes_no_repeat_but_a_shared_system_does() -> None:
    from ircbot.domain.metrics import IncidentTimes, find_repeats

    def times(n: int, days: int, playbook: str, *systems: str) -> IncidentTimes:
        when = NOW - timedelta(days=days)
        return IncidentTimes(
            id=n, key=f"INC-{n}", severity="sev3", playbook=playbook, declared_at=when, detected_at=when,
            systems=systems,
        )  # fmt: skip

    found = find_repeats(
        [
            times(1, 60, "default"),
            times(2, 50, "default"),  # nothing in common with INC-1 but the catch-all: not a repeat
            times(3, 40, "default", "vpn"),
            times(4, 30, "default", "vpn", "mail"),  # hit the VPN again
            times(5, 20, "phishing"),
            times(6, 10, "phishing"),  # the same specific playbook
            times(7, 5, "default", "payroll"),
        ]
    )
    assert {r.key: (r.repeat_of, r.playbook) for r in found.values()} == {
        "INC-4": ("INC-3", "system vpn"),
        "INC-6": ("INC-5", "phishing"),
    }
