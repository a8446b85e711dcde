"""`/incident evidence`: the evidence register and its chain of custody."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ircbot.commands.base import Context, command
from ircbot.commands.parsing import mention, split_flags
from ircbot.domain.evidence import (
    Item,
    add_evidence,
    evidence_item,
    parse_digest,
    parse_number,
    register,
    transfer_evidence,
)
from ircbot.domain.messages import Outcome, Reply, Text
from ircbot.domain.outbox import local_time
from ircbot.errors import UsageError

USAGE = (
    "evidence [list] | evidence EV-<n> | evidence add <description> [--hash sha256:<hex>] [--source <host>] "
    '[--location "<where it is kept>"] [--corrects EV-<n>] | evidence transfer EV-<n> @person <purpose>'
)
ADD_EXAMPLE = '`/incident evidence add Memory image of FS01 --hash sha256:<hex> --source FS01 --location "Locker 3"`'
TRANSFER_EXAMPLE = "`/incident evidence transfer EV-1 @erin imaging at the lab`"

# Slack clients may turn typed quotes into typographic ones; both group the words of a value.
_DOUBLE_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"', "″": '"'})
# A value is a run of words in double quotes, or in single quotes opening a word (so that Bob's stays one word).
_TOKEN = re.compile(r"'[^']*'(?=\s|$)|‘[^’]*’(?=\s|$)|(?:[^\s\"]+|\"[^\"]*\")+")


@command("evidence", USAGE)
def run(ctx: Context) -> Outcome:
    """The evidence register: add items, record custody transfers, list them or show one with its custody chain.

    The register is append-only (a correction is a new item), and stays open after the incident is resolved.
    """
    words = _words(ctx.rest)
    sub = words[0].lower() if words else "list"
    if sub == "list" and len(words) <= 1:
        return _list(ctx)
    if sub == "add":
        return _add(ctx, words[1:])
    if sub == "transfer":
        return _transfer(ctx, words[1:])
    number = parse_number(words[0])
    if number is not None and len(words) == 1:
        return _show(ctx, number)
    what = f"`{words[0][:80]}` is not an evidence subcommand" if sub != "list" else "`list` takes nothing after it"
    raise UsageError(
        f"{what}: use `add`, `transfer`, `list`, or an item such as `EV-1` to see its custody chain.", USAGE
    )


def _add(ctx: Context, args: list[str]) -> Outcome:
    # The description comes first; a word after the options is most likely the rest of an unquoted value.
    first = next((i for i, word in enumerate(args) if _is_option(word)), len(args))
    flags = split_flags(args[first:], switches=set(), valued={"hash", "source", "location", "corrects"}, usage=USAGE)
    if flags.words:
        raise UsageError(
            f"`{' '.join(flags.words)[:80]}` comes after the options: put the description first, "
            'and quote a value with spaces, e.g. `--location "Locker 3"`.',
            USAGE,
        )
    description = " ".join(args[:first])
    if not description:
        raise UsageError(f"Describe the evidence, e.g. {ADD_EXAMPLE}.", USAGE)
    corrects = None
    if "corrects" in flags.values:
        corrects = _item_number(flags.values["corrects"], "`--corrects EV-1`")
    digest = parse_digest(flags.values["hash"]) if "hash" in flags.values else None
    added = add_evidence(
        ctx.svc,
        incident_id=ctx.require_incident(),
        actor=ctx.user,
        description=description,
        digest=digest,
        source=flags.values.get("source"),
        location=flags.values.get("location"),
        corrects=corrects,
    )
    item = added.item
    facts = [f"`{item.digest}`" if item.digest else "no hash given"]
    facts += [f"from {item.source}"] if item.source else []
    facts += [f"stored at {item.location}"] if item.location else []
    fixing = f", correcting EV-{item.corrects}" if item.corrects else ""
    lines = [
        f":file_folder: *{item.label}* registered{fixing}: {item.description} — {', '.join(facts)}; "
        f"custodian <@{item.custodian}>.",
        f"Collected by <@{item.collected_by}> at {_collected(item)}.",
    ]
    if added.corrected_custodian and added.corrected_custodian != ctx.user:
        lines.append(
            f"EV-{item.corrects} is in <@{added.corrected_custodian}>'s custody; if they still hold it, record that "
            f"with `/incident evidence transfer {item.label} <@{added.corrected_custodian}> <purpose>`."
        )
    return Reply(Text("\n".join(lines)), visibility="in_channel")


def _transfer(ctx: Context, args: list[str]) -> Outcome:
    if not args:
        raise UsageError(f"Name the item, who receives it and why, e.g. {TRANSFER_EXAMPLE}.", USAGE)
    number = _item_number(args[0], TRANSFER_EXAMPLE)
    if len(args) < 2:
        raise UsageError(f"Name who receives EV-{number}, e.g. {TRANSFER_EXAMPLE}.", USAGE)
    to_user = mention(args[1], USAGE)
    purpose = " ".join(args[2:])
    if not purpose:
        raise UsageError(
            f"Say why EV-{number} changes hands (a custody transfer records its purpose), e.g. {TRANSFER_EXAMPLE}.",
            USAGE,
        )
    handed = transfer_evidence(
        ctx.svc, incident_id=ctx.require_incident(), number=number, to_user=to_user, purpose=purpose, actor=ctx.user
    )
    t = handed.transfer
    lines = [
        f":handshake: *EV-{number}* handed from <@{t.from_user}> to <@{t.to_user}> at {_utc(t.at)}: {t.purpose}. "
        f"Custodian now <@{t.to_user}>."
    ]
    if t.recorded_by != t.from_user:
        lines.append(f"Recorded by <@{t.recorded_by}> on behalf of <@{t.from_user}>, the previous custodian.")
    if handed.outside_private_incident:
        lines.append(
            f":warning: <@{t.to_user}> is not in this private incident: the custody is recorded, but they cannot "
            f"see it. They can ask to join with `/incident join {handed.key}`."
        )
    return Reply(Text("\n".join(lines)), visibility="in_channel")


def _list(ctx: Context) -> Outcome:
    key, items = register(ctx.svc, incident_id=ctx.require_incident())
    if not items:
        return Reply(Text(f"{key} has no evidence registered yet. Add an item with {ADD_EXAMPLE}."))
    lines = [f"*Evidence register of {key}* ({len(items)} item{'s' if len(items) != 1 else ''})"]
    for item in items:
        parts = [
            f"*{item.label}* {item.description}",
            f"`{item.digest}`" if item.digest else "no hash",
            f"custodian <@{item.custodian}>",
            f"stored at {item.location}" if item.location else "storage not given",
        ]
        parts += [f"corrects EV-{item.corrects}"] if item.corrects else []
        parts += [f"_corrected by EV-{item.corrected_by}_"] if item.corrected_by else []
        lines.append("• " + " · ".join(parts))
    lines.append("Custody chain of one item: `/incident evidence EV-<n>`.")
    return Reply(Text("\n".join(lines)))


def _show(ctx: Context, number: int) -> Outcome:
    key, item = evidence_item(ctx.svc, incident_id=ctx.require_incident(), number=number)
    lines = [f"*{item.label}* of {key}: {item.description}"]
    if item.corrects:
        lines.append(f"Corrects EV-{item.corrects}.")
    if item.corrected_by:
        lines.append(f":warning: Corrected by EV-{item.corrected_by}.")
    lines += [
        f"Hash: `{item.digest}`" if item.digest else "Hash: none recorded",
        f"Source: {item.source or 'not given'}",
        f"Stored at: {item.location or 'not given'}",
        f"Collected by <@{item.collected_by}> at {_collected(item)}",
        "*Chain of custody*",
        f"1. {_utc(item.collected_at)}: collected by <@{item.collected_by}>",
    ]
    for place, t in enumerate(item.transfers, start=2):
        lines.append(
            f"{place}. {_utc(t.at)}: <@{t.from_user}> → <@{t.to_user}>, {t.purpose} (recorded by <@{t.recorded_by}>)"
        )
    lines.append(f"Current custodian: <@{item.custodian}>")
    return Reply(Text("\n".join(lines)))


def _item_number(token: str, example: str) -> int:
    number = parse_number(token)
    if number is None:
        raise UsageError(f"`{token}` does not name an item of evidence; give it as EV-<n>, e.g. {example}.", USAGE)
    return number


def _is_option(word: str) -> bool:
    dashed = word.replace("—", "--").replace("–", "--")  # as split_flags reads it
    return dashed.startswith("--") and len(dashed) > 2


def _words(text: str) -> list[str]:
    """The words of the arguments; quoted values (straight or typographic quotes) stay one word, unquoted.

    Unlike a shell, a backslash is kept (Windows paths are common storage locations) and `'` inside a word
    is an apostrophe.
    """
    text = text.translate(_DOUBLE_QUOTES)
    if text.count('"') % 2:
        raise UsageError(
            'A double quote is not closed: put values with spaces in a pair, e.g. `--location "Locker 3"`.'
        )
    return [_unquote(token) for token in _TOKEN.findall(text)]


def _unquote(token: str) -> str:
    if len(token) >= 2 and (token[0], token[-1]) in (("'", "'"), ("‘", "’")):
        return token[1:-1]
    return token.replace('"', "")


def _utc(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _collected(item: Item) -> str:
    """The collection time in UTC and in the collector's own zone, as a custody form states it."""
    zone = item.collector_timezone
    return f"{_utc(item.collected_at)} ({local_time(item.collected_at, zone)}, {zone})"
