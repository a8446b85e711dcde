"""The metrics as people and programs read them: one text table for Slack and the terminal, CSV and JSON."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ircbot.domain.metrics import INTERVALS, Metrics, Spread, Summary
from ircbot.durations import format_duration

MAX_LISTED = 10  # repeats named in the text report; the JSON lists them all
CSV_COLUMNS = [
    "period",
    "incidents",
    "resolved",
    "false_positives",
    "false_positive_rate",
    "repeats",
    *(f"{name}_{part}" for name in INTERVALS for part in ("n", "mean_s", "median_s", "p90_s")),
    "downtime_s",
]


def report_text(metrics: Metrics) -> str:
    """The readable report: the window in UTC, then `report_body` (what the terminal prints)."""
    window = f"{metrics.since:%Y-%m-%d %H:%M} – {metrics.until:%Y-%m-%d %H:%M} UTC"
    return f"Incidents declared {window} · {report_scope(metrics)}\n{report_body(metrics)}"


def report_scope(metrics: Metrics) -> str:
    """Which incidents count, after the window: `all severities · drills excluded`."""
    return f"{metrics.severity.upper() if metrics.severity else 'all severities'} · drills excluded"


def report_body(metrics: Metrics) -> str:
    """All of the report but its window: per-month table, MTTx spreads, false positives, repeats, downtime.

    Chat surfaces state the window themselves, in each reader's own time zone.
    """
    privacy = (
        "Private incidents count only if you were brought into them."
        if metrics.viewer
        else "Private incidents included (operator view)."
    )
    lines = [privacy]
    total = metrics.total
    if not total.incidents:
        return "\n".join([*lines, "", "No incidents in this period.", *_alert_lines(metrics)])
    lines += ["", _row("Month", "Incidents", "Resolved", "FP", "Repeats", "MTTR median", "Downtime")]
    for summary in (*metrics.months, total):
        label = "Total" if summary.period == "total" else summary.period
        downtime = format_duration(summary.total_downtime) if summary.downtime else "—"
        lines.append(
            _row(
                label,
                summary.incidents,
                summary.resolved,
                summary.false_positives,
                summary.repeats,
                format_duration(summary.mttr.median),
                downtime,
            )
        )
    lines += ["", f"{'':<6}{'n':>4}{'mean':>12}{'median':>12}{'p90':>12}"]
    for name in INTERVALS:
        s: Spread = getattr(total, name)
        cells = (format_duration(v) for v in (s.mean, s.median, s.p90))
        lines.append(f"{name.upper():<6}{s.n:>4}" + "".join(f"{c:>12}" for c in cells))
    lines.append(
        "MTTD = detected − started · MTTA = ack − declared · MTTC = contained − detected · MTTR = resolved − detected"
    )
    lines.append("")
    rate = total.false_positive_rate
    rate_text = f" ({rate:.0%})" if rate is not None else ""
    lines.append(f"False positives: {total.false_positives} of {total.resolved} resolved{rate_text}")
    shown = [f"{r.key} ({r.playbook}, after {r.repeat_of})" for r in metrics.repeats[:MAX_LISTED]]
    more = len(metrics.repeats) - len(shown)
    repeats = ", ".join(shown) + (f" and {more} more" if more > 0 else "") if shown else "none"
    lines.append(f"Repeat incidents (same playbook within 90 days): {total.repeats} — {repeats}")
    downtime = " · ".join(f"{system} {format_duration(d)}" for system, d in total.downtime) or "none recorded"
    lines.append(f"Downtime by system: {downtime}")
    return "\n".join([*lines, *_alert_lines(metrics)])


def _alert_lines(metrics: Metrics) -> list[str]:
    """Alerts per source: received, deduplicated, declared, dismissed, dropped, and their false-positive rate."""
    if not metrics.alerts:
        return []
    lines = ["", f"{'Alerts':<14}{'received':>9}{'dedup':>7}{'declared':>9}{'dismissed':>10}{'dropped':>8}{'FP':>6}"]
    for c in metrics.alerts:
        rate = "—" if c.false_positive_rate is None else f"{c.false_positive_rate:.0%}"
        lines.append(
            f"{c.source:<14}{c.received:>9}{c.deduplicated:>7}{c.declared:>9}{c.dismissed:>10}{c.dropped:>8}{rate:>6}"
        )
    lines.append("FP = alerts dismissed in triage ÷ alerts declared or dismissed")
    return lines


def report_json(metrics: Metrics) -> dict[str, Any]:
    """A stable machine-readable shape: window, per-month summaries, the total, the repeats, the months per
    severity (what the chart draws) and the alerts."""
    return {
        "since": metrics.since.isoformat(),
        "until": metrics.until.isoformat(),
        "severity": metrics.severity,
        "months": [_summary_json(s) for s in metrics.months],
        "summary": _summary_json(metrics.total),
        "repeats": [{"incident": r.key, "playbook": r.playbook, "repeat_of": r.repeat_of} for r in metrics.repeats],
        "by_severity": [
            {"severity": s.severity, "months": [_summary_json(m) for m in s.months]} for s in metrics.by_severity
        ],
        "alerts": [
            {
                "source": c.source,
                "received": c.received,
                "deduplicated": c.deduplicated,
                "declared": c.declared,
                "dismissed": c.dismissed,
                "dropped": c.dropped,
                "false_positive_rate": None if c.false_positive_rate is None else round(c.false_positive_rate, 4),
            }
            for c in metrics.alerts
        ],
    }


def report_csv_rows(metrics: Metrics) -> list[dict[str, Any]]:
    """One row per month, then the `total` row, with CSV_COLUMNS as keys; unknown values are empty."""
    rows = []
    for summary in (*metrics.months, metrics.total):
        row: dict[str, Any] = {
            "period": summary.period,
            "incidents": summary.incidents,
            "resolved": summary.resolved,
            "false_positives": summary.false_positives,
            "false_positive_rate": _blank(_rate(summary)),
            "repeats": summary.repeats,
            "downtime_s": _seconds(summary.total_downtime),
        }
        for name in INTERVALS:
            for part, value in _spread_json(getattr(summary, name)).items():
                row[f"{name}_{part}"] = _blank(value)
        rows.append(row)
    return rows


def _summary_json(summary: Summary) -> dict[str, Any]:
    return {
        "period": summary.period,
        "incidents": summary.incidents,
        "resolved": summary.resolved,
        "false_positives": summary.false_positives,
        "false_positive_rate": _rate(summary),
        "repeats": summary.repeats,
        **{name: _spread_json(getattr(summary, name)) for name in INTERVALS},
        "downtime_s": {system: _seconds(d) for system, d in summary.downtime},
        "downtime_total_s": _seconds(summary.total_downtime),
    }


def _spread_json(spread: Spread) -> dict[str, int | None]:
    return {
        "n": spread.n,
        "mean_s": _seconds(spread.mean),
        "median_s": _seconds(spread.median),
        "p90_s": _seconds(spread.p90),
    }


def _rate(summary: Summary) -> float | None:
    rate = summary.false_positive_rate
    return None if rate is None else round(rate, 4)


def _seconds(delta: timedelta | None) -> int | None:
    return None if delta is None else round(delta.total_seconds())


def _blank(value: object) -> object:
    return "" if value is None else value


def _row(*cells: object) -> str:
    widths = (8, 10, 9, 4, 8, 13, 11)
    return "".join(
        f"{c!s:<{w}}" if i == 0 else f"{c!s:>{w}}" for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )
