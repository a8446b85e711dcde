"""Alert intake: keep what a sender posted, then decide each alert once — count, attach, declare, triage or drop.

`receive` stores the alerts and returns: the sender hears 202 once they are committed, and never waits
on Slack. The stored rows are the queue: `process_alerts`, a module of the timer engine, leases the
waiting rows (so one process takes each, on any replica), decides each under the lock of its group
and fingerprint (so two alerts of one group never open two incidents), commits, and only then talks
to Slack: opening the channel of an incident a rule declared, or posting the triage card. A crash
after the 202 loses nothing: the row waits until its lease runs out and is taken again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlmodel import Session, col

from ircbot.domain.alert_sources import NormalisedAlert
from ircbot.domain.declare import Declaration, finish_declare, record_in
from ircbot.domain.identities import user_for_email
from ircbot.domain.indicators import alert_text, found_in
from ircbot.domain.kinds import AlertOutcome, IncidentStatus, OutboxKind, TimelineKind
from ircbot.domain.messages import TriageCard
from ircbot.domain.policy import USER_ID
from ircbot.domain.services import Services
from ircbot.domain.unit import IncidentTx
from ircbot.errors import GatewayError
from ircbot.store import alert_queries, queries
from ircbot.store.models import Alert, AlertGroup, Incident

LEASE = timedelta(minutes=1)  # a claimed alert waits this long for its process before another takes it
BATCH = 100
ROUND_BUDGET = 5.0  # seconds one round may spend on alerts before the other modules (outbox, cards) get their turn
INCIDENT_SEVERITY = {"critical": "sev1", "high": "sev2", "medium": "sev3", "low": "sev4", "info": "sev4"}
"""The incident severity an alert's own severity suggests, when Declare in triage opens one."""


def receive(svc: Services, alerts: list[NormalisedAlert]) -> list[int]:
    """Store the alerts in one commit; the engine's next tick decides them. Returns their ids."""
    now = svc.clock()
    rows = [
        {
            "source": a.source,
            "fingerprint": a.fingerprint[:200],
            "group_key": a.group_key[:500],
            "status": a.status,
            "severity": a.severity,
            "title": a.title,
            "description": a.description,
            "started_at": a.started_at,
            "received_at": now,
            "labels": a.labels,
            "raw": a.raw,
            "done": False,
        }
        for a in alerts
    ]
    with svc.db.transaction() as session:  # one statement, no objects to track: intake is the hot path
        ids = [int(i) for i in session.execute(insert(Alert).returning(col(Alert.id)), rows).scalars().all()]
    # No wake-up per request: at hundreds of alerts a second each would run a round of the timer engine for
    # nothing. The engine's tick (every second) takes the waiting alerts, many at a time.
    return ids


@dataclass(frozen=True)
class _Decision:
    outcome: AlertOutcome
    declared: Incident | None = None  # recorded now; its channel is opened after the commit
    card: TriageCard | None = None  # to post in the triage channel after the commit
    again: bool = False  # a try before may have posted the card: look for it first
    cleared: tuple[tuple[str, TriageCard], ...] = ()  # (ts, card) of triage cards to redraw as cleared at source


def process_alerts(svc: Services, *, limit: int = BATCH, budget: float = ROUND_BUDGET) -> int:
    """Decide the alerts waiting (the engine's module), batch after batch while full ones come back, for up to
    `budget` seconds of one round; returns how many were decided or finished."""
    done, started = 0, time.monotonic()
    while True:
        now = svc.clock()
        with svc.db.transaction() as session:
            claimed = alert_queries.claim_alerts(session=session, now=now, lease_until=now + LEASE, limit=limit)
        done += sum(_process(svc, alert_id) for alert_id in claimed)
        if len(claimed) < limit or time.monotonic() - started > budget:
            return done


def _process(svc: Services, alert_id: int) -> int:
    declarer = _declarer_if_declared(svc, alert_id)
    with svc.db.transaction() as session:
        alert = session.get(Alert, alert_id, with_for_update=True)
        if alert is None or alert.done:
            return 0
        decision = _decide(svc, session, alert, declarer) if alert.outcome is None else _retry(alert)
    if decision.declared is not None:
        try:
            finish_declare(svc, decision.declared)
        except GatewayError as exc:  # recorded: resume_declares opens the channel once the declare's lease is out
            svc.log.warning("%s: Slack did not open its channel yet: %s", decision.declared.key, exc.error)
    if decision.card is not None:
        _post_card(svc, alert_id, decision.card, look_first=decision.again)
    for ts, card in decision.cleared:
        _redraw_card(svc, ts, card)
    return 1


def _declarer_if_declared(svc: Services, alert_id: int) -> str | None:
    """Who an alert a rule declares is declared by: the declarer role's on-call (asked of Slack outside any lock)."""
    with svc.db.transaction() as session:
        alert = session.get(Alert, alert_id)
        if alert is None or alert.outcome is not None:
            return None
        rule = svc.config.alerts.rule_for(_fields(alert))
    if rule is None or rule.declare is None:
        return None
    role = svc.config.role(svc.config.roles.declarer_role or "manager")
    for entry in role.oncall if role else []:
        if USER_ID.match(entry):
            return entry
        try:
            found = user_for_email(svc, entry)
        except GatewayError:
            continue
        if found:
            return found
    svc.log.warning("alert %s: a rule declares it, but the declarer role has no on-call; it goes to triage", alert_id)
    return None


def _fields(alert: Alert) -> dict[str, str]:
    return NormalisedAlert(
        source=alert.source,
        fingerprint=alert.fingerprint,
        group_key=alert.group_key,
        severity=alert.severity,
        title=alert.title,
        status=alert.status,
        description=alert.description,
        labels=alert.labels,
    ).fields()


def group_keys(alert: Alert) -> list[str]:
    """The rows that serialize an alert's decision: its group and its fingerprint."""
    return [f"{alert.source}:group:{alert.group_key}", f"{alert.source}:fp:{alert.fingerprint}"]


def open_incident(session: Session, groups: list[AlertGroup]) -> Incident | None:
    """The open incident the alert's group or fingerprint already feeds, locked (after the groups)."""
    for group in groups:
        if group.incident_id is not None:
            incident = queries.incident_by_id(session=session, incident_id=group.incident_id, lock=True)
            if incident is not None and incident.status == IncidentStatus.OPEN:
                return incident
    return None


def _decide(svc: Services, session: Session, alert: Alert, declarer: str | None) -> _Decision:
    now = svc.clock()
    settings = svc.config.alerts
    groups = alert_queries.lock_groups(session=session, keys=group_keys(alert), now=now)
    incident = open_incident(session, groups)
    alert.processed_at, alert.done = now, True
    decision: _Decision
    if alert.status == "resolved":
        decision = _Decision(AlertOutcome.RESOLVED, cleared=() if incident else _clear_triage(session, alert, now))
    elif alert_queries.seen_before(session=session, alert=alert, since=now - settings.dedup_window):
        decision = _Decision(AlertOutcome.DEDUPLICATED)
    elif incident is not None:
        decision = _Decision(AlertOutcome.ATTACHED)
    else:
        rule = settings.rule_for(_fields(alert))
        if rule is not None and rule.drop:
            decision = _Decision(AlertOutcome.DROPPED)
        elif rule is not None and rule.declare is not None and declarer is not None:
            request = Declaration(
                title=alert.title,
                severity=rule.declare.severity,
                playbook=rule.declare.playbook,
                declared_by=declarer,
                is_drill=_is_drill(alert),
                detected_at=alert_queries.earliest_start(
                    session=session, alert=alert, since=now - settings.dedup_window
                ),
            )
            incident = declare_for(svc, session, alert, groups, request)
            incident.answered_at = now  # a rule declared it: no one waits for an answer to be told later
            decision = _Decision(AlertOutcome.DECLARED, declared=incident)
        elif settings.triage_channel:
            alert.done = False  # until the card is up
            decision = _Decision(AlertOutcome.TRIAGE, card=triage_card(alert, AlertOutcome.TRIAGE))
        else:
            decision = _Decision(AlertOutcome.UNROUTED)
    alert.outcome = decision.outcome
    if incident is not None and decision.outcome in (AlertOutcome.ATTACHED, AlertOutcome.RESOLVED):
        attach(svc, session, alert, incident, groups)
    elif incident is not None and decision.outcome == AlertOutcome.DEDUPLICATED:
        alert.incident_id = incident.id
    return decision


def _clear_triage(session: Session, alert: Alert, now: datetime) -> tuple[tuple[str, TriageCard], ...]:
    """Mark the alerts of this fingerprint waiting in triage as cleared at their source; their cards to redraw."""
    cleared = []
    for waiting in alert_queries.waiting_in_triage(session=session, alert=alert):
        waiting.cleared_at = now
        cleared.append((waiting.triage_ts or "", triage_card(waiting, AlertOutcome.TRIAGE)))
    return tuple(cleared)


def _retry(alert: Alert) -> _Decision:
    """An alert decided before whose Slack part did not happen (the triage card): try that again."""
    if alert.outcome == AlertOutcome.TRIAGE and alert.triage_ts is None:
        return _Decision(AlertOutcome.TRIAGE, card=triage_card(alert, AlertOutcome.TRIAGE), again=True)
    alert.done = True
    return _Decision(AlertOutcome(alert.outcome or AlertOutcome.UNROUTED))


def _is_drill(alert: Alert) -> bool:
    return alert.labels.get("drill", "").strip().lower() == "true"


def declare_for(
    svc: Services, session: Session, alert: Alert, groups: list[AlertGroup], request: Declaration
) -> Incident:
    """Record the incident an alert opens, in the alert's transaction, and map its group and fingerprint to it."""
    incident = record_in(svc, session, request)
    assert incident.id is not None
    for group in groups:
        group.incident_id = incident.id
    alert.incident_id = incident.id
    tx = IncidentTx(svc=svc, session=session, incident=incident, now=svc.clock())
    tx.record(TimelineKind.ALERT, data=_facts(alert))
    _indicators(tx, alert)
    return incident


def attach(svc: Services, session: Session, alert: Alert, incident: Incident, groups: list[AlertGroup]) -> None:
    """Add an alert to its group's open incident: a timeline event and a line in the channel."""
    tx = IncidentTx(svc=svc, session=session, incident=incident, now=svc.clock())
    alert.incident_id = tx.id
    for group in groups:
        group.incident_id = tx.id
    resolved = alert.status == "resolved"
    tx.record(TimelineKind.ALERT_RESOLVED if resolved else TimelineKind.ALERT, data=_facts(alert))
    if not resolved:
        found_in(
            tx, alert_text(alert.title, alert.description, alert.labels), how=f"alert from {alert.source}", by=None
        )
    if not resolved and alert.started_at is not None and alert.started_at < incident.detected_at:
        incident.detected_at = alert.started_at  # detection is the earliest alert's start
    queries.queue_outbox(
        session=session,
        incident_id=tx.id,
        kind=OutboxKind.ALERT_LINE,
        recipient=incident.channel_id or "",
        payload={"text": alert_line(alert)},
        now=tx.now,
    )


def _indicators(tx: IncidentTx, alert: Alert) -> None:
    found_in(tx, alert_text(alert.title, alert.description, alert.labels), how=f"alert from {alert.source}", by=None)


def alert_line(alert: Alert) -> str:
    """What the incident channel is told of an alert attached to it, or resolved at its source."""
    if alert.status == "resolved":
        return (
            f":large_green_circle: {alert.source} says this alert cleared: *{alert.title}*. "
            "The incident stays open until you resolve it."
        )
    return f":rotating_light: New {alert.severity} alert from {alert.source} in this incident: *{alert.title}*"


def _facts(alert: Alert) -> dict[str, object]:
    return {"alert": alert.id, "source": alert.source, "severity": alert.severity, "title": alert.title}


def triage_card(alert: Alert, outcome: AlertOutcome, incident: Incident | None = None) -> TriageCard:
    """The alert as the triage channel shows it."""
    return TriageCard(
        alert_id=alert.id or 0,
        source=alert.source,
        severity=alert.severity,
        title=alert.title,
        description=alert.description,
        started_at=alert.started_at,
        labels=tuple(sorted(alert.labels.items())),
        cleared_at=alert.cleared_at,
        outcome=outcome,
        decided_by=alert.decided_by,
        reason=alert.reason,
        incident_key=incident.key if incident else None,
        channel_id=incident.channel_id if incident else None,
    )


def _post_card(svc: Services, alert_id: int, card: TriageCard, *, look_first: bool) -> None:
    channel = svc.config.alerts.triage_channel
    assert channel is not None
    key = f"alert-{alert_id}"
    try:
        found = svc.chat.find_posted(channel, key, since=svc.clock() - 3 * LEASE) if look_first else None
        ts = found or svc.chat.post(channel, card, key=key)
    except GatewayError as exc:  # the row stays leased; it is tried again when the lease runs out
        svc.log.warning("alert %s: could not post it for triage: %s", alert_id, exc.error)
        return
    with svc.db.transaction() as session:
        alert = session.get(Alert, alert_id, with_for_update=True)
        if alert is not None:
            alert.triage_ts, alert.done = ts, True


def _redraw_card(svc: Services, ts: str, card: TriageCard) -> None:
    channel = svc.config.alerts.triage_channel
    if channel is None or not ts:
        return
    try:
        svc.chat.update(channel, ts, card)
    except GatewayError as exc:  # kept in the database: the card says it when it is next redrawn (Declare, Dismiss)
        svc.log.warning("alert %s: could not mark its triage card cleared: %s", card.alert_id, exc.error)
