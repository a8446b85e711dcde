"""The `/incident` subcommands: one module each, registered in this explicit list."""

from __future__ import annotations

from ircbot.commands import (
    ack,
    action,
    assign,
    check,
    declare,
    escalate,
    help,
    impact,
    listing,
    note,
    notify,
    page,
    postmortem,
    resolve,
    roles,
    severity,
    stage,
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
    status.run,
    resolve.run,
    postmortem.run,
    impact.run,
    listing.run,
    stats.run,
    help.run,
]
