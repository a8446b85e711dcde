"""Bringing a role's on-call into an incident on request (legal, comms, forensics …)."""

from __future__ import annotations

from dataclasses import dataclass

from ircbot.domain.effects import attempt
from ircbot.domain.kinds import TimelineKind
from ircbot.domain.messages import JoinRequest
from ircbot.domain.roles import check_role, oncall_for
from ircbot.domain.services import Services
from ircbot.domain.unit import incident_tx
from ircbot.store import queries


@dataclass(frozen=True)
class Joined:
    """Who was brought in, as what, and what could not be done."""

    user_id: str
    title: str
    warnings: tuple[str, ...]


def page_role(svc: Services, *, incident_id: int, role: str, actor: str) -> Joined:
    """Record the person as a participant, invite them, and DM them why and what the role does."""
    role = check_role(svc, role)
    config = svc.config.roles.roles[role]
    user = oncall_for(svc, role)
    with incident_tx(svc, incident_id, closed="{key} is resolved.") as tx:
        queries.add_participant(session=tx.session, incident_id=tx.id, user_id=user, reason=f"page:{role}", at=tx.now)
        tx.record(TimelineKind.JOINED_ON_REQUEST, actor=actor, data={"role": role, "user": user, "title": config.title})
        view = tx.view()
    channel = view.channel_id
    dm = JoinRequest(
        by=actor, incident=view, role_title=config.title, description=config.description, duties=tuple(config.duties)
    )
    warnings = attempt(
        ("invite them", lambda: svc.chat.invite(channel or "", [user])),
        ("send them a DM", lambda: svc.chat.post(user, dm)),
    )
    return Joined(user_id=user, title=config.title, warnings=tuple(warnings))


def record_membership(svc: Services, *, channel_id: str, user_id: str, joined: bool) -> bool:
    """Note that someone joined or left an incident channel; False when the channel is not an incident's.

    Joining brings a person in; leaving (or being removed) ends what they may see of a private incident.
    """
    with svc.db.transaction() as session:
        found = queries.incident_by_channel(session=session, channel_id=channel_id)
    if found is None or found.id is None:
        return False
    with incident_tx(svc, found.id) as tx:
        if joined:
            queries.add_participant(session=tx.session, incident_id=tx.id, user_id=user_id, reason="joined", at=tx.now)
        else:
            queries.remove_participant(session=tx.session, incident_id=tx.id, user_id=user_id)
            tx.homes_changed(also=user_id)  # their tab no longer shows a private incident they left
        tx.record(TimelineKind.MEMBER_JOINED if joined else TimelineKind.MEMBER_LEFT, actor=user_id)
    return True
