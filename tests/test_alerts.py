"""Alert intake: senders' real payloads over HTTP, auth, limits, dedup, grouping, triage buttons, drills, replicas."""

from __future__ import annotations

import copy
import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy.exc import DataError, OperationalError
from sqlmodel import col, select

from ircbot.config import load_config
from ircbot.domain.alert_intake import process_alerts
from ircbot.domain.alert_receiving import GroupCommit
from ircbot.domain.alert_sources import NormalisedAlert
from ircbot.domain.stats import collect
from ircbot.domain.triage import declare_alert
from ircbot.errors import ConfigError, Conflict
from ircbot.store.models import Alert, Postmortem
from ircbot.web import MAX_BODY
from tests.conftest import ALERT_TOKEN, Harness
from tests.factories import ALICE, BOB, write_config
from tests.scenario import buttons, channel_text, events, incident, incident_count, roles

FIXTURES = Path(__file__).parent / "fixtures" / "alerts"
CRITICAL_DECLARES = {"rules": [{"when": {"severity": "critical"}, "declare": {"severity": "sev1"}}]}


def payload(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@dataclass(frozen=True)
class Answer:
    status_code: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def post(h: Harness, source: str, body: Any, *, token: str | None = ALERT_TOKEN, in_path: bool = False) -> Answer:
    """Send alerts the way a monitoring system does: JSON, a bearer token (or the token in the path)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    url = f"{h.server.url}/alerts/{source}" + (f"/{token}" if in_path else "")
    headers = {"Content-Type": "application/json"}
    if token is not None and not in_path:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Answer(response.status, response.read().decode())
    except urllib.error.HTTPError as exc:
        with exc:
            return Answer(exc.code, exc.read().decode())


def stored(h: Harness) -> list[Alert]:
    with h.bot.db.transaction() as session:
        return list(session.exec(select(Alert).order_by(col(Alert.id))).all())


def triage_channel(make_harness: Callable[..., Harness], **alerts: Any) -> tuple[Harness, str]:
    probe = make_harness()
    channel = probe.emulator.add_channel("soc-triage", bot_member=True)
    return make_harness(alerts={"triage_channel": channel, **alerts}), channel


def cards(h: Harness, channel: str) -> list[dict[str, Any]]:
    return [m for m in h.emulator.messages(channel) if m.get("user") == h.emulator.bot_user_id]


@pytest.mark.parametrize(
    ("source", "fixture", "expected"),
    [
        (
            "alertmanager",
            "alertmanager_firing",
            {
                "fingerprint": "1a30ba71cca2921f",
                "group_key": '{}/{severity="critical"}:{alertname="ProbeFailure"}',
                "severity": "critical",
                "title": "BlackBox Probe Failure: https://server.example.org",
                "started_at": datetime(2023, 2, 6, 13, 8, 45, 828000, UTC),
            },
        ),
        ("splunk", "splunk", {"severity": "medium", "title": "Brute force against SSH", "started_at": None}),
        ("splunk", "splunk_unnamed", {"title": "Splunk alert scheduler_admin_search_W2_at_14232356_132"}),
        (
            "sentinel",
            "sentinel_fired",
            {
                "fingerprint": payload("sentinel_fired")["data"]["essentials"]["alertId"],
                "severity": "low",
                "status": "firing",
                "title": "WCUS-R2-Gen2",
                "started_at": datetime(2019, 3, 22, 13, 58, 24, 371321, UTC),
            },
        ),
        ("sentinel", "sentinel_resolved", {"status": "resolved"}),
        (
            "generic",
            "generic",
            {
                "fingerprint": "edr-lsass-ws0142",
                "severity": "high",
                "title": "EDR: credential dumping on WS-0142",
                "started_at": datetime(2026, 3, 2, 8, 15, tzinfo=UTC),
            },
        ),
    ],
)
def test_every_source_is_accepted_and_normalised(
    harness: Harness, source: str, fixture: str, expected: dict[str, Any]
) -> None:
    answer = post(harness, source, payload(fixture))

    assert answer.status_code == 202, answer.text
    first = stored(harness)[0]
    assert first.source == source and first.outcome is None
    assert {name: getattr(first, name) for name in expected} == expected
    assert answer.json()["accepted"] == len(stored(harness))


def test_a_sender_that_cannot_set_headers_puts_the_token_in_the_path(harness: Harness) -> None:
    assert post(harness, "splunk", payload("splunk"), in_path=True).status_code == 202
    assert len(stored(harness)) == 1


@pytest.mark.parametrize("token", [None, "wrong-token", ALERT_TOKEN[:-1]])
def test_a_wrong_or_missing_token_is_401_and_stores_nothing(harness: Harness, token: str | None) -> None:
    assert post(harness, "alertmanager", payload("alertmanager_firing"), token=token).status_code == 401
    assert post(harness, "splunk", payload("splunk"), token=token or "x", in_path=True).status_code == 401
    assert stored(harness) == []


def test_a_source_of_its_own_takes_only_its_own_token(
    make_harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPLUNK_ALERT_TOKEN", "splunk-only")
    h = make_harness(alerts={"token_env": {"splunk": "SPLUNK_ALERT_TOKEN"}})

    assert post(h, "splunk", payload("splunk")).status_code == 401
    assert post(h, "splunk", payload("splunk"), token="splunk-only", in_path=True).status_code == 202
    assert post(h, "generic", payload("generic"), token="splunk-only").status_code == 401
    assert len(stored(h)) == 1


def test_a_body_over_the_limit_is_413(harness: Harness) -> None:
    where = urlsplit(harness.server.url)
    connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=10)
    connection.putrequest("POST", "/alerts/generic")
    connection.putheader("Authorization", f"Bearer {ALERT_TOKEN}")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(2 * MAX_BODY))
    connection.endheaders()
    connection.send(json.dumps(payload("generic")).encode())  # far short of the size announced: not waited for
    answer = connection.getresponse()
    assert answer.status == 413 and str(MAX_BODY) in answer.read().decode()
    connection.close()
    assert stored(harness) == []


@pytest.mark.parametrize(
    ("source", "body", "problem"),
    [
        ("generic", b'{"title": "half', "the body is not JSON"),
        ("generic", {"severity": "high"}, "title is missing"),
        ("generic", {"title": "x", "severity": "urgent"}, "severity must be one of critical, high"),
        ("generic", {"title": "lsass\u0000.exe", "severity": "high"}, "holds a NUL character"),  # refused alike
        ("alertmanager", {**payload("alertmanager_firing"), "version": "3"}, 'version must be "4"'),
        ("alertmanager", {k: v for k, v in payload("alertmanager_firing").items() if k != "groupKey"}, "groupKey"),
        ("splunk", {"search_name": "x", "result": {}}, "sid is missing"),
        ("sentinel", {"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": {}}}, "alertId is missing"),
        ("sentinel", {**payload("sentinel_fired"), "schemaId": "Microsoft.Insights/activityLogs"}, "schemaId must"),
    ],
)
def test_a_malformed_body_is_400_naming_the_problem(harness: Harness, source: str, body: Any, problem: str) -> None:
    answer = post(harness, source, body)
    assert answer.status_code == 400
    assert problem in answer.json()["error"]
    assert stored(harness) == []


def test_an_unknown_source_is_404(harness: Harness) -> None:
    assert post(harness, "nagios", payload("generic")).status_code == 404


def test_a_rule_declares_one_incident_per_group_detected_at_the_earliest_alert(
    make_harness: Callable[..., Harness],
) -> None:
    h = make_harness(alerts=CRITICAL_DECLARES)
    post(h, "alertmanager", payload("alertmanager_firing"))

    h.run_timers()

    assert incident_count(h) == 1
    opened = incident(h)
    assert opened.severity == "sev1" and opened.channel_id is not None
    assert opened.detected_at == datetime(2023, 2, 6, 13, 4, 15, 120000, UTC)  # the earlier of the two alerts
    assert roles(h)["manager"] == ALICE  # the declarer role's on-call
    assert [e.data["title"] for e in events(h, kind="alert")] == [
        "BlackBox Probe Failure: https://server.example.org",
        "BlackBox Probe Failure: https://vpn.example.org",
    ]
    assert {a.outcome for a in stored(h)} == {"declared", "attached"}
    h.advance(minutes=2)  # past the declare's lease: a rule's declare was never held up, so no one is told it was
    assert not [e for e in events(h, kind="warning") if "held up" in e.text]


def test_a_new_alert_in_the_group_is_attached_and_a_resolved_one_noted(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(alerts=CRITICAL_DECLARES)
    first = payload("alertmanager_firing")
    first["alerts"] = first["alerts"][:1]
    post(h, "alertmanager", first)
    h.run_timers()
    channel = incident(h).channel_id
    assert channel is not None

    post(h, "alertmanager", payload("alertmanager_firing"))  # the group again, now with a second alert
    h.run_timers()
    post(h, "alertmanager", payload("alertmanager_resolved"))
    h.run_timers()

    assert incident_count(h) == 1
    text = channel_text(h.emulator, channel)
    assert "New critical alert from alertmanager in this incident: *BlackBox Probe Failure: https://vpn" in text
    assert "alertmanager says this alert cleared" in text
    assert "in this incident: *BlackBox Probe Failure: https://server" not in text  # its repeat is only counted
    assert [e.data["title"] for e in events(h, kind="alert_resolved")] == [
        "BlackBox Probe Failure: https://server.example.org"
    ]
    assert incident(h).status == "open"
    assert [a.outcome for a in stored(h)] == ["declared", "deduplicated", "attached", "resolved"]


def test_a_fingerprint_seen_again_within_the_window_is_counted_not_triaged_again(
    make_harness: Callable[..., Harness],
) -> None:
    h, channel = triage_channel(make_harness, dedup_window="1h")
    post(h, "generic", payload("generic"))
    h.run_timers()
    h.advance(minutes=30)
    post(h, "generic", payload("generic"))
    h.run_timers()
    h.advance(minutes=59)  # the window slides: an hour from the last time it was seen
    post(h, "generic", payload("generic"))
    h.run_timers()

    assert [a.outcome for a in stored(h)] == ["triage", "deduplicated", "deduplicated"]
    assert len(cards(h, channel)) == 1
    h.advance(minutes=121)
    post(h, "generic", payload("generic"))
    h.run_timers()
    assert stored(h)[-1].outcome == "triage" and len(cards(h, channel)) == 2


def test_declare_in_triage_opens_the_incident_with_the_clicker_as_manager(
    make_harness: Callable[..., Harness],
) -> None:
    h, channel = triage_channel(make_harness)
    post(h, "generic", payload("generic"))
    h.run_timers()
    card = cards(h, channel)[0]
    assert [b["text"]["text"] for b in buttons(card)] == ["Declare", "Dismiss"]
    assert "EDR: credential dumping on WS-0142" in h.emulator.message_text(card)

    h.driver.click(BOB, channel, card["ts"], "alert_declare")

    opened = incident(h)
    assert opened.title == "EDR: credential dumping on WS-0142" and opened.severity == "sev2"
    assert opened.detected_at == min(datetime(2026, 3, 2, 8, 15, tzinfo=UTC), opened.declared_at)
    assert roles(h)["manager"] == BOB
    answered = next(m for m in h.emulator.messages(channel) if m["ts"] == card["ts"])
    assert f"Declared as INC-1 by <@{BOB}>" in h.emulator.message_text(answered)
    assert buttons(answered) == []
    with pytest.raises(Conflict, match=f"declared as INC-1 by <@{BOB}> already"):  # a second click, from a stale copy
        declare_alert(h.bot.services, alert_id=stored(h)[0].id or 0, actor=ALICE)
    assert incident_count(h) == 1


def test_dismiss_records_a_false_positive_and_who_said_so(make_harness: Callable[..., Harness]) -> None:
    h, channel = triage_channel(make_harness)
    post(h, "splunk", payload("splunk"), in_path=True)
    h.run_timers()
    card = cards(h, channel)[0]

    h.driver.click(ALICE, channel, card["ts"], "alert_dismiss", wait=False)
    view_id = h.wait_for(
        lambda: next((k for k, v in h.emulator.views.items() if v["callback_id"] == "alert_dismiss_modal"), None)
    )
    assert [a.outcome for a in stored(h)] == ["triage"], "nothing is dismissed until the form is sent"
    reason = {"reason": {"value": {"type": "plain_text_input", "value": "Quarterly pentest from 198.51.100.7"}}}
    assert h.driver.submit_view(ALICE, view_id, reason).status == 200

    h.wait_for(lambda: stored(h)[0].outcome == "dismissed")
    assert incident_count(h) == 0
    [alert] = stored(h)
    assert (alert.outcome, alert.decided_by, alert.reason) == (
        "dismissed",
        ALICE,
        "Quarterly pentest from 198.51.100.7",
    )
    answered = h.wait_for(
        lambda: next(
            (m for m in h.emulator.messages(channel) if m["ts"] == card["ts"] and "Dismissed" in m["text"]), None
        )
    )
    assert f"Dismissed as a false positive by <@{ALICE}>: Quarterly pentest" in h.emulator.message_text(answered)
    found = collect(h.bot.db, viewer=None, since=h.clock.peek() - timedelta(days=1), until=h.clock.peek())
    assert [(s.source, s.received, s.dismissed) for s in found.alerts] == [("splunk", 1, 1)]


def test_rules_drop_and_the_stats_count_each_outcome_per_source(make_harness: Callable[..., Harness]) -> None:
    rules = [
        {"when": {"severity": "info"}, "drop": True},
        {"when": {"source": "splunk", "labels.search_name": "/Brute force/"}, "declare": {"severity": "sev2"}},
    ]
    h, _ = triage_channel(make_harness, rules=rules)
    post(h, "generic", {**payload("generic"), "severity": "info", "fingerprint": "noise"})
    post(h, "splunk", payload("splunk"))
    post(h, "splunk", payload("splunk"))
    post(h, "generic", payload("generic"))
    h.run_timers()

    assert [a.outcome for a in stored(h)] == ["dropped", "declared", "deduplicated", "triage"]
    assert incident(h).severity == "sev2"
    report = h.slash("stats").text
    assert "Alerts" in report and "splunk" in report
    found = collect(h.bot.db, viewer=None, since=h.clock.peek() - timedelta(days=1), until=h.clock.peek())
    counts = {s.source: (s.received, s.deduplicated, s.declared, s.dismissed, s.dropped) for s in found.alerts}
    assert counts == {"generic": (2, 0, 0, 0, 1), "splunk": (2, 1, 1, 0, 0)}


def test_an_alert_labelled_drill_opens_a_drill(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(alerts={"rules": [{"when": {"labels.drill": "true"}, "declare": {"severity": "sev1"}}]})
    drill = copy.deepcopy(payload("generic"))
    drill["labels"]["drill"] = "true"

    post(h, "generic", drill)
    h.run_timers()

    assert incident(h).is_drill
    assert h.emulator.im_channel(BOB) is None  # drills never page


def test_detection_time_feeds_the_metrics(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(alerts={"rules": [{"when": {"severity": "high"}, "declare": {"severity": "sev2"}}]})
    started = h.clock.peek() - timedelta(minutes=40)
    post(h, "generic", {**payload("generic"), "started_at": started.isoformat()})
    h.run_timers()
    channel = incident(h).channel_id
    h.advance(minutes=20)

    h.slash("resolve contained and cleaned", channel=channel)

    found = collect(h.bot.db, viewer=None, since=h.clock.peek() - timedelta(days=1), until=h.clock.peek())
    mttr = found.total.mttr.median
    assert mttr is not None and abs(mttr - timedelta(minutes=60)) < timedelta(seconds=1)  # from the alert's start
    with h.bot.db.transaction() as session:
        markdown = session.exec(select(Postmortem.markdown)).one()
    assert "## Alerts" in markdown and "| generic | high | EDR: credential dumping on WS-0142 | declared |" in markdown


def test_alerts_are_processed_once_by_two_bots_on_one_database(make_harness: Callable[..., Harness]) -> None:
    first = make_harness(alerts=CRITICAL_DECLARES)
    second = make_harness(alerts=CRITICAL_DECLARES)
    for n in range(10):
        body = copy.deepcopy(payload("alertmanager_firing"))
        for alert in body["alerts"]:
            alert["fingerprint"] += f"-{n}"
        post(first if n % 2 else second, "alertmanager", body)

    rounds = [threading.Thread(target=h.run_timers) for h in (first, second, first, second)]
    for thread in rounds:
        thread.start()
    for thread in rounds:
        thread.join()
    first.run_timers()

    assert incident_count(first) == 1  # one group, one incident
    outcomes = [a.outcome for a in stored(first)]
    assert outcomes.count("declared") == 1 and outcomes.count("attached") == 19
    assert len(events(first, kind="alert")) == 20  # each alert recorded once


def test_an_alert_stored_before_a_crash_is_processed_by_the_next_bot(make_harness: Callable[..., Harness]) -> None:
    crashed = make_harness(alerts=CRITICAL_DECLARES)
    assert post(crashed, "alertmanager", payload("alertmanager_firing")).status_code == 202
    crashed.server.stop()
    crashed.bot.close()  # gone before its engine ran

    restarted = make_harness(alerts=CRITICAL_DECLARES)
    restarted.run_timers()

    assert incident_count(restarted) == 1
    assert all(a.done for a in stored(restarted))


def test_alerts_yaml_errors_name_file_line_and_field(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config")
    (folder / "alerts.yaml").write_text(
        "dedup_window: 1h\n"
        "rules:\n"
        "  - when: {severity: critical}\n"
        "    declare: {severity: sev9}\n"
        "  - when: {colour: red}\n"
        "    drop: true\n"
        "  - when: {title: '/unclosed(/'}\n"
        "    drop: true\n"
        "  - when: {severity: high}\n"
        "    declare: {playbook: nosuch}\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_config(folder)
    problems = "\n".join(raised.value.problems)
    assert f"{folder / 'alerts.yaml'}:4: rules.0.declare.severity: unknown severity 'sev9'" in problems
    assert "alerts.yaml:5: rules.1.when: unknown field 'colour'" in problems
    assert "alerts.yaml:7: rules.2.when.title: '/unclosed(/' is not a regular expression" in problems
    (folder / "alerts.yaml").write_text("rules:\n  - when: {severity: high}\n    declare: {playbook: nosuch}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(folder)
    assert "alerts.yaml:3: rules.0.declare.playbook: no playbook 'nosuch'" in "\n".join(raised.value.problems)


def test_alerts_whose_incident_slack_refused_go_to_triage_not_nowhere(make_harness: Callable[..., Harness]) -> None:
    h, channel = triage_channel(make_harness, **CRITICAL_DECLARES)
    h.emulator.fail_next("conversations.create", "restricted_action", times=2)  # the declare, then its resume
    post(h, "alertmanager", payload("alertmanager_firing"))
    h.run_timers()
    h.advance(seconds=31)  # the declare's lease runs out: the resume meets the same refusal and gives up

    h.run_timers()

    assert incident_count(h) == 0
    assert {a.outcome for a in stored(h)} == {"triage"}
    assert h.wait_for(lambda: cards(h, channel)), "the alerts are put before a human instead"


def test_the_metrics_count_alerts_by_source_and_outcome(make_harness: Callable[..., Harness]) -> None:
    from tests.test_operations import metrics

    h = make_harness(alerts=CRITICAL_DECLARES)
    post(h, "alertmanager", payload("alertmanager_firing"))
    waiting = metrics(h)
    h.run_timers()
    decided = metrics(h)

    assert waiting[("ircbot_alerts", (("outcome", "pending"), ("source", "alertmanager")))] == 2
    assert decided[("ircbot_alerts", (("outcome", "declared"), ("source", "alertmanager")))] == 1
    assert decided[("ircbot_alerts", (("outcome", "attached"), ("source", "alertmanager")))] == 1


def test_a_triage_card_says_when_its_alert_cleared_at_the_source_and_keeps_its_buttons(
    make_harness: Callable[..., Harness],
) -> None:
    h, channel = triage_channel(make_harness)
    firing = {"title": "Impossible travel for j.doe", "severity": "medium", "fingerprint": "idp-77"}
    post(h, "generic", firing)
    h.run_timers()
    (card,) = cards(h, channel)
    assert "Cleared at the source" not in h.emulator.message_text(card)

    post(h, "generic", {**firing, "status": "resolved"})
    h.run_timers()

    (redrawn,) = cards(h, channel)
    assert redrawn["ts"] == card["ts"] and "Cleared at the source" in h.emulator.message_text(redrawn)
    assert "alert_declare" in json.dumps(redrawn["blocks"]), "it can still be declared or dismissed"
    assert [a.outcome for a in stored(h)] == ["triage", "resolved"] and stored(h)[0].cleared_at is not None
    h.driver.click(ALICE, channel, card["ts"], "alert_declare")
    declared = h.emulator.message_text(next(m for m in cards(h, channel) if m["ts"] == card["ts"]))
    assert "Declared as INC-1" in declared and "Cleared at the source" in declared


def test_concurrent_posts_are_all_stored_and_each_answered_with_its_own_ids(harness: Harness) -> None:
    bodies = [
        {"title": f"Port scan from 198.51.100.{n}", "severity": "low", "fingerprint": f"scan-{n}"} for n in range(24)
    ]

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda body: post(harness, "generic", body), bodies))

    assert [a.status_code for a in answers] == [202] * len(bodies)
    fingerprint_of = {a.id: a.fingerprint for a in stored(harness)}
    assert [[fingerprint_of[i] for i in a.json()["ids"]] for a in answers] == [[b["fingerprint"]] for b in bodies]


def _alert(fingerprint: str) -> NormalisedAlert:
    return NormalisedAlert(source="generic", fingerprint=fingerprint, group_key=fingerprint, severity="low", title="x")


def _wait_until(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not predicate():
        assert time.monotonic() < deadline, "the requests did not come"
        time.sleep(0.001)


@dataclass
class FakeStore:
    """The database of a GroupCommit: it records each commit, and holds the first until released."""

    refused: Exception | None = None  # raised for a commit carrying a fingerprint "refused-…"
    commits: list[list[str]] = field(default_factory=list)
    committed: set[str] = field(default_factory=set)
    first_started: threading.Event = field(default_factory=threading.Event)
    release_first: threading.Event = field(default_factory=threading.Event)

    def __call__(self, alerts: list[NormalisedAlert]) -> list[int]:
        fingerprints = [a.fingerprint for a in alerts]
        self.commits.append(fingerprints)
        if len(self.commits) == 1:
            self.first_started.set()
            self.release_first.wait(timeout=10)
        if self.refused is not None and any(f.startswith("refused") for f in fingerprints):
            raise self.refused
        self.committed.update(fingerprints)
        return [int(f.rsplit("-", 1)[-1]) for f in fingerprints]


def _send_while_the_first_commit_runs(
    database: FakeStore, later: list[str]
) -> dict[str, tuple[list[int] | Exception, bool]]:
    """Store `first-0` (its commit held), then each of `later` from threads of their own, then let the commits run.
    What each request got back, and whether its alerts were committed when it got it."""
    commits = GroupCommit(database)
    answers: dict[str, tuple[list[int] | Exception, bool]] = {}

    def send(fingerprint: str) -> None:
        try:
            answer: list[int] | Exception = commits.store([_alert(fingerprint)])
        except Exception as exc:
            answer = exc
        answers[fingerprint] = (answer, fingerprint in database.committed)

    threads = [threading.Thread(target=send, args=("first-0",))]
    threads[0].start()
    assert database.first_started.wait(timeout=10)
    threads += [threading.Thread(target=send, args=(fingerprint,)) for fingerprint in later]
    for thread in threads[1:]:
        thread.start()
    _wait_until(lambda: commits.waiting == len(later))
    assert answers == {}, "nobody is answered while the commit carrying them has not ended"
    database.release_first.set()
    for thread in threads:
        thread.join(timeout=10)
    return answers


def test_requests_arriving_during_a_commit_share_the_next_and_are_answered_only_after_it() -> None:
    database = FakeStore()
    later = [f"later-{n}" for n in range(1, 6)]

    answers = _send_while_the_first_commit_runs(database, later)

    assert database.commits[0] == ["first-0"] and sorted(database.commits[1]) == later
    assert len(database.commits) == 2, "the five waiting requests shared one commit"
    assert answers == {f: ([int(f.rsplit("-", 1)[-1])], True) for f in ["first-0", *later]}


def test_a_request_the_database_refuses_fails_alone_and_a_failing_database_fails_them_all() -> None:
    refused = DataError("INSERT INTO alert …", {}, ValueError("PostgreSQL text fields cannot contain NUL"))
    answers = _send_while_the_first_commit_runs(FakeStore(refused=refused), ["refused-1", "later-2", "later-3"])

    assert answers["refused-1"] == (refused, False)
    assert answers["later-2"] == ([2], True) and answers["later-3"] == ([3], True)

    down = OperationalError("INSERT INTO alert …", {}, ConnectionError("server closed the connection"))
    database = FakeStore(refused=down)
    answers = _send_while_the_first_commit_runs(database, ["refused-1", "later-2"])
    assert answers["refused-1"] == (down, False) and answers["later-2"] == (down, False)
    assert len(database.commits) == 2, "a database that fails is not asked again for each request"


def _probe_failures(count: int, *, status: str = "firing", first: int = 0) -> dict[str, Any]:
    """One Alertmanager notification of the ProbeFailure group with `count` alerts from hosts of their own."""
    body = copy.deepcopy(payload("alertmanager_firing"))
    template = body["alerts"][1]
    body["status"] = status
    body["alerts"] = [
        {
            **template,
            "status": status,
            "fingerprint": f"probe-host-{n}",
            "labels": {**template["labels"], "instance": f"https://host-{n}.example.org"},
            "annotations": {"summary": f"Probe failure on host-{n}"},
        }
        for n in range(first, first + count)
    ]
    return body


def alert_lines(h: Harness, channel: str) -> list[str]:
    texts = [h.emulator.message_text(m) for m in h.emulator.messages(channel)]
    return [t for t in texts if "in this incident" in t or "cleared" in t]


def test_alerts_attached_together_are_one_line_in_the_channel_and_each_an_event(
    make_harness: Callable[..., Harness],
) -> None:
    h = make_harness(alerts=CRITICAL_DECLARES)
    post(h, "alertmanager", _probe_failures(1))
    h.run_timers()
    channel = incident(h).channel_id
    assert channel is not None

    post(h, "alertmanager", _probe_failures(8, first=1))
    h.run_timers()

    (line,) = alert_lines(h, channel)
    assert line.startswith(":rotating_light: 8 new alerts in this incident:")
    assert [f"*Probe failure on host-{n}*" in line for n in range(1, 9)] == [True] * 5 + [False] * 3
    assert "…and 3 more, each in the timeline" in line
    assert [e.data["title"] for e in events(h, kind="alert")] == [f"Probe failure on host-{n}" for n in range(9)]

    post(h, "alertmanager", _probe_failures(3, status="resolved", first=1))
    h.run_timers()
    cleared = alert_lines(h, channel)[1:]
    assert len(cleared) == 1 and cleared[0].startswith(":large_green_circle: 3 alerts of this incident cleared")
    assert len(events(h, kind="alert_resolved")) == 3


def test_alerts_attached_while_the_line_waits_to_be_sent_join_it(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(alerts=CRITICAL_DECLARES)
    post(h, "alertmanager", _probe_failures(1))
    h.run_timers()
    channel = incident(h).channel_id
    assert channel is not None

    post(h, "alertmanager", _probe_failures(2, first=1))
    assert process_alerts(h.bot.services) == 2  # decided, the line queued but not sent yet
    post(h, "alertmanager", _probe_failures(1, first=3))
    h.run_timers()

    (line,) = alert_lines(h, channel)
    assert line.startswith(":rotating_light: 3 new alerts in this incident:") and "host-3" in line
    post(h, "alertmanager", _probe_failures(1, first=4))
    h.run_timers()
    assert alert_lines(h, channel)[1] == (
        ":rotating_light: New critical alert from alertmanager in this incident: *Probe failure on host-4*"
    )
