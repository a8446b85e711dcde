"""The decision log with a two-person rule: a decision stands only once N distinct people approved it.

`/incident decide <text>` proposes it; the proposer's proposal is their approval, counted once. Each other
person in the incident may approve or reject it once, by button or typed command; one rejection settles
it as rejected, the N-th distinct approval as approved. Every vote and the outcome go into the timeline
(and `decision_approved` to the webhooks that subscribe to it); the card in the channel says who.
How many approvals a decision needs comes from `--approvers`, else record.yaml (containment actions,
isolating hosts, disabling accounts, paying anything, need two people by default).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from ircbot.domain.effects import attempt
from ircbot.domain.kinds import TimelineKind
from ircbot.domain.messages import DecisionCard
from ircbot.domain.services import Services
from ircbot.domain.unit import IncidentTx, incident_tx
from ircbot.errors import Conflict, NotFound, PermissionDenied
from ircbot.store import queries
from ircbot.store.records import Decision, DecisionVote

MAX_APPROVERS = 10


@dataclass(frozen=True)
class Decided:
    """A decision as it now stands, and what could not be done in Slack."""

    card: DecisionCard
    warnings: tuple[str, ...] = ()


def propose(svc: Services, *, incident_id: int, text: str, approvers: int | None, actor: str) -> Decided:
    """Record a decision, count the proposer's approval, and post its card with Approve / Reject."""
    with incident_tx(svc, incident_id, closed="{key} is resolved; its decisions are closed.") as tx:
        if not queries.is_participant(session=tx.session, incident_id=tx.id, user_id=actor):
            raise PermissionDenied(f"Only people in {tx.incident.key} may propose its decisions.")
        needed = approvers if approvers is not None else svc.config.record.decisions.approvers_for(text)
        number = _next_number(tx.session, tx.id)
        decision = Decision(
            incident_id=tx.id, number=number, text=text, approvers=needed, proposed_by=actor, proposed_at=tx.now
        )
        tx.session.add(decision)
        tx.session.flush()
        assert decision.id is not None
        tx.session.add(DecisionVote(decision_id=decision.id, user_id=actor, approve=True, at=tx.now))
        tx.record(
            TimelineKind.DECISION_PROPOSED, actor=actor, data={"number": number, "text": text, "approvers": needed}
        )
        if needed == 1:
            _settle(tx, decision, approve=True, actor=actor, reason=None)
        card = _card(tx.session, tx.incident.key, decision)
        channel = tx.incident.channel_id
    if channel is None:
        return Decided(card, ("The incident channel is not open yet, so the decision card was not posted.",))
    warnings = attempt(("post the decision card", lambda: _post_card(svc, channel, card)))
    return Decided(card, tuple(warnings))


def vote(
    svc: Services, *, incident_id: int, number: int, approve: bool, actor: str, reason: str | None = None
) -> Decided:
    """One person's approval or rejection, once; the card is redrawn to say where the decision stands."""
    with incident_tx(svc, incident_id, closed="{key} is resolved; its decisions are closed.") as tx:
        decision = _decision(tx.session, tx.id, number, tx.incident.key)
        if not queries.is_participant(session=tx.session, incident_id=tx.id, user_id=actor):
            raise PermissionDenied(f"Only people in {tx.incident.key} may approve or reject its decisions.")
        label = f"D-{decision.number}"
        if decision.status != "pending":
            raise Conflict(f"{label} is already {decision.status}.")
        assert decision.id is not None
        earlier = tx.session.exec(
            select(DecisionVote).where(DecisionVote.decision_id == decision.id, DecisionVote.user_id == actor)
        ).first()
        if earlier is not None:
            verb = "approved" if earlier.approve else "rejected"
            mine = " (proposing it counts as your approval)" if actor == decision.proposed_by else ""
            raise Conflict(
                f"You have already {verb} {label}{mine}; it needs {_missing(tx.session, decision)} more "
                "approval(s) from other people."
            )
        tx.session.add(DecisionVote(decision_id=decision.id, user_id=actor, approve=approve, reason=reason, at=tx.now))
        tx.record(
            TimelineKind.DECISION_VOTED,
            actor=actor,
            data={"number": decision.number, "approve": approve, "reason": reason},
        )
        tx.session.flush()
        if not approve or _missing(tx.session, decision) == 0:
            _settle(tx, decision, approve=approve, actor=actor, reason=reason)
        card = _card(tx.session, tx.incident.key, decision)
        where = (decision.card_channel, decision.card_ts)
    warnings: list[str] = []
    channel, ts = where
    if channel and ts:
        warnings = attempt(("update the decision card", lambda: svc.chat.update(channel, ts, card)))
    return Decided(card, tuple(warnings))


def decision_incident(svc: Services, *, decision_id: int) -> int:
    """The incident a decision (by row id, as its card's buttons carry it) belongs to."""
    with svc.db.transaction() as session:
        decision = session.get(Decision, decision_id)
        if decision is None:
            raise NotFound("That decision no longer exists.")
        return decision.incident_id


def decision_number(svc: Services, *, decision_id: int) -> int:
    """The D-number of a decision by row id."""
    with svc.db.transaction() as session:
        decision = session.get(Decision, decision_id)
        if decision is None:
            raise NotFound("That decision no longer exists.")
        return decision.number


def decisions_of(session: Session, incident_id: int, key: str) -> list[DecisionCard]:
    """Every decision of an incident as its card reads, in order."""
    rows = session.exec(
        select(Decision).where(Decision.incident_id == incident_id).order_by(col(Decision.number))
    ).all()
    return [_card(session, key, decision) for decision in rows]


def _settle(tx: IncidentTx, decision: Decision, *, approve: bool, actor: str, reason: str | None) -> None:
    decision.status, decision.decided_at = ("approved" if approve else "rejected"), tx.now
    data = {"number": decision.number, "text": decision.text, "approvers": decision.approvers}
    if approve:
        approved_by = [v.user_id for v in _votes(tx.session, decision) if v.approve]
        tx.record(TimelineKind.DECISION_APPROVED, actor=actor, data={**data, "approved_by": approved_by})
    else:
        tx.record(TimelineKind.DECISION_REJECTED, actor=actor, data={**data, "reason": reason})


def _votes(session: Session, decision: Decision) -> list[DecisionVote]:
    query = select(DecisionVote).where(DecisionVote.decision_id == decision.id)
    return list(session.exec(query.order_by(col(DecisionVote.at), col(DecisionVote.id))).all())


def _missing(session: Session, decision: Decision) -> int:
    approvals = sum(v.approve for v in _votes(session, decision))
    return max(decision.approvers - approvals, 0)


def _next_number(session: Session, incident_id: int) -> int:
    query = select(func.max(Decision.number)).where(Decision.incident_id == incident_id)
    return int(session.exec(query).one() or 0) + 1


def _decision(session: Session, incident_id: int, number: int, key: str) -> Decision:
    found = session.exec(select(Decision).where(Decision.incident_id == incident_id, Decision.number == number)).first()
    if found is None:
        count = _next_number(session, incident_id) - 1
        have = f"its decisions are D-1 to D-{count}" if count > 1 else ("its only decision is D-1" if count else "")
        raise NotFound(f"{key} has no decision D-{number}" + (f"; {have}." if have else " yet."))
    return found


def _card(session: Session, key: str, decision: Decision) -> DecisionCard:
    votes = _votes(session, decision)
    assert decision.id is not None
    rejected = next((v for v in votes if not v.approve), None)
    return DecisionCard(
        decision_id=decision.id,
        key=key,
        number=decision.number,
        text=decision.text,
        approvers=decision.approvers,
        proposed_by=decision.proposed_by,
        status=decision.status,
        approved_by=tuple((v.user_id, v.at) for v in votes if v.approve),
        rejected_by=(rejected.user_id, rejected.at) if rejected else None,
        reason=rejected.reason if rejected else None,
    )


def _post_card(svc: Services, channel: str, card: DecisionCard) -> None:
    ts = svc.chat.post(channel, card)
    with svc.db.transaction() as session:
        decision = session.get(Decision, card.decision_id)
        if decision is not None:
            decision.card_channel, decision.card_ts = channel, ts
