"""Asking to join an incident: a public one lets anyone in at once, a private one asks who may approve.

The person asking a private incident learns nothing about it (not even its title) until they are let in;
its channel gets a prompt that only the incident manager, or the roles whose `may:` lists `approve_join`,
can answer. The request, the decision and who made it are in the timeline; the requester is told by DM.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from ircbot.domain.access import find_by_key, has_permission
from ircbot.domain.effects import attempt
from ircbot.domain.kinds import AccessStatus, TimelineKind
from ircbot.domain.messages import AccessPrompt, Text
from ircbot.domain.policy import Config
from ircbot.domain.services import Services
from ircbot.domain.unit import incident_tx
from ircbot.errors import Conflict, NotFound, PermissionDenied
from ircbot.store import queries
from ircbot.store.models import AccessRequest, Incident

APPROVE = "approve_join"
"""The `may:` word of the roles that answer requests to join (the incident manager when no role lists it)."""


@dataclass(frozen=True)
class Asked:
    """What became of a request to join, as the requester may be told."""

    key: str
    channel_id: str | None  # only when they are in (public incident, or already a participant)
    outcome: str  # "joined" | "already_in" | "asked" | "already_asked"
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decided:
    """A request answered: the prompt as it now reads, and what could not be done."""

    prompt: AccessPrompt
    warnings: tuple[str, ...] = ()


def ask_to_join(svc: Services, *, key: str, user_id: str) -> Asked:
    """Let the user into a public incident, or ask on their behalf to join a private one."""
    with svc.db.transaction() as session:
        found = find_by_key(session, key)
    if found is None or found.id is None:
        raise NotFound(f"There is no incident {key.upper()}.")
    with incident_tx(svc, found.id) as tx:
        incident = tx.incident
        if queries.is_participant(session=tx.session, incident_id=tx.id, user_id=user_id):
            return Asked(incident.key, incident.channel_id, "already_in")
        if not incident.is_private:
            queries.add_participant(
                session=tx.session, incident_id=tx.id, user_id=user_id, reason="asked to join", at=tx.now
            )
            tx.record(TimelineKind.JOIN_ASKED, actor=user_id, data={"public": True})
            channel = incident.channel_id
        else:
            if _pending(tx.session, tx.id, user_id) is not None:
                return Asked(incident.key, None, "already_asked")
            request = AccessRequest(incident_id=tx.id, user_id=user_id, requested_at=tx.now)
            tx.session.add(request)
            tx.record(TimelineKind.JOIN_ASKED, actor=user_id, data={"public": False})
            tx.session.flush()
            assert request.id is not None
            prompt = AccessPrompt(request_id=request.id, incident_id=tx.id, user_id=user_id)
            channel = None
        incident_key, incident_channel = incident.key, incident.channel_id
    if channel is not None:
        warnings = attempt(("invite you", lambda: svc.chat.invite(channel, [user_id])))
        return Asked(incident_key, channel, "joined", tuple(warnings))
    if incident_channel is None:
        return Asked(incident_key, None, "asked")  # the channel is still being opened: the prompt waits for it
    warnings = attempt(
        ("post the request in the incident channel", lambda: _post_prompt(svc, incident_channel, prompt))
    )
    return Asked(incident_key, None, "asked", tuple(warnings))


def request_incident(svc: Services, *, request_id: int) -> int:
    """The incident a request to join is about (NotFound when there is no such request)."""
    with svc.db.transaction() as session:
        request = session.get(AccessRequest, request_id)
        if request is None:
            raise NotFound("That request to join no longer exists.")
        return request.incident_id


def decide(svc: Services, *, request_id: int, approve: bool, actor: str) -> Decided:
    """Approve or deny a request to join; only those who may approve can, and each request is answered once."""
    with incident_tx(svc, request_incident(svc, request_id=request_id)) as tx:
        require_decider(tx.session, svc.config, tx.incident, actor)
        request = tx.session.get(AccessRequest, request_id)
        assert request is not None
        if request.status != AccessStatus.PENDING:
            raise Conflict(f"<@{request.user_id}>'s request was already {request.status} by <@{request.decided_by}>.")
        request.status = AccessStatus.APPROVED if approve else AccessStatus.DENIED
        request.decided_by, request.decided_at = actor, tx.now
        if approve:
            queries.add_participant(
                session=tx.session, incident_id=tx.id, user_id=request.user_id, reason="join approved", at=tx.now
            )
        kind = TimelineKind.JOIN_APPROVED if approve else TimelineKind.JOIN_DENIED
        tx.record(kind, actor=actor, data={"user": request.user_id})
        prompt = AccessPrompt(request_id, tx.id, request.user_id, request.status, actor)
        key, channel, user = tx.incident.key, tx.incident.channel_id, request.user_id
    if approve:
        told = Text(f":white_check_mark: <@{actor}> let you into {key}: <#{channel}>.")
        steps = [
            ("invite them", lambda: svc.chat.invite(channel or "", [user])),
            ("tell them", lambda: _dm(svc, user, told)),
        ]
    else:
        told = Text(
            f"Your request to join {key} was turned down. Ask the incident manager if you think it should not be."
        )
        steps = [("tell them", lambda: _dm(svc, user, told))]
    return Decided(prompt, tuple(attempt(*steps)))


def decide_for_user(svc: Services, *, incident_id: int, user_id: str, approve: bool, actor: str) -> Decided:
    """The typed form of a decision: the pending request of `user_id` in this incident."""
    with svc.db.transaction() as session:
        request = _pending(session, incident_id, user_id)
        request_id = request.id if request is not None else None
    if request_id is None:
        raise NotFound(f"<@{user_id}> has no request to join waiting here.")
    return decide(svc, request_id=request_id, approve=approve, actor=actor)


def require_decider(session: Session, config: Config, incident: Incident, user_id: str) -> None:
    """PermissionDenied unless the user holds a role that answers requests to join."""
    listed = [key for key, role in config.roles.roles.items() if role.may and APPROVE in role.may]
    if listed:
        allowed = has_permission(session, config, incident, user_id, APPROVE)
        deciders = listed
    else:
        manager = config.roles.declarer_role or "manager"
        deciders = [manager]
        assert incident.id is not None
        held = queries.holding(session=session, incident_id=incident.id, role=manager)
        allowed = held is not None and held.user_id == user_id
    if not allowed:
        titles = ", ".join(config.roles.roles[k].title if k in config.roles.roles else k for k in deciders)
        raise PermissionDenied(f"Only the {titles} may answer requests to join {incident.key}.")


def _pending(session: Session, incident_id: int, user_id: str) -> AccessRequest | None:
    query = select(AccessRequest).where(
        AccessRequest.incident_id == incident_id,
        AccessRequest.user_id == user_id,
        AccessRequest.status == AccessStatus.PENDING,
    )
    return session.exec(query).first()


def _post_prompt(svc: Services, channel: str, prompt: AccessPrompt) -> None:
    ts = svc.chat.post(channel, prompt)
    with svc.db.transaction() as session:
        request = session.get(AccessRequest, prompt.request_id)
        if request is not None:
            request.prompt_ts = ts


def _dm(svc: Services, user_id: str, message: Text) -> None:
    svc.chat.post(user_id, message)
