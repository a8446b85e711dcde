"""The timer engine's shape: wake-ups after commit, a sender for every outbox kind, a module list."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import select

from ircbot.app import template_environment
from ircbot.config import load_config
from ircbot.domain.escalation import acknowledge
from ircbot.domain.identities import remember_oncall
from ircbot.domain.incidents import view
from ircbot.domain.kinds import OutboxKind, ReminderKind, TimerStatus
from ircbot.domain.messages import Message, PageCard
from ircbot.domain.outbox import DELIVER, drain_outbox
from ircbot.domain.paging import fire_due
from ircbot.domain.ports import Email
from ircbot.domain.reminders import fire_due_reminders
from ircbot.domain.services import Services
from ircbot.domain.views import IncidentView
from ircbot.errors import GatewayError
from ircbot.scheduling.runner import EscalationRunner, Module, new_alarm
from ircbot.store import queries
from ircbot.store.db import Database
from ircbot.store.models import OutboxMessage, Reminder, TimelineEvent
from tests.factories import BOB, escalation_config, tier, write_config
from tests.test_domain import FakeChat, FakeClock, declare_one

EVERY_HOUR = escalation_config(
    sev1={"name": "Critical", "tiers": [tier("1h", "role:analyst")], "updates": {"every": "30m"}}
)


@dataclasses.dataclass
class FlakyChat(FakeChat):
    """The fake chat port, with an outage switch: while `down`, Slack refuses every post and invite."""

    down: bool = False
    lookups_down: bool = False

    def user_by_email(self, email: str) -> str | None:
        if self.lookups_down:
            raise GatewayError("users.lookupByEmail", "connection_error: Slack unreachable")
        return super().user_by_email(email)

    def post(self, channel_id: str, message: Message, *, key: str | None = None) -> str:
        if self.down:
            raise GatewayError("chat.postMessage", "service_unavailable")
        return super().post(channel_id, message, key=key)

    def invite(self, channel_id: str, user_ids: list[str]) -> None:
        if self.down:
            raise GatewayError("conversations.invite", "service_unavailable")
        super().invite(channel_id, user_ids)


def timeline_of(svc: Services, incident_id: int) -> list[TimelineEvent]:
    with svc.db.transaction() as session:
        return list(queries.timeline(session=session, incident_id=incident_id))


def incident_view_of(svc: Services, incident_id: int) -> IncidentView:
    return view(svc, incident_id)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def reminding(tmp_path: Path, clock: FakeClock) -> Iterator[Services]:
    config = load_config(write_config(tmp_path / "config", escalation=EVERY_HOUR))
    db = Database(f"sqlite:///{tmp_path / 'ircbot.db'}")
    db.migrate()
    yield Services(db=db, chat=FlakyChat(), config=config, templates=template_environment(config), clock=clock)
    db.dispose()


def pending_reminders(svc: Services) -> list[datetime]:
    with svc.db.transaction() as session:
        query = select(Reminder).where(Reminder.status == TimerStatus.PENDING, Reminder.kind == ReminderKind.UPDATE)
        return [r.due_at for r in session.exec(query).all()]


def test_a_wake_up_comes_after_the_commit_so_the_runner_finds_the_row(reminding: Services, clock: FakeClock) -> None:
    seen: list[tuple[datetime, list[datetime]]] = []
    # The wake-up port looks at the database from its own transaction, as the runner does when it wakes.
    svc = dataclasses.replace(reminding, wake=lambda when: seen.append((when, pending_reminders(svc))))
    declare_one(svc)
    clock.advance(minutes=31)
    seen.clear()

    assert fire_due_reminders(svc) == 1

    ((when, visible),) = seen
    assert visible == [when], "the reminder the wake-up points at is committed and visible"


def test_every_outbox_kind_has_a_sender() -> None:
    assert set(DELIVER) == set(OutboxKind)


def test_the_runner_runs_its_modules_in_order_and_outlives_a_failing_round(reminding: Services) -> None:
    ran: list[str] = []

    def broken(_: Services) -> int:
        ran.append("broken")
        raise RuntimeError("a bug in one module")

    firing = [Module("first", lambda _: ran.append("first") or 1), Module("broken", broken)]
    delivery = [Module("deliver", lambda _: ran.append("deliver") or 0)]
    runner = EscalationRunner(reminding, new_alarm(reminding.clock), firing=firing, delivery=delivery)

    runner.run_once()
    runner.run_once()

    assert ran == ["first", "broken", "deliver"] * 2


def test_pages_go_out_while_a_storm_of_alerts_is_being_decided(reminding: Services) -> None:
    deciding_began, storm_over, delivered = threading.Event(), threading.Event(), threading.Event()

    def decide_a_storm(_: Services) -> int:
        deciding_began.set()
        storm_over.wait(10)  # a round deciding alerts for seconds
        return 0

    def deliver(_: Services) -> int:
        if deciding_began.is_set():
            delivered.set()
        return 0

    runner = EscalationRunner(
        reminding,
        new_alarm(reminding.clock),
        tick_seconds=0.05,
        firing=[],
        deciding=[Module("alerts", decide_a_storm)],
        delivery=[Module("outbox", deliver)],
    )
    runner.start()
    try:
        assert deciding_began.wait(5), "the alerts were never decided"
        assert delivered.wait(5), "the outbox waited for the alerts to be decided"
        assert not storm_over.is_set()
    finally:
        storm_over.set()
        runner.stop()


def test_a_page_survives_a_long_slack_outage_and_says_it_is_failing(reminding: Services, clock: FakeClock) -> None:
    chat = reminding.chat
    assert isinstance(chat, FlakyChat)
    declared = declare_one(reminding)
    clock.advance(hours=1)  # tier 1 of EVERY_HOUR (role:analyst) is due
    assert fire_due(reminding) == 1
    chat.down = True  # Slack refuses everything for ten minutes
    for _ in range(40):
        drain_outbox(reminding)
        clock.advance(seconds=15)
    assert not any(isinstance(m, PageCard) for _, m in chat.posts)
    assert any("Still trying to deliver the page to" in e.text for e in timeline_of(reminding, declared.incident.id))
    assert incident_view_of(reminding, declared.incident.id).undelivered >= 2  # the invite and the DM

    chat.down = False
    clock.advance(minutes=1)
    drain_outbox(reminding)
    assert [m for _, m in chat.posts if isinstance(m, PageCard)], "the page went out once Slack was back"
    assert incident_view_of(reminding, declared.incident.id).undelivered == 0


def test_no_database_lock_is_held_while_slack_is_called(reminding: Services, clock: FakeClock) -> None:
    chat = reminding.chat
    assert isinstance(chat, FlakyChat)
    declared = declare_one(reminding)
    clock.advance(hours=1)
    assert fire_due(reminding) == 1
    acked = threading.Event()

    def slow_slack_post(channel_id: str, message: Message, *, key: str | None = None) -> str:
        # While a page is on its way (Slack slow, or waiting out a Retry-After), an ack must get through.
        worker = threading.Thread(
            target=lambda: (acknowledge(reminding, incident_id=declared.incident.id, actor=BOB), acked.set())
        )
        worker.start()
        worker.join(timeout=10)
        return FakeChat.post(chat, channel_id, message, key=key)

    chat.post = slow_slack_post  # type: ignore[method-assign]  # the fake port stalls like a slow Slack
    drain_outbox(reminding)
    assert acked.is_set(), "the ack waited behind a lock held across the Slack call"


@dataclasses.dataclass
class RecordingMail:
    """The mail port as a fake that keeps what it was asked to send."""

    sent: list[Email] = dataclasses.field(default_factory=list)
    enabled: bool = True

    def send(self, email: Email) -> None:
        self.sent.append(email)


def test_an_oncall_looked_up_before_an_outage_is_paged_during_it(reminding: Services, clock: FakeClock) -> None:
    chat = reminding.chat
    assert isinstance(chat, FlakyChat)
    declared = declare_one(reminding)
    assert remember_oncall(reminding) == 1  # the analyst's on-call is bob@example.com (ALICE is an id)
    chat.lookups_down = True
    clock.advance(hours=13)  # older than FRESH: Slack would be asked again, and cannot be

    assert fire_due(reminding) == 1
    drain_outbox(reminding)

    assert BOB in chat.members[declared.incident.channel_id or ""]
    assert any(channel == BOB and isinstance(m, PageCard) for channel, m in chat.posts)


def test_an_oncall_slack_cannot_name_is_paged_by_e_mail_and_roles_yaml_is_not_blamed(
    reminding: Services, clock: FakeClock
) -> None:
    chat = reminding.chat
    assert isinstance(chat, FlakyChat)
    mail = RecordingMail()
    svc = dataclasses.replace(reminding, mail=mail)
    declared = declare_one(svc)
    chat.lookups_down = True
    clock.advance(hours=1)

    assert fire_due(svc) == 1
    drain_outbox(svc)

    assert [e.to for e in mail.sent] == [("bob@example.com",)]
    paged = [e.text for e in timeline_of(svc, declared.incident.id) if e.kind == "paged"]
    assert paged == ["Paged tier 1: bob@example.com (e-mail)"]


@dataclasses.dataclass
class InviteRefusingChat(FlakyChat):
    """Slack refuses to invite (a private channel the bot lost access to) but would still deliver DMs."""

    refuse_invites: bool = True

    def invite(self, channel_id: str, user_ids: list[str]) -> None:
        if self.refuse_invites:
            raise GatewayError("conversations.invite", "channel_not_found")
        super().invite(channel_id, user_ids)


def test_a_page_dm_goes_only_with_its_invitation(reminding: Services, clock: FakeClock) -> None:
    chat = InviteRefusingChat()
    svc = dataclasses.replace(reminding, chat=chat)
    declared = declare_one(svc)
    clock.advance(hours=1)
    assert fire_due(svc) == 1

    drain_outbox(svc)
    assert not any(channel == BOB for channel, _ in chat.posts), "no DM links a channel Bob cannot open"

    chat.refuse_invites = False
    clock.advance(minutes=1)
    drain_outbox(svc)
    assert BOB in chat.members[declared.incident.channel_id or ""]
    assert [m for channel, m in chat.posts if channel == BOB and isinstance(m, PageCard)]


def test_a_page_no_retry_can_deliver_is_given_up_at_once_and_said(reminding: Services, clock: FakeClock) -> None:
    chat = reminding.chat
    assert isinstance(chat, FlakyChat)
    declared = declare_one(reminding)
    chat.lookups_down = True  # the analyst's on-call is an e-mail Slack cannot be asked about: paged by look-up
    clock.advance(hours=1)
    assert fire_due(reminding) == 1
    chat.lookups_down = False
    chat.emails.pop("bob@example.com")  # and once Slack answers, nobody has that e-mail
    drain_outbox(reminding)
    with reminding.db.transaction() as session:
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.status == "failed")).all()
    assert [m.recipient for m in failed] == ["bob@example.com"]
    warnings = [e.text for e in timeline_of(reminding, declared.incident.id) if e.kind == "warning"]
    assert any("Could not deliver the page to bob@example.com" in w and "users_not_found" in w for w in warnings)
