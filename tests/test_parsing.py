"""Parsing what people type: words, mentions, severities, flags, durations, channel names; and fuzzing dispatch."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ircbot.commands import COMMANDS
from ircbot.commands.base import Invocation
from ircbot.commands.dispatch import dispatch
from ircbot.commands.parsing import mention, positive_int, severity, split_flags, split_words
from ircbot.domain.messages import OpenModal, Reply, Text
from ircbot.domain.naming import MAX_CHANNEL_NAME, channel_name, slugify
from ircbot.domain.services import Services
from ircbot.durations import format_duration, parse_duration
from ircbot.errors import UsageError
from tests.factories import ALICE, BOB, MALLORY
from tests.test_domain import FakeChat, FakeClock, make_services

SLACK_CHANNEL_NAME = re.compile(r"^[a-z0-9_-]{1,80}$")

# --- words and mentions ------------------------------------------------------------------------------------------


def test_split_words_groups_quoted_words() -> None:
    assert split_words('note "disk image taken" at 10:00') == ["note", "disk image taken", "at", "10:00"]


def test_split_words_falls_back_to_spaces_on_unbalanced_quotes() -> None:
    assert split_words("note it's done") == ["note", "it's", "done"]


def test_split_words_of_blank_text_is_empty() -> None:
    assert split_words("   ") == []


@pytest.mark.parametrize("token", ["<@U0BOB|bob>", "<@U0BOB>", " <@U0BOB|Bob Investigator> ", "<@U0BOB|>"])
def test_escaped_and_bare_mentions_give_the_user_id(token: str) -> None:
    assert mention(token, "assign <role> [@user]") == "U0BOB"


def test_enterprise_grid_user_ids_are_mentions_too() -> None:
    assert mention("<@W0GRID42|grid>", "usage") == "W0GRID42"


def test_plain_at_name_is_rejected_with_a_hint_about_autocomplete() -> None:
    with pytest.raises(UsageError) as caught:
        mention("@alice", "assign <role> [@user]")
    assert "`@alice` is not a Slack user mention" in caught.value.message
    assert "autocomplete" in caught.value.message
    assert caught.value.usage == "assign <role> [@user]"


@pytest.mark.parametrize("token", ["alice", "<#C0GENERAL|general>", "<!here>", "<@u0bob>", "<@U0BOB", "<@S0GROUP>"])
def test_things_that_are_not_user_mentions_are_rejected_without_the_at_hint(token: str) -> None:
    with pytest.raises(UsageError) as caught:
        mention(token, "usage")
    assert "is not a Slack user mention" in caught.value.message
    assert "autocomplete" not in caught.value.message


# --- severities and numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"), [("sev1", "sev1"), ("SEV2", "sev2"), ("Sev-3", "sev3"), (" sev4 ", "sev4")]
)
def test_severity_spellings_normalize(typed: str, expected: str) -> None:
    assert severity(typed, "severity <sev1-4>") == expected


@pytest.mark.parametrize("typed", ["sev5", "sev0", "critical", "p1", "", "sev 1"])
def test_bad_severity_lists_sev1_to_sev4(typed: str) -> None:
    with pytest.raises(UsageError) as caught:
        severity(typed, "severity <sev1-4>")
    assert "sev1, sev2, sev3, sev4" in caught.value.message
    assert caught.value.usage == "severity <sev1-4>"


@pytest.mark.parametrize("typed", ["0", "-1", "one", "1.5", "", "²"])
def test_item_numbers_must_be_positive_whole_numbers(typed: str) -> None:
    with pytest.raises(UsageError, match="not a checklist item number"):
        positive_int(typed, "checklist item", "check <n>")


def test_item_number_parses() -> None:
    assert positive_int("12", "checklist item", "check <n>") == 12


# --- flags -------------------------------------------------------------------------------------------------------


def flags_of(*tokens: str) -> tuple[list[str], set[str], dict[str, str]]:
    parsed = split_flags(list(tokens), switches={"public", "drill"}, valued={"playbook"}, usage="declare …")
    return parsed.words, parsed.switches, parsed.values


def test_flags_are_pulled_out_of_the_words() -> None:
    words, switches, values = flags_of("Ransomware", "--public", "on", "FS01", "--playbook", "ransomware")
    assert words == ["Ransomware", "on", "FS01"]
    assert switches == {"public"}
    assert values == {"playbook": "ransomware"}


@pytest.mark.parametrize("dash", ["—", "–"])
def test_smart_dashes_from_slack_clients_count_as_double_dash(dash: str) -> None:
    words, switches, values = flags_of("Phish", f"{dash}public", f"{dash}playbook=phishing")
    assert (words, switches, values) == (["Phish"], {"public"}, {"playbook": "phishing"})


def test_flag_names_ignore_case_and_accept_equals() -> None:
    assert flags_of("--PUBLIC", "--Playbook=data-breach")[1:] == ({"public"}, {"playbook": "data-breach"})


def test_a_lone_double_dash_is_a_word() -> None:
    assert flags_of("a", "--", "b")[0] == ["a", "--", "b"]


def test_unknown_flag_names_the_flag_and_lists_the_known_ones() -> None:
    with pytest.raises(UsageError) as caught:
        flags_of("x", "—fast")
    assert "Unknown option `—fast`" in caught.value.message
    assert "--drill, --playbook, --public" in caught.value.message


@pytest.mark.parametrize("tokens", [["x", "--playbook"], ["x", "--playbook="], ["x", "--playbook", "--public"]])
def test_a_valued_flag_without_its_value_is_a_usage_error(tokens: list[str]) -> None:
    with pytest.raises(UsageError, match="`--playbook` needs a value"):
        flags_of(*tokens)


def test_a_switch_given_a_value_is_refused() -> None:
    with pytest.raises(UsageError, match="Unknown option"):
        flags_of("x", "--public=yes")


# --- durations ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0s", timedelta()),
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1H 30M", timedelta(hours=1, minutes=30)),
        ("90d", timedelta(days=90)),
        ("2h05m", timedelta(hours=2, minutes=5)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "5 minutes", "-5m", "1.5h", "m5", "5w", "abc"])
def test_parse_duration_rejects_other_forms_naming_the_accepted_one(text: str) -> None:
    with pytest.raises(ValueError, match="30s, 5m, 1h"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (None, "—"),
        (timedelta(seconds=12), "12s"),
        (timedelta(minutes=4, seconds=10), "4m 10s"),
        (timedelta(hours=2, minutes=5, seconds=59), "2h 05m"),
        (timedelta(days=1, hours=3, minutes=7), "1d 3h 07m"),
        (-timedelta(minutes=3), "-3m 00s"),
    ],
)
def test_format_duration(delta: timedelta | None, expected: str) -> None:
    assert format_duration(delta) == expected


@given(st.timedeltas(min_value=timedelta(), max_value=timedelta(days=50_000)))
def test_parse_duration_reads_back_what_format_duration_writes(delta: timedelta) -> None:
    whole = timedelta(seconds=int(delta.total_seconds()))
    shown = whole - timedelta(seconds=whole.seconds % 60) if whole >= timedelta(hours=1) else whole
    assert parse_duration(format_duration(delta)) == shown


@given(st.text(alphabet=st.sampled_from("0123456789dhms -.xé"), max_size=30) | st.text(max_size=30))
def test_parse_duration_raises_only_value_error(text: str) -> None:
    try:
        parsed = parse_duration(text)
    except ValueError:
        return
    assert parsed >= timedelta()


@pytest.mark.parametrize("text", ["99999999999d", "9999999999999h", "1000000000d"])
def test_parse_duration_refuses_a_duration_too_long_to_represent_with_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


# --- channel names -----------------------------------------------------------------------------------------------


def test_channel_name_is_prefix_and_slug() -> None:
    assert channel_name(7, "Ransomware on FS01!") == "inc-7-ransomware-on-fs01"


def test_channel_name_transliterates_accented_titles() -> None:
    assert channel_name(3, "Phishing bei Müller & Söhne — Überweisung") == "inc-3-phishing-bei-muller-sohne-uberweisung"


@pytest.mark.parametrize("title", ["勒索软件", "🔥🔥🔥", "   ", "!!!", ""])
def test_channel_name_without_a_usable_slug_is_just_the_prefix(title: str) -> None:
    assert channel_name(12, title) == "inc-12"
    assert channel_name(12, title, attempt=2) == "inc-12-3"


def test_long_titles_are_cut_to_80_characters_without_a_trailing_dash() -> None:
    name = channel_name(123, "data exfiltration " * 20)
    assert len(name) <= MAX_CHANNEL_NAME and not name.endswith("-")
    assert name.startswith("inc-123-data-exfiltration-")


def test_suffix_after_a_taken_name_keeps_the_name_within_80_characters() -> None:
    name = channel_name(999_999_999, "x" * 200, attempt=19)
    assert len(name) <= MAX_CHANNEL_NAME and name.endswith("-20") and name.startswith("inc-999999999-xxx")


def test_slugify_collapses_everything_else_to_single_dashes() -> None:
    assert slugify("  C2 beacon: 203.0.113.9 / evil_corp  ") == "c2-beacon-203-0-113-9-evil-corp"


@given(st.text(), st.integers(min_value=1, max_value=999_999_999), st.integers(min_value=0, max_value=19))
def test_channel_names_always_follow_slacks_rules(title: str, number: int, attempt: int) -> None:
    name = channel_name(number, title, attempt)
    assert SLACK_CHANNEL_NAME.match(name), name
    assert name.startswith(f"inc-{number}")
    if attempt:
        assert name.endswith(f"-{attempt + 1}")
    assert "--" not in name and not name.endswith("-")


# --- dispatch never raises ---------------------------------------------------------------------------------------

SUBCOMMANDS = [spec.name for spec in COMMANDS] + [alias for spec in COMMANDS for alias in spec.aliases]
EDGE_VALUES = st.sampled_from(
    ["0", "-1", "²", "١", "99999999999999999999", "--started=99999999999d", "--started=999999d", "--started", "1e9"]
)
TOKENS = st.one_of(
    EDGE_VALUES,
    st.sampled_from(SUBCOMMANDS),
    st.sampled_from(["INC-1", "inc-2", "INC-0", "INC-999999999", "INC-", "INC-1x"]),
    st.sampled_from(["--public", "—public", "--drill", "--force", "--playbook", "--playbook=phishing", "--fp"]),
    st.sampled_from(["--started=2h", "2h", "3d", "2026-11-29 04:10", "yesterday", "--since", "--false-positive"]),
    st.sampled_from(["—", "--", "–force", "--playbook=nope", "--playbook=data-breach"]),
    st.sampled_from(["<@U0BOB|bob>", "<@U0ALICE>", "@bob", "<@U0MALLORY|m>", "<#C123|general>", "<!here>"]),
    st.sampled_from(["sev1", "SEV-2", "sev9", "p1", "next", "containment", "post incident", "1", "3", "99"]),
    st.sampled_from(["manager", "analyst", "legal", "comms", "forensics", "wizard"]),
    st.sampled_from(['"', "'", '"quoted words"', "“smart”", "\\", "\n", "\t", "|", "`", "*"]),
    st.text(max_size=12),
    st.integers(min_value=-5, max_value=10**12).map(str),
)
# A subcommand (maybe after a key) followed by an edge value hits the argument parsers hardest.
COMMAND_LINES = st.tuples(
    st.sampled_from(["", "INC-1 ", "inc-2 ", "INC-404 "]),
    st.sampled_from(SUBCOMMANDS),
    st.lists(EDGE_VALUES | TOKENS, max_size=2),
    st.lists(TOKENS, max_size=4),
).map(lambda parts: f"{parts[0]}{parts[1]} {' '.join(parts[2] + parts[3])}")
TEXTS = st.one_of(COMMAND_LINES, st.lists(TOKENS, max_size=6).map(" ".join), st.text(max_size=60))


class FuzzBot:
    """The services under fuzzing and an incident channel to type in; a short repr keeps failure reports readable."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        outcome = dispatch(svc, Invocation(user_id=ALICE, channel_id="C0GENERAL", text="declare Fuzz target sev4"))
        assert isinstance(outcome, Reply) and isinstance(outcome.message, Text)
        found = re.search(r"<#(C[0-9A-Z]+)>", outcome.message.text)
        assert found, outcome.message.text
        self.channel = found.group(1)

    def __repr__(self) -> str:
        return f"FuzzBot(channel={self.channel!r})"

    def text_of(self, invocation: Invocation) -> str:
        """Dispatch; the answer must be a Reply or a modal, and a Reply must not be an internal error."""
        outcome = dispatch(self.svc, invocation)
        assert isinstance(outcome, Reply | OpenModal), outcome
        if isinstance(outcome, OpenModal) or not isinstance(outcome.message, Text):
            return ""
        assert "internal error" not in outcome.message.text, (invocation.text, outcome.message.text)
        assert "Traceback" not in outcome.message.text
        return outcome.message.text


@pytest.fixture(scope="module")
def fuzz_bot(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[FuzzBot]:
    """One database for every example: incidents pile up, which only widens what the commands meet."""
    for svc in make_services(tmp_path_factory.mktemp("fuzz"), FakeChat(), FakeClock(), template=sqlite_template):
        yield FuzzBot(svc)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXTS, user=st.sampled_from([ALICE, BOB, MALLORY]))
def test_dispatch_answers_any_text_typed_outside_an_incident(fuzz_bot: FuzzBot, text: str, user: str) -> None:
    fuzz_bot.text_of(Invocation(user_id=user, channel_id="C0GENERAL", text=text))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXTS, user=st.sampled_from([ALICE, BOB, MALLORY]))
def test_dispatch_answers_any_text_typed_inside_an_incident_channel(fuzz_bot: FuzzBot, text: str, user: str) -> None:
    fuzz_bot.text_of(Invocation(user_id=user, channel_id=fuzz_bot.channel, text=text))


@pytest.mark.parametrize(
    "text",
    [
        "declare Old breach --started 999999d",
        "declare Old breach --started 99999999999d",
        "declare x --started 0001-01-01T00:00+14:00",
    ],
)
def test_declare_with_an_impossible_start_time_gets_a_usage_answer(fuzz_bot: FuzzBot, text: str) -> None:
    answer = fuzz_bot.text_of(Invocation(user_id=ALICE, channel_id="C0GENERAL", text=text))
    assert "Usage: `/incident declare" in answer


@pytest.mark.parametrize("text", ["check ²", "uncheck ³"])
def test_superscript_digits_as_item_numbers_get_a_usage_answer(fuzz_bot: FuzzBot, text: str) -> None:
    answer = fuzz_bot.text_of(Invocation(user_id=ALICE, channel_id=fuzz_bot.channel, text=text))
    assert "not a checklist item number" in answer
