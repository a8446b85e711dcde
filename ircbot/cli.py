"""The `ircbot` command line: serve, demo, check-config, migrate, postmortem, stats, verify, export, clocks.

Whatever goes wrong ends in one line on stderr (or a list of configuration problems) and an exit code: 2 for
configuration and usage, 1 for the rest; the traceback of an unexpected error is logged at DEBUG only.
"""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ircbot import oob_cli, records
from ircbot.errors import ConfigError, IrcbotError
from ircbot.logs import configure_logging
from ircbot.settings import Settings, environment_help, variable_name

if TYPE_CHECKING:
    from ircbot.app import IrcBot
    from ircbot.web import HttpServer


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Help that shows each option's default (when it has one to show) and the epilog as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose subcommands' help shows defaults too (subparsers are made of the parser's class)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


class ShowVersion(argparse.Action):
    """`--version`, looked up only when asked: finding the distribution reads every installed package's metadata."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(f"ircbot {version()}")
        parser.exit()


def version() -> str:
    """The version of the installed distribution that provides the `ircbot` package; "unknown" in a bare checkout."""
    from importlib import metadata

    for distribution in metadata.packages_distributions().get("ircbot", []):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The command line, every subcommand with its options."""
    parser = Parser(
        prog="ircbot", description="Slack chat-ops for security-incident response", epilog=environment_help()
    )
    parser.add_argument("--version", action=ShowVersion, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the bot (HTTP mode by default)", epilog=environment_help())
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on")
    serve.add_argument("--port", type=int, default=3000, help="port to listen on (Socket Mode: health and alerts)")
    serve.add_argument(
        "--socket-mode", action="store_true", help="connect out to Slack instead (needs SLACK_APP_TOKEN)"
    )
    serve.add_argument("--threads", type=int, default=16, help="HTTP worker threads")
    serve.add_argument(
        "--allow-example-config",
        action="store_true",
        help="start even on the shipped example roles.yaml / escalation.yaml and their placeholder ids",
    )
    demo = sub.add_parser("demo", help="play a whole incident against the built-in Slack emulator")
    demo.add_argument("-o", "--output", type=Path, default=None, help="where to write the postmortem")
    demo.add_argument(
        "--keep", type=Path, default=None, metavar="DIR", help="keep the demo's database and config in DIR, to explore"
    )
    check = sub.add_parser("check-config", help="validate the config files and the environment, all problems at once")
    check.add_argument(
        "--slack",
        action="store_true",
        help="also ask Slack (SLACK_BOT_TOKEN, SLACK_API_URL) whether the configured users, groups and channels exist",
    )
    sub.add_parser("migrate", help="apply database migrations and exit")
    records.add_parsers(sub)
    records.add_clock_parsers(sub)
    oob_cli.add_parser(sub)
    return parser


def read_settings() -> tuple[Settings | None, list[str]]:
    """The settings, and what is wrong in the environment; a wrong variable is read as its default meanwhile."""
    try:
        return Settings(), []
    except ValidationError as exc:
        problems, wrong = [], set()
        fields = {variable_name(name): name for name in Settings.model_fields}
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "?"
            problems.append(f"{name}={error.get('input')!r}: {error['msg'].removeprefix('Value error, ')}")
            wrong.add(fields.get(name, name))
        try:
            defaults = {name: Settings.model_fields[name].default for name in wrong if name in Settings.model_fields}
            return Settings(**defaults), problems
        except ValidationError:
            return None, problems


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `ircbot` script."""
    args = build_parser().parse_args(argv)
    settings, environment = read_settings()
    if settings is None or (environment and args.command != "check-config"):  # check-config reports them all
        print("Environment problems:", file=sys.stderr)
        for problem in environment:
            print(f"  {problem}", file=sys.stderr)
        return 2
    # Other libraries at WARNING: APScheduler alone logs every timer run at INFO, ~170,000 lines a day.
    configure_logging(settings.log_level, settings.log_format)
    try:
        return _run(args, settings, environment)
    except ConfigError as exc:
        print("Configuration problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except IrcbotError as exc:
        print(f"ircbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ircbot: interrupted", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"ircbot: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # said in one line; the traceback is for IRCBOT_LOG_LEVEL=DEBUG
        logging.getLogger("ircbot").debug("unexpected error in `ircbot %s`", args.command, exc_info=True)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(
            f"ircbot: unexpected error: {type(exc).__name__}{': ' + first if first else ''} "
            "(IRCBOT_LOG_LEVEL=DEBUG logs the traceback)",
            file=sys.stderr,
        )
        return 1


def _run(args: argparse.Namespace, settings: Settings, environment: list[str]) -> int:
    if args.command == "check-config":
        from ircbot.checkup import run_check

        return run_check(settings, environment, slack=args.slack)
    if args.command == "migrate":
        from ircbot.store.db import Database, describe_url

        database = Database(settings.database_url)
        try:
            database.migrate()
        finally:
            database.dispose()
        print(f"database {describe_url(settings.database_url)} is at the newest schema")
        return 0
    if args.command == "demo":
        from ircbot.demo import run_demo

        return run_demo(output=args.output, keep=args.keep)
    if args.command in ("postmortem", "stats", "verify", "export", "clocks"):
        return records.run(args, settings)
    if args.command == "oob":
        return oob_cli.run(args, settings)
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


def _announce(bot: IrcBot, settings: Settings, args: argparse.Namespace, placeholders: list[str]) -> None:
    """One line per fact an operator checks first: config, database, mode, policies."""
    from ircbot.config import describe_files
    from ircbot.store.db import describe_url

    log = logging.getLogger("ircbot")
    log.info("config folder: %s", settings.config_dir.resolve())
    for line in describe_files(bot.config):
        log.info("config file %s", line)
    for line in placeholders:  # only with --allow-example-config
        log.warning("example config: %s", line)
    log.info("database: %s", describe_url(settings.database_url))
    mode = "Socket Mode" if args.socket_mode else f"HTTP on {args.host}:{args.port}/slack/events"
    log.info("mode: %s, %d worker threads", mode, args.threads)
    escalation = bot.config.escalation
    log.info(
        "policies: %d roles, severities %s, playbooks %s",
        len(bot.config.roles.roles),
        ", ".join(escalation.severities),
        ", ".join(sorted(bot.config.playbooks)),
    )


def _refusals(settings: Settings, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """What stops `serve` before anything is built, and the example placeholders it starts with anyway."""
    from ircbot.checkup import REFUSAL
    from ircbot.config import example_placeholders, require_folder

    problems = settings.problems_for_serving(socket_mode=args.socket_mode)
    try:
        require_folder(settings.config_dir)
    except ConfigError as exc:
        return [*problems, *exc.problems], []
    placeholders = example_placeholders(settings.config_dir)
    if placeholders and not args.allow_example_config:
        return [*problems, *placeholders, REFUSAL], []
    return problems, placeholders


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    problems, placeholders = _refusals(settings, args)
    if problems:
        raise ConfigError(problems)
    from ircbot.app import build_app

    bot = build_app(settings, socket_mode=args.socket_mode)
    _confirm_token(bot)
    _announce(bot, settings, args, placeholders)
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

    Work already acknowledged finishes (on Bolt's executor), so a rolling restart loses no answer; what
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


if __name__ == "__main__":
    sys.exit(main())
