"""`/incident stats`."""

from __future__ import annotations

from ircbot.commands.base import Context, command
from ircbot.commands.parsing import severity, split_flags
from ircbot.domain.messages import Outcome, Reply, StatsCard
from ircbot.domain.metrics import DEFAULT_SINCE, Metrics, parse_since
from ircbot.domain.stats import collect
from ircbot.errors import GatewayError, MissingExtra, UsageError

USAGE = "stats [--since 90d|2026-01-01] [--severity sev1]"


@command("stats", USAGE, needs_incident=False, aliases=("metrics",))
def run(ctx: Context) -> Outcome:
    """Response metrics (MTTD, MTTA, MTTC, MTTR, per month) over the incidents you may see, with a chart."""
    flags = split_flags(ctx.args, switches=set(), valued={"since", "severity"}, usage=USAGE)
    if flags.words:
        raise UsageError(f"`stats` takes only options, not `{flags.words[0]}`.", USAGE)
    now = ctx.svc.clock()
    try:
        since = parse_since(flags.values.get("since", DEFAULT_SINCE), now)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}.", USAGE) from exc
    level = severity(flags.values["severity"], USAGE) if "severity" in flags.values else None
    found = collect(ctx.svc.db, viewer=ctx.user, since=since, until=now, severity=level)
    return Reply(StatsCard(found, note=_send_chart(ctx, found)))


def _send_chart(ctx: Context, found: Metrics) -> str:
    """Upload the chart into the caller's DM with the bot, and say so.

    Never into the channel the command was typed in: the numbers may include private incidents the
    caller was brought into, and the members of that channel must not learn of them. The DM, like the
    ephemeral table, is seen by the caller alone.
    """
    if not found.total.incidents or ctx.svc.draw_chart is None:
        return ""
    try:
        png = ctx.svc.draw_chart(found)
    except MissingExtra as exc:
        return f":information_source: No chart: the bot was installed without its charts extra ({exc.install} adds it)."
    scope = found.severity.upper() if found.severity else "all severities"
    try:
        ctx.svc.chat.upload(
            ctx.user,
            filename=f"incident-metrics-{found.until:%Y-%m-%d}.png",
            title=f"MTTD, MTTA, MTTC and MTTR per month and severity since {found.since:%Y-%m-%d} ({scope})",
            content=png,
            comment=f":bar_chart: Incident metrics since {found.since:%Y-%m-%d} ({scope}), as you asked.",
        )
    except GatewayError as exc:
        return f":warning: Could not send the chart: Slack said `{exc.error}`."
    return ":bar_chart: The chart is in your direct messages with me."
