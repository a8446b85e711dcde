"""Bringing a role's on-call into an incident on request (legal, comms, forensics …)."""

from __future__ import annotations

from dataclasses import dataclass

from ircbot.domain import timeline
from ircbot.domain.effects import attempt
from ircbot.domain.messages import Text
from ircbot.domain.roles import check_role, oncall_for
from ircbot.domain.services import Services
from ircbot.errors import Conflict
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
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id, lock=True)
        assert incident is not None and incident.id is not None
        if incident.status != "open":
            raise Conflict(f"{incident.key} is resolved.")
        now = svc.clock()
        queries.add_participant(session=session, incident_id=incident.id, user_id=user, reason=f"page:{role}", at=now)
        timeline.record(
            session,
            incident,
            kind="joined_on_request",
            actor=actor,
            at=now,
            text=f"<@{actor}> brought in <@{user}> as {config.title}",
            data={"role": role, "user": user},
        )
        channel, key, title = incident.channel_id, incident.key, incident.title
    duties = "".join(f"\n• {d}" for d in config.duties)
    dm = (
        f":wave: <@{actor}> asked you to join *{key}: {title}* as *{config.title}* in <#{channel}>.\n"
        f"{config.description}{duties}"
    )
    warnings = attempt(
        ("invite them", lambda: svc.chat.invite(channel or "", [user])),
        ("send them a DM", lambda: svc.chat.post(user, Text(dm))),
    )
    return Joined(user_id=user, title=config.title, warnings=tuple(warnings))
