"""Notification regimes and their deadlines: each case written so that it can be checked by hand with a calendar.

Local times are in the comments; the assertions compare UTC instants, which is what the arithmetic returns.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from ircbot.config import describe_files, load_config
from ircbot.domain.deadlines import deadline, is_working_day, parse_time, reminder_times
from ircbot.domain.policy import Target
from ircbot.domain.regulations import Regime, RegulationsFile, ReportRule, Window
from ircbot.errors import ConfigError
from ircbot.shipped import shipped_path
from ircbot.yamlsource import read_yaml, validate
from tests.factories import write_config

NEW_YORK = ZoneInfo("America/New_York")
BRUSSELS = ZoneInfo("Europe/Brussels")
BERLIN = ZoneInfo("Europe/Berlin")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


@pytest.fixture(scope="module")
def shipped() -> RegulationsFile:
    return validate(read_yaml(shipped_path("regulations.yaml")), RegulationsFile)


def due(regulations: RegulationsFile, key: str, report: str, start: datetime) -> datetime:
    """The deadline of one shipped report, checked to be an aware UTC instant."""
    regime = regulations.regime(key)
    assert regime is not None, key
    rule = next(r for r in regime.reports if r.name == report)
    result = deadline(regime, rule, start)
    assert result.tzinfo is UTC
    return result


def regime(**fields: Any) -> Regime:
    """A test-only regime: one 4-hour report unless `reports` says otherwise."""
    return Regime.model_validate({"name": "test", "reports": [{"name": "report", "within": "4h"}], **fields})


# SEC Form 8-K Item 1.05: four business days after the materiality determination, ending 17:30 New York time.


def test_sec_skips_christmas_and_the_weekend(shipped: RegulationsFile) -> None:
    # Determined Thu 2026-12-24 10:00 New York. Fri 25 is Christmas, Sat 26 and Sun 27 the weekend;
    # business days 1-4 are Mon 28, Tue 29, Wed 30, Thu 31: due Thu 2026-12-31 17:30 EST = 22:30 UTC.
    result = due(shipped, "sec", "8-K filing", local(NEW_YORK, 2026, 12, 24, 10))
    assert result == utc(2026, 12, 31, 22, 30)
    assert result.astimezone(NEW_YORK).strftime("%a %Y-%m-%d %H:%M") == "Thu 2026-12-31 17:30"


@pytest.mark.parametrize(
    ("determined", "expected", "why"),
    [
        # Fri 2026-10-09: Mon 12 is Columbus Day, a federal holiday on which the NYSE trades.
        # Days: Tue 13, Wed 14, Thu 15, Fri 16 -> Fri 2026-10-16 17:30 EDT = 21:30 UTC.
        (local(NEW_YORK, 2026, 10, 9, 15), utc(2026, 10, 16, 21, 30), "Columbus Day is skipped"),
        # Wed 2026-04-01: Fri 3 is Good Friday, when the NYSE closes but EDGAR is open.
        # Days: Thu 2, Fri 3, Mon 6, Tue 7 -> Tue 2026-04-07 17:30 EDT = 21:30 UTC.
        (local(NEW_YORK, 2026, 4, 1, 9), utc(2026, 4, 7, 21, 30), "Good Friday counts"),
    ],
)
def test_sec_business_days_are_federal_ones_not_the_stock_exchanges(
    shipped: RegulationsFile, determined: datetime, expected: datetime, why: str
) -> None:
    assert due(shipped, "sec", "8-K filing", determined) == expected, why


@pytest.mark.parametrize(
    ("determined", "expected"),
    [
        # Thu 2026-10-29 10:00 EDT; clocks go back Sun 2026-11-01. Days: Fri 30, Mon 2, Tue 3, Wed 4
        # -> Wed 2026-11-04 17:30 EST = 22:30 UTC (it would be 21:30 UTC under EDT).
        (local(NEW_YORK, 2026, 10, 29, 10), utc(2026, 11, 4, 22, 30)),
        # Thu 2026-03-05 10:00 EST; clocks go forward Sun 2026-03-08. Days: Fri 6, Mon 9, Tue 10, Wed 11
        # -> Wed 2026-03-11 17:30 EDT = 21:30 UTC (it would be 22:30 UTC under EST).
        (local(NEW_YORK, 2026, 3, 5, 10), utc(2026, 3, 11, 21, 30)),
    ],
)
def test_sec_ends_at_1730_new_york_time_across_the_us_change_of_clocks(
    shipped: RegulationsFile, determined: datetime, expected: datetime
) -> None:
    result = due(shipped, "sec", "8-K filing", determined)
    assert result == expected
    assert result.astimezone(NEW_YORK).strftime("%H:%M") == "17:30"


def test_sec_counts_from_the_new_york_date_of_the_determination(shipped: RegulationsFile) -> None:
    # 2026-12-02 04:00 UTC is still Tue 2026-12-01 23:00 in New York. Days: Wed 2, Thu 3, Fri 4, Mon 7
    # -> Mon 2026-12-07 17:30 EST = 22:30 UTC. Counted from the UTC date it would be Tue 8.
    assert due(shipped, "sec", "8-K filing", utc(2026, 12, 2, 4)) == utc(2026, 12, 7, 22, 30)
    # Determined on Sat 2026-12-05: days Mon 7, Tue 8, Wed 9, Thu 10 -> Thu 2026-12-10 17:30 EST.
    assert due(shipped, "sec", "8-K filing", local(NEW_YORK, 2026, 12, 5, 11)) == utc(2026, 12, 10, 22, 30)


# EU regimes in hours: elapsed time, through weekends, holidays and changes of clocks.


def test_gdpr_is_72_hours_after_awareness(shipped: RegulationsFile) -> None:
    # Aware Tue 2026-12-01 09:00 UTC -> Fri 2026-12-04 09:00 UTC.
    assert due(shipped, "gdpr", "notification", utc(2026, 12, 1, 9)) == utc(2026, 12, 4, 9)


def test_nis2_early_warning_notification_and_final_report(shipped: RegulationsFile) -> None:
    aware = utc(2026, 12, 1, 9)  # Tue 2026-12-01 09:00 UTC
    assert due(shipped, "nis2", "early warning", aware) == utc(2026, 12, 2, 9)  # +24 h
    assert due(shipped, "nis2", "incident notification", aware) == utc(2026, 12, 4, 9)  # +72 h from awareness
    # The final report runs from the notification actually submitted: Thu 2026-12-03 15:20 UTC
    # -> one calendar month later, Sun 2027-01-03 15:20 UTC.
    assert due(shipped, "nis2", "final report", utc(2026, 12, 3, 15, 20)) == utc(2027, 1, 3, 15, 20)


def test_72_hours_across_the_eu_end_of_summer_time_are_72_elapsed_hours(shipped: RegulationsFile) -> None:
    # Aware Fri 2026-10-23 12:00 CEST (10:00 UTC); clocks go back Sun 2026-10-25 03:00 CEST -> 02:00 CET.
    # Due Mon 2026-10-26 10:00 UTC, which Berlin's clocks show as 11:00 CET, not 12:00.
    result = due(shipped, "gdpr", "notification", local(BERLIN, 2026, 10, 23, 12))
    assert result == utc(2026, 10, 26, 10)
    assert result.astimezone(BERLIN).strftime("%a %H:%M %Z") == "Mon 11:00 CET"


def test_a_month_from_the_31st_ends_on_the_last_day_of_a_shorter_month(shipped: RegulationsFile) -> None:
    # NIS2 notification submitted Sun 2027-01-31 10:00 UTC -> final report due Sun 2027-02-28 10:00 UTC.
    assert due(shipped, "nis2", "final report", utc(2027, 1, 31, 10)) == utc(2027, 2, 28, 10)


# DORA: 4 h from classification as major, and at the latest 24 h from awareness; the weekend relief.


def test_dora_the_earlier_of_4_hours_after_classification_and_24_hours_after_awareness(
    shipped: RegulationsFile,
) -> None:
    aware = utc(2026, 12, 1, 8)  # Tue 08:00 UTC
    classified = utc(2026, 12, 2, 6)  # Wed 06:00 UTC, 22 h later
    limits = [
        due(shipped, "dora", "initial notification", classified),  # Wed 10:00 UTC
        due(shipped, "dora_24h", "initial notification", aware),  # Wed 08:00 UTC
    ]
    assert limits == [utc(2026, 12, 2, 10), utc(2026, 12, 2, 8)]
    assert min(limits) == utc(2026, 12, 2, 8)
    # Intermediate report: 72 h after the initial notification was submitted (Wed 07:30 UTC).
    assert due(shipped, "dora", "intermediate report", utc(2026, 12, 2, 7, 30)) == utc(2026, 12, 5, 7, 30)


def test_dora_weekend_relief_moves_a_weekend_deadline_to_noon_of_the_next_working_day(
    shipped: RegulationsFile,
) -> None:
    classified = local(BRUSSELS, 2026, 12, 4, 22)  # Fri 2026-12-04 22:00 CET (21:00 UTC)
    # Without relief: Sat 2026-12-05 02:00 CET = 01:00 UTC.
    assert due(shipped, "dora", "initial notification", classified) == utc(2026, 12, 5, 1)
    # With relief: Mon 2026-12-07 12:00 CET = 11:00 UTC.
    assert due(shipped, "dora_weekend_relief", "initial notification", classified) == utc(2026, 12, 7, 11)
    # A deadline on a working day stays: Wed 10:00 CET + 4 h = Wed 14:00 CET = 13:00 UTC.
    assert due(shipped, "dora_weekend_relief", "initial notification", local(BRUSSELS, 2026, 12, 2, 10)) == utc(
        2026, 12, 2, 13
    )


def test_the_weekend_rule_also_skips_the_calendars_bank_holidays() -> None:
    berlin = regime(zone="Europe/Berlin", calendar="DE", weekend_rule="next_working_day_noon")
    # Thu 2026-12-24 22:00 CET + 4 h = Fri 2026-12-25 02:00, Christmas Day; Sat 26 (also a holiday), Sun 27
    # -> Mon 2026-12-28 12:00 CET = 11:00 UTC.
    assert deadline(berlin, berlin.reports[0], local(BERLIN, 2026, 12, 24, 22)) == utc(2026, 12, 28, 11)
    # Without the calendar only the weekend moves it: Fri 2026-12-25 02:00 CET stands (01:00 UTC).
    weekends_only = regime(zone="Europe/Berlin", weekend_rule="next_working_day_noon")
    assert deadline(weekends_only, weekends_only.reports[0], local(BERLIN, 2026, 12, 24, 22)) == utc(2026, 12, 25, 1)


# US regimes in calendar days and hours.


def test_hipaa_is_60_calendar_days_after_discovery(shipped: RegulationsFile) -> None:
    # Discovered Mon 2026-03-02 10:00 UTC: 29 more days of March, 30 of April, 1 of May -> Fri 2026-05-01 10:00 UTC.
    discovered = utc(2026, 3, 2, 10)
    hipaa = shipped.regime("hipaa")
    assert hipaa is not None
    assert {deadline(hipaa, rule, discovered) for rule in hipaa.reports} == {utc(2026, 5, 1, 10)}


def test_calendar_days_end_at_the_same_local_time_across_a_change_of_clocks(shipped: RegulationsFile) -> None:
    # New York residents' notice: discovered Tue 2026-10-20 09:00 EDT (13:00 UTC); clocks go back Sun 2026-11-01.
    # 30 days later: Thu 2026-11-19 09:00 EST = 14:00 UTC, 30 x 24 + 1 elapsed hours.
    discovered = local(NEW_YORK, 2026, 10, 20, 9)
    result = due(shipped, "ny_gbl_899aa", "notice to affected residents", discovered)
    assert result == utc(2026, 11, 19, 14)
    assert result - discovered == timedelta(days=30, hours=1)


def test_nydfs_72_hours_and_the_ransom_payments_24_hours_and_30_days(shipped: RegulationsFile) -> None:
    determined = local(NEW_YORK, 2026, 12, 1, 9)  # Tue 2026-12-01 09:00 EST = 14:00 UTC
    assert due(shipped, "nydfs", "notice to the Superintendent", determined) == utc(2026, 12, 4, 14)
    paid = local(NEW_YORK, 2026, 12, 3, 16)  # Thu 2026-12-03 16:00 EST = 21:00 UTC
    assert due(shipped, "nydfs_ransom", "notice of the payment", paid) == utc(2026, 12, 4, 21)
    # 30 days: Sat 2027-01-02 16:00 EST = 21:00 UTC.
    assert due(shipped, "nydfs_ransom", "written explanation of the payment", paid) == utc(2027, 1, 2, 21)


# Reminders.


def test_reminders_fall_at_the_regimes_points_of_the_window(shipped: RegulationsFile) -> None:
    gdpr = shipped.regime("gdpr")
    assert gdpr is not None
    start, end = utc(2026, 12, 1, 9), utc(2026, 12, 4, 9)  # 72 h
    assert reminder_times(gdpr, start, end) == [
        utc(2026, 12, 2, 21),  # 50%: +36 h
        utc(2026, 12, 3, 15),  # 75%: +54 h
        utc(2026, 12, 4, 1, 48),  # 90%: +64 h 48 min
    ]


def test_reminders_are_ascending_utc_and_strictly_inside_the_window() -> None:
    unordered = regime(remind=["90%", 0.25, "50%", "25%"])
    assert unordered.remind == [0.25, 0.5, 0.9]
    start = local(BERLIN, 2026, 12, 1, 10)  # 09:00 UTC
    points = reminder_times(unordered, start, start + timedelta(hours=4))
    assert points == [utc(2026, 12, 1, 10), utc(2026, 12, 1, 11), utc(2026, 12, 1, 12, 36)]
    assert all(point.tzinfo is UTC for point in points)
    assert reminder_times(unordered, start, start) == []  # an empty window has no point before its end


def test_a_short_test_only_regime_in_seconds_from_a_config_folder_replaces_the_shipped_file(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config")
    own = folder / "regulations.yaml"
    drill = {"name": "Drill", "owner": "role:legal", "remind": ["50%"], "reports": [{"name": "ping", "within": "30s"}]}
    own.write_text(yaml.safe_dump({"regimes": {"drill": drill}}))
    config = load_config(folder)
    assert list(config.regulations.regimes) == ["drill"]
    assert config.files["regulations.yaml"] == own
    assert f"regulations.yaml: {own}" in describe_files(config)
    regime = config.regulations.regimes["drill"]
    started = utc(2026, 12, 1, 9)
    ends = deadline(regime, regime.reports[0], started)
    assert ends == utc(2026, 12, 1, 9, 0, 30)
    assert reminder_times(regime, started, ends) == [utc(2026, 12, 1, 9, 0, 15)]


# The shipped file.


def test_without_a_file_of_its_own_the_config_holds_the_shipped_regimes(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path / "config"))
    assert config.files["regulations.yaml"] == shipped_path("regulations.yaml")
    assert {"gdpr", "nis2", "dora", "dora_24h", "dora_weekend_relief", "sec", "hipaa", "nydfs", "nydfs_ransom"} <= set(
        config.regulations.regimes
    )


SHIPPED_FIGURES = [
    # (regime, report, within, from) — each figure next to the provision it comes from in regulations.yaml
    ("gdpr", "notification", "72 h", "awareness"),  # GDPR Art. 33(1)
    ("nis2", "early warning", "24 h", "awareness"),  # NIS2 Art. 23(4)(a)
    ("nis2", "incident notification", "72 h", "awareness"),  # NIS2 Art. 23(4)(b)
    ("nis2", "final report", "1 month", "previous"),  # NIS2 Art. 23(4)(d)
    ("dora", "initial notification", "4 h", "awareness"),  # 2025/301 Art. 5(1)(a), from classification
    ("dora", "intermediate report", "72 h", "previous"),  # 2025/301 Art. 5(1)(b)
    ("dora", "final report", "1 month", "previous"),  # 2025/301 Art. 5(1)(c)
    ("dora_24h", "initial notification", "24 h", "awareness"),  # 2025/301 Art. 5(1)(a), from awareness
    ("dora_weekend_relief", "initial notification", "4 h", "awareness"),  # 2025/301 Art. 5(1)(a), 5(4)
    ("dora_weekend_relief", "intermediate report", "72 h", "previous"),
    ("dora_weekend_relief", "final report", "1 month", "previous"),
    ("sec", "8-K filing", "4 business days", "awareness"),  # Form 8-K General Instruction B.1
    ("hipaa", "notice to individuals", "60 days", "awareness"),  # 45 CFR 164.404(b)
    ("hipaa", "notice to the media", "60 days", "awareness"),  # 45 CFR 164.406(b)
    ("hipaa", "notice to HHS", "60 days", "awareness"),  # 45 CFR 164.408(b)
    ("nydfs", "notice to the Superintendent", "72 h", "awareness"),  # 23 NYCRR 500.17(a)(1)
    ("nydfs_ransom", "notice of the payment", "24 h", "awareness"),  # 23 NYCRR 500.17(c)(1)
    ("nydfs_ransom", "written explanation of the payment", "30 days", "awareness"),  # 23 NYCRR 500.17(c)(2)
    ("ny_gbl_899aa", "notice to affected residents", "30 days", "awareness"),  # GBL § 899-aa(2)
    ("ny_gbl_899aa", "notice to the state agencies", "30 days", "awareness"),  # GBL § 899-aa(8)(a)
    ("ny_gbl_899aa", "notice to consumer reporting agencies", "30 days", "awareness"),  # GBL § 899-aa(8)(b)
]


def test_the_shipped_figures_are_these_and_no_others(shipped: RegulationsFile) -> None:
    found = [
        (key, report.name, str(report.within), report.start)
        for key, regime in shipped.regimes.items()
        for report in regime.reports
    ]
    assert found == SHIPPED_FIGURES


def test_every_shipped_regime_names_its_owner_reminders_and_the_provisions_it_cites(shipped: RegulationsFile) -> None:
    for key, regime in shipped.regimes.items():
        assert regime.name and regime.cite, key
        assert regime.owner == "role:legal", key
        assert regime.remind == [0.5, 0.75, 0.9], key
        assert regime.reports, key
        for report in regime.reports:
            assert report.cite and report.recipient, (key, report.name)
    sec = shipped.regime("sec")
    assert sec is not None and sec.calendar == "US" and sec.cutoff is not None
    assert (sec.cutoff.at.strftime("%H:%M"), sec.cutoff.zone) == ("17:30", "America/New_York")
    assert [key for key, r in shipped.regimes.items() if r.weekend_rule] == ["dora_weekend_relief"]


def test_the_shipped_file_says_it_is_not_legal_advice_before_anything_else() -> None:
    head = shipped_path("regulations.yaml").read_text(encoding="utf-8").split("\nregimes:")[0]
    assert "NOT LEGAL ADVICE" in head and "counsel" in head


# Mistakes in a config folder's regulations.yaml: file, line and field.


BAD_REGULATIONS = """\
regimes:
  gdpr:
    name: GDPR
    owner: team:legal
    remind: [50%, 150%]
    reports:
      - name: notification
        within: 72 hrs
        from: previus
        recipients: authority
  sec:
    name: SEC
    calendar: XX
    cutoff: 17:30
    reports:
      - {name: 8-K filing, within: 4 business days}
  nis2:
    name: NIS2
    reports:
      - {name: final report, within: 1 month, from: previous}
  sec2:
    name: SEC without a cut-off
    reports:
      - {name: 8-K filing, within: 4 business days}
  Dora:
    name: DORA
    reports: []
"""


def test_a_mistyped_regulations_yaml_is_refused_naming_file_line_and_field(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config")
    path = folder / "regulations.yaml"
    path.write_text(BAD_REGULATIONS)
    with pytest.raises(ConfigError) as refused:
        load_config(folder)
    problems = "\n".join(refused.value.problems)
    assert f"{path}:4: regimes.gdpr.owner: 'team:legal' is not an owner; write role:KEY" in problems
    assert f"{path}:5: regimes.gdpr.remind.1: '150%' is not a point inside the window" in problems
    assert f"{path}:8: regimes.gdpr.reports.0.within: '72 hrs' is not a window; write e.g. 30s" in problems
    assert f"{path}:9: regimes.gdpr.reports.0.from: Input should be 'awareness' or 'previous'" in problems
    assert f"{path}:10: regimes.gdpr.reports.0.recipients: Extra inputs are not permitted" in problems
    assert f"{path}:13: regimes.sec.calendar: 'XX' is not a holiday calendar" in problems
    # YAML reads an unquoted 17:30 as the number 1050 (17 x 60 + 30).
    assert f"{path}:14: regimes.sec.cutoff: 1050 is not a cut-off; write a local time and its zone" in problems
    assert f"{path}:19: regimes.nis2.reports: the first report 'final report' has no previous report" in problems
    assert f"{path}:21: regimes.sec2: report '8-K filing' counts business days, which end at a cut-off" in problems
    assert f"{path}:25: regimes.Dora.[key]: regime key 'Dora' must be lowercase" in problems
    assert f"{path}:27: regimes.Dora.reports: List should have at least 1 item" in problems


def test_an_owner_role_missing_from_roles_yaml_lists_the_roles(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config")
    path = folder / "regulations.yaml"
    path.write_text(
        "regimes:\n  gdpr:\n    name: GDPR\n    owner: role:lawyer\n    reports: [{name: n, within: 72h}]\n"
    )
    with pytest.raises(ConfigError) as refused:
        load_config(folder)
    assert refused.value.problems == [
        f"{path}:4: regimes.gdpr.owner: role 'lawyer' is not in roles.yaml; "
        "roles are manager, analyst, legal, comms, forensics"
    ]


@pytest.mark.parametrize(
    "owner", ["role:legal", "role:Legal", "user:U0CISO", "user:bob", "email:ciso@example.com", "email:ciso", "legal"]
)
def test_an_owner_is_checked_exactly_as_an_escalation_target_is(owner: str) -> None:
    def accepted(validate_owner: Any) -> bool:
        try:
            validate_owner()
        except ValidationError:
            return False
        return True

    as_target = accepted(lambda: TypeAdapter(Target).validate_python(owner))
    as_owner = accepted(lambda: regime(owner=owner))
    assert as_owner == as_target


def test_a_group_is_no_owner_and_a_weekend_rule_needs_a_zone() -> None:
    with pytest.raises(ValidationError, match="is not an owner"):
        regime(owner="group:S0TIER2")
    with pytest.raises(ValidationError, match="needs the zone whose weekends and noon it means"):
        regime(weekend_rule="next_working_day_noon")
    with pytest.raises(ValidationError, match="is not the cut-off's zone"):
        regime(cutoff="17:30 America/New_York", zone="Europe/Berlin")
    with pytest.raises(ValidationError, match="'Mars/Olympus' is not a time zone"):
        regime(zone="Mars/Olympus")
    with pytest.raises(ValidationError, match="two reports are named 'report'"):
        regime(reports=[{"name": "report", "within": "1h"}, {"name": "report", "within": "2h"}])


@pytest.mark.parametrize("calendar", ["US", "NYSE", "DE", "DE-BY", "ECB"])
def test_calendars_are_the_holiday_packages_countries_subdivisions_and_markets(calendar: str) -> None:
    assert regime(calendar=calendar).calendar == calendar


@pytest.mark.parametrize("calendar", ["XX", "US-ZZ", "nyse", ""])
def test_an_unknown_calendar_is_refused(calendar: str) -> None:
    with pytest.raises(ValidationError, match="is not a holiday calendar"):
        regime(calendar=calendar)


def test_working_days_skip_weekends_and_the_calendars_holidays() -> None:
    us = regime(calendar="US")
    assert not is_working_day(us, date(2026, 11, 26))  # Thanksgiving, a Thursday
    assert not is_working_day(us, date(2026, 11, 28))  # a Saturday
    assert is_working_day(us, date(2026, 11, 27))  # the Friday after
    assert is_working_day(regime(), date(2026, 11, 26))  # no calendar: every weekday works


# Windows as written in the file.


@pytest.mark.parametrize(
    ("written", "amount", "unit", "shown"),
    [
        ("30s", 30, "seconds", "30 s"),
        ("15m", 15, "minutes", "15 min"),
        ("72h", 72, "hours", "72 h"),
        ("72 hours", 72, "hours", "72 h"),
        ("60d", 60, "days", "60 days"),
        ("1 day", 1, "days", "1 day"),
        ("4 business days", 4, "business_days", "4 business days"),
        ("1 business day", 1, "business_days", "1 business day"),
        ("1 month", 1, "months", "1 month"),
        ("3 months", 3, "months", "3 months"),
    ],
)
def test_a_window_reads_as_written_and_prints_readably(written: str, amount: int, unit: str, shown: str) -> None:
    window = Window.model_validate(written)
    assert (window.amount, window.unit, str(window)) == (amount, unit, shown)


@pytest.mark.parametrize("written", ["72", "72 hrs", "h", "-1h", "0h", "1.5h", "1h30m", "99999999d", True])
def test_a_window_that_is_no_window_is_refused_naming_the_forms(written: object) -> None:
    with pytest.raises(ValidationError, match=r"window"):
        Window.model_validate(written)


def test_a_report_starts_at_awareness_unless_it_says_previous() -> None:
    assert ReportRule.model_validate({"name": "n", "within": "1h"}).start == "awareness"
    assert ReportRule.model_validate({"name": "n", "within": "1h", "from": "previous"}).start == "previous"


# Times typed after --aware.

NOW = utc(2026, 12, 1, 12, 34, 56)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-12-01T09:00", utc(2026, 12, 1, 8)),  # no offset: Berlin, CET (+01:00)
        ("2026-12-01 09:00", utc(2026, 12, 1, 8)),
        ("2026-07-01T09:00", utc(2026, 7, 1, 7)),  # Berlin in summer, CEST (+02:00)
        ("2026-12-01 09:00+01:00", utc(2026, 12, 1, 8)),
        ("2026-12-01T09:00-05:00", utc(2026, 12, 1, 14)),
        ("2026-12-01T08:00Z", utc(2026, 12, 1, 8)),
        ("2026-12-01 08:00Z", utc(2026, 12, 1, 8)),
        ("2026-12-01 09:00 America/New_York", utc(2026, 12, 1, 14)),
        ("  now ", NOW),
        ("NOW", NOW),
    ],
)
def test_parse_time_reads_iso_8601_with_or_without_an_offset(typed: str, expected: datetime) -> None:
    parsed = parse_time(typed, "Europe/Berlin", NOW)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("yesterday", "is not a time"),
        ("2026-12-01", "has no time of day"),
        ("2026-13-01T09:00", "is not a time"),
        ("2026-12-01 09:00 Mars/Olympus", "'Mars/Olympus' is not a time zone"),
        ("2026-12-01 09:00+01:00 Europe/Berlin", "gives both an offset and a zone"),
        ("", "is not a time"),
    ],
)
def test_parse_time_refuses_anything_else_naming_the_accepted_forms(typed: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as refused:
        parse_time(typed, "Europe/Berlin", NOW)
    assert "now, 2026-12-01T09:00 (read in Europe/Berlin), 2026-12-01 09:00+01:00" in str(refused.value)


def test_naive_instants_are_refused_rather_than_guessed() -> None:
    gdpr = regime()
    with pytest.raises(ValueError, match="has no time zone"):
        deadline(gdpr, gdpr.reports[0], datetime(2026, 12, 1, 9))
    with pytest.raises(ValueError, match="has no time zone"):
        parse_time("now", "UTC", datetime(2026, 12, 1, 9))
    with pytest.raises(ValueError, match="is not a time zone"):
        parse_time("2026-12-01T09:00", "Mars/Olympus", NOW)
