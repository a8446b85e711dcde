"""Out of band: a live incident moves to a Matrix room on a real Synapse, runs there, and comes back to Slack."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import select

from ircbot.adapters.matrix import MatrixClient, RoomEvent, SyncBatch
from ircbot.cli import main
from ircbot.domain.kinds import TimelineKind
from ircbot.domain.out_of_band import move
from ircbot.emulator import SlackDriver, SlackEmulator
from ircbot.errors import Conflict, GatewayError
from ircbot.oob.room import RoomListener
from ircbot.store import queries
from ircbot.store.db import Database
from ircbot.store.models import Postmortem
from ircbot.store.oob import OutOfBand, OutOfBandSync
from tests.conftest import SIGNING_SECRET, Harness, serve_environment
from tests.factories import ALICE, BOB, CAROL, DAVE, ERIN, escalation_config, roles_config, write_config
from tests.matrix_server import PASSWORD, SynapseServer
from tests.processes import ServeProcess, free_port
from tests.scenario import bot_messages, channel_text, events
from tests.smtp import SmtpServer
from tests.test_card import pinned
from tests.test_home import open_home

pytestmark = pytest.mark.slow

REASON = "Slack admin token found on a paste site"


@dataclass
class Room:
    """A moved incident: the Slack harness, its channel, the room, and Matrix clients of the people."""

    h: Harness
    channel: str
    room: str
    people: dict[str, MatrixClient]  # Slack id -> that person's Matrix client
    bot_user: str
    readers: dict[str, Reader] = field(default_factory=dict)

    def say(self, who: str, text: str) -> None:
        """`who` types in the room; the bot reads it at its next poll."""
        self.people[who].send(self.room, text, txn_id=f"t{time.monotonic_ns()}")

    def poll(self) -> int:
        """One read of the homeserver by the bot (the serve loop does this continuously)."""
        listener = self.h.bot.room_listener
        assert listener is not None
        return listener.poll(timeout_ms=0)

    def texts(self, who: str = ALICE, room: str | None = None) -> list[str]:
        """What the bot said in the room (or another of the person's rooms), oldest first, as `who` sees it."""
        return self.reader(who).lines(room or self.room, self.bot_user)

    def reader(self, who: str) -> Reader:
        """The person's view of their rooms, kept across reads."""
        return self.readers.setdefault(who, Reader(self.people[who]))


@dataclass
class Reader:
    """What a person has seen: one initial sync, then incremental ones (Synapse caches an initial sync a while)."""

    client: MatrixClient
    since: str | None = None
    events: list[RoomEvent] = field(default_factory=list)

    def read(self) -> SyncBatch:
        batch = self.client.sync(self.since, timeout_ms=0)
        self.since = batch.next_batch
        self.events.extend(batch.events)
        return batch

    def lines(self, room: str, sender: str) -> list[str]:
        self.read()
        return [e.body for e in self.events if e.room_id == room and e.sender == sender and e.type == "m.room.message"]


@pytest.fixture
def oob_config(synapse: SynapseServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """oob.yaml for a fresh bot account and Alice, Bob and Erin on Matrix; Carol and Dave have no account."""
    bot = synapse.unique("ircbot")
    synapse.register(bot)
    monkeypatch.setenv("MATRIX_BOT_PASSWORD", PASSWORD)
    people = {who: synapse.unique(who.lower()) for who in (ALICE, BOB, ERIN)}
    for localpart in people.values():
        synapse.register(localpart)
    yield {
        "matrix": {"homeserver": synapse.url, "user": synapse.user_id(bot), "password_env": "MATRIX_BOT_PASSWORD"},
        "people": {who: synapse.user_id(localpart) for who, localpart in people.items()},
        "_logins": people,
    }


def moved(
    make_harness: Callable[..., Harness],
    synapse: SynapseServer,
    oob: dict[str, Any],
    before: tuple[str, ...] = (),
    **kwargs: Any,
) -> Room:
    """Declare a sev1 as Alice with Carol brought in, take the room stream's position, and move it out of band."""
    logins = oob.pop("_logins")
    h = make_harness(oob=oob, **kwargs)
    _, channel = h.declare("Ransomware on FS01 sev1")
    h.slash(f"assign legal <@{CAROL}|carol>", channel=channel)
    h.run_timers()  # tier 1 pages the manager (Alice) and the analyst (Bob)
    for command in before:
        h.slash(command, channel=channel)
    listener = h.bot.room_listener
    assert listener is not None
    listener.poll(timeout_ms=0)  # the first read only takes the stream's position
    reply = h.slash(f"oob {REASON}", channel=channel)
    assert "is out of band" in reply.text, reply.text
    with h.bot.db.transaction() as session:
        row = session.exec(select(OutOfBand)).one()
    assert row.room_id is not None and row.status == "away"
    people = {who: synapse.login(localpart) for who, localpart in logins.items()}
    for who in (ALICE, BOB):
        people[who].join(row.room_id)
    return Room(h, channel, row.room_id, people, oob["matrix"]["user"])


def test_the_move_invites_only_mapped_members_and_tells_slack_one_line(
    make_harness: Callable[..., Harness], synapse: SynapseServer, oob_config: dict[str, Any]
) -> None:
    r = moved(make_harness, synapse, oob_config, before=("clock start gdpr",))
    members = r.people[ALICE].members(r.room)
    assert members[oob_config["people"][ALICE]] == "join" and members[oob_config["people"][BOB]] == "join"
    assert oob_config["people"][ERIN] not in members, "Erin is not in the incident yet"
    assert len([m for m in members if m != r.bot_user]) == 2, members
    said = "\n".join(r.texts())
    assert "INC-1 is out of band" in said and "SEV1" in said and "Detection" in said, said
    assert REASON in said and "Not invited (no Matrix account in oob.yaml)" in said and CAROL in said
    assert "Regulatory clocks" in said and "GDPR" in said, "the running clocks go with the incident"
    slack = channel_text(r.h.emulator, r.channel)
    assert slack.count("INC-1 has moved to an out-of-band channel.") == 1
    assert REASON not in slack and r.room not in slack, "neither the reason nor the room reaches Slack"
    moves = events(r.h, kind=TimelineKind.MOVED_OUT_OF_BAND)
    assert len(moves) == 1 and moves[0].data["not_mapped"] == [CAROL] and moves[0].data["reason"] == REASON


def test_slack_refuses_commands_and_buttons_about_an_incident_away(
    make_harness: Callable[..., Harness], synapse: SynapseServer, oob_config: dict[str, Any]
) -> None:
    r = moved(make_harness, synapse, oob_config)
    for text in ("status", "note the attacker is in Slack", "return", "resolve contained"):
        answer = r.h.slash(text, channel=r.channel).text
        assert "handled out of band" in answer or "never from Slack" in answer, (text, answer)
    assert r.h.slash("INC-1 status", user=BOB).text.count("handled out of band") == 1, "by key, elsewhere, too"
    card = pinned(r.h, r.channel)
    clicked = r.h.driver.click(ALICE, r.channel, card["ts"], "checklist_toggle_1")
    assert "handled out of band" in clicked.text
    assert not events(r.h, kind=TimelineKind.ITEM_CHECKED) and not events(r.h, kind=TimelineKind.NOTE)
    assert "INC-1" not in r.h.slash("list").text and "INC-1" not in json.dumps(open_home(r.h, ALICE))
    assert "handled out of band" in r.h.slash("join INC-1", user=DAVE).text, "nobody joins it through Slack"
    joined = {"type": "member_joined_channel", "user": DAVE, "channel": r.channel, "event_ts": "1.000001"}
    assert r.h.driver.event(joined, event_id="Ev0DAVEJOINS").status == 200
    r.h.bot.bolt.listener_runner.listener_executor.submit(lambda: None).result()  # the event's work has run
    with r.h.bot.db.transaction() as session:
        assert not queries.is_participant(session=session, incident_id=1, user_id=DAVE), "a Slack join gives no access"


def test_commands_in_the_room_run_with_the_same_rules_and_answer_there(
    make_harness: Callable[..., Harness], synapse: SynapseServer, oob_config: dict[str, Any]
) -> None:
    roles = roles_config()
    roles["roles"]["manager"]["may"] = ["resolve"]  # type: ignore[index]
    r = moved(make_harness, synapse, oob_config, roles=roles)
    slack_before = channel_text(r.h.emulator, r.channel)
    r.say(ALICE, "!incident note Attacker reused the stolen token from 203.0.113.9")
    r.say(BOB, "!incident check 1")
    r.say(ALICE, "!incident status")
    r.say(BOB, "We should rotate every bot token first")
    assert r.poll() == 3
    notes = events(r.h, kind=TimelineKind.NOTE)
    assert [n.actor for n in notes] == [ALICE] and "203.0.113.9" in notes[0].text
    assert [e.actor for e in events(r.h, kind=TimelineKind.ITEM_CHECKED)] == [BOB]
    said = [e for e in events(r.h, kind=TimelineKind.SAID_OUT_OF_BAND)]
    assert [(e.actor, e.text) for e in said] == [(BOB, "We should rotate every bot token first")]
    answers = "\n".join(r.texts())
    assert "SEV1" in answers and "!incident" in answers
    assert channel_text(r.h.emulator, r.channel) == slack_before, "nothing said in the room reaches Slack"
    r.say(BOB, "!incident resolve we are done")  # `may:` holds in the room as in Slack
    r.poll()
    assert "Only the Incident manager may `resolve`" in r.texts()[-1]
    assert not events(r.h, kind=TimelineKind.RESOLVED)
    mallory = synapse.user("mallory")
    with pytest.raises(GatewayError) as refused:  # the bot alone brings people into the room
        r.people[ALICE].invite(r.room, mallory.whoami())
    assert refused.value.error == "M_FORBIDDEN"


def test_an_answer_about_another_incident_goes_to_the_askers_direct_room(
    make_harness: Callable[..., Harness], synapse: SynapseServer, oob_config: dict[str, Any]
) -> None:
    r = moved(make_harness, synapse, oob_config)
    assert "INC-2" in r.h.slash("declare Payroll mailbox takeover sev3").text  # Alice's, private; Bob is not in it
    seen_by_bob = len(r.texts(BOB))
    r.say(ALICE, "!incident INC-2 status")
    r.say(ALICE, "!incident list")
    r.poll()
    assert len(r.texts(BOB)) == seen_by_bob, "nothing of INC-2, or of Alice's list, is shown to the room"
    (direct,) = [room for room in r.reader(ALICE).read().invited_rooms if room != r.room]
    r.people[ALICE].join(direct)
    private = "\n".join(r.texts(ALICE, direct))
    assert "Status of INC-2: Payroll mailbox takeover" in private and "Open incidents" in private
    assert "INC-1" not in private.split("Open incidents", 1)[1], "an incident that is away is not listed"


def test_pages_while_away_go_to_matrix_and_e_mail_and_never_to_slack(
    make_harness: Callable[..., Harness], synapse: SynapseServer, oob_config: dict[str, Any], smtp: SmtpServer
) -> None:
    oob_config["people"][ERIN] = {"matrix": oob_config["people"][ERIN], "email": "erin@dfir.example.net"}
    escalation = escalation_config()
    escalation["severities"]["sev1"]["updates"] = {"every": "1h", "checklist_every": "30m"}  # type: ignore[index]
    r = moved(make_harness, synapse, oob_config, smtp_url=smtp.url, escalation=escalation)
    erin_slack = r.h.emulator.im_channel(ERIN)
    alice_slack = r.h.emulator.im_channel(ALICE) or ""
    alice_seen = len(r.h.emulator.messages(alice_slack)) if alice_slack else 0
    r.h.advance(minutes=10, seconds=5)  # tier 2: the forensics group (Erin) and an e-mail address
    erin = r.people[ERIN]
    invited = r.reader(ERIN).read().invited_rooms
    assert r.room in invited, "the page brings Erin into the room, not into the Slack channel"
    direct = [room for room in invited if room != r.room]
    assert direct, "and DMs her on Matrix"
    erin.join(direct[0])
    page = "\n".join(r.texts(ERIN, direct[0]))
    assert "INC-1" in page and "Ransomware on FS01" in page
    assert r.h.emulator.im_channel(ERIN) == erin_slack and not (erin_slack and r.h.emulator.messages(erin_slack)), (
        "nothing about the incident reaches Erin in Slack"
    )
    assert ERIN not in r.h.emulator.channel(r.channel)["members"]
    (mail,) = smtp.inbox.to("erin@dfir.example.net")
    assert "INC-1 paged" in str(mail["Subject"]), "the page's own e-mail, once"
    r.say(ALICE, "!incident ack")
    r.poll()
    assert events(r.h, kind=TimelineKind.ACKNOWLEDGED)
    erin_id = oob_config["people"][ERIN]["matrix"]
    assert r.people[ALICE].members(r.room)[erin_id] == "invite", "paged, so in the incident: her invitation stands"
    r.h.advance(minutes=45)  # tier 3 (Dave) was cancelled by the ack; the update reminder to Alice comes
    assert not r.h.emulator.im_channel(DAVE) or not bot_messages(r.h.emulator, r.h.emulator.im_channel(DAVE) or "")
    alice_direct = [room for room in r.reader(ALICE).read().invited_rooms if room != r.room]
    r.people[ALICE].join(alice_direct[0])
    reminded = "\n".join(r.texts(ALICE, alice_direct[0]))
    assert "required items open" in reminded, "the checklist reminder went to Matrix"
    assert len(r.h.emulator.messages(alice_slack)) == alice_seen if alice_slack else True, "and not to Slack"


def test_a_restart_neither_misses_nor_repeats_commands(
    make_harness: Callable[..., Harness], synapse: SynapseServer, oob_config: dict[str, Any]
) -> None:
    r = moved(make_harness, synapse, oob_config)
    r.say(ALICE, "!incident note first")
    assert r.poll() == 1
    with r.h.bot.db.transaction() as session:
        position = session.exec(select(OutOfBandSync)).one().since
    r.say(ALICE, "!incident note second, said while the bot was down")
    restarted = RoomListener(r.h.bot.services, r.h.bot.room_listener.chat)  # type: ignore[union-attr]
    assert restarted.poll(timeout_ms=0) == 1
    with r.h.bot.db.transaction() as session:  # killed before it kept its position: the batch comes again
        session.exec(select(OutOfBandSync)).one().since = position
    assert restarted.poll(timeout_ms=0) == 0
    assert [n.text for n in events(r.h, kind=TimelineKind.NOTE)] == ["first", "second, said while the bot was down"]


def test_return_without_summary_tells_slack_one_line(
    make_harness: Callable[..., Harness], synapse: SynapseServer, oob_config: dict[str, Any]
) -> None:
    r = moved(make_harness, synapse, oob_config)
    before = len(bot_messages(r.h.emulator, r.channel))
    r.say(ALICE, "!incident return")
    r.poll()
    after = [r.h.emulator.message_text(m) for m in bot_messages(r.h.emulator, r.channel)][before:]
    assert after == ["INC-1 is back in this channel."], after


def test_return_brings_it_back_and_the_postmortem_merges_both(
    make_harness: Callable[..., Harness], synapse: SynapseServer, oob_config: dict[str, Any]
) -> None:
    r = moved(make_harness, synapse, oob_config)
    r.say(BOB, "Rotating the tokens now")
    r.say(ALICE, "!incident return --summary")
    r.poll()
    slack = channel_text(r.h.emulator, r.channel)
    assert "INC-1 is back in this channel." in slack and "where it stands" in slack
    assert "INC-1 is back in Slack" in r.texts()[-1]
    assert "Detection" in r.h.slash("status", channel=r.channel).text, "Slack answers again"
    r.h.slash("note back in Slack", channel=r.channel)
    r.h.slash("resolve Tokens rotated", channel=r.channel)
    with r.h.bot.db.transaction() as session:  # the postmortem compiled at resolve
        text = session.exec(select(Postmortem)).one().markdown
    assert "Rows marked **[out of band]** happened in the out-of-band Matrix room" in text
    assert "[out of band] **Bob Investigator**: Rotating the tokens now" in text
    assert "moved the response out of band" in text and "moved the response back to Slack" in text
    back_line = next(line for line in text.splitlines() if "back in Slack" in line and line.startswith("|"))
    assert "[out of band]" not in back_line


def test_a_homeserver_outage_is_a_clear_error_and_nothing_moves(
    make_harness: Callable[..., Harness], synapse: SynapseServer, oob_config: dict[str, Any]
) -> None:
    oob_config.pop("_logins")
    oob_config["matrix"]["homeserver"] = f"http://127.0.0.1:{free_port()}"
    h = make_harness(oob=oob_config)
    _, channel = h.declare("Ransomware on FS01 sev1")
    answer = h.slash(f"oob {REASON}", channel=channel).text
    assert "matrix" in answer.lower() and "unreachable" in answer, answer
    assert "Detection" in h.slash("status", channel=channel).text, "the incident stays in Slack"
    assert "out-of-band" not in channel_text(h.emulator, channel)


def test_without_oob_yaml_oob_says_how_to_set_it_up(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    _, channel = h.declare("Ransomware on FS01 sev1")
    answer = h.slash("oob", channel=channel).text
    assert "No out-of-band channel is set up. Write oob.yaml" in answer


def test_the_shell_moves_and_returns_an_incident(
    make_harness: Callable[..., Harness],
    synapse: SynapseServer,
    oob_config: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    oob_config.pop("_logins")
    h = make_harness(oob=oob_config)
    _, channel = h.declare("Ransomware on FS01 sev1")
    h.slash(f"assign legal <@{CAROL}|carol>", channel=channel)
    settings = h.bot.settings
    monkeypatch.setenv("SLACK_BOT_TOKEN", str(settings.slack_bot_token))
    monkeypatch.setenv("SLACK_API_URL", str(settings.slack_api_url))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IRCBOT_CONFIG_DIR", str(settings.config_dir))
    assert main(["oob", "INC-1", "--as", ALICE, "--reason", REASON]) == 0
    assert "INC-1 is out of band" in capsys.readouterr().out
    assert main(["oob", "INC-1", "--as", CAROL, "--return"]) == 0, "Carol is in the incident"
    assert "is back in Slack" in capsys.readouterr().out
    assert main(["oob", "INC-1", "--as", "U0NOBODY", "--return"]) == 1
    assert "There is no incident INC-1 that you can see" in capsys.readouterr().out


def notes_of(database_url: str) -> list[str]:
    """The notes of INC-1, read from the database as it is."""
    db = Database(database_url)
    try:
        with db.transaction() as session:
            incident = queries.incident_by_number(session=session, number=1)
            assert incident is not None and incident.id is not None
            rows = queries.timeline(session=session, incident_id=incident.id)
            return [e.text for e in rows if e.kind == TimelineKind.NOTE]
    finally:
        db.dispose()


def test_serve_listens_to_the_room_and_a_kill_9_loses_and_repeats_no_command(
    emulator: SlackEmulator,
    database_url: str,
    tmp_path: Path,
    serving: list[ServeProcess],
    synapse: SynapseServer,
    oob_config: dict[str, Any],
) -> None:
    logins = oob_config.pop("_logins")
    folder = write_config(tmp_path / "config")
    (folder / "oob.yaml").write_text(yaml.safe_dump(oob_config))
    env = {**serve_environment(emulator, database_url, folder), "MATRIX_BOT_PASSWORD": PASSWORD}
    first = ServeProcess(env)
    serving.append(first)
    first.wait_healthy()
    driver = SlackDriver(f"{first.url}/slack/events", SIGNING_SECRET, emulator)
    soc = emulator.add_channel("soc", members=[ALICE, BOB])
    assert "INC-1" in driver.slash(ALICE, soc, "declare Ransomware on FS01 sev1").text
    channel = emulator.channels()[-1]["id"]
    assert "is out of band" in driver.slash(ALICE, channel, f"oob {REASON}").text
    alice = synapse.login(logins[ALICE])
    room = alice.sync(None, timeout_ms=0).invited_rooms[0]
    alice.join(room)
    alice.send(room, "!incident note one", txn_id="n1")
    wait_until(lambda: notes_of(database_url) == ["one"])

    first.kill_hard()
    alice.send(room, "!incident note two, while the bot was down", txn_id="n2")
    second = ServeProcess(env)
    serving.append(second)
    second.wait_healthy()
    wait_until(lambda: len(notes_of(database_url)) >= 2)
    alice.send(room, "!incident note three", txn_id="n3")
    wait_until(lambda: len(notes_of(database_url)) >= 3)
    assert notes_of(database_url) == ["one", "two, while the bot was down", "three"]


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll a condition of a separate process's work."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_a_move_cut_short_holds_slack_off_for_its_lease_then_is_taken_up_with_the_same_room(
    make_harness: Callable[..., Harness], synapse: SynapseServer, oob_config: dict[str, Any]
) -> None:
    r = moved(make_harness, synapse, oob_config)

    def cut_short(ago: timedelta) -> None:  # as a process killed mid-move leaves it
        with r.h.bot.db.transaction() as session:
            row = session.exec(select(OutOfBand)).one()
            row.status, row.moved_at = "moving", r.h.clock.peek() - ago

    cut_short(timedelta(seconds=10))
    assert "handled out of band" in r.h.slash("status", channel=r.channel).text
    with pytest.raises(Conflict, match="being moved out of band already"):  # a second move (a shell's) waits
        move(r.h.bot.services, 1, by=ALICE, reason=None)
    cut_short(timedelta(minutes=3))
    assert "Detection" in r.h.slash("status", channel=r.channel).text, "a dead move gives the incident back to Slack"
    assert "is out of band" in r.h.slash("oob", channel=r.channel).text
    with r.h.bot.db.transaction() as session:
        row = session.exec(select(OutOfBand)).one()
    assert row.status == "away" and row.room_id == r.room, "the room it had made is used again"


def test_a_status_update_from_the_room_reaches_no_slack_stakeholder_channel(
    make_harness: Callable[..., Harness],
    synapse: SynapseServer,
    oob_config: dict[str, Any],
    emulator: SlackEmulator,
) -> None:
    stakeholders = emulator.add_channel("sec-updates", bot_member=True)
    escalation = escalation_config()
    escalation["severities"]["sev1"]["updates"] = {"every": "1h", "channel": stakeholders}  # type: ignore[index]
    r = moved(make_harness, synapse, oob_config, escalation=escalation)
    r.say(ALICE, "!incident update Attacker session revoked; restoring FS01")
    r.poll()
    assert channel_text(emulator, stakeholders) == "", "Slack may be the attacker's: no stakeholder post"
    answer = r.texts()[-1]
    assert "stakeholder channel in Slack was not updated: the incident is out of band" in answer
    assert "Attacker session revoked" in "\n".join(r.texts()), "the update itself is posted in the room"


def test_whoever_leaves_the_incident_is_shown_out_of_the_room(
    make_harness: Callable[..., Harness], synapse: SynapseServer, oob_config: dict[str, Any]
) -> None:
    r = moved(make_harness, synapse, oob_config)
    bob = oob_config["people"][BOB]
    r.poll()
    assert r.people[ALICE].members(r.room)[bob] == "join", "a member of the incident stays"
    left = {"type": "member_left_channel", "user": BOB, "channel": r.channel, "event_ts": "1.000002"}
    assert r.h.driver.event(left, event_id="Ev0BOBLEFT").status == 200  # taken out of the private Slack channel
    r.h.wait_for(lambda: events(r.h, kind=TimelineKind.MEMBER_LEFT))
    r.poll()
    assert r.people[ALICE].members(r.room)[bob] == "leave", "leaving the incident ends the room too"
