"""The record on the command line: `ircbot verify` checks timelines' hash chains; `ircbot export` writes IOCs."""

from __future__ import annotations

import argparse
import sys

from ircbot.errors import NotFound, UsageError
from ircbot.settings import Settings


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `verify` and `export` subcommands."""
    verify = sub.add_parser("verify", help="check incidents' timelines against their hash chains")
    which = verify.add_mutually_exclusive_group(required=True)
    which.add_argument("key", nargs="?", help="incident key, e.g. INC-7")
    which.add_argument("--all", action="store_true", help="every incident")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run `verify` or `export`; the exit code says whether all was well."""
    if args.command == "verify":
        return _verify(settings, key=args.key, every=args.all)
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
