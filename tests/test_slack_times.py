"""Every time ircbot shows in Slack is a `<!date>` token, which each reader's client shows in their own zone."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from dateutil import tz

from ircbot.domain.messages import (
    AccessPrompt,
    AckNotice,
    ChecklistCard,
    DecisionCard,
    DeclareOutcome,
    IncidentCard,
    IncidentList,
    JoinRequest,
    Message,
    NoticeDraft,
    PageCard,
    PageLine,
    ReminderCard,
    ResolvedNotice,
    RoleAnnouncement,
    RolesCard,
    SentNotice,
    StatsCard,
    Text,
    Topic,
    TriageCard,
)
from ircbot.domain.metrics import IncidentTimes, compute
from ircbot.domain.views import IncidentView, ItemView, RoleHolder
from ircbot.emulator.blocks import block_problems, flatten_view
from ircbot.slack.home import MAX_HOME_BLOCKS, home_view
from ircbot.slack.markup import neutral, slack_date
from ircbot.slack.render import render_message
from ircbot.slack.wording import topic_text
from tests.conftest import Harness
from tests.factories import ALICE, BOB, DAVE, escalation_config, tier
from tests.scenario import channel_text

# Slack's syntax: <!date^UNIX^TOKEN STRING[^OPTIONAL LINK]|FALLBACK>.
DATE_TOKEN = re.compile(r"<!date\^(?P<unix>\d+)\^(?P<format>[^^|>]*)(?:\^[^|>]*)?\|(?P<fallback>[^|>]*)>")
CLOCK_TIME = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)")  # 14:05, 2:05, and the time in 2026-03-29T00:30:00 too

DECLARED = datetime(2026, 3, 29, 0, 45, tzinfo=UTC)  # the night Europe moves to summer time
RESOLVED = DECLARED + timedelta(hours=2, minutes=15)


def fixed_times(text: str) -> list[str]:
    """Clock times written as fixed text, outside any date token."""
    return CLOCK_TIME.findall(DATE_TOKEN.sub("", text))


def text_objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every Block Kit text object (`{"type": "mrkdwn" | "plain_text", "text": …}`) anywhere in blocks or a view."""
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            yield node
        for value in node.values():
            yield from text_objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from text_objects(value)


def assert_times_render_per_reader(what: str, text: str, blocks: Any) -> None:
    """No fixed clock time in the fallback text or any text object, and no date token where Slack shows it raw."""
    assert not fixed_times(text), f"{what}: fixed time in the fallback text: {text!r}"
    for obj in text_objects(blocks):
        assert not fixed_times(obj["text"]), f"{what}: fixed time in a {obj['type']} text: {obj['text']!r}"
        if obj["type"] == "plain_text":
            assert "<!date" not in obj["text"], f"{what}: plain_text shows a date token raw: {obj['text']!r}"


# --- the helper -------------------------------------------------------------------------------------------------


def test_slack_date_is_slacks_date_token_with_a_utc_fallback() -> None:
    token = slack_date(DECLARED)
    assert token == "<!date^1774745100^{date_short_pretty} {time}|2026-03-29 00:45 UTC>"
    assert datetime.fromtimestamp(1774745100, UTC) == DECLARED
    berlin = DECLARED.astimezone(tz.gettz("Europe/Berlin"))
    assert slack_date(berlin) == token, "the same moment in any zone is the same token, its fallback in UTC"
    match = DATE_TOKEN.fullmatch(token)
    assert match is not None and match["format"] == "{date_short_pretty} {time}"


def test_slack_date_takes_a_fallback_in_the_readers_zone_and_keeps_it_from_breaking_the_token() -> None:
    assert slack_date(DECLARED, "2026-03-29 02:45 CEST").endswith("|2026-03-29 02:45 CEST>")
    odd = slack_date(DECLARED, "a|b <c> & d")
    assert odd.endswith("|a/b &lt;c&gt; &amp; d>") and DATE_TOKEN.fullmatch(odd)


def test_slack_date_reads_a_time_without_a_zone_as_utc_not_as_the_machines_zone() -> None:
    assert slack_date(datetime(2026, 3, 29, 0, 45)) == slack_date(DECLARED)


def test_reposted_text_keeps_a_date_tokens_fallback_and_no_markup() -> None:
    assert neutral(f"declared {slack_date(DECLARED)}") == "declared 2026-03-29 00:45 UTC"


def test_the_scan_finds_fixed_times_and_passes_date_tokens() -> None:
    assert fixed_times("next page 14:05 UTC") == ["14:05"]
    assert fixed_times(f"at {DECLARED.isoformat()}")[0] == "00:45"
    assert fixed_times(f"next page {slack_date(DECLARED)}, after 2h 05m") == []


# --- every message type ----------------------------------------------------------------------------------------


def view(**changes: Any) -> IncidentView:
    """An incident with every time the renderers may show: declared, next page, next deadline, a ticked item."""
    fields: dict[str, Any] = dict(
        id=1, key="INC-1", title="Ransomware on FS01", severity="sev1", stage="containment", status="open",
        is_private=True, is_drill=False, playbook="ransomware", channel_id="C0INC1", channel_name="inc-1-ransomware",
        declared_by=ALICE, declared_at=DECLARED, resolved_at=None, age=timedelta(hours=1),
        roles=(RoleHolder("manager", "Incident manager", ALICE), RoleHolder("analyst", "Security analyst", BOB)),
        checklist=(ItemView("containment", 1, "Isolate FS01", True, BOB, DECLARED + timedelta(minutes=20)),),
        progress={"containment": (1, 1)}, pending_pages=2, next_page_at=DECLARED + timedelta(minutes=10),
        next_deadline=("GDPR notification", DECLARED + timedelta(hours=72)),
    )  # fmt: skip
    return IncidentView(**{**fields, **changes})


def stats() -> StatsCard:
    incident = IncidentTimes(
        id=1, key="INC-1", severity="sev1", playbook="ransomware", declared_at=DECLARED, detected_at=DECLARED,
        acknowledged_at=DECLARED + timedelta(minutes=5), resolved_at=RESOLVED,
    )  # fmt: skip
    since = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    return StatsCard(compute([incident], [], since=since, until=RESOLVED, viewer=ALICE), note="The chart is in a DM.")


RESOLVED_VIEW = view(status="resolved", resolved_at=RESOLVED, next_page_at=None, pending_pages=0)
SAMPLES: dict[str, Message] = {
    "text": Text("Isolated FS01."),
    "card": IncidentCard(view(), heading="INC-1: Ransomware on FS01"),
    "status": IncidentCard(view(acknowledged_by=BOB, undelivered=1), heading="Status of INC-1", purpose="status"),
    "resolved card": IncidentCard(RESOLVED_VIEW, heading="INC-1: Ransomware on FS01"),
    "checklist": ChecklistCard(view(), note="ticked Containment #1"),
    "roles": RolesCard(view(others=(DAVE,))),
    "list": IncidentList((view(), view(id=2, key="INC-2")), total=2),
    "page": PageCard(view(), reason="You are on call for Incident manager.", declared_local="2026-03-29 02:45 CEST"),
    "acknowledged page": PageCard(
        view(), reason="Acknowledged", declared_local="2026-03-28 20:45 EDT", acknowledged_by=BOB
    ),
    "update reminder": ReminderCard(1, "INC-1", "update", since="1h 00m", first=True, cadence="30m", severity="sev1"),
    "checklist reminder": ReminderCard(
        1, "INC-1", "checklist", stage="containment", items=((1, "Isolate FS01"),), channel_id="C0INC1"
    ),
    # A notice's body is the document its audience receives by e-mail too, word for word as approved: a fixed zone
    # is right there, and this sample's body has no time.
    "notice": NoticeDraft(1, "Executive leadership", ("exec@example.com",), "Incident INC-1", "We are responding."),
    "stats": stats(),
    "role": RoleAnnouncement(BOB, "Security analyst", ALICE, ("Find the root cause",), "Investigates."),
    "join": JoinRequest(ALICE, view(), "Legal counsel", "Advises on obligations.", ("Assess notification duties",)),
    "ack": AckNotice(BOB, "INC-1"),
    "resolved": ResolvedNotice(RESOLVED_VIEW, ALICE, False, "Restored.", chain_seq=12, chain_head="ab12cd"),
    "paged": PageLine(2, 1, (BOB,), ("soc-lead@example.com",), late="3m 10s"),
    "sent notice": SentNotice("Security incident INC-1", "We are responding to a security incident."),
    "declare outcome": DeclareOutcome("Ransomware on FS01", view()),
    "access": AccessPrompt(1, 1, DAVE),
    "access answered": AccessPrompt(1, 1, DAVE, status="approved", decided_by=ALICE),
    "triage": TriageCard(
        7,
        "alertmanager",
        "critical",
        "FS01 encrypting",
        "Many renames",
        DECLARED - timedelta(minutes=20),
        labels=(("host", "fs01"),),
        cleared_at=DECLARED + timedelta(minutes=5),
    ),
    "triage dismissed": TriageCard(
        7, "splunk", "high", "FS01", "", None, outcome="dismissed", decided_by=BOB, reason="a backup job"
    ),
    "decision": DecisionCard(
        1,
        "INC-1",
        1,
        "Isolate FS01",
        2,
        ALICE,
        "rejected",
        approved_by=((ALICE, DECLARED + timedelta(minutes=30)), (BOB, DECLARED + timedelta(minutes=31))),
        rejected_by=(DAVE, DECLARED + timedelta(minutes=40)),
        reason="not before imaging",
    ),
}
SHOWN = {  # what each sample with a time must show, as date tokens in this order (a scan passes a dropped time)
    "card": [DECLARED, DECLARED + timedelta(minutes=10), DECLARED + timedelta(hours=72)],  # declared, page, due
    "resolved card": [RESOLVED, DECLARED + timedelta(hours=72)],
    "list": [DECLARED, DECLARED],
    "page": [DECLARED],
    "stats": [datetime(2026, 3, 1, 9, 30, tzinfo=UTC), RESOLVED],  # the window
    "triage": [DECLARED - timedelta(minutes=20), DECLARED + timedelta(minutes=5)],
    "decision": [DECLARED + timedelta(minutes=m) for m in (30, 31, 40)],
}


def tokens(blocks: Any) -> list[re.Match[str]]:
    return list(DATE_TOKEN.finditer(json.dumps(blocks, ensure_ascii=False)))


def test_every_message_type_has_a_sample_here() -> None:
    """A new message type fails here until it is added to SAMPLES, and so scanned for fixed times."""
    assert set(get_args(Message)) <= {type(s) for s in SAMPLES.values()}


@pytest.mark.parametrize("name", SAMPLES)
def test_no_message_prints_a_fixed_time(name: str) -> None:
    text, blocks = render_message(SAMPLES[name])
    assert_times_render_per_reader(name, text, blocks)
    assert not block_problems(blocks), "the emulator, like Slack, accepts the blocks"


@pytest.mark.parametrize("name", SHOWN)
def test_the_times_a_message_carries_are_shown_as_date_tokens(name: str) -> None:
    _, blocks = render_message(SAMPLES[name])
    assert [int(t["unix"]) for t in tokens(blocks)] == [int(when.timestamp()) for when in SHOWN[name]]


def test_a_page_falls_back_to_the_declared_time_in_the_recipients_zone() -> None:
    _, blocks = render_message(SAMPLES["page"])
    assert [t["fallback"] for t in tokens(blocks)] == ["2026-03-29 02:45 CEST"]


def test_the_stats_window_is_outside_the_code_block_where_a_token_would_show_raw() -> None:
    _, blocks = render_message(SAMPLES["stats"])
    texts = [obj["text"] for obj in text_objects(blocks)]
    (window,) = [t for t in texts if "Incidents declared" in t]
    assert not window.startswith("```") and len(DATE_TOKEN.findall(window)) == 2
    assert "all severities · drills excluded" in window
    assert not any("<!date" in t for t in texts if t.startswith("```"))


def test_home_and_topic_print_no_fixed_time() -> None:
    home = home_view(ALICE, (view(), RESOLVED_VIEW, view(id=3, key="INC-3", acknowledged_by=BOB)))
    assert_times_render_per_reader("home", "", home)
    assert not block_problems(home["blocks"], max_blocks=MAX_HOME_BLOCKS)
    assert DATE_TOKEN.search(flatten_view(home))
    assert not fixed_times(topic_text(Topic(view())))


# --- what people saw, end to end --------------------------------------------------------------------------------


def test_nothing_anyone_saw_in_an_incident_shows_a_fixed_time(harness: Harness) -> None:
    """Declare, page and acknowledge, look at the card, the list, Home and the metrics, decide, resolve."""
    _, channel = harness.declare("Ransomware on FS01 sev1")
    harness.run_timers()  # tier 1 pages the manager and the analyst
    harness.slash("status", channel=channel)
    harness.slash("list")
    harness.slash("decide Isolate FS01 --approvers 1", channel=channel)
    harness.slash("ack", channel=channel, user=BOB)
    harness.slash("resolve Restored from backups", channel=channel)
    harness.slash("stats --since 30d")
    harness.advance(seconds=3)  # the pinned card is redrawn
    seen = [s for user in (ALICE, BOB) for s in harness.emulator.seen_by(user)]
    assert seen and any(DATE_TOKEN.search(s.text) for s in seen)
    for s in seen:
        assert not fixed_times(s.text), f"{s.where} [{s.kind}]: {s.text}"


def test_a_status_updates_next_update_time_is_a_date_token(make_harness: Callable[..., Harness]) -> None:
    """The update templates for Slack get `next_update_at` as a date token (e-mail gets it in UTC)."""
    escalation = escalation_config(sev2={"name": "High", "tiers": [tier("1h", "role:analyst")]})
    h = make_harness(escalation=escalation)
    _, channel = h.declare("Credential stuffing sev2")
    h.slash("update", channel=channel, wait=False)
    view_id = h.wait_for(
        lambda: next((k for k, v in h.emulator.views.items() if v["callback_id"] == "update_modal"), None)
    )
    values = {
        "status": {"value": {"type": "plain_text_input", "value": "Rate limits in place"}},
        "next_update": {"value": {"type": "plain_text_input", "value": "2h"}},
    }
    assert h.driver.submit_view(ALICE, view_id, values).status == 200
    posted = h.wait_for(
        lambda: "Next update" in channel_text(h.emulator, channel) and channel_text(h.emulator, channel)
    )
    assert not fixed_times(posted), posted
    assert re.search(r"\*Next update:\* <!date\^", posted), "the scan passes a dropped time"


@pytest.mark.parametrize("command", ["contained", "impact fileserver 2h now"])
def test_replies_that_echo_a_recorded_time_use_date_tokens(harness: Harness, command: str) -> None:
    """`contained` and `impact` answer in the channel, which everyone reads: the times they echo are tokens."""
    _, channel = harness.declare()
    reply = harness.slash(command, channel=channel).text
    assert not fixed_times(reply), reply
