"""The triage channel's answers to an alert no rule declared: Declare (an incident, the clicker its declarer) or
Dismiss (a false positive, with who said so)."""

from __future__ import annotations

from sqlmodel import Session

from ircbot.domain.alert_intake import (
    INCIDENT_SEVERITY,
    attach,
    declare_for,
    group_keys,
    open_incident,
    triage_card,
)
from ircbot.domain.declare import Declaration, channel_refused, finish_declare
from ircbot.domain.kinds import AlertOutcome
from ircbot.domain.messages import TriageCard
from ircbot.domain.resuming import declarer_answered
from ircbot.domain.services import Services
from ircbot.errors import Conflict, GatewayError, NotFound
from ircbot.store import alert_queries, queries
from ircbot.store.models import Alert, Incident


def _waiting(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id, with_for_update=True)
    if alert is None:
        raise NotFound("That alert is no longer stored.")
    if alert.outcome != AlertOutcome.TRIAGE:
        incident = session.get(Incident, alert.incident_id) if alert.incident_id else None
        by = f" by <@{alert.decided_by}>" if alert.decided_by else ""
        what = f"declared as {incident.key}" if alert.outcome == AlertOutcome.DECLARED and incident else alert.outcome
        raise Conflict(f"This alert was {what}{by} already.")
    return alert


def declare_alert(svc: Services, *, alert_id: int, actor: str) -> TriageCard:
    """Open an incident from the alert with the clicker as declarer; an open incident of its group takes it instead."""
    with svc.db.transaction() as session:
        alert = _waiting(session, alert_id)
        now = svc.clock()
        groups = alert_queries.lock_groups(session=session, keys=group_keys(alert), now=now)
        incident = open_incident(session, groups)
        alert.decided_by = actor
        if incident is not None:
            alert.outcome = AlertOutcome.ATTACHED
            attach(svc, session, alert, incident, groups)
            declared = None
        else:
            request = Declaration(
                title=alert.title,
                severity=INCIDENT_SEVERITY[alert.severity],
                declared_by=actor,
                is_drill=alert.labels.get("drill", "").strip().lower() == "true",
                detected_at=alert_queries.earliest_start(
                    session=session, alert=alert, since=now - svc.config.alerts.dedup_window
                ),
            )
            incident = declared = declare_for(svc, session, alert, groups, request)
            alert.outcome = AlertOutcome.DECLARED
    svc.wake(svc.clock())
    if declared is not None:
        try:
            finish_declare(svc, declared)
        except GatewayError as exc:
            if not exc.uncertain:  # Slack refused the channel: nothing was declared, the alert waits again
                _undo(svc, alert_id, declared)
                raise Conflict(channel_refused(exc.error)) from exc
            svc.log.warning("%s: Slack did not answer while its channel was opened: %s", declared.key, exc.error)
        assert declared.id is not None
        declarer_answered(svc, declared.id)  # the clicker is told on the card, now
    with svc.db.transaction() as session:
        now_stored = session.get(Alert, alert_id)
        assert now_stored is not None and now_stored.outcome is not None
        found = session.get(Incident, incident.id)
        return triage_card(now_stored, AlertOutcome(now_stored.outcome), found)


def _undo(svc: Services, alert_id: int, incident: Incident) -> None:
    assert incident.id is not None
    with svc.db.transaction() as session:
        queries.delete_incident(session=session, incident_id=incident.id)
        alert = session.get(Alert, alert_id)
        if alert is not None:
            alert.outcome, alert.decided_by = AlertOutcome.TRIAGE, None


def dismiss_alert(svc: Services, *, alert_id: int, actor: str, reason: str | None = None) -> TriageCard:
    """Record the alert as a false positive: who said so, and why when they said."""
    with svc.db.transaction() as session:
        alert = _waiting(session, alert_id)
        alert.outcome, alert.decided_by, alert.reason = AlertOutcome.DISMISSED, actor, reason
        alert.processed_at = svc.clock()
        return triage_card(alert, AlertOutcome.DISMISSED)


def alert_title(svc: Services, *, alert_id: int) -> str:
    """The alert's title, for the form that asks why it is dismissed (NotFound when it is gone)."""
    with svc.db.transaction() as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise NotFound("That alert is no longer stored.")
        return alert.title


def dismiss_with_reason(svc: Services, *, alert_id: int, actor: str, reason: str) -> TriageCard:
    """Dismiss the alert from the form that asked why, and redraw its card in the triage channel."""
    card = dismiss_alert(svc, alert_id=alert_id, actor=actor, reason=reason.strip() or None)
    with svc.db.transaction() as session:
        alert = session.get(Alert, alert_id)
        ts = alert.triage_ts if alert is not None else None
    channel = svc.config.alerts.triage_channel
    if ts and channel:
        try:
            svc.chat.update(channel, ts, card)
        except GatewayError as exc:  # the decision stands; the card shows it once anyone clicks it again
            svc.log.warning("alert %s: the triage card was not redrawn: %s", alert_id, exc.error)
    return card
