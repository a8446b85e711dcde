"""Finding the incident a command acts on, and who may see or change it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session

from ircbot.domain.out_of_band import refuse_if_away
from ircbot.domain.policy import Config
from ircbot.domain.services import Services
from ircbot.errors import InvalidInput, NotFound, PermissionDenied
from ircbot.store import queries
from ircbot.store.models import Incident

INCIDENT_KEY = re.compile(r"^INC-(\d{1,9})$", re.IGNORECASE)


def may_see(session: Session, incident: Incident, user_id: str) -> bool:
    """Public incidents are visible to all; private ones to people brought into them."""
    assert incident.id is not None
    if not incident.is_private:
        return True
    return queries.is_participant(session=session, incident_id=incident.id, user_id=user_id)


def find_by_key(session: Session, key: str, *, lock: bool = False) -> Incident | None:
    """The incident with this key (`INC-7`, any case), or None; NotFound when `key` is not a key at all."""
    match = INCIDENT_KEY.match(key.strip())
    if not match:
        raise NotFound(f"`{key}` is not an incident key; keys look like `INC-7`.")
    return queries.incident_by_number(session=session, number=int(match.group(1)), lock=lock)


def find_visible(session: Session, key: str, user_id: str, *, lock: bool = False) -> Incident:
    """The incident with this key, if the user may see it; otherwise NotFound (never a hint it exists)."""
    incident = find_by_key(session, key, lock=lock)
    if incident is None or not may_see(session, incident, user_id):
        raise NotFound(f"There is no incident {key.upper()} that you can see.")
    return incident


def has_permission(session: Session, config: Config, incident: Incident, user_id: str, action: str) -> bool:
    """roles.yaml `may:` lists: when any role lists `action`, only its holders may do it."""
    allowed_roles = [key for key, role in config.roles.roles.items() if role.may and action in role.may]
    if not allowed_roles:
        return True
    assert incident.id is not None
    held = {a.role for a in queries.active_roles(session=session, incident_id=incident.id) if a.user_id == user_id}
    return not held.isdisjoint(allowed_roles)


def require_permission(session: Session, config: Config, incident: Incident, user_id: str, action: str) -> None:
    """Raise PermissionDenied unless the user may take `action` in this incident."""
    if not has_permission(session, config, incident, user_id, action):
        allowed = [k for k, role in config.roles.roles.items() if role.may and action in role.may]
        titles = ", ".join(config.roles.roles[k].title for k in allowed)
        raise PermissionDenied(f"Only the {titles} may `{action}` in {incident.key}.")


class NotAnIncidentChannel(InvalidInput):
    """A command that needs an incident came from a channel that is not one, without a key."""


@dataclass(frozen=True)
class Located:
    """The incident a command acts on, and its channel."""

    incident_id: int
    channel_id: str | None


def locate(
    svc: Services, *, user_id: str, channel_id: str, key: str | None, permission: str | None, in_slack: bool
) -> Located:
    """The incident a command means: by its key (if the user may see it), else the channel's own; then its rule,
    and, for a command typed in Slack, that the incident is not away (`refuse_if_away`).

    A command typed in the incident's channel acts on it (Slack lets only members type there); elsewhere
    the key must name an incident the user was brought into (or a public one).
    """
    with svc.db.transaction() as session:
        if key is not None:
            incident = find_visible(session, key, user_id)
        else:
            found = queries.incident_by_channel(session=session, channel_id=channel_id)
            if found is None:
                raise NotAnIncidentChannel(
                    "This is not an incident channel. Run the command in the incident's channel, "
                    "or put the incident key first."
                )
            incident = found
        if permission:
            require_permission(session, svc.config, incident, user_id, permission)
        if in_slack:
            refuse_if_away(session, incident, svc.clock())
        assert incident.id is not None
        return Located(incident.id, incident.channel_id)


def authorise(svc: Services, *, incident_id: int, user_id: str, permission: str | None) -> None:
    """The same rules for a Slack button, form or event as for the typed command: visibility, then `may:`, then
    that the incident is not away (`refuse_if_away`).

    Where the click happened proves nothing: a card shown before someone left a private channel keeps
    its buttons, and a form has no channel. So a private incident's buttons and forms work only for the
    people in it now (leaving the channel ends that), whatever channel Slack says the click came from.
    """
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id)
        if incident is None:
            raise NotFound("That incident no longer exists.")
        if not may_see(session, incident, user_id):
            raise PermissionDenied("You were not brought into this incident, so you cannot act on it.")
        if permission:
            require_permission(session, svc.config, incident, user_id, permission)
        refuse_if_away(session, incident, svc.clock())
