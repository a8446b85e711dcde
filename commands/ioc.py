"""`/incident ioc add` and `/incident iocs`: the incident's indicators of compromise."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.commands.parsing import split_flags, split_words
from ircbot.domain.date_token import slack_date
from ircbot.domain.indicators import add_indicator, list_indicators
from ircbot.domain.ioc_extract import IOC_TYPES
from ircbot.domain.messages import Outcome, Reply, Text
from ircbot.domain.record_policy import TLP_LEVELS
from ircbot.errors import UsageError

USAGE = f"ioc add <value> [--type {'|'.join(IOC_TYPES)}] [--tlp {'|'.join(TLP_LEVELS)}]"
MAX_LISTED = 50


@command("ioc", USAGE)
def run(ctx: Context) -> Outcome:
    """Add an indicator of compromise by hand (defanged forms are fine; private addresses too)."""
    words = split_words(ctx.rest)
    if not words or words[0].lower() != "add":
        raise UsageError("Say `ioc add <value>`, e.g. `/incident ioc add 45.77.1[.]9`; list them with `iocs`.", USAGE)
    flags = split_flags(words[1:], switches=set(), valued={"type", "tlp"}, usage=USAGE)
    if len(flags.words) != 1:
        raise UsageError("Give one indicator at a time, e.g. `/incident ioc add evil[.]example[.]org`.", USAGE)
    kind = flags.values.get("type")
    if kind is not None and kind.lower() not in IOC_TYPES:
        raise UsageError(f"`--type {kind}` is not a type; types: {', '.join(IOC_TYPES)}.", USAGE)
    added = add_indicator(
        ctx.svc,
        incident_id=ctx.require_incident(),
        value=flags.words[0],
        type=kind.lower() if kind else None,
        tlp=flags.values.get("tlp"),
        actor=ctx.user,
        usage=USAGE,
    )
    shown = f"{added.type} `{added.value}` (TLP:{added.tlp.upper()})"
    if not added.new:
        return Reply(Text(f"{shown} is already recorded in this incident."))
    return Reply(Text(f":mag: <@{ctx.user}> added indicator {shown}."), visibility="in_channel")


@command("iocs", "iocs")
def listing(ctx: Context) -> Outcome:
    """List the incident's indicators of compromise with type, TLP and where each was seen."""
    found = list_indicators(ctx.svc, incident_id=ctx.require_incident())
    if not found:
        return Reply(
            Text(
                "No indicators yet. Add one with `/incident ioc add <value>`; IPs, domains, URLs, hashes and "
                "e-mail addresses in notes, pinned messages and alerts are picked up by themselves."
            )
        )
    lines = [f"*Indicators ({len(found)})*"]
    for row in found[:MAX_LISTED]:
        seen = slack_date(row.first_seen_at)
        lines.append(
            f"• {row.type} `{row.value}` — TLP:{row.tlp.upper()}, first seen {seen} in {', '.join(row.seen_in)}"
        )
    if len(found) > MAX_LISTED:
        lines.append(f"…and {len(found) - MAX_LISTED} more: `ircbot export <key> --csv FILE` has them all.")
    return Reply(Text("\n".join(lines)))
