"""The timeline's hash chain: written with every event, checked by `ircbot verify`, tampering found and named."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ircbot.domain import chain
from ircbot.domain.chain import Verdict, verify_incident
from ircbot.store.db import Database
from ircbot.store.models import Incident, TimelineEvent
from tests.conftest import Harness, serve_environment
from tests.factories import BOB
from tests.scenario import channel_text, events, incident


def busy_incident(h: Harness) -> tuple[Incident, list[TimelineEvent]]:
    """INC-1 with a handful of events of different kinds."""
    _, channel = h.declare()
    h.slash(f"assign analyst <@{BOB}|bob>", channel=channel)
    h.slash("check 1", channel=channel)
    h.slash("note Patient zero: phishing mail to j.doe", channel=channel)
    h.slash("severity sev2", channel=channel)
    return incident(h), list(events(h))


def verdict(h: Harness) -> Verdict:
    with h.bot.db.transaction() as session:
        return verify_incident(session, incident(h))


def sql(h: Harness, statement: str, **params: object) -> None:
    with h.bot.db.transaction() as session:
        session.execute(text(statement), params)


def by_seq(rows: list[TimelineEvent], seq: int) -> TimelineEvent:
    return next(e for e in rows if e.seq == seq)


def test_every_event_is_a_link_and_the_head_is_on_the_incident(harness: Harness) -> None:
    stored, rows = busy_incident(harness)
    chained = sorted(rows, key=lambda e: e.seq or 0)
    assert [e.seq for e in chained] == list(range(1, len(rows) + 1)) and len(rows) >= 6
    assert chained[0].prev_hash == chain.GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(chained))
    assert (stored.chain_seq, stored.chain_head) == (chained[-1].seq, chained[-1].hash)
    result = verdict(harness)
    assert result.intact, result.line()
    assert result.line() == f"INC-1: intact — {len(rows)} events, head #{len(rows)} {stored.chain_head}"


Tamper = Callable[[Harness, list[TimelineEvent]], None]


def edit(h: Harness, rows: list[TimelineEvent]) -> None:
    sql(h, "UPDATE timelineevent SET text = 'nothing to see' WHERE id = :id", id=by_seq(rows, 4).id)


def delete(seq: int | str) -> Tamper:
    def tamper(h: Harness, rows: list[TimelineEvent]) -> None:
        number = len(rows) if seq == "last" else int(seq)
        sql(h, "DELETE FROM timelineevent WHERE id = :id", id=by_seq(rows, number).id)

    return tamper


def insert_loose(h: Harness, rows: list[TimelineEvent]) -> None:
    sql(
        h,
        "INSERT INTO timelineevent (incident_id, at, kind, actor, text, data) "
        "VALUES (:incident, :at, 'note', 'U0MALLORY', 'Approved by the CISO', '{}')",
        incident=rows[0].incident_id,
        at=rows[2].at.replace(tzinfo=None),
    )


def append_forged(h: Harness, rows: list[TimelineEvent]) -> None:
    """A well-formed link after the last one, as someone who knows the hashing would write it."""
    last = by_seq(rows, len(rows))
    assert last.recorded_at is not None
    forged = TimelineEvent(
        incident_id=last.incident_id, at=last.at, kind="note", actor="U0MALLORY", text="Approved by the CISO", data={}
    )
    forged.seq, forged.recorded_at, forged.prev_hash = len(rows) + 1, last.recorded_at, last.hash
    forged.hash = chain.link_hash(chain.event_body("INC-1", forged), last.hash or "")
    with h.bot.db.transaction() as session:
        session.add(forged)


def swap(h: Harness, rows: list[TimelineEvent]) -> None:
    first, second = by_seq(rows, 3), by_seq(rows, 4)
    sql(h, "UPDATE timelineevent SET seq = -1 WHERE id = :id", id=first.id)
    sql(h, "UPDATE timelineevent SET seq = 3 WHERE id = :id", id=second.id)
    sql(h, "UPDATE timelineevent SET seq = 4 WHERE id = :id", id=first.id)


@pytest.mark.parametrize(
    ("tamper", "what", "seq"),
    [
        (edit, "edited", 4),
        (delete(1), "missing", 2),
        (delete(3), "missing", 4),
        (delete("last"), "truncated", None),
        (insert_loose, "inserted", None),
        (append_forged, "inserted", -1),  # -1: the one after the last
        (swap, "reordered", 3),
    ],
    ids=["edit", "delete-first", "delete-middle", "delete-last", "insert", "insert-after-last", "reorder"],
)
def test_tampering_in_the_database_is_found_and_named(harness: Harness, tamper: Tamper, what: str, seq: int) -> None:
    _, rows = busy_incident(harness)
    tamper(harness, rows)
    result = verdict(harness)
    expected = len(rows) + 1 if seq == -1 else seq
    assert result.broken is not None and (result.broken.what, result.broken.seq) == (what, expected), result.line()


def test_the_database_refuses_a_second_event_with_the_same_sequence_number(harness: Harness) -> None:
    _, rows = busy_incident(harness)
    copy = by_seq(rows, 3)
    with pytest.raises(IntegrityError):
        sql(
            harness,
            "INSERT INTO timelineevent (incident_id, at, kind, actor, text, data, seq) "
            "VALUES (:incident, :at, 'note', 'U0MALLORY', 'Approved by the CISO', '{}', 3)",
            incident=copy.incident_id,
            at=copy.at.replace(tzinfo=None),
        )


def test_a_rebuilt_chain_is_caught_by_the_head_and_by_recording_times(harness: Harness) -> None:
    stored, rows = busy_incident(harness)
    chained = sorted(rows, key=lambda e: e.seq or 0)
    # Someone rewrites event #3 and recomputes every hash after it, but cannot reach the head kept elsewhere.
    links, prev = [], chain.GENESIS
    for event in chained:
        body = chain.event_body("INC-1", event)
        if event.seq == 3:
            body["text"] = "rewritten"
        if event.seq == 5:
            body["recorded_at"] = "2000-01-01T00:00:00.000000Z"
        digest = chain.link_hash(body, prev)
        links.append(chain.Link(event.id or 0, event.seq, prev, digest, body))
        prev = digest
    forged = chain.verify("INC-1", links, head_seq=stored.chain_seq, head_hash=prev)
    assert forged.broken is not None and (forged.broken.what, forged.broken.seq) == ("backwards", 5)
    # Without the backwards time, only the head kept on the incident row gives the rewrite away.
    rebuilt = chain.verify("INC-1", links[:4], head_seq=4, head_hash=stored.chain_head)
    assert rebuilt.broken is not None and (rebuilt.broken.what, rebuilt.broken.seq) == ("edited", 4), rebuilt.line()


def test_the_canonical_form_sorts_keys_and_keeps_unicode() -> None:
    assert chain.canonical({"b": 1, "a": [True, None, "é"]}) == '{"a":[true,null,"é"],"b":1}'.encode()
    when = datetime(2026, 12, 2, 1, 2, 3, 4, tzinfo=UTC)
    body = chain.body(key="INC-1", seq=1, at=when, recorded_at=when, kind="note", actor=None, text="x", data={1: (2,)})
    assert body["data"] == {"1": [2]} and body["at"] == "2026-12-02T01:02:03.000004Z"


def test_the_migration_chains_the_events_recorded_before_it(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    try:
        db.migrate("0012")
        now = datetime(2026, 11, 1, 9, tzinfo=UTC)
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO incident (id, number, title, severity, status, stage, playbook, is_private, is_drill,"
                    " false_positive, declared_by, detected_at, declared_at, card_version, card_shown)"
                    " VALUES (1, 1, 'Old', 'sev2', 'open', 'detection', 'default', true, false, false, 'U1', :t, :t,"
                    " 0, 0)"
                ),
                {"t": now.replace(tzinfo=None)},
            )
            for minutes, kind in ((0, "declared"), (5, "note"), (2, "captured"), (9, "note")):
                connection.execute(
                    text(
                        "INSERT INTO timelineevent (incident_id, at, kind, actor, text, data)"
                        " VALUES (1, :at, :kind, 'U1', :words, '{\"v\": 1}')"
                    ),
                    {"at": (now + timedelta(minutes=minutes)).replace(tzinfo=None), "kind": kind, "words": kind},
                )
        db.migrate()
        with Session(db.engine) as session:
            stored = session.get(Incident, 1)
            assert stored is not None and stored.chain_seq == 4
            result = verify_incident(session, stored)
        assert result.intact, result.line()
    finally:
        db.dispose()


@pytest.mark.slow
def test_ircbot_verify_exits_0_when_intact_and_1_naming_the_first_bad_event(harness: Harness) -> None:
    _, rows = busy_incident(harness)
    env = serve_environment(
        harness.emulator, str(harness.bot.settings.database_url), Path(harness.bot.settings.config_dir)
    )

    def verify(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ircbot.cli", "verify", *args], env=env, capture_output=True, text=True, timeout=60
        )

    intact = verify("INC-1")
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.startswith("INC-1: intact")
    edit(harness, rows)
    broken = verify("--all")
    assert broken.returncode == 1
    assert f"INC-1: BROKEN at event #4 (id {by_seq(rows, 4).id}): edited" in broken.stderr
    assert "0 of 1 incident timelines intact" in broken.stdout
    unknown = verify("INC-99")
    assert unknown.returncode == 1 and "there is no incident INC-99" in unknown.stderr
    neither = verify()
    assert neither.returncode == 2 and "one of the arguments key --all is required" in neither.stderr


def test_the_head_is_published_with_the_resolve_summary_and_in_the_postmortem(harness: Harness) -> None:
    _, channel = harness.declare()
    harness.slash("note Contained on FS01", channel=channel)
    harness.slash("resolve Restored from backups", channel=channel)
    sealed = incident(harness)
    resolved = next(e for e in events(harness, kind="resolved"))
    assert channel_text(harness.emulator, channel).count(f"hash `{resolved.hash}`") == 1
    assert f"Timeline sealed at event #{resolved.seq}" in channel_text(harness.emulator, channel)
    (upload,) = harness.emulator.files.values()
    footer = upload["content"].decode().rsplit("---", 1)[1]
    assert f"hash chain verified intact; head #{resolved.seq} `{resolved.hash}`" in footer
    assert sealed.chain_seq == (resolved.seq or 0) + 1  # the compiled postmortem is recorded after it
