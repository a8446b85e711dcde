"""`/incident oob [reason]` and, in the out-of-band room, `!incident return [--summary]`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.commands.clock import NOT_ADVICE, describe
from ircbot.commands.parsing import split_words
from ircbot.domain.clocks import lines_of
from ircbot.domain.effects import attempt
from ircbot.domain.messages import Outcome, Reply, Text
from ircbot.domain.out_of_band import come_back, move
from ircbot.errors import PermissionDenied, UsageError

USAGE = "oob [reason]"
RETURN_USAGE = "return [--summary]"


@command("oob", USAGE, permission="oob")
def run(ctx: Context) -> Outcome:
    """Move the response to the out-of-band Matrix room, when Slack may be compromised (the reason stays out of it)."""
    moved = move(ctx.svc, ctx.require_incident(), by=ctx.user, reason=ctx.rest.strip() or None)
    clock_warnings = _post_clocks(ctx, moved.room_id)
    # For the mover alone; still, what Slack shows names no room and no reason (Slack may be read by the attacker).
    lines = [f"{moved.key} is out of band: your Matrix invitation is waiting ({len(moved.invited)} people invited)."]
    if not moved.invited:
        lines = [f"{moved.key} is out of band, but no member has a Matrix account in oob.yaml: nobody was invited."]
    if moved.not_mapped:
        left_out = ", ".join(f"<@{u}>" for u in moved.not_mapped)
        lines.append(f"Not invited, having no Matrix account in oob.yaml: {left_out}.")
    lines += [*moved.warnings, *clock_warnings]
    return Reply(Text("\n".join(lines)))  # for the mover only: the channel gets one line without details


def _post_clocks(ctx: Context, room_id: str) -> list[str]:
    """The running regulatory clocks go with the incident: a deadline does not stop because Slack did."""
    with ctx.svc.db.transaction() as session:
        lines = lines_of(session, ctx.require_incident(), ctx.svc, ctx.svc.clock())
    room = ctx.svc.oob_chat
    if not lines or room is None:
        return []
    listing = Text("\n".join(["*Regulatory clocks*", *(describe(line, "UTC") for line in lines), NOT_ADVICE]))
    return attempt(("post the regulatory clocks in the room", lambda: room.post(room_id, listing)))


@command("return", RETURN_USAGE, permission="oob")
def back(ctx: Context) -> Outcome:
    """In the out-of-band room: move the response back to Slack (`--summary` also tells Slack where it stands)."""
    if ctx.invocation.venue == "slack":  # a compromised Slack must not be able to pull the response back
        raise PermissionDenied(
            "An incident comes back from out of band from its room (`!incident return`) or a shell "
            "(`ircbot oob INC-<n> --return`), never from Slack."
        )
    words = split_words(ctx.rest)
    if any(w != "--summary" for w in words):
        raise UsageError(f"`return` takes only --summary, not {' '.join(w for w in words if w != '--summary')!r}.")
    text = come_back(ctx.svc, ctx.require_incident(), by=ctx.user, summary="--summary" in words)
    return Reply(Text(text), visibility="in_channel")
