"""What an operator scrapes at GET /metrics, in Prometheus' text format (prometheus-client).

Counters and the ack histogram are kept in memory per process (each replica is scraped on its own);
the engine's backlog (pending escalation steps, outbox depth and the age of its oldest message,
reminders due, undelivered pages, alerts by outcome) is read from the database at scrape time, so every replica reports
the same, true figures and nothing has to be kept in step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import col, select

from ircbot.domain.kinds import PAGE_KINDS, OutboxStatus, TimerStatus
from ircbot.store.db import Database
from ircbot.store.models import Alert, OutboxMessage, PageStep, Reminder

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)  # Slack gives up after 3 s


class Telemetry:
    """One process's metrics, on a registry of its own (never the library's global one)."""

    def __init__(self, db: Database, clock: Callable[[], datetime]):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ircbot_slack_requests",
            "Slack deliveries handled (commands, buttons, forms, events), by kind, name and outcome",
            ["kind", "name", "outcome"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "ircbot_ack_seconds",
            "Time from a delivery reaching ircbot's listener to its acknowledgement",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self.api_calls = Counter(
            "ircbot_slack_api_calls",
            "Slack Web API calls, by method and outcome (ok, or Slack's error)",
            ["method", "outcome"],
            registry=self.registry,
        )
        self.socket_connected: Callable[[], bool] | None = None  # set when serving over Socket Mode
        self.registry.register(_Backlog(db, clock, self))

    def exposition(self) -> bytes:
        """The metrics as Prometheus scrapes them."""
        return generate_latest(self.registry)


class _Backlog(Collector):
    """Gauges read from the database when scraped."""

    def __init__(self, db: Database, clock: Callable[[], datetime], telemetry: Telemetry):
        self.db, self.clock, self.telemetry = db, clock, telemetry

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self.clock()
        with self.db.transaction() as session:
            steps = session.exec(select(func.count()).where(PageStep.status == TimerStatus.PENDING)).one()
            outbox = session.exec(
                select(func.count(), func.min(OutboxMessage.created_at)).where(
                    OutboxMessage.status == OutboxStatus.PENDING
                )
            ).one()
            reminders = session.exec(
                select(func.count()).where(Reminder.status == TimerStatus.PENDING, col(Reminder.due_at) <= now)
            ).one()
            undelivered = session.exec(
                select(func.count()).where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    col(OutboxMessage.attempts) > 0,
                    col(OutboxMessage.kind).in_([k.value for k in PAGE_KINDS]),
                )
            ).one()
            alerts = session.exec(
                select(Alert.source, Alert.outcome, func.count()).group_by(col(Alert.source), col(Alert.outcome))
            ).all()
        depth, oldest = outbox
        yield _gauge("ircbot_escalation_steps_pending", "Escalation steps waiting to fire", steps)
        yield _gauge("ircbot_outbox_pending", "Messages decided on and not yet delivered", depth)
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        yield _gauge("ircbot_outbox_oldest_pending_seconds", "Age of the oldest undelivered message", age)
        yield _gauge("ircbot_reminders_due", "Reminders whose time has come and that have not fired", reminders)
        yield _gauge("ircbot_pages_undelivered", "Page messages refused at least once and still retried", undelivered)
        received = GaugeMetricFamily(
            "ircbot_alerts",
            "Alerts stored, by source and what became of them (pending: not yet decided)",
            labels=["source", "outcome"],
        )
        for source, outcome, count in alerts:
            received.add_metric([source, outcome or "pending"], float(count))
        yield received
        if self.telemetry.socket_connected is not None:
            connected = 1.0 if self.telemetry.socket_connected() else 0.0
            yield _gauge("ircbot_socket_mode_connected", "1 while the Socket Mode connection is up", connected)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))
