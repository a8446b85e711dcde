"""`/incident list`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.commands.parsing import positive_int
from ircbot.domain.incidents import visible_open
from ircbot.domain.messages import IncidentList, Outcome, Reply
from ircbot.errors import UsageError

USAGE = "list [page]"
PAGE_SIZE = 20  # a section each: well inside a message's 50 blocks


@command("list", USAGE, needs_incident=False)
def run(ctx: Context) -> Outcome:
    """Open incidents you may see, most severe first, then oldest; 20 to a page."""
    if len(ctx.args) > 1:
        raise UsageError("Give at most a page number.", USAGE)
    page = positive_int(ctx.args[0], "page", USAGE) if ctx.args else 1
    shown = visible_open(ctx.svc, ctx.user)
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    if page > pages:
        raise UsageError(f"There {'is' if pages == 1 else 'are'} only {pages} page(s) of open incidents.", USAGE)
    start = (page - 1) * PAGE_SIZE
    listed = shown[start : start + PAGE_SIZE]
    return Reply(IncidentList(listed, total=len(shown), first=start + 1, page=page, pages=pages))
