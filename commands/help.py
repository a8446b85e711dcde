"""`/incident help`."""

from __future__ import annotations

from ircbot.commands.base import CommandSpec, Context, command
from ircbot.domain.messages import Outcome, Reply, Text


def help_text(specs: list[CommandSpec], heading: str = "") -> str:
    """Usage of every subcommand, one line each."""
    lines = [heading] if heading else []
    lines.append(
        "*`/incident` subcommands* (inside an incident channel they act on its incident; "
        "elsewhere put the key first: `/incident INC-7 status`):"
    )
    lines += [f"• `/incident {s.usage}` — {s.help}" for s in specs]
    return "\n".join(lines)


@command("help", "help", needs_incident=False)
def run(ctx: Context) -> Outcome:
    """This list."""
    return Reply(Text(help_text(list(ctx.commands))))
