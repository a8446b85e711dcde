"""`ircbot oob INC-7 --as U… [--reason TEXT] [--return [--summary]]`: move an incident out of band from a shell.

For when Slack cannot be trusted or reached: the same command layer and rules as `/incident oob` and
`!incident return`, run as the Slack user `--as` names (whose roles and membership count as in Slack).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ircbot.settings import Settings


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """The `oob` subcommand."""
    oob = sub.add_parser("oob", help="move an incident to its out-of-band Matrix room (or back), without Slack")
    oob.add_argument("key", help="incident key, e.g. INC-7")
    oob.add_argument("--as", dest="user", required=True, metavar="USER_ID", help="the Slack user id acting (U…)")
    oob.add_argument("--reason", default="", help="why it moves; kept in the timeline and the room, never in Slack")
    oob.add_argument("--return", dest="back", action="store_true", help="move it back to Slack instead")
    oob.add_argument("--summary", action="store_true", help="with --return: also post where it stands in Slack")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Move the incident (or bring it back); 0 when done, 1 when refused or failed."""
    from ircbot.app import build_app
    from ircbot.commands.base import Invocation
    from ircbot.commands.dispatch import dispatch
    from ircbot.domain.messages import Reply
    from ircbot.oob.render import to_matrix

    if args.summary and not args.back:
        print("ircbot: --summary goes with --return", file=sys.stderr)
        return 2
    text = f"{args.key} return{' --summary' if args.summary else ''}" if args.back else f"{args.key} oob {args.reason}"
    bot = build_app(settings)
    try:
        answer = dispatch(bot.services, Invocation(user_id=args.user, channel_id="", text=text.strip(), venue="shell"))
    finally:
        bot.close()
    assert isinstance(answer, Reply)  # neither command opens a form
    print(to_matrix(answer.message, bot.config.oob.matrix_id)[0].replace("/incident ", "ircbot ... "))
    return 1 if answer.problem else 0
