"""The domain driven directly: a fake chat port, a fake clock and a real SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from ircbot.app import template_environment
from ircbot.commands.base import Invocation
from ircbot.commands.dispatch import dispatch
from ircbot.config import load_config
from ircbot.domain.checklist import move, set_item
from ircbot.domain.declare import Declaration, Declared, declare
from ircbot.domain.incidents import resolve, visible_open
from ircbot.domain.messages import DeclareOutcome, Message, Reply, Text, Topic
from ircbot.domain.outbox import drain_outbox
from ircbot.domain.ports import ChatMessage, Profile
from ircbot.domain.resuming import declarer_answered, remember_declaration, resume_declares
from ircbot.domain.roles import assign
from ircbot.domain.services import Services
from ircbot.errors import Conflict, GatewayError, InvalidInput
from ircbot.slack.wording import topic_text
from ircbot.store import queries
from ircbot.store.db import Database
from ircbot.store.models import (
    ChecklistItem,
    Incident,
    Participant,
    PendingDeclare,
    Postmortem,
    RoleAssignment,
    StageEntry,
    TimelineEvent,
)
from tests.databases import copy_sqlite
from tests.factories import ALICE, BOB, CAROL, DAVE, ERIN, MALLORY, ONCALL_GROUP, roles_config, write_config

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand; always aware UTC."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class FakeChat:
    """The chat port as a recording fake: hands out channel ids and remembers every call."""

    emails: dict[str, str] = field(default_factory=lambda: {"bob@example.com": BOB})
    groups: dict[str, list[str]] = field(default_factory=lambda: {ONCALL_GROUP: [ERIN]})
    create_error: str | None = None
    taken: set[str] = field(default_factory=set)
    channels: dict[str, str] = field(default_factory=dict)  # id -> name
    private: dict[str, bool] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)
    posts: list[tuple[str, Message]] = field(default_factory=list)
    pins: list[tuple[str, str]] = field(default_factory=list)
    uploads: list[dict[str, str]] = field(default_factory=list)
    channel_messages: dict[str, list[ChatMessage]] = field(default_factory=dict)
    create_attempts: list[str] = field(default_factory=list)
    keys: dict[tuple[str, str], str] = field(default_factory=dict)
    lose_create_answers: int = 0  # create the channel, then answer as if it failed

    def create_channel(self, name: str, *, private: bool) -> str:
        self.create_attempts.append(name)
        if self.create_error:
            raise GatewayError(
                "conversations.create", self.create_error, uncertain=self.create_error.startswith("http")
            )
        if name in self.taken or name in self.channels.values():
            raise GatewayError("conversations.create", "name_taken")
        channel_id = f"C{len(self.channels) + 1:08d}"
        self.channels[channel_id] = name
        self.private[channel_id] = private
        self.members[channel_id] = set()
        if self.lose_create_answers:
            self.lose_create_answers -= 1
            raise GatewayError("conversations.create", "http_500", uncertain=True)
        return channel_id

    def find_channel(self, name: str) -> str | None:
        return next((channel_id for channel_id, known in self.channels.items() if known == name), None)

    def invite(self, channel_id: str, user_ids: list[str]) -> None:
        self.members.setdefault(channel_id, set()).update(user_ids)

    def set_topic(self, channel_id: str, topic: Topic) -> None:
        self.topics[channel_id] = topic_text(topic)  # as Slack would show it

    def post(self, channel_id: str, message: Message, *, key: str | None = None) -> str:
        self.posts.append((channel_id, message))
        ts = f"1700000000.{len(self.posts):06d}"
        if key is not None:
            self.keys[(channel_id, key)] = ts
        return ts

    def find_posted(self, channel_id: str, key: str, *, since: datetime) -> str | None:
        return self.keys.get((channel_id, key))

    def pin(self, channel_id: str, ts: str) -> None:
        self.pins.append((channel_id, ts))

    def user_by_email(self, email: str) -> str | None:
        return self.emails.get(email)

    def group_members(self, group_id: str) -> list[str]:
        return list(self.groups.get(group_id, []))

    def upload(self, channel_id: str, *, filename: str, title: str, content: str, comment: str) -> None:
        self.uploads.append(
            {"channel": channel_id, "filename": filename, "title": title, "content": content, "comment": comment}
        )

    def profile(self, user_id: str) -> Profile:
        return Profile(user_id=user_id, name=user_id.lower(), email=None, tz="UTC")

    def history(self, channel_id: str, *, oldest: str | None = None) -> Iterator[ChatMessage]:
        after = float(oldest) if oldest else 0.0
        return iter(m for m in self.channel_messages.get(channel_id, []) if float(m.ts) > after)

    def replies(self, channel_id: str, thread_ts: str, *, oldest: str | None = None) -> Iterator[ChatMessage]:
        return iter(())

    def message(self, channel_id: str, ts: str) -> ChatMessage | None:
        return next((m for m in self.channel_messages.get(channel_id, []) if m.ts == ts), None)


def make_services(
    folder: Path,
    chat: FakeChat,
    clock: FakeClock,
    roles: dict[str, object] | None = None,
    template: Path | None = None,
) -> Iterator[Services]:
    """Real config, database and templates around the fake chat port and clock (the database copied from template)."""
    config = load_config(write_config(folder / "config", roles=roles))
    path = folder / "ircbot.db"
    if template is not None:
        copy_sqlite(template, path)
    db = Database(f"sqlite:///{path}")
    db.migrate()
    try:
        yield Services(db=db, chat=chat, config=config, templates=template_environment(config), clock=clock)
    finally:
        db.dispose()


@pytest.fixture
def chat() -> FakeChat:
    return FakeChat()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def svc(tmp_path: Path, chat: FakeChat, clock: FakeClock, sqlite_template: Path) -> Iterator[Services]:
    yield from make_services(tmp_path, chat, clock, template=sqlite_template)


def declare_one(
    svc: Services, title: str = "Ransomware on FS01", *, is_private: bool = True, request_key: str | None = None
) -> Declared:
    request = Declaration(
        title=title, severity="sev1", declared_by=ALICE, is_private=is_private, request_key=request_key
    )
    return declare(svc, request)


def rows(svc: Services, table: type) -> list[object]:
    with svc.db.transaction() as session:
        return list(session.exec(select(table)).all())


def events(svc: Services, incident_id: int, kind: str | None = None) -> list[TimelineEvent]:
    with svc.db.transaction() as session:
        found = queries.timeline(session=session, incident_id=incident_id)
        return [e for e in found if kind is None or e.kind == kind]


def stored(svc: Services, incident_id: int) -> Incident:
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id)
        assert incident is not None
        return incident


def say(svc: Services, text: str, *, user: str = ALICE, channel: str = "C0GENERAL") -> str:
    outcome = dispatch(svc, Invocation(user_id=user, channel_id=channel, text=text))
    assert isinstance(outcome, Reply) and isinstance(outcome.message, Text), outcome
    return outcome.message.text


# --- declare -----------------------------------------------------------------------------------------------------


def test_declare_records_incident_checklist_stage_role_and_timeline_together(svc: Services, chat: FakeChat) -> None:
    result = declare_one(svc)
    view = result.incident
    assert view.key == "INC-1" and view.stage == "detection" and view.is_private
    assert view.channel_id in chat.channels and chat.channels[view.channel_id] == "inc-1-ransomware-on-fs01"
    assert chat.private[view.channel_id] is True
    incident = stored(svc, view.id)
    assert incident.declared_at == START and incident.detected_at == START

    items = [i for i in rows(svc, ChecklistItem) if isinstance(i, ChecklistItem)]
    playbook = svc.config.playbooks["default"]
    assert len(items) == sum(len(stage) for stage in playbook.stages.values())
    assert {i.stage for i in items} == set(playbook.stages)
    entries = [e for e in rows(svc, StageEntry) if isinstance(e, StageEntry)]
    assert [(e.stage, e.entered_by, e.entered_at) for e in entries] == [("detection", ALICE, START)]
    roles = [r for r in rows(svc, RoleAssignment) if isinstance(r, RoleAssignment)]
    assert [(r.role, r.user_id) for r in roles] == [("manager", ALICE)]
    kinds = [e.kind for e in events(svc, view.id)]
    assert kinds[:3] == ["declared", "role_assigned", "stage_entered"]
    assert "channel_created" in kinds
    assert ALICE in chat.members[view.channel_id]
    assert "SEV1" in chat.topics[view.channel_id]
    assert chat.pins and chat.pins[0][0] == view.channel_id


def test_failed_channel_creation_leaves_no_incident_rows_and_raises_conflict(svc: Services, chat: FakeChat) -> None:
    chat.create_error = "restricted_action"
    with pytest.raises(Conflict, match="restricted_action"):
        declare_one(svc)
    for table in (Incident, ChecklistItem, StageEntry, RoleAssignment, TimelineEvent, Participant):
        assert rows(svc, table) == [], f"{table.__name__} rows left behind by a failed declare"
    chat.create_error = None
    assert declare_one(svc).incident.key == "INC-1", "the failed attempt did not use up a number"


def test_failed_channel_creation_through_the_dispatcher_answers_and_leaves_nothing(
    svc: Services, chat: FakeChat
) -> None:
    chat.create_error = "restricted_action"
    text = say(svc, "declare Lost laptop sev2")
    assert "restricted_action" in text and "nothing was declared" in text
    assert rows(svc, Incident) == [] and rows(svc, TimelineEvent) == []


def test_taken_channel_name_gets_a_suffix(svc: Services, chat: FakeChat) -> None:
    chat.taken = {"inc-1-phishing-wave", "inc-1-phishing-wave-2"}
    view = declare_one(svc, "Phishing wave").incident
    assert view.channel_name == "inc-1-phishing-wave-3"
    assert chat.create_attempts == ["inc-1-phishing-wave", "inc-1-phishing-wave-2", "inc-1-phishing-wave-3"]


def test_the_same_request_key_twice_returns_the_same_incident(svc: Services, chat: FakeChat) -> None:
    first = declare_one(svc, request_key="T1-trigger-42")
    again = declare_one(svc, request_key="T1-trigger-42")
    assert again.duplicate and not first.duplicate
    assert again.incident.id == first.incident.id and again.incident.channel_id == first.incident.channel_id
    assert len(rows(svc, Incident)) == 1 and len(chat.channels) == 1


def test_public_flag_and_playbook_reach_the_channel_and_checklist(svc: Services, chat: FakeChat) -> None:
    reply = say(svc, "declare Credential phish sev2 --public --playbook phishing")
    assert "INC-1" in reply and "public channel" in reply
    incident = stored(svc, 1)
    assert incident.is_private is False and incident.playbook == "phishing" and incident.severity == "sev2"
    assert chat.private[incident.channel_id or ""] is False


# --- roles -------------------------------------------------------------------------------------------------------


def test_assign_with_handoff_releases_the_previous_holder(svc: Services, chat: FakeChat, clock: FakeClock) -> None:
    view = declare_one(svc).incident
    clock.advance(minutes=5)
    result = assign(svc, incident_id=view.id, role="manager", user_id=BOB, actor=ALICE)
    assert result.previous == ALICE and result.user_id == BOB
    history = [r for r in rows(svc, RoleAssignment) if isinstance(r, RoleAssignment)]
    alice, bob = history
    assert (alice.user_id, alice.released_at) == (ALICE, START + timedelta(minutes=5))
    assert (bob.user_id, bob.released_at) == (BOB, None)
    assert result.incident.manager == BOB
    assert [e.kind for e in events(svc, view.id)][-2:] == ["role_released", "role_assigned"]
    assert BOB in chat.members[view.channel_id or ""]
    assert f"<@{BOB}>" in chat.topics[view.channel_id or ""]


def test_assign_without_a_user_resolves_the_oncall_by_email(svc: Services, chat: FakeChat) -> None:
    view = declare_one(svc).incident
    result = assign(svc, incident_id=view.id, role="analyst", user_id=None, actor=ALICE)
    assert result.user_id == BOB
    assert BOB in chat.members[view.channel_id or ""]


def test_assign_without_a_user_resolves_the_oncall_through_a_user_group(svc: Services, chat: FakeChat) -> None:
    view = declare_one(svc).incident
    result = assign(svc, incident_id=view.id, role="forensics", user_id=None, actor=ALICE)
    assert result.user_id == ERIN


def test_oncall_nobody_slack_knows_is_answered_with_the_way_out(svc: Services, chat: FakeChat) -> None:
    chat.emails = {}
    view = declare_one(svc).incident
    text = say(svc, "assign analyst", channel=view.channel_id or "")
    assert "no on-call person for `analyst`" in text and "/incident assign analyst @person" in text


# --- checklists and stages ---------------------------------------------------------------------------------------


def test_checking_an_item_out_of_range_names_how_many_items_there_are(svc: Services) -> None:
    view = declare_one(svc).incident
    count = len(svc.config.playbooks["default"].stages["detection"])
    with pytest.raises(InvalidInput, match=f"has items 1–{count}"):
        set_item(svc, incident_id=view.id, position=count + 1, checked=True, actor=ALICE)
    with pytest.raises(InvalidInput, match=f"has items 1–{count}"):
        set_item(svc, incident_id=view.id, position=count + 7, checked=False, actor=ALICE)


def test_check_and_uncheck_record_who_and_when(svc: Services, clock: FakeClock) -> None:
    view = declare_one(svc).incident
    clock.advance(minutes=3)
    ticked = set_item(svc, incident_id=view.id, position=1, checked=True, actor=BOB)
    assert ticked.changed and ticked.incident.checklist[0].checked_by == BOB
    assert ticked.incident.checklist[0].checked_at == START + timedelta(minutes=3)
    assert not set_item(svc, incident_id=view.id, position=1, checked=True, actor=BOB).changed
    unticked = set_item(svc, incident_id=view.id, position=1, checked=False, actor=BOB)
    assert unticked.changed and unticked.incident.checklist[0].checked_by is None
    assert [e.kind for e in events(svc, view.id) if e.kind.startswith("item_")] == ["item_checked", "item_unchecked"]


def test_required_items_block_the_stage_move_unless_forced(svc: Services) -> None:
    view = declare_one(svc).incident
    with pytest.raises(Conflict, match="required item"):
        move(svc, incident_id=view.id, target="next", force=False, actor=ALICE)
    assert stored(svc, view.id).stage == "detection"
    moved = move(svc, incident_id=view.id, target="next", force=True, actor=ALICE)
    assert moved.incident.stage == "analysis" and moved.left == "detection"
    required = [i.text for i in svc.config.playbooks["default"].stages["detection"] if i.required]
    assert len(moved.skipped) == len(required)
    forced = events(svc, view.id, "stage_forced")
    assert len(forced) == 1
    assert [s.split(": ", 1)[1] for s in forced[0].data["skipped"]] == required
    entries = [e for e in rows(svc, StageEntry) if isinstance(e, StageEntry)]
    assert [(e.stage, e.left_forced) for e in entries] == [("detection", True), ("analysis", False)]


def test_ticking_the_required_items_lets_the_stage_move_without_force(svc: Services) -> None:
    view = declare_one(svc).incident
    for position, item in enumerate(svc.config.playbooks["default"].stages["detection"], start=1):
        if item.required:
            set_item(svc, incident_id=view.id, position=position, checked=True, actor=ALICE)
    assert move(svc, incident_id=view.id, target="next", force=False, actor=ALICE).skipped == ()
    assert events(svc, view.id, "stage_forced") == []


def test_leaving_containment_stamps_contained_at(svc: Services, clock: FakeClock) -> None:
    view = declare_one(svc).incident
    move(svc, incident_id=view.id, target="containment", force=True, actor=ALICE)
    assert stored(svc, view.id).contained_at is None
    clock.advance(minutes=40)
    move(svc, incident_id=view.id, target="eradication", force=True, actor=ALICE)
    assert stored(svc, view.id).contained_at == START + timedelta(minutes=40)
    assert len(events(svc, view.id, "contained")) == 1


# --- resolve and postmortem --------------------------------------------------------------------------------------


def test_resolve_stamps_resolution_and_publishes_a_postmortem_with_mttr(
    svc: Services, chat: FakeChat, clock: FakeClock
) -> None:
    view = declare_one(svc, "Ransomware on FS01").incident
    clock.advance(minutes=10)
    assign(svc, incident_id=view.id, role="analyst", user_id=BOB, actor=ALICE)
    clock.advance(minutes=20)
    move(svc, incident_id=view.id, target="containment", force=True, actor=ALICE)
    clock.advance(hours=1)
    move(svc, incident_id=view.id, target="eradication", force=True, actor=ALICE)
    clock.now = START + timedelta(hours=2, minutes=30)
    result = resolve(svc, incident_id=view.id, summary="Restored from backup", false_positive=False, actor=ALICE)

    assert stored(svc, view.id).resolved_at == START + timedelta(hours=2, minutes=30)
    assert result.incident.status == "resolved"
    markdown = result.postmortem
    assert "# Postmortem INC-1: Ransomware on FS01" in markdown
    assert "| MTTR (time to resolve) | 2h 30m |" in markdown
    assert "| MTTC (time to contain) | 1h 30m |" in markdown
    assert "Incident manager" in markdown and "Security analyst" in markdown and BOB.lower() in markdown
    for stage in ("Detection", "Analysis", "Containment", "Eradication", "Recovery", "Post-incident"):
        assert f"### {stage}" in markdown
    assert "Restored from backup" in markdown
    assert "## Timeline" in markdown and "declared" in markdown and "resolved INC-1" in markdown
    assert "| Declared | 2026-03-02 10:00:00 |" in markdown and "| Resolved | 2026-03-02 12:30:00 |" in markdown
    assert "All times are UTC." in markdown

    assert [p.markdown for p in rows(svc, Postmortem) if isinstance(p, Postmortem)] == [markdown]
    assert chat.uploads and chat.uploads[-1]["content"] == markdown
    assert chat.uploads[-1]["channel"] == view.channel_id


def test_resolving_twice_is_a_conflict(svc: Services) -> None:
    view = declare_one(svc).incident
    resolve(svc, incident_id=view.id, summary="", false_positive=True, actor=ALICE)
    with pytest.raises(Conflict, match="already resolved"):
        resolve(svc, incident_id=view.id, summary="", false_positive=False, actor=ALICE)


# --- visibility and permissions ----------------------------------------------------------------------------------


def test_private_incidents_are_invisible_to_people_not_brought_in(svc: Services) -> None:
    secret = declare_one(svc, "Insider exfiltration").incident
    public = declare_one(svc, "Website defaced", is_private=False).incident
    assert {v.key for v in visible_open(svc, ALICE)} == {secret.key, public.key}
    assert [v.key for v in visible_open(svc, MALLORY)] == [public.key]
    assign(svc, incident_id=secret.id, role="legal", user_id=CAROL, actor=ALICE)
    assert secret.key in {v.key for v in visible_open(svc, CAROL)}
    assert "no incident INC-1 that you can see" in say(svc, "INC-1 status", user=MALLORY)


def test_resolved_incidents_leave_the_open_list(svc: Services) -> None:
    view = declare_one(svc).incident
    resolve(svc, incident_id=view.id, summary="", false_positive=False, actor=ALICE)
    assert visible_open(svc, ALICE) == ()


@pytest.fixture
def restricted_svc(tmp_path: Path, chat: FakeChat, clock: FakeClock, sqlite_template: Path) -> Iterator[Services]:
    roles: dict[str, Any] = roles_config()
    roles["roles"]["manager"]["may"] = ["resolve", "severity"]
    yield from make_services(tmp_path, chat, clock, roles=roles, template=sqlite_template)


def test_may_lists_in_roles_yaml_are_enforced_by_the_dispatcher(restricted_svc: Services) -> None:
    view = declare_one(restricted_svc, is_private=False).incident
    channel = view.channel_id or ""
    refused = say(restricted_svc, "resolve done", user=DAVE, channel=channel)
    assert "Only the Incident manager may `resolve`" in refused
    assert "Only the Incident manager may `severity`" in say(
        restricted_svc, "severity sev2", user=DAVE, channel=channel
    )
    assert stored(restricted_svc, view.id).status == "open"
    assert "resolved" in say(restricted_svc, "resolve done", user=ALICE, channel=channel)
    assert stored(restricted_svc, view.id).status == "resolved"


def test_unrestricted_actions_stay_open_to_every_responder(restricted_svc: Services) -> None:
    view = declare_one(restricted_svc, is_private=False).incident
    say(restricted_svc, "note saw beaconing to 203.0.113.9", user=DAVE, channel=view.channel_id or "")
    assert [e.text for e in events(restricted_svc, view.id, "note")] == ["saw beaconing to 203.0.113.9"]


def test_a_declare_whose_channel_answer_was_lost_is_finished_later_in_that_channel(
    svc: Services, chat: FakeChat, clock: FakeClock
) -> None:
    chat.lose_create_answers = 1
    with pytest.raises(Conflict, match="INC-1 is recorded: I will finish opening it"):
        declare_one(svc)
    assert len(chat.channels) == 1, "Slack made the channel; only its answer was lost"
    assert resume_declares(svc) == 0, "a declare is not resumed while its lease runs"
    assert visible_open(svc, ALICE) == ()  # not listed before its channel is known
    clock.advance(seconds=31)
    assert resume_declares(svc) == 1
    assert resume_declares(svc) == 0, "finished once"
    channel = next(iter(chat.channels))
    assert stored(svc, 1).channel_id == channel and len(chat.channels) == 1, "the channel was found, not made again"
    cards = [m for c, m in chat.posts if c == channel]
    assert len(cards) == 1 and ALICE in chat.members[channel]
    drain_outbox(svc)
    told = [m for c, m in chat.posts if c == ALICE]
    assert len(told) == 1 and isinstance(told[0], DeclareOutcome) and told[0].incident is not None
    assert [v.key for v in visible_open(svc, ALICE)] == ["INC-1"]


def test_a_declare_slack_refuses_on_resume_is_undone_and_the_declarer_told(
    svc: Services, chat: FakeChat, clock: FakeClock
) -> None:
    chat.create_error = "http_503"
    with pytest.raises(Conflict, match="Slack did not answer"):
        declare_one(svc)
    chat.create_error = "restricted_action"
    clock.advance(minutes=1)
    assert resume_declares(svc) == 0
    assert rows(svc, Incident) == []
    told = [m for c, m in chat.posts if c == ALICE]
    assert len(told) == 1 and isinstance(told[0], DeclareOutcome) and "`restricted_action`" in str(told[0].problem)
    chat.create_error = None
    assert declare_one(svc).incident.key == "INC-1", "the number was given back"


def test_a_declare_cut_short_after_its_channel_opened_posts_its_card_once(
    svc: Services, chat: FakeChat, clock: FakeClock
) -> None:
    view = declare_one(svc).incident
    with svc.db.transaction() as session:  # as if the process died after posting the card, before recording it
        incident = session.get(Incident, view.id)
        assert incident is not None
        incident.ready_at, incident.card_ts, incident.declare_lease_until = None, None, clock()
    clock.advance(seconds=1)
    assert resume_declares(svc) == 1
    assert len([m for c, m in chat.posts if c == view.channel_id]) == 1, "the tagged card was found in the channel"


def test_a_declare_kept_as_it_arrived_is_declared_if_its_process_dies(
    svc: Services, chat: FakeChat, clock: FakeClock
) -> None:
    request = Declaration(title="Wiper on DC01", severity="sev1", declared_by=ALICE, request_key="trigger-1")
    remember_declaration(svc, request)
    remember_declaration(svc, request)  # Slack's retry of the same request
    assert len(rows(svc, PendingDeclare)) == 1 and chat.channels == {}
    assert resume_declares(svc) == 0, "not while the declare after the acknowledgement may still be running"
    clock.advance(seconds=31)  # the acknowledgement went out; the declare after it never ran
    assert resume_declares(svc) == 1
    drain_outbox(svc)
    told = [m for c, m in chat.posts if c == ALICE]
    assert len(told) == 1 and isinstance(told[0], DeclareOutcome) and told[0].title == "Wiper on DC01"
    again = declare(svc, request)  # the declare itself, arriving very late, answers with what exists
    assert again.duplicate and again.incident.channel_id in chat.channels


def test_the_declare_after_the_acknowledgement_takes_the_kept_request(
    svc: Services, chat: FakeChat, clock: FakeClock
) -> None:
    request = Declaration(title="Wiper on DC01", severity="sev1", declared_by=ALICE, request_key="trigger-2")
    remember_declaration(svc, request)
    result = declare(svc, request)
    assert not result.duplicate and result.ready and len(chat.channels) == 1
    assert rows(svc, PendingDeclare) == [], "recorded and no longer pending, in one commit"
    declarer_answered(svc, result.incident.id)  # the pipeline delivered the answer
    clock.advance(minutes=1)
    assert resume_declares(svc) == 0


def test_a_finished_declare_whose_answer_died_with_its_process_is_told_by_dm(
    svc: Services, chat: FakeChat, clock: FakeClock
) -> None:
    result = declare_one(svc, request_key="trigger-4")  # ready; the process died before answering the declarer
    clock.advance(seconds=31)

    assert resume_declares(svc) == 1
    drain_outbox(svc)
    assert resume_declares(svc) == 0, "told once"

    told = [m for c, m in chat.posts if c == ALICE]
    assert len(told) == 1 and isinstance(told[0], DeclareOutcome) and told[0].incident is not None
    assert told[0].incident.key == result.incident.key


def test_a_kept_declare_that_can_no_longer_be_declared_tells_the_declarer_why(
    svc: Services, chat: FakeChat, clock: FakeClock
) -> None:
    remember_declaration(svc, Declaration(title="Wiper", severity="sev1", declared_by=ALICE, request_key="trigger-3"))
    chat.create_error = "restricted_action"
    clock.advance(seconds=31)
    assert resume_declares(svc) == 0
    assert rows(svc, PendingDeclare) == [] and rows(svc, Incident) == []
    told = [m for c, m in chat.posts if c == ALICE]
    assert len(told) == 1 and isinstance(told[0], DeclareOutcome) and "restricted_action" in str(told[0].problem)
