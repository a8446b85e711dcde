"""The `/incident` subcommands: one module each, registered in this explicit list.

A subcommand is a function tagged with its name, usage and `may:` word; the dispatcher has already
found its incident and checked the rule when it runs, and it returns what to answer::

    @command("escalate", "escalate", permission="escalate")
    def run(ctx: Context) -> Outcome:
        tier = escalate_now(ctx.svc, incident_id=ctx.require_incident(), actor=ctx.user).tier
        return Reply(Text(f"Paging tier {tier} now."), visibility="in_channel")
"""

from __future__ import annotations

from ircbot.commands import (
    ack,
    action,
    assign,
    check,
    clock,
    contained,
    decide,
    declare,
    escalate,
    evidence,
    help,
    impact,
    ioc,
    join,
    listing,
    note,
    notify,
    oob,
    page,
    postmortem,
    resolve,
    roles,
    severity,
    stage,
    started,
    stats,
    status,
    update,
)
from ircbot.commands.base import CommandSpec

COMMANDS: list[CommandSpec] = [
    declare.run,
    assign.run,
    roles.run,
    stage.run,
    check.check,
    check.uncheck,
    note.run,
    action.run,
    update.run,
    notify.run,
    severity.run,
    ack.run,
    escalate.run,
    page.run,
    join.run,
    status.run,
    resolve.run,
    postmortem.run,
    impact.run,
    evidence.run,
    decide.run,
    decide.approve,
    decide.reject,
    ioc.run,
    ioc.listing,
    clock.run,
    clock.listing,
    contained.run,
    started.run,
    oob.run,
    oob.back,
    listing.run,
    stats.run,
    help.run,
]
