"""`/incident join`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.commands.parsing import MENTION
from ircbot.domain.access import INCIDENT_KEY, find_by_key, locate
from ircbot.domain.access_requests import ask_to_join, decide_for_user
from ircbot.domain.messages import Outcome, Reply, Text
from ircbot.domain.out_of_band import refuse_if_away
from ircbot.errors import UsageError

USAGE = "join INC-<n> | join approve @person | join deny @person"


@command("join", USAGE, needs_incident=False)
def run(ctx: Context) -> Outcome:
    """Ask to join an incident (a private one asks its manager); in its channel, approve or deny a request."""
    words = ctx.args
    if words and words[0].lower() in ("approve", "deny"):
        return _decide(ctx, approve=words[0].lower() == "approve")
    key = ctx.key or (words[0] if words and INCIDENT_KEY.match(words[0]) else None)
    if key is None or len(words) > (0 if ctx.key else 1):
        raise UsageError("Name the incident to join, e.g. `/incident join INC-7`.", USAGE)
    if ctx.invocation.venue == "slack":
        with ctx.svc.db.transaction() as session:
            found = find_by_key(session, key)
            if found is not None:  # nobody joins an incident that is away from Slack through Slack
                refuse_if_away(session, found, ctx.svc.clock())
    asked = ask_to_join(ctx.svc, key=key, user_id=ctx.user)
    warnings = "".join(f"\n:warning: {w}" for w in asked.warnings)
    if asked.outcome == "joined":
        return Reply(Text(f":wave: You are in {asked.key}: <#{asked.channel_id}>.{warnings}"))
    if asked.outcome == "already_in":
        return Reply(Text(f"You are already in {asked.key}: <#{asked.channel_id}>."))
    if asked.outcome == "already_asked":
        return Reply(Text(f"You have already asked to join {asked.key}; you will be told by DM when it is answered."))
    return Reply(Text(f"Your request to join {asked.key} was sent. You will be told by DM when it is answered."))


def _decide(ctx: Context, *, approve: bool) -> Outcome:
    verb = "approve" if approve else "deny"
    match = MENTION.match(ctx.args[1]) if len(ctx.args) == 2 else None
    if match is None:
        raise UsageError(f"Name the person whose request you {verb}, e.g. `/incident join {verb} @jo`.", USAGE)
    located = locate(
        ctx.svc,
        user_id=ctx.user,
        channel_id=ctx.invocation.channel_id,
        key=ctx.key,
        permission=None,
        in_slack=ctx.invocation.venue == "slack",
    )
    decided = decide_for_user(
        ctx.svc, incident_id=located.incident_id, user_id=match.group(1), approve=approve, actor=ctx.user
    )
    outcome = "let in" if approve else "turned down"
    lines = [f"<@{ctx.user}> {outcome} <@{decided.prompt.user_id}>'s request to join."]
    lines += [f":warning: {w}" for w in decided.warnings]
    return Reply(Text("\n".join(lines)), visibility="in_channel")
