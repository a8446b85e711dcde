"""The `ircbot` command line: serve, demo, check-config, migrate, postmortem, stats, verify, export."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from ircbot import records
from ircbot.errors import ConfigError, IrcbotError
from ircbot.logs import configure_logging
from ircbot.settings import Settings

if TYPE_CHECKING:
    from ircbot.app import IrcBot
    from ircbot.web import HttpServer


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `ircbot` script."""
    parser = argparse.ArgumentParser(prog="ircbot", description="Slack chat-ops for security-incident response")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the bot (HTTP mode by default)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument(
        "--socket-mode", action="store_true", help="connect out to Slack instead (needs SLACK_APP_TOKEN)"
    )
    serve.add_argument("--threads", type=int, default=16, help="HTTP worker threads")
    demo = sub.add_parser("demo", help="play a whole incident against the built-in Slack emulator")
    demo.add_argument("-o", "--output", type=Path, default=None, help="where to write the postmortem")
    sub.add_parser("check-config", help="validate roles.yaml, escalation.yaml and playbooks")
    sub.add_parser("migrate", help="apply database migrations and exit")
    postmortem = sub.add_parser("postmortem", help="compile an incident's postmortem")
    postmortem.add_argument("key", help="incident key, e.g. INC-7")
    postmortem.add_argument("-o", "--output", type=Path, default=None, help="file to write (default: stdout)")
    postmortem.add_argument(
        "--recompile", action="store_true", help="compile anew from Slack instead of the last compiled copy"
    )
    stats = sub.add_parser("stats", help="response metrics across incidents (drills excluded), as in Slack")
    stats.add_argument("--since", default="90d", help="a duration back from now (90d) or a date (2026-01-01)")
    stats.add_argument("--severity", default=None, help="only incidents of this severity, e.g. sev1")
    shape = stats.add_mutually_exclusive_group()
    shape.add_argument("--csv", action="store_true", help="one CSV row per month, then a total row")
    shape.add_argument("--json", action="store_true", help="JSON: window, months, summary and repeats")
    stats.add_argument("--chart", type=Path, default=None, help="also write the PNG chart to this file")
    records.add_parsers(sub)
    records.add_clock_parsers(sub)
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        print("Environment problems:", file=sys.stderr)
        for error in exc.errors():
            name = error["loc"][0] if error["loc"] else "?"
            print(f"  {name}={error.get('input')!r}: {error['msg']}", file=sys.stderr)
        return 2
    # Other libraries at WARNING: APScheduler alone logs every timer run at INFO, ~170,000 lines a day.
    configure_logging(settings.log_level, settings.log_format)
    try:
        return _run(args, settings)
    except ConfigError as exc:
        print("Configuration problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except IrcbotError as exc:
        print(f"ircbot: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "check-config":
        from ircbot.config import load_config
        from ircbot.slack.render import CARD_ITEMS

        config = load_config(settings.config_dir)
        print(
            f"OK: {len(config.roles.roles)} roles, {len(config.escalation.severities)} severities, "
            f"{len(config.playbooks)} playbooks ({', '.join(sorted(config.playbooks))})"
        )
        for name, playbook in sorted(config.playbooks.items()):
            for stage, items in playbook.stages.items():
                if len(items) > CARD_ITEMS:
                    print(
                        f"warning: {config.files[f'playbooks/{name}.yaml']}: stages.{stage}: {len(items)} items, "
                        f"more than the {CARD_ITEMS} the incident card shows with buttons; it names the rest "
                        "and points to `/incident stage`, which lists them all",
                        file=sys.stderr,
                    )
        return 0
    if args.command == "migrate":
        from ircbot.store.db import Database

        Database(settings.database_url).migrate()
        print("database is at the newest schema")
        return 0
    if args.command == "demo":
        from ircbot.demo import run_demo

        return run_demo(output=args.output)
    if args.command == "postmortem":
        return _postmortem(settings, args.key, args.output, args.recompile)
    if args.command == "stats":
        return _stats(settings, args)
    if args.command in ("verify", "export", "clocks"):
        return records.run(args, settings)
    return _serve(settings, args)


def _settle_memory() -> None:
    """Keep what was loaded at start (libraries, config, templates) out of the collector's passes.

    A full collection walks every object the process holds and stops every thread meanwhile; requests
    make short-lived objects, so collections are made rarer too. Measured in bench/ack.py: p99 ack
    under sustained load from about 6x to under 3x the bare Bolt floor.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)


def _confirm_token(bot: IrcBot) -> None:
    """Ask Slack who the bot is (auth.test): a refused token stops the start; an unreachable Slack does not."""
    from slack_sdk.errors import SlackApiError

    log = logging.getLogger("ircbot")
    try:
        known = bot.identity.learn()
    except SlackApiError as exc:
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else exc.response.status_code
        raise ConfigError(
            [f"SLACK_BOT_TOKEN was refused by Slack ({error}): copy the Bot User OAuth Token (xoxb-…) again"]
        ) from exc
    if known:
        log.info("Slack: %s", bot.identity.described)
    else:
        log.warning("Slack could not be reached to confirm the token; serving anyway and asking again on requests")


def _announce(bot: IrcBot, settings: Settings, args: argparse.Namespace) -> None:
    """One line per fact an operator checks first: config, database, mode, policies."""
    from sqlalchemy.engine import make_url

    from ircbot.config import describe_files

    log = logging.getLogger("ircbot")
    log.info("config folder: %s", settings.config_dir.resolve())
    for line in describe_files(bot.config):
        log.info("config file %s", line)
    log.info("database: %s", make_url(settings.database_url).render_as_string(hide_password=True))
    mode = "Socket Mode" if args.socket_mode else f"HTTP on {args.host}:{args.port}/slack/events"
    log.info("mode: %s, %d worker threads", mode, args.threads)
    escalation = bot.config.escalation
    log.info(
        "policies: %d roles, severities %s, playbooks %s",
        len(bot.config.roles.roles),
        ", ".join(escalation.severities),
        ", ".join(sorted(bot.config.playbooks)),
    )


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    problems = settings.problems_for_serving(socket_mode=args.socket_mode)
    if problems:
        raise ConfigError(problems)
    from ircbot.app import build_app

    bot = build_app(settings, socket_mode=args.socket_mode)
    _confirm_token(bot)
    _announce(bot, settings, args)
    bot.start()
    _settle_memory()
    from ircbot.web import HttpServer

    if args.socket_mode:
        from ircbot.slack.socket_mode import SocketModeLink

        link = SocketModeLink(
            bot.bolt,
            app_token=settings.slack_app_token or "",
            api_url=settings.slack_api_url,
            workers=args.threads,
            timeout=settings.slack_timeout,
        )
        bot.telemetry.socket_connected = link.connected
        link.start()
        health = HttpServer(bot, host=args.host, port=args.port, threads=args.threads, socket_connected=link.connected)
        logging.getLogger("ircbot").info("Slack requests over Socket Mode; health on %s/healthz", health.url)
        _serve_until_stopped(bot, health, link.close)
        return 0
    server = HttpServer(bot, host=args.host, port=args.port, threads=args.threads)
    logging.getLogger("ircbot").info("serving Slack requests on %s/slack/events", server.url)
    _serve_until_stopped(bot, server, lambda: None)
    return 0


def _serve_until_stopped(bot: IrcBot, server: HttpServer, disconnect: Callable[[], None]) -> None:
    """Serve until SIGTERM (docker stop, Kubernetes) or Ctrl-C, then stop taking work and finish what was taken.

    Work already acknowledged finishes (Bolt's lazy listeners), so a rolling restart loses no answer; what
    a hard kill would cut short is resumed by the next process anyway.
    """

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.run()  # waitress returns from its loop on KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    finally:
        logging.getLogger("ircbot").info("stopping: finishing the work already acknowledged")
        disconnect()
        server.stop()
        bot.bolt.listener_runner.listener_executor.shutdown(wait=True)
        bot.close()


def _postmortem(settings: Settings, key: str, output: Path | None, recompile: bool) -> int:
    from ircbot.app import build_app
    from ircbot.domain.access import find_by_key
    from ircbot.domain.postmortem import compile_postmortem, latest_postmortem
    from ircbot.errors import NotFound

    bot = build_app(settings)
    with bot.db.transaction() as session:
        incident = find_by_key(session, key)
        if incident is None or incident.id is None:
            raise NotFound(f"there is no incident {key.upper()}")
        incident_id = incident.id
    markdown = None if recompile else latest_postmortem(bot.services, incident_id=incident_id)
    if markdown is None:
        markdown = compile_postmortem(bot.services, incident_id=incident_id).markdown
    if output is None:
        sys.stdout.write(markdown)
    else:
        output.write_text(markdown, encoding="utf-8")
        print(f"wrote {output}")
    return 0


def _stats(settings: Settings, args: argparse.Namespace) -> int:
    import csv
    import json

    from ircbot.domain.metrics import parse_since
    from ircbot.domain.metrics_report import CSV_COLUMNS, report_csv_rows, report_json, report_text
    from ircbot.domain.ports import system_clock
    from ircbot.domain.stages import SEVERITIES
    from ircbot.domain.stats import collect
    from ircbot.errors import UsageError
    from ircbot.store.db import Database

    now = system_clock()
    try:
        since = parse_since(args.since, now)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from exc
    severity = args.severity.lower().replace("-", "") if args.severity else None
    if severity is not None and severity not in SEVERITIES:
        raise UsageError(f"--severity: {args.severity!r} is not one of {', '.join(SEVERITIES)}")
    db = Database(settings.database_url)
    try:
        db.migrate()
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


if __name__ == "__main__":
    sys.exit(main())
