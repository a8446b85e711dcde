"""`/incident clock start|done|stop <regime>` and `/incident clocks`: regulatory notification deadlines."""

from __future__ import annotations

from datetime import datetime, timedelta

from dateutil import tz

from ircbot.commands.base import Context, command
from ircbot.commands.parsing import split_flags, split_words
from ircbot.commands.times import typer_zone
from ircbot.domain.clocks import ClockLine, lines_of, regime_of, start_clock, stop, submit
from ircbot.domain.date_token import slack_date
from ircbot.domain.deadlines import parse_time
from ircbot.domain.messages import Outcome, Reply, Text
from ircbot.durations import format_duration
from ircbot.errors import UsageError

USAGE = "clock start <regime> [--aware TIME] | clock done <regime> [reference] | clock stop <regime> <reason>"
NOT_ADVICE = "_Deadlines follow regulations.yaml; they are not legal advice._"


@command("clock", USAGE)
def run(ctx: Context) -> Outcome:
    """Start, submit or stop a regulatory notification clock (GDPR, NIS2, DORA, SEC 8-K, HIPAA, NYDFS …)."""
    words = ctx.rest.split(maxsplit=2)
    action = words[0].lower() if words else ""
    if action not in ("start", "done", "stop") or len(words) < 2:
        known = ", ".join(f"`{k}`" for k in ctx.svc.config.regulations.regimes)
        raise UsageError(
            f"Say `clock start <regime>`, `clock done <regime>` or `clock stop <regime> <reason>`. Regimes: {known}.",
            USAGE,
        )
    regime, rest = words[1].lower(), words[2].strip() if len(words) > 2 else ""
    regime_of(ctx.svc, regime)  # an unknown regime is answered with the list
    zone = typer_zone(ctx)
    if action == "start":
        flags = split_flags(split_words(rest), switches=set(), valued={"aware"}, usage=USAGE)
        if flags.words:
            raise UsageError(
                f"`clock start {regime}` takes only `--aware TIME`, e.g. `--aware 2026-12-01T09:00`.", USAGE
            )
        now = ctx.svc.clock()
        try:
            aware = parse_time(flags.values.get("aware", "now"), zone, now)
        except ValueError as exc:
            raise UsageError(f"`--aware`: {exc}", USAGE) from None
        lines = start_clock(ctx.svc, incident_id=ctx.require_incident(), regime_key=regime, aware=aware, actor=ctx.user)
        said = [f":stopwatch: <@{ctx.user}> started the {lines[0].regime_name} clock."]
    elif action == "done":
        lines = submit(
            ctx.svc, incident_id=ctx.require_incident(), regime_key=regime, reference=rest or None, actor=ctx.user
        )
        said = [
            f":white_check_mark: <@{ctx.user}> recorded the {regime} report as submitted"
            + (f" ({rest})." if rest else ".")
        ]
    else:
        if not rest:
            raise UsageError(
                f"Say why the {regime} clock stops, e.g. `/incident clock stop {regime} no personal data involved`.",
                USAGE,
            )
        lines = stop(ctx.svc, incident_id=ctx.require_incident(), regime_key=regime, reason=rest, actor=ctx.user)
        said = [f":octagonal_sign: <@{ctx.user}> stopped the {regime} clock as not notifiable: {rest}"]
    return Reply(
        Text("\n".join([*said, *(describe(line, zone) for line in lines), NOT_ADVICE])), visibility="in_channel"
    )


@command("clocks", "clocks")
def listing(ctx: Context) -> Outcome:
    """Every regulatory clock of the incident: report, recipient, deadline, time left and state."""
    with ctx.svc.db.transaction() as session:
        lines = lines_of(session, ctx.require_incident(), ctx.svc, ctx.svc.clock())
    if not lines:
        known = ", ".join(f"`{k}`" for k in ctx.svc.config.regulations.regimes)
        return Reply(
            Text(f"No regulatory clocks in this incident. Start one with `/incident clock start <regime>`: {known}.")
        )
    zone = typer_zone(ctx)
    return Reply(Text("\n".join(["*Regulatory clocks*", *(describe(line, zone) for line in lines), NOT_ADVICE])))


def describe(line: ClockLine, zone: str) -> str:
    """One report: what, to whom, its deadline (a date token each reader sees in their zone), and where it stands."""
    to = f" to {line.recipient}" if line.recipient else ""
    head = f"• *{line.regime.upper()}* {line.report}{to}"
    if line.due_at is None:
        return f"{head} — waiting: its clock starts when the report before it is submitted"
    due = f"due {_date(line.due_at, zone)}"
    if line.state in ("running", "overdue"):
        left = line.left or timedelta(0)
        when = f"{format_duration(left)} left" if left > timedelta(0) else f"OVERDUE by {format_duration(-left)}"
        return f"{head} — {due}; {when}"
    if line.state == "not applicable":
        return f"{head} — not applicable: {line.reason}"
    sent = f"submitted {_date(line.submitted_at, zone)} by <@{line.submitted_by}>" if line.submitted_at else "submitted"
    ref = f", reference {line.reference}" if line.reference else ""
    late = f", {format_duration(line.late_by)} late" if line.late_by else ", on time"
    return f"{head} — {due}; {sent}{ref}{late}"


def _date(when: datetime | None, zone: str) -> str:
    """A date token, which each reader sees in their own zone; the fallback is in the typer's zone."""
    if when is None:
        return "—"
    return slack_date(when, f"{when.astimezone(tz.gettz(zone) or tz.UTC):%a %Y-%m-%d %H:%M %Z}")
