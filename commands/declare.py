"""`/incident declare`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.commands.parsing import SEVERITY_LIKE, severity, split_flags
from ircbot.commands.times import echo, typed_time, typer_zone
from ircbot.domain.declare import Declaration, Declared, declare
from ircbot.domain.messages import OpenModal, Outcome, Reply, Text
from ircbot.domain.resuming import remember_declaration
from ircbot.errors import UsageError

USAGE = (
    'declare <title> [sev1-4] [--public] [--playbook NAME] [--drill] [--started "2026-11-29 04:10"|2h] '
    '[--detected "2026-11-29 04:40"|30m]'
)
DEFAULT_SEVERITY = "sev3"
MAX_TITLE = 150


def keep_request(ctx: Context) -> None:
    """Keep the declare as it arrives, so a crash right after the acknowledgement cannot lose it."""
    # No Slack call before the acknowledgement: typed times are read in the bot's zone here; the declare
    # itself reads them in the typer's (a declare resumed after a crash keeps this reading).
    request = _request(ctx, zone=ctx.svc.timezone)
    if request is not None:
        remember_declaration(ctx.svc, request)


@command("declare", USAGE, needs_incident=False, aliases=("new", "open"), before_ack=keep_request)
def run(ctx: Context) -> Outcome:
    """Declare a new incident: opens its channel (private unless --public) and brings you in."""
    request = _request(ctx)
    if request is None:
        return OpenModal("declare")
    return declared_reply(declare(ctx.svc, request))


def _request(ctx: Context, *, zone: str | None = None) -> Declaration | None:
    """The declaration typed, or None for the form (no arguments); a UsageError for a bad one."""
    if not ctx.args:
        return None
    flags = split_flags(
        ctx.args, switches={"public", "drill", "private"}, valued={"playbook", "started", "detected"}, usage=USAGE
    )
    severities = [w for w in flags.words if SEVERITY_LIKE.match(w)]
    if len(severities) > 1:
        raise UsageError(f"Give one severity, not {len(severities)} ({', '.join(severities)}).", USAGE)
    title = " ".join(w for w in flags.words if not SEVERITY_LIKE.match(w)).strip()
    if zone is None:
        zone = typer_zone(ctx) if {"started", "detected"} & set(flags.values) else ctx.svc.timezone
    started = (
        typed_time(ctx, flags.values["started"], what="--started", usage=USAGE, zone=zone)
        if "started" in flags.values
        else None
    )
    detected = (
        typed_time(ctx, flags.values["detected"], what="--detected", usage=USAGE, zone=zone)
        if "detected" in flags.values
        else None
    )
    if started and detected and detected < started:
        raise UsageError(f"--detected ({echo(detected, zone)}) is before --started ({echo(started, zone)}).", USAGE)
    return Declaration(
        title=check_title(title),
        severity=severity(severities[0], USAGE) if severities else DEFAULT_SEVERITY,
        declared_by=ctx.user,
        is_private="public" not in flags.switches,
        playbook=flags.values.get("playbook", "default").lower(),
        is_drill="drill" in flags.switches,
        started_at=started,
        detected_at=detected,
        request_key=ctx.invocation.request_key,
    )


def check_title(title: str) -> str:
    """A usable incident title, or a UsageError."""
    if not title:
        raise UsageError("An incident needs a title, e.g. `/incident declare Ransomware on FS01 sev1`.", USAGE)
    if len(title) > MAX_TITLE:
        raise UsageError(f"Keep the title under {MAX_TITLE} characters (it has {len(title)}).", USAGE)
    return title


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
