"""`/incident check` and `/incident uncheck`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.commands.parsing import positive_int
from ircbot.domain.checklist import Ticked, set_item
from ircbot.domain.messages import ChecklistCard, Outcome, Reply, Text
from ircbot.domain.stages import STAGE_TITLES
from ircbot.errors import UsageError


def _tick(ctx: Context, checked: bool, usage: str) -> Outcome:
    if len(ctx.args) != 1:
        raise UsageError("Give one item number from the current stage's checklist.", usage)
    position = positive_int(ctx.args[0], "checklist item", usage)
    result = set_item(ctx.svc, incident_id=ctx.require_incident(), position=position, checked=checked, actor=ctx.user)
    if not result.changed:
        state = "already ticked" if checked else "not ticked"
        return Reply(ChecklistCard(result.incident, note=f"Item {position} is {state}."))
    return Reply(tick_line(ctx.user, position, result), visibility="in_channel")


def tick_line(user: str, position: int, result: Ticked) -> Text:
    """What the channel is told when someone ticks or unticks an item, by command or button alike."""
    view = result.incident
    checked = any(i.position == position and i.checked for i in view.checklist)
    done, total = view.progress[view.stage]
    verb = "ticked" if checked else "unticked"
    return Text(
        f":ballot_box_with_check: <@{user}> {verb} {STAGE_TITLES[view.stage]} #{position}: {result.text} "
        f"({done}/{total} done)"
    )


@command("check", "check <n>", aliases=("tick", "done"))
def check(ctx: Context) -> Outcome:
    """Tick item n of the current stage's checklist."""
    return _tick(ctx, True, "check <n>")


@command("uncheck", "uncheck <n>", aliases=("untick",))
def uncheck(ctx: Context) -> Outcome:
    """Untick item n of the current stage's checklist."""
    return _tick(ctx, False, "uncheck <n>")
