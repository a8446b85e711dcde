"""The evidence register: items with hashes, corrections, the chain of custody, and who may see it."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlmodel import col, select

from ircbot.emulator import CommandResult
from ircbot.store.records import CustodyTransfer, Evidence
from tests.conftest import Harness
from tests.factories import ALICE, BOB, CAROL, ERIN, MALLORY
from tests.scenario import events, incident

SHA256 = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
SHA1 = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
MD5 = "098f6bcd4621d373cade4e832627b4f6"
USAGE = "Usage: `/incident evidence"


def stored(h: Harness) -> Sequence[Evidence]:
    """Every stored item of evidence, in number order."""
    with h.bot.db.transaction() as session:
        return session.exec(select(Evidence).order_by(col(Evidence.number))).all()


def transfers(h: Harness) -> Sequence[CustodyTransfer]:
    """Every stored custody transfer, oldest first."""
    with h.bot.db.transaction() as session:
        return session.exec(select(CustodyTransfer).order_by(col(CustodyTransfer.id))).all()


def in_channel(result: CommandResult) -> str:
    assert [r.get("response_type") for r in result.responses] == ["in_channel"], result.responses
    return result.text


def refused(result: CommandResult) -> str:
    assert all(r.get("response_type", "ephemeral") == "ephemeral" for r in result.responses), result.responses
    assert result.text.startswith(":warning:"), result.text
    return result.text


def test_add_with_every_flag_records_who_when_hash_source_and_location(harness: Harness) -> None:
    _, channel = harness.declare()
    before = harness.clock.peek()
    reply = harness.slash(
        f"evidence add Memory image of FS01 --hash SHA256:{SHA256} --source “FS01 (file server)” "
        f'--location "Evidence locker 3"',
        channel=channel,
    )
    text = in_channel(reply)
    assert (
        f"*EV-1* registered: Memory image of FS01 — `sha256:{SHA256.lower()}`, from FS01 (file server), "
        f"stored at Evidence locker 3; custodian <@{ALICE}>."
    ) in text
    (item,) = stored(harness)
    assert (item.number, item.description, item.source, item.location) == (
        1,
        "Memory image of FS01",
        "FS01 (file server)",
        "Evidence locker 3",
    )
    assert (item.hash_algorithm, item.hash_value, item.collected_by) == ("sha256", SHA256.lower(), ALICE)
    assert item.collector_timezone == "Europe/Berlin" and item.corrects is None
    assert before <= item.collected_at <= harness.clock.peek()
    assert f"Collected by <@{ALICE}> at {item.collected_at:%Y-%m-%d %H:%M:%S} UTC (" in text
    assert ", Europe/Berlin)" in text


def test_add_without_flags_and_with_bare_digests_numbers_items_in_order(harness: Harness) -> None:
    _, channel = harness.declare()
    text = in_channel(harness.slash("evidence add Phishing mail headers", channel=channel, user=BOB))
    assert f"*EV-1* registered: Phishing mail headers — no hash given; custodian <@{BOB}>." in text
    harness.slash(f"evidence add Bob’s laptop disk --hash {SHA1} --location D:\\cases\\inc1", channel=channel)
    harness.slash(f"evidence add Dropper sample --hash MD5:{MD5.upper()} --source 'mail gateway'", channel=channel)
    harness.slash(f"evidence add Triage bundle --hash {SHA256}", channel=channel)
    rows = stored(harness)
    assert [(r.number, r.description, r.hash_algorithm, r.source, r.location) for r in rows] == [
        (1, "Phishing mail headers", None, None, None),
        (2, "Bob’s laptop disk", "sha1", None, "D:\\cases\\inc1"),
        (3, "Dropper sample", "md5", "mail gateway", None),
        (4, "Triage bundle", "sha256", None, None),
    ]
    assert [r.hash_value for r in rows] == [None, SHA1, MD5, SHA256.lower()]
    assert rows[0].collected_by == BOB and rows[0].collector_timezone == "America/New_York"


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("--hash sha256:abc", "`sha256:abc` is not a SHA-256 hash: it needs 64 hexadecimal characters (got 3)."),
        (f"--hash sha1:{SHA1}00", "is not a SHA-1 hash: it needs 40 hexadecimal characters (got 42)."),
        (
            f"--hash md5:{'z' * 31}q",
            "is not an MD5 hash: it may hold only hexadecimal characters (0–9, a–f), not `z`, `q`.",
        ),
        (f"--hash sha512:{'a' * 128}", "`sha512` is not a hash algorithm the register takes: give `sha256:<64 hex>`"),
        ("--hash sha256:", "`sha256:` is not a SHA-256 hash: it needs 64 hexadecimal characters (got 0)."),
        ("--hash", "`--hash` needs a value."),
        ('--hash ""', "`--hash` needs a value."),
        ("--hash abc123", "`abc123` is not a hash the register takes: give `sha256:<64 hex>`, `sha1:<40 hex>`"),
        (f"--hash {'g' * 64}", "is not a hash the register takes"),
    ],
)
def test_a_malformed_hash_is_refused_naming_the_problem_and_the_right_form(
    harness: Harness, flag: str, expected: str
) -> None:
    _, channel = harness.declare()
    text = refused(harness.slash(f"evidence add Memory image {flag}", channel=channel))
    assert expected in text and USAGE in text
    assert stored(harness) == [] and events(harness, kind="evidence_added") == []


def test_a_correction_is_a_new_item_naming_the_one_it_corrects(harness: Harness) -> None:
    _, channel = harness.declare()
    harness.slash(f"evidence add Memory image of FS01 --hash sha256:{SHA256[:-1]}0", channel=channel)
    harness.slash(f"evidence transfer EV-1 <@{BOB}|bob> imaging at the lab", channel=channel)
    text = in_channel(
        harness.slash(f"evidence add Memory image of FS01 --hash sha256:{SHA256} --corrects ev-1", channel=channel)
    )
    assert "*EV-2* registered, correcting EV-1: Memory image of FS01" in text
    assert f"EV-1 is in <@{BOB}>'s custody" in text and f"evidence transfer EV-2 <@{BOB}>" in text
    assert [(r.number, r.corrects) for r in stored(harness)] == [(1, None), (2, 1)]
    listing = harness.slash("evidence", channel=channel).text
    ev1, ev2 = (line for line in listing.splitlines() if line.startswith("• "))
    assert "*EV-1*" in ev1 and "_corrected by EV-2_" in ev1 and f"custodian <@{BOB}>" in ev1
    assert "*EV-2*" in ev2 and "corrects EV-1" in ev2 and "corrected by" not in ev2
    assert ":warning: Corrected by EV-2." in harness.slash("evidence EV-1", channel=channel).text
    assert [e.data.get("corrects") for e in events(harness, kind="evidence_added")] == [None, 1]

    again = refused(harness.slash("evidence add Memory image --corrects EV-1", channel=channel))
    assert "EV-1 is already corrected by EV-2; correct EV-2 instead." in again
    unknown = refused(harness.slash("evidence add Memory image --corrects EV-9", channel=channel))
    assert "There is no EV-9 in INC-1; its register holds EV-1, EV-2." in unknown
    assert "give it as EV-<n>" in refused(harness.slash("evidence add Image --corrects nine", channel=channel))
    assert len(stored(harness)) == 2


def test_correcting_in_an_empty_register_says_there_is_nothing_yet(harness: Harness) -> None:
    _, channel = harness.declare()
    text = refused(harness.slash("evidence add Memory image --corrects EV-1", channel=channel))
    assert "INC-1 has no evidence registered yet, so there is no EV-1." in text
    assert stored(harness) == []


def test_custody_passes_along_a_chain_of_transfers_and_each_is_recorded(harness: Harness) -> None:
    _, channel = harness.declare()
    harness.slash(f"assign analyst <@{BOB}|bob>", channel=channel)
    harness.slash(f"evidence add Memory image of FS01 --hash sha256:{SHA256} --location 'Locker 3'", channel=channel)
    first = in_channel(harness.slash(f"evidence transfer EV-1 <@{BOB}|bob> imaging at the lab", channel=channel))
    assert f"*EV-1* handed from <@{ALICE}> to <@{BOB}> at " in first and ": imaging at the lab." in first
    assert "on behalf of" not in first and "not in this private incident" not in first

    second = in_channel(harness.slash(f'evidence transfer EV-1 <@{ERIN}> "courier to DFIR retainer"', channel=channel))
    assert f"handed from <@{BOB}> to <@{ERIN}>" in second and f"Custodian now <@{ERIN}>." in second
    assert f"Recorded by <@{ALICE}> on behalf of <@{BOB}>, the previous custodian." in second
    assert f"<@{ERIN}> is not in this private incident" in second and "/incident join INC-1" in second

    rows = transfers(harness)
    assert [(t.from_user, t.to_user, t.purpose, t.recorded_by) for t in rows] == [
        (ALICE, BOB, "imaging at the lab", ALICE),
        (BOB, ERIN, "courier to DFIR retainer", ALICE),
    ]
    assert rows[0].at < rows[1].at
    moved = events(harness, kind="evidence_transferred")
    assert [(e.actor, e.data["number"], e.data["from"], e.data["to"], e.data["purpose"]) for e in moved] == [
        (ALICE, 1, ALICE, BOB, "imaging at the lab"),
        (ALICE, 1, BOB, ERIN, "courier to DFIR retainer"),
    ]

    view = harness.slash("evidence EV-1", channel=channel).text
    collected, to_bob, to_erin = (line for line in view.splitlines() if line[:3] in ("1. ", "2. ", "3. "))
    assert f"collected by <@{ALICE}>" in collected
    assert (
        f"{rows[0].at:%Y-%m-%d %H:%M:%S} UTC: <@{ALICE}> → <@{BOB}>, imaging at the lab (recorded by <@{ALICE}>)"
        in (to_bob)
    )
    assert f"<@{BOB}> → <@{ERIN}>, courier to DFIR retainer (recorded by <@{ALICE}>)" in to_erin
    assert f"Current custodian: <@{ERIN}>" in view and "Stored at: Locker 3" in view and SHA256.lower() in view
    assert "Source: not given" in view and "Collected by" in view and "Europe/Berlin" in view

    listing = harness.slash("evidence list", channel=channel).text
    assert f"*EV-1* Memory image of FS01 · `sha256:{SHA256.lower()}` · custodian <@{ERIN}> · stored at Locker 3" in (
        listing
    )


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (f"evidence transfer EV-7 <@{BOB}> imaging", "There is no EV-7 in INC-1; its register holds EV-1."),
        (f"evidence transfer EV-1 <@{BOB}>", "Say why EV-1 changes hands"),
        ("evidence transfer EV-1 @bob imaging", "`@bob` is not a Slack user mention."),
        ("evidence transfer EV-1 bob imaging", "`bob` is not a Slack user mention."),
        ("evidence transfer EV-1", "Name who receives EV-1"),
        ("evidence transfer", "Name the item, who receives it and why"),
        (f"evidence transfer one <@{BOB}> imaging", "`one` does not name an item of evidence"),
        (f"evidence transfer EV-1 <@{ALICE}> keep it", f"EV-1 is already in <@{ALICE}>'s custody."),
    ],
)
def test_a_bad_transfer_is_refused_and_nothing_changes_hands(harness: Harness, command: str, expected: str) -> None:
    _, channel = harness.declare()
    harness.slash("evidence add Memory image of FS01", channel=channel)
    assert expected in refused(harness.slash(command, channel=channel))
    assert transfers(harness) == [] and events(harness, kind="evidence_transferred") == []


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("evidence frobnicate", "`frobnicate` is not an evidence subcommand: use `add`, `transfer`, `list`"),
        ("evidence list everything", "`list` takes nothing after it"),
        ("evidence EV-1 now", "`EV-1` is not an evidence subcommand"),
        ("evidence add", "Describe the evidence, e.g."),
        ("evidence add --hash sha1:" + SHA1, "Describe the evidence, e.g."),
        ('evidence add Image --location "Locker 3', "A double quote is not closed"),
        ("evidence add Image --custodian bob", "Unknown option `--custodian`. Options here: --corrects, --hash"),
        ("evidence add Image --location", "`--location` needs a value."),
        ("evidence add Image --location Locker 3", "`3` comes after the options: put the description first"),
        ("evidence add --source fw01 Firewall logs", "`Firewall logs` comes after the options"),
    ],
)
def test_other_input_gets_the_usage_line(harness: Harness, command: str, expected: str) -> None:
    _, channel = harness.declare()
    text = refused(harness.slash(command, channel=channel))
    assert expected in text and USAGE in text
    assert stored(harness) == []


def test_an_empty_register_says_how_to_add_and_an_unknown_item_names_the_items(harness: Harness) -> None:
    _, channel = harness.declare()
    for command in ("evidence", "evidence list"):
        assert "INC-1 has no evidence registered yet. Add an item with `/incident evidence add" in (
            harness.slash(command, channel=channel).text
        )
    assert "INC-1 has no evidence registered yet" in refused(harness.slash("evidence EV-1", channel=channel))
    harness.slash("evidence add Memory image", channel=channel)
    harness.slash("evidence add Disk image", channel=channel)
    assert "There is no EV-3 in INC-1; its register holds EV-1, EV-2." in refused(
        harness.slash("evidence ev-3", channel=channel)
    )
    assert "*Evidence register of INC-1* (2 items)" in harness.slash("evidence", channel=channel).text


def test_every_add_and_transfer_is_on_the_timeline(harness: Harness) -> None:
    _, channel = harness.declare()
    harness.slash(f"evidence add Memory image --hash sha256:{SHA256}", channel=channel)
    harness.slash("evidence add Firewall logs --source fw01 --corrects EV-1", channel=channel, user=BOB)
    harness.slash(f"evidence transfer EV-2 <@{CAROL}> legal hold", channel=channel, user=BOB)
    added = events(harness, kind="evidence_added")
    assert [(e.actor, e.data) for e in added] == [
        (ALICE, {"number": 1, "description": "Memory image", "hash": f"sha256:{SHA256.lower()}", "v": 1}),
        (BOB, {"number": 2, "description": "Firewall logs", "corrects": 1, "v": 1}),
    ]
    assert added[0].text == f"{ALICE} registered EV-1: Memory image (sha256:{SHA256.lower()})"
    assert added[1].text == f"{BOB} registered EV-2, correcting EV-1: Firewall logs"
    (moved,) = events(harness, kind="evidence_transferred")
    assert moved.text == f"EV-2 handed from {BOB} to {CAROL} by {BOB}: legal hold"


def test_the_collectors_zone_falls_back_to_the_bots_when_slack_gives_none(harness: Harness) -> None:
    _, channel = harness.declare()
    harness.emulator.users[BOB]["tz"] = None
    harness.slash("evidence add Phishing mail headers", channel=channel, user=BOB)
    harness.emulator.fail_next("users.info", "fatal_error")
    in_channel(harness.slash("evidence add Proxy logs", channel=channel))
    assert [(r.collected_by, r.collector_timezone) for r in stored(harness)] == [(BOB, "UTC"), (ALICE, "UTC")]


def test_evidence_may_be_added_and_handed_over_after_resolution(harness: Harness) -> None:
    _, channel = harness.declare()
    harness.slash("resolve Contained and restored", channel=channel)
    assert incident(harness).status == "resolved"
    in_channel(harness.slash("evidence add Post-incident disk image", channel=channel))
    in_channel(harness.slash(f"evidence transfer EV-1 <@{BOB}> long-term storage", channel=channel))
    assert len(stored(harness)) == 1 and len(transfers(harness)) == 1


def test_the_key_first_works_elsewhere_and_answers_only_the_caller(harness: Harness) -> None:
    harness.declare()
    reply = harness.slash("INC-1 evidence add Memory image of FS01")
    assert all(r.get("response_type", "ephemeral") == "ephemeral" for r in reply.responses)
    assert "*EV-1* registered" in reply.text
    assert "*EV-1* Memory image of FS01" in harness.slash("INC-1 evidence").text


def test_an_outsider_can_neither_see_nor_add_evidence_of_a_private_incident(harness: Harness) -> None:
    _, channel = harness.declare()
    harness.slash(f"evidence add Memory image of FS01 --hash sha256:{SHA256}", channel=channel)
    for command in (
        "INC-1 evidence",
        "INC-1 evidence EV-1",
        "INC-1 evidence add Planted evidence",
        f"INC-1 evidence transfer EV-1 <@{MALLORY}> mine now",
    ):
        text = refused(harness.slash(command, user=MALLORY))
        assert "no incident INC-1 that you can see" in text and "Memory image" not in text, command
    assert [r.description for r in stored(harness)] == ["Memory image of FS01"] and transfers(harness) == []
