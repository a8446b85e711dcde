"""Nobody mass-notifies or phishes through the bot: typed markup loses its pings and its link disguises."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ircbot.slack.markup import neutral
from tests.conftest import Harness
from tests.factories import DAVE, escalation_config, tier
from tests.scenario import channel_text

SPECIAL = re.compile(r"<!(?!date\^)[^>]*>")  # a Slack date token is ours and pings nobody
DISGUISED = re.compile(r"<[a-zA-Z][a-zA-Z0-9+.-]*:[^>|]*\|[^>]*>")
PIECES = st.sampled_from(
    [
        "<!channel>",
        "<!here>",
        "<!everyone>",
        "<!subteam^S0TEAM|@oncall>",
        "<!date^1^{date}|today>",
        "<https://evil.example|Reset your SSO password>",
        "<mailto:ceo@example.com|the CEO>",
        "<@U0BOB|bob>",
        "<#C0GENERAL|general>",
        "&lt;",
        "|",
        "<",
        ">",
        "!",
        "^",
    ]
)


@given(st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=12).map("".join))
def test_no_text_keeps_a_special_mention_or_a_disguised_link(text: str) -> None:
    cleaned = neutral(text)
    assert not SPECIAL.search(cleaned) and not DISGUISED.search(cleaned)


def test_a_public_incidents_title_and_update_reach_stakeholders_without_pings_or_disguised_links(
    make_harness: Callable[..., Harness],
) -> None:
    probe = make_harness()
    stakeholders = probe.emulator.add_channel("sec-updates", members=[DAVE], bot_member=True)
    updates: dict[str, Any] = {"channel": stakeholders}
    h = make_harness(
        escalation=escalation_config(sev2={"name": "High", "tiers": [tier("1h", "role:analyst")], "updates": updates})
    )
    title = "Phish <!channel> <https://evil.example|Reset your SSO password> for <@U0BOB|bob>"
    _, channel = h.declare(f"{title} sev2 --public")
    h.slash(
        "update <!here> click <https://evil.example|the reset page> <!subteam^S0ALL|@everyone-team>", channel=channel
    )

    seen = channel_text(h.emulator, stakeholders) + h.slash("list").text
    assert "Reset your SSO password" not in seen and "https://evil.example" in seen
    assert not SPECIAL.search(seen) and not DISGUISED.search(seen)
    assert "<@U0BOB" not in channel_text(h.emulator, stakeholders), "nobody is pinged from the stakeholder channel"
