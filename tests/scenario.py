"""Reading what the bot recorded, for scenario assertions (the database is read, never patched)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from ircbot.emulator import SlackEmulator
from ircbot.store import queries
from ircbot.store.models import Incident, RoleAssignment, TimelineEvent
from tests.conftest import Harness


def incident(h: Harness, number: int = 1) -> Incident:
    """The stored incident INC-<number>."""
    with h.bot.db.transaction() as session:
        found = queries.incident_by_number(session=session, number=number)
        assert found is not None, f"INC-{number} was not recorded"
        return found


def incident_count(h: Harness) -> int:
    """How many incidents are stored."""
    with h.bot.db.transaction() as session:
        return int(session.exec(select(func.count(col(Incident.id)))).one())


def events(h: Harness, number: int = 1, kind: str | None = None) -> Sequence[TimelineEvent]:
    """The incident's timeline, optionally of one kind."""
    found = incident(h, number)
    assert found.id is not None
    with h.bot.db.transaction() as session:
        rows = queries.timeline(session=session, incident_id=found.id)
    return [e for e in rows if kind is None or e.kind == kind]


def roles(h: Harness, number: int = 1) -> dict[str, str]:
    """Role key -> user id of current holders."""
    found = incident(h, number)
    assert found.id is not None
    with h.bot.db.transaction() as session:
        held: Sequence[RoleAssignment] = queries.active_roles(session=session, incident_id=found.id)
    return {a.role: a.user_id for a in held}


def bot_messages(emu: SlackEmulator, channel: str) -> list[dict[str, Any]]:
    """Messages the bot posted into a channel."""
    return [m for m in emu.messages(channel) if m.get("user") == emu.bot_user_id]


def welcome(emu: SlackEmulator, channel: str) -> dict[str, Any]:
    """The pinned welcome card (pages may be posted around it)."""
    return next(m for m in bot_messages(emu, channel) if any(b.get("type") == "header" for b in m.get("blocks") or []))


def channel_text(emu: SlackEmulator, channel: str) -> str:
    """Everything readable in a channel, as one string."""
    return "\n".join(emu.message_text(m) for m in emu.messages(channel))


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The buttons in a message's blocks."""
    found = []
    for block in message.get("blocks") or []:
        accessory = block.get("accessory")
        if accessory and accessory.get("type") == "button":
            found.append(accessory)
        found += [e for e in block.get("elements", []) if isinstance(e, dict) and e.get("type") == "button"]
    return found
