"""`/incident stage`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.commands.parsing import split_flags
from ircbot.domain.checklist import move
from ircbot.domain.incidents import view
from ircbot.domain.messages import ChecklistCard, Outcome, Reply
from ircbot.domain.stages import STAGE_TITLES
from ircbot.errors import UsageError

STAGE_USAGE = "stage [next | <name>] [--force]"


@command("stage", STAGE_USAGE, permission="stage")
def run(ctx: Context) -> Outcome:
    """Show the current stage's checklist, or move on with `stage next` / `stage <name>`."""
    flags = split_flags(ctx.args, switches={"force"}, valued=set(), usage=STAGE_USAGE)
    if not flags.words:
        if flags.switches:
            raise UsageError("Say where to move: `stage next` or `stage <name>`.", STAGE_USAGE)
        return Reply(ChecklistCard(view(ctx.svc, ctx.require_incident())))
    target = " ".join(flags.words)
    moved = move(
        ctx.svc,
        incident_id=ctx.require_incident(),
        target=target,
        force="force" in flags.switches,
        actor=ctx.user,
    )
    left, entered = STAGE_TITLES[moved.left], STAGE_TITLES[moved.incident.stage]
    note = f"<@{ctx.user}> moved {moved.incident.label} from {left} to *{entered}*."
    if moved.skipped:
        note += f" {len(moved.skipped)} required item(s) were left unticked (--force, recorded)."
    note += "".join(f"\n:warning: {w}" for w in moved.warnings)
    return Reply(ChecklistCard(moved.incident, note=note), visibility="in_channel")
