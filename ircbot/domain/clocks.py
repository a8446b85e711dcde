"""Regulatory notification clocks: each report of a regime counts down to its deadline on durable timers.

`clock start` opens the regime's reports that count from awareness; a report that counts from the one
before (`from: previous`) waits, and starts when `clock done` submits that one. Reminder points and the
deadline are ClockTimer rows, claimed once like escalation steps, so they survive restarts and fire once
across replicas. At the deadline the channel hears the report is overdue and the regime's owner is paged
through the escalation engine (a page step tied to the clock), again every REPAGE, until `clock done` or
`clock stop`. A drill's clocks run and remind its channel, but page and DM nobody outside the drill.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from ircbot.domain.date_token import slack_date
from ircbot.domain.deadlines import deadline, reminder_times
from ircbot.domain.kinds import IncidentStatus, OutboxKind, TimelineKind, TimerStatus
from ircbot.domain.policy import USER_ID
from ircbot.domain.regulations import Regime
from ircbot.domain.services import Services
from ircbot.domain.unit import IncidentTx, incident_tx
from ircbot.durations import format_duration
from ircbot.errors import Conflict, NotFound
from ircbot.store import queries, reads
from ircbot.store.models import PageStep
from ircbot.store.records import ClockTimer, RegulatoryClock

REPAGE = timedelta(minutes=30)
"""How often the owner of an overdue report is paged again until it is submitted or stopped."""
RUNNING, WAITING, SUBMITTED, STOPPED = "running", "waiting", "submitted", "stopped"


@dataclass(frozen=True)
class ClockLine:
    """One report of a regime as people read it: its deadline and where it stands."""

    regime: str
    regime_name: str
    report: str
    recipient: str
    starts_at: datetime | None
    due_at: datetime | None
    state: str  # running | overdue | waiting | submitted on time | submitted late | not applicable
    submitted_at: datetime | None = None
    submitted_by: str | None = None
    reference: str | None = None
    late_by: timedelta | None = None
    left: timedelta | None = None  # until the deadline (negative once overdue)
    reason: str | None = None


def regime_of(svc: Services, key: str) -> Regime:
    """The regime `key` of regulations.yaml; NotFound listing the regimes there are."""
    regime = svc.config.regulations.regime(key.lower())
    if regime is None:
        known = ", ".join(f"`{k}`" for k in svc.config.regulations.regimes)
        raise NotFound(f"There is no regime `{key}` in regulations.yaml. Regimes: {known}.")
    return regime


def start_clock(svc: Services, *, incident_id: int, regime_key: str, aware: datetime, actor: str) -> list[ClockLine]:
    """Start the regime's reports that count from awareness (`aware`, with the offset it was given in)."""
    key = regime_key.lower()
    regime = regime_of(svc, key)
    with incident_tx(svc, incident_id, closed="{key} is resolved; start its clocks before resolving.") as tx:
        if _rows(tx.session, tx.id, key, RUNNING, WAITING):
            raise Conflict(
                f"The {key} clock of {tx.incident.key} is already running; see `/incident clocks`, "
                f"or `clock done {key}` / `clock stop {key} <reason>`."
            )
        if aware > tx.now + timedelta(minutes=5):
            raise Conflict("Awareness cannot be in the future: give the time the organisation became aware.")
        offset = aware.strftime("%z")
        offset = f"{offset[:3]}:{offset[3:]}" if offset else "+00:00"
        waiting = False
        for position, rule in enumerate(regime.reports):
            row = RegulatoryClock(
                incident_id=tx.id,
                regime=key,
                position=position,
                report=rule.name,
                recipient=rule.recipient,
                started_by=actor,
                starts_offset=offset,
            )
            waiting = waiting or rule.start == "previous"
            if waiting:
                row.status = WAITING
            else:
                _run(tx, row, regime, aware)
            tx.session.add(row)
            tx.session.flush()
            if row.status == RUNNING:
                _schedule(tx, row, regime)
        tx.record(
            TimelineKind.CLOCK_STARTED,
            actor=actor,
            data={"regime": key, "name": regime.name, "aware": aware.isoformat(), "drill": tx.incident.is_drill},
        )
        return lines_of(tx.session, tx.id, svc, tx.now, regime=key)


def submit(svc: Services, *, incident_id: int, regime_key: str, reference: str | None, actor: str) -> list[ClockLine]:
    """The regime's current report is submitted now; the report counting from it starts its clock now."""
    key = regime_key.lower()
    regime = regime_of(svc, key)
    with incident_tx(svc, incident_id) as tx:
        running = _rows(tx.session, tx.id, key, RUNNING)
        if not running:
            raise Conflict(f"No {key} report is running in {tx.incident.key}; start one with `clock start {key}`.")
        current = running[0]
        current.status, current.submitted_at, current.submitted_by = SUBMITTED, tx.now, actor
        current.reference = reference
        _cancel_timers(tx.session, current)
        assert current.due_at is not None
        late = tx.now - current.due_at
        tx.record(
            TimelineKind.CLOCK_SUBMITTED,
            actor=actor,
            data={
                "regime": key,
                "report": current.report,
                "reference": reference,
                "late": format_duration(late) if late > timedelta(0) else None,
            },
        )
        following = _rows(tx.session, tx.id, key, WAITING)
        if following and regime.reports[following[0].position].start == "previous":
            nxt = following[0]
            _run(tx, nxt, regime, tx.now)
            _schedule(tx, nxt, regime)
            later = [row for row in following[1:] if regime.reports[row.position].start != "previous"]
            for row in later:  # awareness-counted reports after a chained one start with it
                _run(tx, row, regime, _aware(tx.session, tx.id, key) or tx.now)
                _schedule(tx, row, regime)
        return lines_of(tx.session, tx.id, svc, tx.now, regime=key)


def stop(svc: Services, *, incident_id: int, regime_key: str, reason: str, actor: str) -> list[ClockLine]:
    """The regime does not apply (not notifiable): every open report of it stops, with the reason."""
    key = regime_key.lower()
    regime_of(svc, key)
    with incident_tx(svc, incident_id) as tx:
        open_rows = _rows(tx.session, tx.id, key, RUNNING, WAITING)
        if not open_rows:
            raise Conflict(f"No {key} clock is running in {tx.incident.key}.")
        for row in open_rows:
            row.status, row.stopped_by, row.stopped_at, row.reason = STOPPED, actor, tx.now, reason
            _cancel_timers(tx.session, row)
        tx.record(TimelineKind.CLOCK_STOPPED, actor=actor, data={"regime": key, "reason": reason})
        return lines_of(tx.session, tx.id, svc, tx.now, regime=key)


def lines_of(
    session: Session, incident_id: int, svc: Services, now: datetime, *, regime: str | None = None
) -> list[ClockLine]:
    """Every report of the incident's clocks (of one regime), in the order they were started."""
    query = select(RegulatoryClock).where(RegulatoryClock.incident_id == incident_id)
    if regime is not None:
        query = query.where(RegulatoryClock.regime == regime)
    rows = session.exec(query.order_by(col(RegulatoryClock.id))).all()
    return [_line(svc, row, now) for row in rows]


def _line(svc: Services, row: RegulatoryClock, now: datetime) -> ClockLine:
    regime = svc.config.regulations.regime(row.regime)
    late = row.submitted_at - row.due_at if row.submitted_at and row.due_at else None
    if row.status == SUBMITTED:
        state = "submitted late" if late and late > timedelta(0) else "submitted on time"
    elif row.status == STOPPED:
        state = "not applicable"
    elif row.status == WAITING:
        state = "waiting"
    else:
        state = "overdue" if row.due_at and now > row.due_at else "running"
    return ClockLine(
        regime=row.regime,
        regime_name=regime.name if regime else row.regime,
        report=row.report,
        recipient=row.recipient,
        starts_at=row.starts_at,
        due_at=row.due_at,
        state=state,
        submitted_at=row.submitted_at,
        submitted_by=row.submitted_by,
        reference=row.reference,
        late_by=late if late and late > timedelta(0) else None,
        left=row.due_at - now if row.due_at and row.status == RUNNING else None,
        reason=row.reason,
    )


def _run(tx: IncidentTx, row: RegulatoryClock, regime: Regime, start: datetime) -> None:
    row.status, row.starts_at = RUNNING, start
    row.due_at = deadline(regime, regime.reports[row.position], start)


def _schedule(tx: IncidentTx, row: RegulatoryClock, regime: Regime) -> None:
    assert row.id is not None and row.starts_at is not None and row.due_at is not None
    start, due = row.starts_at, row.due_at
    window = (due - start).total_seconds() or 1.0
    for when in reminder_times(regime, start, due):
        if when > tx.now:
            share = (when - start).total_seconds() / window
            tx.session.add(ClockTimer(clock_id=row.id, incident_id=tx.id, kind="remind", share=share, due_at=when))
            tx.wake(when)
    tx.session.add(ClockTimer(clock_id=row.id, incident_id=tx.id, kind="overdue", due_at=max(due, tx.now)))
    tx.wake(max(due, tx.now))


def _cancel_timers(session: Session, row: RegulatoryClock) -> None:
    session.execute(
        update(ClockTimer)
        .where(col(ClockTimer.clock_id) == row.id, col(ClockTimer.status) == TimerStatus.PENDING)
        .values(status=TimerStatus.CANCELLED)
    )
    session.execute(
        update(PageStep)
        .where(col(PageStep.clock_id) == row.id, col(PageStep.status) == TimerStatus.PENDING)
        .values(status=TimerStatus.CANCELLED)
    )


def _rows(session: Session, incident_id: int, regime: str, *statuses: str) -> list[RegulatoryClock]:
    query = select(RegulatoryClock).where(
        RegulatoryClock.incident_id == incident_id,
        RegulatoryClock.regime == regime,
        col(RegulatoryClock.status).in_(statuses),
    )
    return list(session.exec(query.order_by(col(RegulatoryClock.position), col(RegulatoryClock.id))).all())


def _aware(session: Session, incident_id: int, regime: str) -> datetime | None:
    first = session.exec(
        select(RegulatoryClock)
        .where(RegulatoryClock.incident_id == incident_id, RegulatoryClock.regime == regime)
        .order_by(col(RegulatoryClock.id))
    ).first()
    return first.starts_at if first else None


# --- the timers ---------------------------------------------------------------------------------------------


def fire_due_clock_timers(svc: Services) -> int:
    """Fire every reminder point and deadline that is due (the timer engine's module); how many fired here."""
    with svc.db.transaction() as session:
        due = list(session.exec(reads.DUE_CLOCK_TIMERS, params={"now": svc.clock()}).all())
    return sum(_fire(svc, int(timer_id or 0), incident_id) for timer_id, incident_id in due)


def _fire(svc: Services, timer_id: int, incident_id: int) -> int:
    with incident_tx(svc, incident_id) as tx:
        claimed = tx.session.execute(
            update(ClockTimer)
            .where(col(ClockTimer.id) == timer_id, col(ClockTimer.status) == TimerStatus.PENDING)
            .values(status=TimerStatus.FIRED, fired_at=tx.now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return 0
        timer = tx.session.get(ClockTimer, timer_id)
        row = tx.session.get(RegulatoryClock, timer.clock_id) if timer else None
        regime = svc.config.regulations.regime(row.regime) if row else None
        if timer is None or row is None or row.status != RUNNING or regime is None:
            return 1
        if tx.incident.status != IncidentStatus.OPEN and timer.kind == "remind":
            return 1  # a resolved incident's clock still runs to its deadline, but stops nagging before it
        if timer.kind == "remind":
            _remind(tx, row, regime, timer.share)
        else:
            _overdue(tx, row, regime)
    return 1


def _remind(tx: IncidentTx, row: RegulatoryClock, regime: Regime, share: float) -> None:
    assert row.due_at is not None
    left = format_duration(row.due_at - tx.now)
    text = (
        f":hourglass_flowing_sand: {tx.incident.label}: {regime.name} — the {row.report}"
        + (f" to {row.recipient}" if row.recipient else "")
        + f" is due in {left} ({slack_date(row.due_at)}); {round(share * 100)}% of its window has passed. "
        f"Once it is submitted: `/incident clock done {row.regime} [reference]`."
    )
    _tell(tx, regime, text)
    tx.record(
        TimelineKind.CLOCK_REMINDER,
        actor=None,
        data={"regime": row.regime, "report": row.report, "left": left, "share": round(share * 100)},
    )


def _overdue(tx: IncidentTx, row: RegulatoryClock, regime: Regime) -> None:
    assert row.due_at is not None  # a running report's timers count to its deadline
    text = (
        f":rotating_light: {tx.incident.label}: the {regime.name} {row.report}"
        + (f" to {row.recipient}" if row.recipient else "")
        + f" is OVERDUE (deadline {slack_date(row.due_at)}). Submit it and run `/incident clock done {row.regime} "
        f"[reference]`, or `/incident clock stop {row.regime} <reason>` if it is not notifiable."
    )
    _tell(tx, regime, text, dm=False)
    tx.record(TimelineKind.CLOCK_OVERDUE, actor=None, data={"regime": row.regime, "report": row.report})
    if tx.incident.is_drill or regime.owner is None:
        return  # a drill pages nobody outside it; without an owner the channel line is the notice
    reason = f"The {regime.name} {row.report} of {tx.incident.key} is overdue"
    step = PageStep(
        incident_id=tx.id,
        tier=0,
        targets=[regime.owner],
        due_at=tx.now,
        created_at=tx.now,
        clock_id=row.id,
        reason=reason,
    )
    tx.session.add(step)
    tx.session.add(ClockTimer(clock_id=row.id or 0, incident_id=tx.id, kind="overdue", due_at=tx.now + REPAGE))
    tx.wake(tx.now, tx.now + REPAGE)


def _tell(tx: IncidentTx, regime: Regime, text: str, *, dm: bool = True) -> None:
    """Say it in the incident channel, and by DM to the owner's holder in the incident (drills: members only)."""
    recipients = [tx.incident.channel_id] if tx.incident.channel_id else []
    owner = _owner_in_incident(tx, regime)
    if dm and owner is not None:
        recipients.append(owner)
    for recipient in recipients:
        queries.queue_outbox(
            session=tx.session,
            incident_id=tx.id,
            kind=OutboxKind.CLOCK,
            recipient=recipient,
            payload={"text": text},
            now=tx.now,
        )


def _owner_in_incident(tx: IncidentTx, regime: Regime) -> str | None:
    """Who is reminded by DM: the owner role's holder (else its on-call), or the owner by user id; drills: members."""
    if regime.owner is None:
        return None
    kind, _, value = regime.owner.partition(":")
    user: str | None = None
    if kind == "role":
        held = queries.holding(session=tx.session, incident_id=tx.id, role=value)
        user = held.user_id if held is not None else None
        role = tx.svc.config.role(value)
        if user is None and role is not None:  # nobody holds it here: its on-call from roles.yaml, if named by id
            user = next((entry for entry in role.oncall if USER_ID.match(entry)), None)
    elif kind == "user":
        user = value
    if user is not None and tx.incident.is_drill:
        return user if queries.is_participant(session=tx.session, incident_id=tx.id, user_id=user) else None
    return user
