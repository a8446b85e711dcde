"""`/incident help`."""

from __future__ import annotations

from ircbot.commands.base import CommandSpec, Context, command
from ircbot.domain.messages import Outcome, Reply, Text

FIRST_FIVE_MINUTES = (
    "*The first five minutes*",
    "1. `/incident declare <what happened> sev1` — opens a private channel and pages the on-call; "
    "`/incident declare` alone opens a form.",
    "2. In that channel: `/incident assign analyst @someone`, and `/incident page legal` or `page comms` when needed.",
    "3. Write down what you find as you go: `/incident note <text>` (IPs, hashes and domains become indicators); "
    "pin key messages.",
    "4. Tick the checklist (buttons or `/incident check <n>`), then `/incident stage next`; "
    "`/incident contained` when it is.",
    "5. `/incident update <text>` for stakeholders; `/incident resolve <summary>` writes the postmortem.",
)


def help_text(specs: list[CommandSpec], heading: str = "") -> str:
    """The first five minutes, then the usage of every subcommand, one line each."""
    lines = [heading] if heading else []
    lines += [*FIRST_FIVE_MINUTES, ""]
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
