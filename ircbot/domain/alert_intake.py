"""Alert intake: keep what a sender posted, then decide each alert once — count, attach, declare, triage or drop.

The sender hears 202 once its alerts are committed (alert_receiving), and never waits on Slack. The stored rows
are the queue: `process_alerts`, a module of the timer engine, leases the waiting rows (so one process takes each,
on any replica), decides them a few at a time in one transaction under the locks of their groups and fingerprints
(so two alerts of one group never open two incidents), commits, and only then talks to Slack: opening the channel
of an incident a rule declared, or posting the triage cards. An incident's channel is told of the alerts attached
in one line for however many arrive together (alert_lines); its timeline records each. A crash after the 202
loses nothing: the row waits until its lease runs out and is taken again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from ircbot.domain.alert_lines import AlertLines
from ircbot.domain.alert_sources import NormalisedAlert
from ircbot.domain.declare import Declaration, finish_declare, record_in
from ircbot.domain.identities import user_for_email
from ircbot.domain.indicators import alert_text, found_in
from ircbot.domain.kinds import AlertOutcome, IncidentStatus, TimelineKind
from ircbot.domain.messages import TriageCard
from ircbot.domain.policy import USER_ID
from ircbot.domain.services import Services
from ircbot.domain.unit import IncidentTx
from ircbot.errors import GatewayError
from ircbot.store import alert_queries, queries
from ircbot.store.models import Alert, AlertGroup, Incident

LEASE = timedelta(minutes=1)  # a claimed alert waits this long for its process before another takes it
BATCH = 100
DECIDED_TOGETHER = 10
"""Alerts decided in one transaction: one commit and one set of locks for them all, yet short enough not to hold
up the senders (SQLite has one writer, and their 202s wait for it)."""
RECEIVING = timedelta(seconds=1)
"""The newest alert came in this recently: senders are sending, and their 202s come first."""
YIELD = 4
"""While senders are sending, deciding pauses before each transaction of a round but the first, YIELD times the
CPU time the one before took: it takes at most a fifth of a core. Deciding and receiving share one interpreter
(and on SQLite one writer), and decisions can wait where a sender cannot (it times out and sends again). CPU
time, not the time it took: a declare's Slack calls spend most of theirs waiting for Slack, which takes nothing
from the senders."""
MAX_PAUSE = 1.0  # seconds; deciding goes on, slowed, however long the senders send
ROUND_BUDGET = 5.0  # seconds one round may spend on alerts; the delivery round it wakes sends what they queued
INCIDENT_SEVERITY = {"critical": "sev1", "high": "sev2", "medium": "sev3", "low": "sev4", "info": "sev4"}
"""The incident severity an alert's own severity suggests, when Declare in triage opens one."""


@dataclass(frozen=True)
class _Decision:
    alert_id: int
    outcome: AlertOutcome
    declared: Incident | None = None  # recorded now; its channel is opened after the commit
    card: TriageCard | None = None  # to post in the triage channel after the commit
    again: bool = False  # a try before may have posted the card: look for it first
    cleared: tuple[tuple[str, TriageCard], ...] = ()  # (ts, card) of triage cards to redraw as cleared at source


def process_alerts(svc: Services, *, limit: int = BATCH, budget: float = ROUND_BUDGET) -> int:
    """Decide the alerts waiting (the engine's module), batch after batch while full ones come back, for up to
    `budget` seconds of one round, yielding to the senders while they send; returns how many were decided or
    finished."""
    done, started, worked = 0, time.monotonic(), 0.0
    while True:
        now = svc.clock()
        with svc.db.transaction() as session:
            claimed = alert_queries.claim_alerts(session=session, now=now, lease_until=now + LEASE, limit=limit)
            last = alert_queries.last_received(session=session)
        receiving = last is not None and now - last < RECEIVING
        declarer = _declarer_if_declared(svc, claimed)
        for first in range(0, len(claimed), DECIDED_TOGETHER):
            if receiving:
                time.sleep(min(YIELD * worked, MAX_PAUSE))
            began = time.thread_time()
            done += _process(svc, [a.id or 0 for a in claimed[first : first + DECIDED_TOGETHER]], declarer)
            worked = time.thread_time() - began
        if len(claimed) < limit or time.monotonic() - started > budget:
            return done


def _process(svc: Services, alert_ids: list[int], declarer: str | None) -> int:
    """Decide the alerts in one transaction, then do their Slack part. An incident declared ends its transaction:
    its channel is opened before the alerts after it are decided, so they are attached to an incident with a
    channel. If a transaction fails, the alerts left are decided one at a time, so one that cannot be decided
    holds up no other."""
    done = 0
    while alert_ids:
        try:
            with svc.db.transaction() as session:
                decisions, left = _decide_together(svc, session, alert_ids, declarer)
        except Exception:
            if len(alert_ids) == 1:
                raise
            svc.log.exception("alerts %s could not be decided together; deciding them one at a time", alert_ids)
            return done + sum(_process(svc, [alert_id], declarer) for alert_id in alert_ids)
        done, alert_ids = done + len(decisions), left
        _after_commit(svc, decisions)
    return done


def _after_commit(svc: Services, decisions: list[_Decision]) -> None:
    """The Slack part of the decisions committed: open the declared incident's channel, post and redraw cards."""
    for decision in decisions:
        if decision.declared is not None:
            try:
                finish_declare(svc, decision.declared)
            except GatewayError as exc:  # recorded: resume_declares opens the channel once the declare's lease is out
                svc.log.warning("%s: Slack did not open its channel yet: %s", decision.declared.key, exc.error)
        for ts, card in decision.cleared:
            _redraw_card(svc, ts, card)
    _post_cards(svc, [decision for decision in decisions if decision.card is not None])


@dataclass
class _Together:
    """What the alerts decided in one transaction share: who declares, the fingerprints seen, the channel lines."""

    declarer: str | None
    since: datetime  # alerts received before this are outside the dedup window
    seen: set[tuple[str, str]]  # (source, fingerprint) of the alerts processed within the window
    lines: AlertLines = field(default_factory=AlertLines)


def _decide_together(
    svc: Services, session: Session, alert_ids: list[int], declarer: str | None
) -> tuple[list[_Decision], list[int]]:
    """Decide the alerts in the caller's transaction, oldest first, under the locks of their groups and incidents,
    up to the first that declares an incident; returns the decisions and the ids of the alerts left.

    The locks are taken up front for them all, groups in key order, then incidents in id order, so two processes
    deciding alerts of the same groups queue rather than deadlock. The channel lines of the alerts attached are
    queued with the decisions: one per incident."""
    now = svc.clock()
    alerts = alert_queries.lock_alerts(session=session, ids=alert_ids)
    undecided = [alert for alert in alerts if alert.outcome is None]
    keys = [key for alert in undecided for key in group_keys(alert)]
    groups = {group.key: group for group in alert_queries.lock_groups(session=session, keys=keys, now=now)}
    fed = [group.incident_id for group in groups.values() if group.incident_id is not None]
    alert_queries.lock_incidents(session=session, ids=fed)
    since = now - svc.config.alerts.dedup_window
    seen = alert_queries.seen_fingerprints(session=session, alerts=undecided, since=since)
    together = _Together(declarer, since, seen)
    decisions: list[_Decision] = []
    for alert in alerts:
        if decisions and decisions[-1].declared is not None:
            break
        if alert.outcome is None:
            own = [groups[key] for key in sorted(set(group_keys(alert)))]
            decisions.append(_decide(svc, session, alert, own, together))
        else:
            decisions.append(_retry(alert))
    together.lines.queue(session, now)
    decided = {decision.alert_id for decision in decisions}
    return decisions, [alert.id or 0 for alert in alerts if alert.id not in decided]


def _declarer_if_declared(svc: Services, alerts: list[Alert]) -> str | None:
    """Who the alerts a rule declares are declared by: the declarer role's on-call (asked of Slack outside any
    lock), or None when no rule declares any of them."""
    declaring = [alert.id for alert in alerts if alert.outcome is None and _declares(svc, alert)]
    if not declaring:
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
    svc.log.warning(
        "alerts %s: a rule declares them, but the declarer role has no on-call; they go to triage", declaring
    )
    return None


def _declares(svc: Services, alert: Alert) -> bool:
    """Whether the first rule the alert matches declares an incident."""
    rule = svc.config.alerts.rule_for(_fields(alert))
    return rule is not None and rule.declare is not None


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


def open_incident(session: Session, groups: list[AlertGroup], *, locked: bool = False) -> Incident | None:
    """The open incident the alert's group or fingerprint already feeds, locked (after the groups), unless the
    caller holds its lock already (`locked`)."""
    for group in groups:
        if group.incident_id is not None:
            incident = (
                session.get(Incident, group.incident_id)
                if locked
                else queries.incident_by_id(session=session, incident_id=group.incident_id, lock=True)
            )
            if incident is not None and incident.status == IncidentStatus.OPEN:
                return incident
    return None


def _decide(svc: Services, session: Session, alert: Alert, groups: list[AlertGroup], together: _Together) -> _Decision:
    """Decide one alert, its groups and incidents locked: count it, attach it, declare from it, put it in triage,
    or drop it."""
    now = svc.clock()
    settings = svc.config.alerts
    alert_id = alert.id or 0
    incident = open_incident(session, groups, locked=True)
    fingerprint = (alert.source, alert.fingerprint)
    seen_before = fingerprint in together.seen
    if alert.received_at >= together.since:
        together.seen.add(fingerprint)  # decided now: the alerts after it count it as seen
    alert.processed_at, alert.done = now, True
    decision: _Decision
    if alert.status == "resolved":
        decision = _Decision(
            alert_id, AlertOutcome.RESOLVED, cleared=() if incident else _clear_triage(session, alert, now)
        )
    elif seen_before:
        decision = _Decision(alert_id, AlertOutcome.DEDUPLICATED)
    elif incident is not None:
        decision = _Decision(alert_id, AlertOutcome.ATTACHED)
    else:
        rule = settings.rule_for(_fields(alert))
        if rule is not None and rule.drop:
            decision = _Decision(alert_id, AlertOutcome.DROPPED)
        elif rule is not None and rule.declare is not None and together.declarer is not None:
            request = Declaration(
                title=alert.title,
                severity=rule.declare.severity,
                playbook=rule.declare.playbook,
                declared_by=together.declarer,
                is_drill=_is_drill(alert),
                detected_at=alert_queries.earliest_start(
                    session=session, alert=alert, since=now - settings.dedup_window
                ),
            )
            incident = declare_for(svc, session, alert, groups, request)
            incident.answered_at = now  # a rule declared it: no one waits for an answer to be told later
            decision = _Decision(alert_id, AlertOutcome.DECLARED, declared=incident)
        elif settings.triage_channel:
            alert.done = False  # until the card is up
            decision = _Decision(alert_id, AlertOutcome.TRIAGE, card=triage_card(alert, AlertOutcome.TRIAGE))
        else:
            decision = _Decision(alert_id, AlertOutcome.UNROUTED)
    alert.outcome = decision.outcome
    if incident is not None and decision.outcome in (AlertOutcome.ATTACHED, AlertOutcome.RESOLVED):
        attach(svc, session, alert, incident, groups, lines=together.lines)
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
    alert_id = alert.id or 0
    if alert.outcome == AlertOutcome.TRIAGE and alert.triage_ts is None:
        return _Decision(alert_id, AlertOutcome.TRIAGE, card=triage_card(alert, AlertOutcome.TRIAGE), again=True)
    alert.done = True
    return _Decision(alert_id, AlertOutcome(alert.outcome or AlertOutcome.UNROUTED))


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


def attach(
    svc: Services,
    session: Session,
    alert: Alert,
    incident: Incident,
    groups: list[AlertGroup],
    *,
    lines: AlertLines | None = None,
) -> None:
    """Add an alert to its group's open incident: a timeline event, and the channel told (in `lines`, with the
    other alerts decided in this transaction, or in a line of its own)."""
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
    said = lines if lines is not None else AlertLines()
    said.add(incident, alert)
    if lines is None:
        said.queue(session, tx.now)


def _indicators(tx: IncidentTx, alert: Alert) -> None:
    found_in(tx, alert_text(alert.title, alert.description, alert.labels), how=f"alert from {alert.source}", by=None)


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


def _post_cards(svc: Services, decisions: list[_Decision]) -> None:
    """Post the triage cards, then record where they are (in one commit): an alert is finished once its card is up.

    A card Slack refused leaves its alert leased, to be tried again when the lease runs out."""
    channel = svc.config.alerts.triage_channel
    posted: dict[int, str] = {}
    for decision in decisions:
        assert channel is not None and decision.card is not None
        key = f"alert-{decision.alert_id}"
        try:
            found = svc.chat.find_posted(channel, key, since=svc.clock() - 3 * LEASE) if decision.again else None
            posted[decision.alert_id] = found or svc.chat.post(channel, decision.card, key=key)
        except GatewayError as exc:
            svc.log.warning("alert %s: could not post it for triage: %s", decision.alert_id, exc.error)
    if not posted:
        return
    with svc.db.transaction() as session:
        for alert in alert_queries.lock_alerts(session=session, ids=list(posted)):
            alert.triage_ts, alert.done = posted[alert.id or 0], True


def _redraw_card(svc: Services, ts: str, card: TriageCard) -> None:
    channel = svc.config.alerts.triage_channel
    if channel is None or not ts:
        return
    try:
        svc.chat.update(channel, ts, card)
    except GatewayError as exc:  # kept in the database: the card says it when it is next redrawn (Declare, Dismiss)
        svc.log.warning("alert %s: could not mark its triage card cleared: %s", card.alert_id, exc.error)
