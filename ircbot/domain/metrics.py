"""Response metrics across incidents: counts per month, MTTD/MTTA/MTTC/MTTR, false positives, repeats, downtime."""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dateutil import parser as dateparser

from ircbot.durations import parse_duration

DEFAULT_SINCE = "90d"
REPEAT_WINDOW = timedelta(days=90)
INTERVALS = {  # metric: (from, to) as in DESIGN.md section 4
    "mttd": ("started_at", "detected_at"),
    "mtta": ("declared_at", "acknowledged_at"),
    "mttc": ("detected_at", "contained_at"),
    "mttr": ("detected_at", "resolved_at"),
}


@dataclass(frozen=True)
class IncidentTimes:
    """What the metrics need of one incident, detached from the database session."""

    id: int
    key: str
    severity: str
    playbook: str
    declared_at: datetime
    detected_at: datetime
    started_at: datetime | None = None
    acknowledged_at: datetime | None = None
    contained_at: datetime | None = None
    resolved_at: datetime | None = None
    false_positive: bool = False
    systems: tuple[str, ...] = ()  # the affected systems its impact records name


@dataclass(frozen=True)
class Downtime:
    """One recorded outage of one system during one incident."""

    incident_id: int
    system: str
    started_at: datetime
    ended_at: datetime


@dataclass(frozen=True)
class Spread:
    """Mean, median and 90th percentile of one interval over the n incidents that have both times."""

    n: int
    mean: timedelta | None = None
    median: timedelta | None = None
    p90: timedelta | None = None


@dataclass(frozen=True)
class Repeat:
    """An incident like one declared at most 90 days before it: the same playbook (category), other than the
    catch-all `default`, or an affected system in common. `playbook` names what they share."""

    key: str
    playbook: str
    repeat_of: str


@dataclass(frozen=True)
class Summary:
    """The metrics of one set of incidents: a calendar month (`2026-01`) or the whole window (`total`)."""

    period: str
    incidents: int
    resolved: int
    false_positives: int
    repeats: int
    mttd: Spread
    mtta: Spread
    mttc: Spread
    mttr: Spread
    downtime: tuple[tuple[str, timedelta], ...]  # per system, overlaps merged, by system name

    @property
    def false_positive_rate(self) -> float | None:
        """False positives among resolved incidents; None when none is resolved."""
        return self.false_positives / self.resolved if self.resolved else None

    @property
    def total_downtime(self) -> timedelta:
        """Downtime summed over systems."""
        return sum((d for _, d in self.downtime), timedelta())


@dataclass(frozen=True)
class SeverityMonths:
    """One severity's summaries, month by month over the same months as `Metrics.months` (empty months too)."""

    severity: str
    months: tuple[Summary, ...]


@dataclass(frozen=True)
class AlertCounts:
    """What became of the alerts one source sent in the window."""

    source: str
    received: int = 0
    deduplicated: int = 0
    declared: int = 0  # opened an incident (a rule, or Declare in triage)
    dismissed: int = 0  # false positives, said so in triage
    dropped: int = 0

    @property
    def false_positive_rate(self) -> float | None:
        """Dismissed among the alerts someone or a rule judged (declared or dismissed); None when none was."""
        judged = self.declared + self.dismissed
        return self.dismissed / judged if judged else None


@dataclass(frozen=True)
class Metrics:
    """Metrics over the incidents declared in [since, until], drills excluded, as one viewer may see them."""

    since: datetime
    until: datetime
    severity: str | None
    viewer: str | None  # None: an operator on the command line, who sees private incidents too
    total: Summary
    months: tuple[Summary, ...]
    repeats: tuple[Repeat, ...]
    alerts: tuple[AlertCounts, ...] = ()  # per source, by name
    by_severity: tuple[SeverityMonths, ...] = ()  # each severity in the window, sev1 first


def parse_since(text: str, now: datetime) -> datetime:
    """`90d` (back from now) or an ISO date/time (UTC unless it has an offset); ValueError otherwise."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        parsed = dateparser.isoparse(text)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"`{text}` is neither a duration such as 90d nor a date such as 2026-01-01") from exc
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if parsed > now:
        raise ValueError(f"`{text}` is in the future")
    return parsed.astimezone(UTC)


def spread(values: Iterable[timedelta]) -> Spread:
    """Mean, median and p90 (linear interpolation between closest ranks, as numpy's default)."""
    seconds = sorted(v.total_seconds() for v in values)
    if not seconds:
        return Spread(0)
    p90 = seconds[0] if len(seconds) == 1 else statistics.quantiles(seconds, n=10, method="inclusive")[8]
    return Spread(
        n=len(seconds),
        mean=timedelta(seconds=statistics.fmean(seconds)),
        median=timedelta(seconds=statistics.median(seconds)),
        p90=timedelta(seconds=p90),
    )


def merged_downtime(outages: Iterable[Downtime]) -> tuple[tuple[str, timedelta], ...]:
    """Downtime per system with overlapping (or touching) outages counted once."""
    by_system: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for outage in outages:
        by_system[outage.system.strip().casefold()].append((outage.started_at, outage.ended_at))
    totals = []
    for system, spans in sorted(by_system.items()):
        first, *rest = sorted(spans)
        total, (current_start, current_end) = timedelta(), first
        for start, end in rest:
            if start <= current_end:
                current_end = max(current_end, end)
                continue
            total += current_end - current_start
            current_start, current_end = start, end
        totals.append((system, total + (current_end - current_start)))
    return tuple(totals)


def find_repeats(incidents: Sequence[IncidentTimes]) -> dict[int, Repeat]:
    """For each incident, the latest earlier one within REPEAT_WINDOW of the same specific playbook, or hitting a
    system it hit too; the catch-all `default` playbook alone makes no incident a repeat of another."""
    latest: dict[str, IncidentTimes] = {}
    found: dict[int, Repeat] = {}
    for incident in sorted(incidents, key=lambda i: (i.declared_at, i.id)):
        keys = [incident.playbook] if incident.playbook != "default" else []
        keys += [f"system {system}" for system in incident.systems]
        earlier = [(latest[k], k) for k in keys if k in latest]
        recent = [(e, k) for e, k in earlier if incident.declared_at - e.declared_at <= REPEAT_WINDOW]
        if recent:
            match, why = max(recent, key=lambda pair: (pair[0].declared_at, pair[0].id))
            found[incident.id] = Repeat(key=incident.key, playbook=why, repeat_of=match.key)
        for key in keys:
            latest[key] = incident
    return found


def month_of(moment: datetime) -> str:
    """The calendar month in UTC, e.g. `2026-01`."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def months_from_to(first: str, last: str) -> list[str]:
    """Every month label from first to last inclusive."""
    year, month = map(int, first.split("-"))
    labels = []
    while (label := f"{year:04d}-{month:02d}") <= last:
        labels.append(label)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return labels


def severity_order(severity: str) -> tuple[str, int, str]:
    """Sorts `sev2` before `sev10`: the letters, then the number in the name, then the name."""
    digits = re.search(r"\d+", severity)
    return (re.sub(r"\d+", "", severity), int(digits.group()) if digits else 0, severity)


def summarize(
    period: str, incidents: Sequence[IncidentTimes], outages: Sequence[Downtime], repeats: dict[int, Repeat]
) -> Summary:
    """The metrics of these incidents and their outages."""
    resolved = [i for i in incidents if i.resolved_at is not None]
    ids = {i.id for i in incidents}
    spreads = {name: spread(_intervals(incidents, *fields)) for name, fields in INTERVALS.items()}
    return Summary(
        period=period,
        incidents=len(incidents),
        resolved=len(resolved),
        false_positives=sum(1 for i in resolved if i.false_positive),
        repeats=sum(1 for i in incidents if i.id in repeats),
        downtime=merged_downtime(o for o in outages if o.incident_id in ids),
        **spreads,
    )


def compute(
    incidents: Sequence[IncidentTimes],
    outages: Sequence[Downtime],
    *,
    since: datetime,
    until: datetime,
    severity: str | None = None,
    viewer: str | None = None,
) -> Metrics:
    """Metrics over incidents declared in [since, until] (drills already left out).

    `incidents` may reach back REPEAT_WINDOW before `since`: an incident in the window repeats one before it.
    Repeats ignore the severity filter, since a category recurs whatever each occurrence's severity.
    """
    repeats = find_repeats(incidents)
    chosen = [
        i
        for i in sorted(incidents, key=lambda i: (i.declared_at, i.id))
        if since <= i.declared_at <= until and (severity is None or i.severity == severity)
    ]
    chosen_ids = {i.id for i in chosen}
    repeats = {k: r for k, r in repeats.items() if k in chosen_ids}
    declared_in = {month_of(i.declared_at) for i in chosen}
    labels = months_from_to(min(declared_in), max(declared_in)) if declared_in else []

    def monthly(group: Sequence[IncidentTimes]) -> tuple[Summary, ...]:
        by_month: dict[str, list[IncidentTimes]] = defaultdict(list)
        for incident in group:
            by_month[month_of(incident.declared_at)].append(incident)
        return tuple(summarize(label, by_month.get(label, []), outages, repeats) for label in labels)

    severities = sorted({i.severity for i in chosen}, key=severity_order)
    return Metrics(
        since=since,
        until=until,
        severity=severity,
        viewer=viewer,
        total=summarize("total", chosen, outages, repeats),
        months=monthly(chosen),
        repeats=tuple(repeats[i.id] for i in chosen if i.id in repeats),
        by_severity=tuple(SeverityMonths(s, monthly([i for i in chosen if i.severity == s])) for s in severities),
    )


def _intervals(incidents: Iterable[IncidentTimes], start: str, end: str) -> list[timedelta]:
    pairs = ((getattr(i, start), getattr(i, end)) for i in incidents)
    return [b - a for a, b in pairs if a is not None and b is not None]
