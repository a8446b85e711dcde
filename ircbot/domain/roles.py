"""Giving response roles to people, with handoffs recorded."""

from __future__ import annotations

from dataclasses import dataclass

from ircbot.domain.effects import attempt
from ircbot.domain.identities import user_for_email
from ircbot.domain.kinds import TimelineKind
from ircbot.domain.messages import RoleAnnouncement, Topic
from ircbot.domain.services import Services
from ircbot.domain.unit import IncidentTx, incident_tx
from ircbot.domain.views import IncidentView
from ircbot.errors import GatewayError, InvalidInput, NotFound
from ircbot.store import queries
from ircbot.store.models import RoleAssignment


@dataclass(frozen=True)
class Assigned:
    """Who got the role and who was released from it."""

    incident: IncidentView
    role: str
    user_id: str
    previous: str | None
    warnings: tuple[str, ...] = ()


def check_role(svc: Services, role: str) -> str:
    """Normalize a role key; unknown roles raise InvalidInput listing the valid ones."""
    key = role.strip().lower()
    if key not in svc.config.roles.roles:
        raise InvalidInput(f"There is no role `{role}`. Roles: {', '.join(svc.config.roles.roles)}.")
    return key


class OncallUnreachable(NotFound):
    """The role's on-call could not be looked up because Slack could not be asked (not a roles.yaml problem)."""

    def __init__(self, role: str, emails: list[str], error: str):
        self.emails = emails
        super().__init__(
            f"Slack could not be asked who `{role}`'s on-call is ({error}); try again in a moment, "
            f"or name someone: `/incident assign {role} @person`."
        )


def oncall_for(svc: Services, role: str) -> str:
    """The role's primary on-call person from roles.yaml, resolving e-mails (remembered) and user groups."""
    config = svc.config.roles.roles[role]
    unreachable: list[str] = []
    error = ""
    for entry in config.oncall:
        if "@" not in entry:
            return entry
        try:
            user = user_for_email(svc, entry)
        except GatewayError as exc:
            unreachable.append(entry)
            error = exc.error
            continue
        if user:
            return user
    if config.oncall_group:
        members = svc.chat.group_members(config.oncall_group)
        if members:
            return members[0]
    if unreachable:
        raise OncallUnreachable(role, unreachable, error)
    raise NotFound(
        f"roles.yaml names no on-call person for `{role}` that Slack knows. "
        f"Name someone: `/incident assign {role} @person`."
    )


def assign(svc: Services, *, incident_id: int, role: str, user_id: str | None, actor: str) -> Assigned:
    """Give `role` to `user_id` (or the role's on-call), release the previous holder, invite and announce."""
    role = check_role(svc, role)
    target = user_id or oncall_for(svc, role)
    title = svc.config.roles.roles[role].title
    with incident_tx(svc, incident_id) as tx:
        previous = queries.holding(session=tx.session, incident_id=tx.id, role=role)
        if previous is not None and previous.user_id == target:
            return Assigned(incident=tx.view(), role=role, user_id=target, previous=target)
        if previous is not None:
            previous.released_at = tx.now
            tx.record(
                TimelineKind.ROLE_RELEASED,
                actor=actor,
                data={"role": role, "user": previous.user_id, "title": title, "successor": target},
            )
        give_role(tx, role=role, user_id=target, actor=actor)
        view = tx.view()
    return Assigned(
        incident=view,
        role=role,
        user_id=target,
        previous=previous.user_id if previous else None,
        warnings=tuple(_announce(svc, view, role, target, previous.user_id if previous else None)),
    )


def give_role(tx: IncidentTx, *, role: str, user_id: str, actor: str) -> None:
    """Record `user_id` as holder of `role` (and as a participant), with its timeline event."""
    tx.session.add(RoleAssignment(incident_id=tx.id, role=role, user_id=user_id, assigned_by=actor, assigned_at=tx.now))
    queries.add_participant(session=tx.session, incident_id=tx.id, user_id=user_id, reason=f"role:{role}", at=tx.now)
    title = tx.svc.config.roles.roles[role].title
    tx.record(TimelineKind.ROLE_ASSIGNED, actor=actor, data={"role": role, "user": user_id, "title": title})


def _announce(svc: Services, view: IncidentView, role: str, user: str, previous: str | None) -> list[str]:
    assert view.channel_id is not None
    config = svc.config.roles.roles[role]
    text = RoleAnnouncement(user, config.title, previous, tuple(config.duties), config.description)
    channel = view.channel_id
    steps = [
        ("invite them", lambda: svc.chat.invite(channel, [user])),
        ("announce the role", lambda: svc.chat.post(channel, text)),
    ]
    if role == "manager":
        steps.append(("update the topic", lambda: svc.chat.set_topic(channel, Topic(view))))
    return attempt(*steps)
