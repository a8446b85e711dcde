"""The record on the command line: `ircbot verify` checks timelines' hash chains; `ircbot export` writes IOCs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ircbot.errors import NotFound, UsageError
from ircbot.settings import Settings


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `verify` and `export` subcommands."""
    verify = sub.add_parser("verify", help="check incidents' timelines against their hash chains")
    which = verify.add_mutually_exclusive_group(required=True)
    which.add_argument("key", nargs="?", help="incident key, e.g. INC-7")
    which.add_argument("--all", action="store_true", help="every incident")
    export = sub.add_parser("export", help="write an incident's indicators as a STIX 2.1 bundle or CSV")
    export.add_argument("key", help="incident key, e.g. INC-7")
    shape = export.add_mutually_exclusive_group(required=True)
    shape.add_argument("--stix", type=Path, metavar="FILE", help="a STIX 2.1 bundle (JSON), TLP 2.0 marked")
    shape.add_argument("--csv", type=Path, metavar="FILE", help="CSV: one row per indicator")
    export.add_argument(
        "--max-tlp",
        default="red",
        help="leave out what is marked above this TLP (clear, green, amber, amber+strict, red)",
    )


def add_clock_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`ircbot clocks deadline <regime> --aware TIME`: the arithmetic of regulations.yaml, without Slack."""
    clocks = sub.add_parser("clocks", help="regulatory notification deadlines, as regulations.yaml counts them")
    what = clocks.add_subparsers(dest="clocks_command", required=True)
    deadline = what.add_parser("deadline", help="each report's deadline for an awareness time")
    deadline.add_argument("regime", help="a regime of regulations.yaml, e.g. gdpr")
    deadline.add_argument(
        "--aware",
        required=True,
        help="when the organisation became aware: ISO 8601, IRCBOT_TIMEZONE unless it has an offset",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run `verify` or `export`; the exit code says whether all was well."""
    if args.command == "verify":
        return _verify(settings, key=args.key, every=args.all)
    if args.command == "clocks":
        return _deadlines(settings, regime_key=args.regime, aware_text=args.aware)
    if args.command == "export":
        return _export(settings, key=args.key, stix=args.stix, csv=args.csv, max_tlp=args.max_tlp)
    raise UsageError(f"unknown command {args.command}")


def _verify(settings: Settings, *, key: str | None, every: bool) -> int:
    from sqlmodel import col, select

    from ircbot.domain.access import find_by_key
    from ircbot.domain.chain import verify_incident
    from ircbot.store.db import Database
    from ircbot.store.models import Incident

    db = Database(settings.database_url)
    try:
        db.migrate()
        with db.transaction() as session:
            if every:
                incidents = list(session.exec(select(Incident).order_by(col(Incident.number))).all())
            else:
                found = find_by_key(session, key or "")
                if found is None:
                    raise NotFound(f"there is no incident {(key or '').upper()}")
                incidents = [found]
            verdicts = [verify_incident(session, incident) for incident in incidents]
    finally:
        db.dispose()
    for verdict in verdicts:
        print(verdict.line(), file=sys.stdout if verdict.intact else sys.stderr)
    broken = sum(not verdict.intact for verdict in verdicts)
    if every:
        print(f"{len(verdicts) - broken} of {len(verdicts)} incident timelines intact")
    return 1 if broken else 0


def _export(settings: Settings, *, key: str, stix: Path | None, csv: Path | None, max_tlp: str) -> int:
    from ircbot.adapters.stix import ExportIncident, ExportIndicator, csv_text, stix_bundle, tlp_rank
    from ircbot.config import load_config
    from ircbot.domain.access import find_by_key
    from ircbot.domain.indicators import indicators_of
    from ircbot.domain.ioc_extract import Indicator, stix_pattern
    from ircbot.domain.ports import system_clock
    from ircbot.store.db import Database

    try:
        tlp_rank(max_tlp)
    except ValueError as exc:
        raise UsageError(f"--max-tlp: {exc}") from None
    record = load_config(settings.config_dir).record
    db = Database(settings.database_url)
    try:
        db.migrate()
        with db.transaction() as session:
            incident = find_by_key(session, key)
            if incident is None or incident.id is None:
                raise NotFound(f"there is no incident {key.upper()}")
            rows = indicators_of(session, incident.id)
    finally:
        db.dispose()
    about = ExportIncident(
        key=incident.key,
        title=incident.title,
        severity=incident.severity,
        declared_at=incident.declared_at,
        detected_at=incident.detected_at,
        resolved_at=incident.resolved_at,
        tlp=record.indicators.default_tlp(private=incident.is_private),
        summary=incident.summary,
    )
    indicators = [
        ExportIndicator(
            type=row.type,
            value=row.value,
            pattern=stix_pattern(Indicator(row.type, row.value)),
            tlp=row.tlp,
            first_seen=row.first_seen_at,
            seen_in=tuple(row.seen_in),
            added_by=row.added_by,
        )
        for row in rows
    ]
    if stix is not None:
        text = stix_bundle(about, indicators, organisation=record.organisation, max_tlp=max_tlp, now=system_clock())
        target = stix
    else:
        assert csv is not None
        text, target = csv_text(about, indicators, max_tlp=max_tlp), csv
    target.write_text(text, encoding="utf-8")
    kept = sum(tlp_rank(i.tlp) <= tlp_rank(max_tlp) for i in indicators)
    left = len(indicators) - kept
    print(
        f"wrote {target}: {kept} indicator(s) of {incident.key}"
        + (f", {left} above TLP:{max_tlp.upper()} left out" if left else "")
    )
    return 0


def _deadlines(settings: Settings, *, regime_key: str, aware_text: str) -> int:
    from dateutil import tz

    from ircbot.config import load_config
    from ircbot.domain.deadlines import deadline, parse_time
    from ircbot.domain.ports import system_clock

    regulations = load_config(settings.config_dir).regulations
    regime = regulations.regime(regime_key.lower())
    if regime is None:
        raise NotFound(
            f"there is no regime {regime_key!r} in regulations.yaml; regimes: {', '.join(regulations.regimes)}"
        )
    try:
        aware = parse_time(aware_text, settings.timezone, system_clock())
    except ValueError as exc:
        raise UsageError(f"--aware: {exc}") from None
    # Local times in the regime's own zone (the SEC's New York), else the operator's.
    zone = regime.local_zone if regime.cutoff is not None or regime.zone else (tz.gettz(settings.timezone) or tz.UTC)
    print(f"{regime.name}: aware {aware.astimezone(tz.UTC):%Y-%m-%d %H:%M} UTC")
    chained = False
    for rule in regime.reports:
        to = f" to {rule.recipient}" if rule.recipient else ""
        chained = chained or rule.start == "previous"
        if chained:
            start = "the report before it is submitted" if rule.start == "previous" else "awareness, once it starts"
            print(f"  {rule.name}{to}: within {rule.within} of {start}")
            continue
        due = deadline(regime, rule, aware)
        local = due.astimezone(zone)
        print(f"  {rule.name}{to}: {due:%a %Y-%m-%d %H:%M} UTC ({local:%a %Y-%m-%d %H:%M %Z}) — within {rule.within}")
    print("Not legal advice: check the figures and the rules with counsel.")
    return 0
