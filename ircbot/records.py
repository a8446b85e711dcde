"""The record on the command line: `postmortem`, `stats`, `verify` (hash chains), `export` (IOCs), `clocks deadline`.

The first four only read the database: each says on stderr which one, and none creates or migrates it, so a
mistyped DATABASE_URL is an error rather than a new empty database that has no incidents.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ircbot.errors import IrcbotError, NotFound, UsageError
from ircbot.settings import Settings

if TYPE_CHECKING:
    from ircbot.store.db import Database


def read_database(settings: Settings) -> Database:
    """The bot's database for a command that only reads it: must exist at the newest schema; named on stderr."""
    from ircbot.store.db import Database, describe_url

    database = Database.existing(settings.database_url)
    print(f"database: {describe_url(settings.database_url)}", file=sys.stderr)
    return database


def add_parsers(sub: argparse._SubParsersAction[Any]) -> None:
    """The `postmortem`, `stats`, `verify` and `export` subcommands."""
    postmortem = sub.add_parser("postmortem", help="write an incident's postmortem (the last compiled copy)")
    postmortem.add_argument("key", help="incident key, e.g. INC-7")
    postmortem.add_argument("-o", "--output", type=Path, default=None, help="file to write (default: stdout)")
    postmortem.add_argument(
        "--recompile", action="store_true", help="compile anew from the Slack channel (needs SLACK_BOT_TOKEN)"
    )
    stats = sub.add_parser("stats", help="response metrics across incidents (drills excluded), as in Slack")
    stats.add_argument("--since", default="90d", help="a duration back from now (90d) or a date (2026-01-01)")
    stats.add_argument("--severity", default=None, help="only incidents of this severity, e.g. sev1")
    shape = stats.add_mutually_exclusive_group()
    shape.add_argument("--csv", action="store_true", help="one CSV row per month, then a total row")
    shape.add_argument("--json", action="store_true", help="JSON: window, months, summary and repeats")
    stats.add_argument("--chart", type=Path, default=None, help="also write the PNG chart to this file")
    verify = sub.add_parser("verify", help="check incidents' timelines against their hash chains")
    which = verify.add_mutually_exclusive_group(required=True)
    which.add_argument("key", nargs="?", help="incident key, e.g. INC-7")
    which.add_argument("--all", action="store_true", help="every incident")
    export = sub.add_parser("export", help="write an incident's indicators as a STIX 2.1 bundle or CSV")
    export.add_argument("key", help="incident key, e.g. INC-7")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--stix", type=Path, metavar="FILE", help="a STIX 2.1 bundle (JSON), TLP 2.0 marked")
    which.add_argument("--csv", type=Path, metavar="FILE", help="CSV: one row per indicator")
    export.add_argument(
        "--max-tlp",
        default="red",
        help="leave out what is marked above this TLP (clear, green, amber, amber+strict, red)",
    )


def add_clock_parsers(sub: argparse._SubParsersAction[Any]) -> None:
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
    """Run `postmortem`, `stats`, `verify`, `export` or `clocks`; the exit code says whether all was well."""
    if args.command == "postmortem":
        return _postmortem(settings, key=args.key, output=args.output, recompile=args.recompile)
    if args.command == "stats":
        return _stats(settings, args)
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
    from ircbot.store.models import Incident

    db = read_database(settings)
    try:
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

    try:
        tlp_rank(max_tlp)
    except ValueError as exc:
        raise UsageError(f"--max-tlp: {exc}") from None
    record = load_config(settings.config_dir).record
    db = read_database(settings)
    try:
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


def _postmortem(settings: Settings, *, key: str, output: Path | None, recompile: bool) -> int:
    """The last compiled postmortem from the database (no Slack needed), or one compiled anew from the channel."""
    from sqlmodel import col, select

    from ircbot.domain.access import find_by_key
    from ircbot.store.models import Postmortem

    db = read_database(settings)
    try:
        with db.transaction() as session:
            incident = find_by_key(session, key)
            if incident is None or incident.id is None:
                raise NotFound(f"there is no incident {key.upper()}")
            incident_id, name = incident.id, incident.key
            latest = select(Postmortem.markdown).where(Postmortem.incident_id == incident_id)
            stored = None if recompile else session.exec(latest.order_by(col(Postmortem.id).desc())).first()
    finally:
        db.dispose()
    markdown = stored if stored is not None else _compile(settings, incident_id, name, recompile=recompile)
    if output is None:
        sys.stdout.write(markdown)
    else:
        output.write_text(markdown, encoding="utf-8")
        print(f"wrote {output}")
    return 0


def _compile(settings: Settings, incident_id: int, key: str, *, recompile: bool) -> str:
    """Compile the postmortem from the incident's channel, which needs Slack (the schema was checked: no migration)."""
    if not settings.slack_bot_token:
        why = "--recompile reads" if recompile else f"{key} has no compiled postmortem yet, and compiling one reads"
        raise IrcbotError(f"{why} {key}'s channel from Slack: set SLACK_BOT_TOKEN (the bot's xoxb-… token)")
    from ircbot.app import build_app
    from ircbot.domain.postmortem import compile_postmortem

    bot = build_app(settings)
    try:
        return compile_postmortem(bot.services, incident_id=incident_id).markdown
    finally:
        bot.db.dispose()


def _stats(settings: Settings, args: argparse.Namespace) -> int:
    import csv
    import json

    from ircbot.domain.metrics import parse_since
    from ircbot.domain.metrics_report import CSV_COLUMNS, report_csv_rows, report_json, report_text
    from ircbot.domain.ports import system_clock
    from ircbot.domain.stages import SEVERITIES
    from ircbot.domain.stats import collect

    now = system_clock()
    try:
        since = parse_since(args.since, now)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from exc
    severity = args.severity.lower().replace("-", "") if args.severity else None
    if severity is not None and severity not in SEVERITIES:
        raise UsageError(f"--severity: {args.severity!r} is not one of {', '.join(SEVERITIES)}")
    db = read_database(settings)
    try:
        # An operator on the command line sees every incident, private ones included (viewer None).
        found = collect(db, viewer=None, since=since, until=now, severity=severity)
    finally:
        db.dispose()
    if args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(report_csv_rows(found))
    elif args.json:
        print(json.dumps(report_json(found), indent=2))
    else:
        print(report_text(found))
    if args.chart is not None:
        from ircbot.adapters.charts import monthly_chart

        args.chart.write_bytes(monthly_chart(found).png)
        print(f"wrote {args.chart}", file=sys.stderr)
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
