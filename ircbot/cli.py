"""The `ircbot` command line: serve, demo, check-config, migrate, postmortem."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ircbot.errors import ConfigError, IrcbotError
from ircbot.settings import Settings


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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return _run(args)
    except ConfigError as exc:
        print("Configuration problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except IrcbotError as exc:
        print(f"ircbot: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    settings = Settings()
    if args.command == "check-config":
        from ircbot.config import load_config

        config = load_config(settings.config_dir)
        print(
            f"OK: {len(config.roles.roles)} roles, {len(config.escalation.severities)} severities, "
            f"{len(config.playbooks)} playbooks ({', '.join(sorted(config.playbooks))})"
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
    return _serve(settings, args)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    problems = settings.problems_for_serving(socket_mode=args.socket_mode)
    if problems:
        raise ConfigError(problems)
    from ircbot.app import build_app

    bot = build_app(settings, socket_mode=args.socket_mode)
    bot.start()
    if args.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        SocketModeHandler(bot.bolt, app_token=settings.slack_app_token).start()
        return 0
    from ircbot.web import HttpServer

    server = HttpServer(bot, host=args.host, port=args.port, threads=args.threads)
    logging.getLogger("ircbot").info("serving Slack requests on %s/slack/events", server.url)
    server.run()
    return 0


def _postmortem(settings: Settings, key: str, output: Path | None, recompile: bool) -> int:
    from ircbot.app import build_app
    from ircbot.domain.access import INCIDENT_KEY
    from ircbot.domain.postmortem import compile_postmortem, latest_postmortem
    from ircbot.errors import NotFound
    from ircbot.store import queries

    bot = build_app(settings)
    match = INCIDENT_KEY.match(key)
    if not match:
        raise NotFound(f"{key!r} is not an incident key; keys look like INC-7")
    with bot.db.transaction() as session:
        incident = queries.incident_by_number(session=session, number=int(match.group(1)))
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


if __name__ == "__main__":
    sys.exit(main())
