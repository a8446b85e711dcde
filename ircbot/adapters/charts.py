"""The metrics as a PNG chart, drawn on matplotlib's Agg canvas (no display, no pyplot global state).

matplotlib is the optional `charts` extra: with numpy and the rest it brings, about 170 MB, more than everything
else ircbot installs. It is imported on the first chart, never at start; without it a chart is a MissingExtra
naming the command that installs it.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ircbot.domain.metrics import INTERVALS, Metrics, SeverityMonths, Spread
from ircbot.errors import MissingExtra

if TYPE_CHECKING:
    from matplotlib.axes import Axes

DPI = 200  # twice the screen's 100: sharp on high-density displays and when zoomed in Slack
WIDTH = 12  # inches, for up to MONTHS_AT_WIDTH months; the height grows with the severities, a row of panels each
MONTHS_AT_WIDTH = 7
MAX_WIDTH = 18  # a year and more: wider, and the small panels name every other month (or fewer)
HEADINGS = {
    "mttd": "MTTD\nimpact started → detected",
    "mtta": "MTTA\ndeclared → acknowledged",
    "mttc": "MTTC\ndetected → contained",
    "mttr": "MTTR\ndetected → resolved",
}
# Fixed per severity, the same in the bars and in the lines; a distinct marker too, for whoever tells colours
# apart poorly.
STYLES = {
    "sev1": ("#c0392b", "o"),
    "sev2": ("#e67e22", "s"),
    "sev3": ("#2e86c1", "^"),
    "sev4": ("#7f8c8d", "D"),
}
OTHER_STYLES = (("#8e44ad", "v"), ("#16a085", "P"), ("#34495e", "X"), ("#b7950b", "*"))
MINUTES_BELOW_HOURS = 2  # a panel whose medians all stay under 2 h counts in minutes
MINUTE_STEPS = (1, 2, 5, 10, 15, 20, 30, 60)  # between ticks: times people round to
HOUR_STEPS = (0.5, 1, 2, 3, 4, 6, 8, 12, 24, 48, 72, 168, 336, 720)
LABEL_BOX = {"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.8}  # over a line

# matplotlib is not thread-safe (shared font and text caches) and Bolt runs commands on a thread pool.
_DRAWING = threading.Lock()


@dataclass(frozen=True)
class Chart:
    """A PNG image and the series drawn in it, read back from the figure."""

    png: bytes
    months: tuple[str, ...]
    incidents: Mapping[str, tuple[int, ...]]  # severity: incidents declared per month (the stacked bars)
    hours: Mapping[str, Mapping[str, tuple[float | None, ...]]]  # metric: severity: median per month; None a gap
    labels: Mapping[str, Mapping[str, tuple[str, ...]]]  # metric: severity: the `n=` written at each point drawn


def monthly_chart(metrics: Metrics) -> Chart:
    """Incidents per month by severity, and a row per severity of the median MTTD, MTTA, MTTC and MTTR per month.

    Each panel has its own scale, so a sev1 trend is not flattened by slow sev4 incidents. MissingExtra without
    matplotlib.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from numpy import asarray
    except ModuleNotFoundError as exc:  # a package of the extra is absent; a broken one still raises as it is
        raise MissingExtra("the metrics chart", "charts", exc.name or "matplotlib") from exc
    months = tuple(m.period for m in metrics.months)
    series = metrics.by_severity
    with _DRAWING:
        width = min(MAX_WIDTH, WIDTH + 0.5 * max(0, len(months) - MONTHS_AT_WIDTH))
        figure = Figure(figsize=(width, 2.6 + 2.0 * max(1, len(series))), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        scope = metrics.severity.upper() if metrics.severity else "all severities"
        window = f"{metrics.since:%Y-%m-%d %H:%M} – {metrics.until:%Y-%m-%d %H:%M} UTC"
        figure.suptitle(
            f"Incident response per month and severity\nDeclared {window} · {scope} · drills excluded", fontsize=14
        )
        if not metrics.total.incidents:
            empty = figure.add_subplot()
            empty.set_axis_off()
            empty.text(0.5, 0.5, "No incidents", transform=empty.transAxes, ha="center", va="center", fontsize=20)
            figure.savefig(buffer := io.BytesIO(), format="png")
            return Chart(png=buffer.getvalue(), months=months, incidents={}, hours={}, labels={})
        rows = [[f"{s.severity} {m}" for m in INTERVALS] for s in series]
        layout: list[Any] = [["incidents"] * len(INTERVALS), *rows]
        panels = figure.subplot_mosaic(layout, height_ratios=[1.2] + [1] * len(series))
        styles = _styles(series)
        x = list(range(len(months)))
        bars = _incident_bars(panels["incidents"], series, styles, x)
        lines: dict[str, dict[str, Any]] = {m: {} for m in INTERVALS}
        labels: dict[str, dict[str, tuple[str, ...]]] = {m: {} for m in INTERVALS}
        factors: dict[tuple[str, str], float] = {}
        for row, s in enumerate(series):
            for column, metric in enumerate(INTERVALS):
                axes = panels[f"{s.severity} {metric}"]
                spreads = [getattr(m, metric) for m in s.months]
                line, labels[metric][s.severity], factor = _time_panel(axes, spreads, styles[s.severity], x)
                lines[metric][s.severity], factors[metric, s.severity] = line, factor
                if row == 0:
                    axes.set_title(HEADINGS[metric], fontsize=11)
                if column == 0:
                    axes.set_ylabel(s.severity.upper(), fontsize=12, fontweight="bold", color=styles[s.severity][0])
        for name, axes in panels.items():
            wide = name == "incidents"  # the bars span four panels: their months fit side by side
            every = 1 if wide else math.ceil(len(months) / MONTHS_AT_WIDTH)
            named = [month if i % every == 0 else "" for i, month in enumerate(months)]
            tilted = len(months) > (12 if wide else 4)
            axes.set_xticks(x, named, rotation=45 if tilted else 0, ha="right" if tilted else "center")
            axes.tick_params(axis="x", labelbottom=wide or name in rows[-1])
            axes.set_xlim(-0.5, len(months) - 0.5)
        figure.supxlabel(
            "Each point: the median of the month's incidents of that severity that have both times; n = how many. "
            "No point: none had (a gap, not zero).\nEach panel has its own scale, in minutes (m) or hours (h). "
            "Months are calendar months in UTC.",
            fontsize=9,
            color="#555555",
        )
        figure.savefig(buffer := io.BytesIO(), format="png")
        incidents = {s: tuple(round(float(p.get_height())) for p in bar) for s, bar in bars.items()}
        hours = {
            metric: {
                s: tuple(
                    None if math.isnan(y) else y / factors[metric, s] for y in asarray(line.get_ydata(), dtype=float)
                )
                for s, line in drawn.items()
            }
            for metric, drawn in lines.items()
        }
    return Chart(png=buffer.getvalue(), months=months, incidents=incidents, hours=hours, labels=labels)


def _styles(series: tuple[SeverityMonths, ...]) -> dict[str, tuple[str, str]]:
    others = iter(OTHER_STYLES * (1 + len(series) // len(OTHER_STYLES)))
    return {s.severity: STYLES.get(s.severity) or next(others) for s in series}


def _incident_bars(
    axes: Axes, series: tuple[SeverityMonths, ...], styles: dict[str, tuple[str, str]], x: list[int]
) -> dict[str, Any]:
    """Incidents declared per month, stacked by severity, each month's total above its bar."""
    from matplotlib.ticker import MaxNLocator

    bottom = [0] * len(x)
    bars = {}
    for s in series:
        counts = [m.incidents for m in s.months]
        bars[s.severity] = axes.bar(
            x, counts, bottom=bottom, color=styles[s.severity][0], width=0.6, label=s.severity.upper()
        )
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    for position, total in zip(x, bottom, strict=True):
        axes.annotate(str(total), (position, total), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=9)
    axes.set_title("Incidents declared per month", fontsize=11, loc="left")
    axes.set_ylabel("incidents")
    axes.set_ylim(0, max(bottom) * 1.25 or 1)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="lower right", bbox_to_anchor=(1, 1), ncols=len(series), frameon=False, fontsize=9)
    return bars


def _time_panel(
    axes: Axes, spreads: list[Spread], style: tuple[str, str], x: list[int]
) -> tuple[Any, tuple[str, ...], float]:
    """One severity's median of one interval per month, each point labelled with its n; the unit's factor."""
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    known = [sp.median.total_seconds() / 3600 for sp in spreads if sp.median is not None]
    factor = 60.0 if known and max(known) < MINUTES_BELOW_HOURS else 1.0
    values = [math.nan if sp.median is None else sp.median.total_seconds() / 3600 * factor for sp in spreads]
    color, marker = style
    (line,) = axes.plot(x, values, color=color, marker=marker, markersize=5, linewidth=1.6)
    drawn = []
    for position, value, spread in zip(x, values, spreads, strict=True):
        if not math.isnan(value):
            drawn.append(f"n={spread.n}")
            axes.annotate(
                drawn[-1], (position, value), textcoords="offset points", xytext=(0, 5), ha="center", fontsize=7,
                color="#333333", bbox=LABEL_BOX,
            )  # fmt: skip
    top = max(known, default=0) * factor * 1.3 or 1  # room above the highest point for its n= label
    axes.set_ylim(0, top)
    axes.yaxis.set_major_locator(MultipleLocator(_tick_step(top, MINUTE_STEPS if factor == 60 else HOUR_STEPS)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}{'m' if factor == 60 else 'h'}"))
    axes.grid(axis="y", alpha=0.3)
    if not known:
        axes.set_yticks([])
        axes.text(0.5, 0.5, "no incident with both times", transform=axes.transAxes, ha="center", color="#777777")
    return line, tuple(drawn), factor


def _tick_step(top: float, steps: tuple[float, ...]) -> float:
    """The smallest round step that puts at most four ticks above zero."""
    return next((step for step in steps if top / step <= 4), steps[-1] * math.ceil(top / steps[-1] / 4))
