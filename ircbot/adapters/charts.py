"""The metrics as a PNG chart, drawn on matplotlib's Agg canvas (no display, no pyplot global state).

matplotlib is the optional `charts` extra: with numpy and the rest it brings, about 170 MB, more than everything
else ircbot installs. It is imported on the first chart, never at start; without it a chart is a MissingExtra
naming the command that installs it.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass

from ircbot.domain.metrics import Metrics
from ircbot.errors import MissingExtra

DPI = 200  # twice the screen's 100: sharp on high-density displays and when zoomed in Slack

# matplotlib is not thread-safe (shared font and text caches) and Bolt runs commands on a thread pool.
_DRAWING = threading.Lock()


@dataclass(frozen=True)
class Chart:
    """A PNG image and the series drawn in it, read back from the figure."""

    png: bytes
    months: tuple[str, ...]
    incidents: tuple[int, ...]
    mttr_hours: tuple[float | None, ...]  # median MTTR per month; None where no incident was resolved


def monthly_chart(metrics: Metrics) -> Chart:
    """Incidents per month (bars) and median MTTR in hours per month (line); MissingExtra without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
        from numpy import asarray
    except ModuleNotFoundError as exc:  # a package of the extra is absent; a broken one still raises as it is
        raise MissingExtra("the metrics chart", "charts", exc.name or "matplotlib") from exc
    months = [m.period for m in metrics.months]
    counts = [m.incidents for m in metrics.months]
    hours = [m.mttr.median.total_seconds() / 3600 if m.mttr.median is not None else math.nan for m in metrics.months]
    resolved = [m.mttr.n for m in metrics.months]
    with _DRAWING:
        figure = Figure(figsize=(8, 4.5), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        left = figure.add_subplot()
        bars = left.bar(months, counts, color="#4a78b5", label="incidents")
        left.set_ylabel("incidents")
        left.set_ylim(bottom=0)
        left.yaxis.set_major_locator(MaxNLocator(integer=True))
        right = left.twinx()
        (line,) = right.plot(months, hours, color="#d0543c", marker="o", label="median MTTR (h), n = resolved")
        for month, value, n in zip(months, hours, resolved, strict=True):
            if not math.isnan(value):  # each point says how many incidents its median is over
                right.annotate(f"n={n}", (month, value), textcoords="offset points", xytext=(0, 6), ha="center")
        right.set_ylabel("median MTTR (hours)")
        known = [h for h in hours if not math.isnan(h)]
        right.set_ylim(0, max(known) * 1.15 if known else 1)  # room above the highest point for its n= label
        scope = metrics.severity.upper() if metrics.severity else "all severities"
        window = f"{metrics.since:%Y-%m-%d} to {metrics.until:%Y-%m-%d}"
        left.set_title(f"Incidents and median MTTR per month\n{window} · {scope} · drills excluded")
        if not any(counts):
            left.set_ylim(0, 1)
            left.set_xticks([])
            left.set_yticks([])
            right.set_yticks([])
            left.text(0.5, 0.5, "No incidents", transform=left.transAxes, ha="center", va="center", fontsize=16)
        figure.legend(handles=[bars, line], loc="outside lower center", ncols=2, frameon=False)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        drawn_counts = tuple(round(float(bar.get_height())) for bar in bars)
        drawn_hours = tuple(None if math.isnan(y) else y for y in asarray(line.get_ydata(), dtype=float).tolist())
    return Chart(png=buffer.getvalue(), months=tuple(months), incidents=drawn_counts, mttr_hours=drawn_hours)
