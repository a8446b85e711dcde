"""`/incident decide`, `approve` and `reject`: the decision log with its two-person rule."""

from __future__ import annotations

import re

from ircbot.commands.base import Context, command
from ircbot.commands.parsing import split_flags, split_words
from ircbot.domain.decisions import MAX_APPROVERS, propose, vote
from ircbot.domain.messages import DecisionCard, Outcome, Reply, Text
from ircbot.errors import UsageError

USAGE = "decide <text> [--approvers N]"
APPROVE_USAGE = "approve D-<n>"
REJECT_USAGE = "reject D-<n> [reason]"
DECISION_KEY = re.compile(r"^D-?(\d+)$", re.IGNORECASE)


@command("decide", USAGE, permission="decide")
def run(ctx: Context) -> Outcome:
    """Put a decision to the team; it stands once enough distinct people approve it (containment: two)."""
    flags = split_flags(split_words(ctx.rest), switches=set(), valued={"approvers"}, usage=USAGE)
    text = " ".join(flags.words).strip()
    if not text:
        raise UsageError("Say what is decided, e.g. `/incident decide Isolate FS01 from the network`.", USAGE)
    approvers = None
    if "approvers" in flags.values:
        raw = flags.values["approvers"]
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_APPROVERS):
            raise UsageError(f"`--approvers {raw}`: give a number of people from 1 to {MAX_APPROVERS}.", USAGE)
        approvers = int(raw)
    decided = propose(ctx.svc, incident_id=ctx.require_incident(), text=text, approvers=approvers, actor=ctx.user)
    card = decided.card
    if card.status == "approved":
        said = f":white_check_mark: <@{ctx.user}> decided {card.label}: {text} (one approval needed: theirs)."
    else:
        said = f":scales: <@{ctx.user}> proposed {card.label}; it needs {card.approvers} distinct approvals."
    return Reply(Text(_with_warnings(said, decided.warnings)), visibility="in_channel")


@command("approve", APPROVE_USAGE, permission="decide")
def approve(ctx: Context) -> Outcome:
    """Approve a decision (once per person; the proposer's proposal is their approval)."""
    return _vote(ctx, approve=True, usage=APPROVE_USAGE)


@command("reject", REJECT_USAGE, permission="decide")
def reject(ctx: Context) -> Outcome:
    """Reject a decision, saying why; one rejection settles it."""
    return _vote(ctx, approve=False, usage=REJECT_USAGE)


def _vote(ctx: Context, *, approve: bool, usage: str) -> Outcome:
    words = ctx.rest.split(maxsplit=1)
    match = DECISION_KEY.match(words[0]) if words else None
    if match is None:
        verb = "approve" if approve else "reject"
        raise UsageError(f"Name the decision to {verb}, e.g. `/incident {verb} D-1`.", usage)
    reason = words[1].strip() if len(words) > 1 else None
    if approve and reason:
        raise UsageError(f"`approve` takes only the decision, e.g. `/incident approve {words[0]}`.", usage)
    number = int(match.group(1))
    decided = vote(
        ctx.svc, incident_id=ctx.require_incident(), number=number, approve=approve, actor=ctx.user, reason=reason
    )
    said = _with_warnings(said_of_vote(decided.card, ctx.user), decided.warnings)
    return Reply(Text(said), visibility="in_channel")


def said_of_vote(card: DecisionCard, user: str) -> str:
    """What the channel is told of a vote, by command or button."""
    if card.status == "approved":
        names = ", ".join(f"<@{u}>" for u, _ in card.approved_by)
        return f":white_check_mark: {card.label} is approved by {names}: {card.text}"
    if card.status == "rejected":
        return f":no_entry: <@{user}> rejected {card.label}" + (f": {card.reason}" if card.reason else ".")
    missing = card.approvers - len(card.approved_by)
    return f"<@{user}> approved {card.label}; {missing} more approval(s) needed."


def _with_warnings(text: str, warnings: tuple[str, ...]) -> str:
    return "\n".join([text, *(f":warning: {w}" for w in warnings)])
