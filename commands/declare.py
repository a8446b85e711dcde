"""`/incident declare`."""

from __future__ import annotations

from datetime import UTC, datetime

from dateutil import parser as dateparser

from ircbot.commands.base import Context, command
from ircbot.commands.parsing import SEVERITY_LIKE, severity, split_flags
from ircbot.domain.declare import Declaration, Declared, declare
from ircbot.domain.messages import OpenModal, Outcome, Reply, Text
from ircbot.domain.resuming import remember_declaration
from ircbot.durations import parse_duration
from ircbot.errors import UsageError

USAGE = 'declare <title> [sev1-4] [--public] [--playbook NAME] [--drill] [--started "2026-11-29 04:10"|2h]'
DEFAULT_SEVERITY = "sev3"
MAX_TITLE = 150


def keep_request(ctx: Context) -> None:
    """Keep the declare as it arrives, so a crash right after the acknowledgement cannot lose it."""
    request = _request(ctx)
    if request is not None:
        remember_declaration(ctx.svc, request)


@command("declare", USAGE, needs_incident=False, aliases=("new", "open"), before_ack=keep_request)
def run(ctx: Context) -> Outcome:
    """Declare a new incident: opens its channel (private unless --public) and brings you in."""
    request = _request(ctx)
    if request is None:
        return OpenModal("declare")
    return declared_reply(declare(ctx.svc, request))


def _request(ctx: Context) -> Declaration | None:
    """The declaration typed, or None for the form (no arguments); a UsageError for a bad one."""
    if not ctx.args:
        return None
    flags = split_flags(ctx.args, switches={"public", "drill", "private"}, valued={"playbook", "started"}, usage=USAGE)
    severities = [w for w in flags.words if SEVERITY_LIKE.match(w)]
    if len(severities) > 1:
        raise UsageError(f"Give one severity, not {len(severities)} ({', '.join(severities)}).", USAGE)
    title = " ".join(w for w in flags.words if not SEVERITY_LIKE.match(w)).strip()
    return Declaration(
        title=check_title(title),
        severity=severity(severities[0], USAGE) if severities else DEFAULT_SEVERITY,
        declared_by=ctx.user,
        is_private="public" not in flags.switches,
        playbook=flags.values.get("playbook", "default").lower(),
        is_drill="drill" in flags.switches,
        started_at=parse_started(flags.values["started"], ctx.svc.clock()) if "started" in flags.values else None,
        request_key=ctx.invocation.request_key,
    )


def check_title(title: str) -> str:
    """A usable incident title, or a UsageError."""
    if not title:
        raise UsageError("An incident needs a title, e.g. `/incident declare Ransomware on FS01 sev1`.", USAGE)
    if len(title) > MAX_TITLE:
        raise UsageError(f"Keep the title under {MAX_TITLE} characters (it has {len(title)}).", USAGE)
    return title


def parse_started(text: str, now: datetime) -> datetime:
    """When impact began: an absolute time (UTC unless it says otherwise) or a duration ago (`2h`)."""
    problem = f"`{text}` is not a usable time; write e.g. `2026-11-29 04:10` or `2h` (ago)."
    try:
        return _not_before_floor(now - parse_duration(text.removesuffix("ago").strip()), problem)
    except ValueError:
        pass
    except OverflowError as exc:
        raise UsageError(problem, USAGE) from exc
    try:
        when = dateparser.parse(text)
        when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise UsageError(problem, USAGE) from exc
    if when > now:
        raise UsageError("The impact start time is in the future.", USAGE)
    return _not_before_floor(when, problem)


def _not_before_floor(when: datetime, problem: str) -> datetime:
    # Anything before 1970 is a typo, and would not survive storage as a UTC timestamp on every database.
    if when.year < 1970:
        raise UsageError(problem, USAGE)
    return when


def declared_reply(result: Declared) -> Reply:
    """What the declarer sees once the incident exists."""
    view = result.incident
    if result.duplicate:
        return Reply(
            Text(f"{view.label} was already declared for this request: <#{view.channel_id}>."), answers=view.id
        )
    privacy = "private" if view.is_private else "public"
    lines = [
        f":rotating_light: Declared *{view.label}: {view.title}* ({view.severity.upper()}). "
        f"Head to <#{view.channel_id}> ({privacy} channel)."
    ]
    lines += [f":warning: {w}" for w in result.warnings]
    if not result.ready:
        lines.append(":hourglass: I will post the welcome card when Slack takes it, and tell you by DM.")
    return Reply(Text("\n".join(lines)), answers=view.id if result.ready else None)  # else the DM will
