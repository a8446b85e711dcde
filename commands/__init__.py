"""The `/incident` subcommands: one module each, registered in this explicit list."""

from __future__ import annotations

from commands import assign, check, declare, help, listing, note, postmortem, resolve, roles, stage, status
from commands.base import CommandSpec

COMMANDS: list[CommandSpec] = [
    declare.run,
    assign.run,
    roles.run,
    stage.run,
    check.check,
    check.uncheck,
    note.run,
    status.run,
    resolve.run,
    postmortem.run,
    listing.run,
    help.run,
]
