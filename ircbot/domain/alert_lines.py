"""What an incident's channel is told of the alerts attached to it: one line for however many arrive together.

Every attached alert is a timeline event of its own; the channel is told in a line per incident (and one for the
alerts that cleared at their source), so a storm of alerts into one incident is a few lines to read, not one per
alert. Alerts attached while the incident's last line still waits in the outbox (never tried yet: claiming it takes
the incident's lock, which the caller holds) join that line, so a round of the engine says them in one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from ircbot.domain.kinds import OutboxKind
from ircbot.store import alert_queries, queries
from ircbot.store.models import Alert, Incident

SHOWN = 5  # alerts named in a line that says several; the rest are counted (the timeline has them all)


@dataclass
class _Said:
    """The alerts one line of an incident says: how many, the first SHOWN of them named."""

    incident: Incident
    resolved: bool
    count: int = 0
    shown: list[list[str]] = field(default_factory=list)  # [severity, source, title]

    def add(self, count: int, shown: list[list[str]]) -> None:
        self.count += count
        self.shown = [*self.shown, *shown][:SHOWN]

    def payload(self) -> dict[str, object]:
        """The outbox message's payload: the text, and the facts a later alert grows it from."""
        text = line_text(self.count, self.shown, resolved=self.resolved)
        return {"text": text, "count": self.count, "shown": self.shown, "resolved": self.resolved}


class AlertLines:
    """The channel lines of the alerts attached in one transaction, queued to the outbox before it commits."""

    def __init__(self) -> None:
        self._lines: dict[tuple[int, bool], _Said] = {}

    def add(self, incident: Incident, alert: Alert) -> None:
        """Have the incident's channel told of this alert (attached, or cleared at its source)."""
        assert incident.id is not None
        resolved = alert.status == "resolved"
        said = self._lines.setdefault((incident.id, resolved), _Said(incident, resolved))
        said.add(1, [[alert.severity, alert.source, alert.title]])

    def queue(self, session: Session, now: datetime) -> None:
        """Queue one line per incident and kind, or grow the line still waiting to be sent."""
        for (incident_id, resolved), said in self._lines.items():
            waiting = alert_queries.unsent_alert_line(session=session, incident_id=incident_id, resolved=resolved)
            if waiting is not None:
                merged = _Said(said.incident, resolved)
                merged.add(int(waiting.payload["count"]), list(waiting.payload.get("shown", [])))
                merged.add(said.count, said.shown)
                waiting.payload = merged.payload()
                continue
            queries.queue_outbox(
                session=session,
                incident_id=incident_id,
                kind=OutboxKind.ALERT_LINE,
                recipient=said.incident.channel_id or "",
                payload=said.payload(),
                now=now,
            )
        self._lines.clear()


def line_text(count: int, shown: list[list[str]], *, resolved: bool) -> str:
    """The line for `count` alerts, the first of them `shown` as [severity, source, title]."""
    if count == 1 and shown:
        severity, source, title = shown[0]
        if resolved:
            return (
                f":large_green_circle: {source} says this alert cleared: *{title}*. "
                "The incident stays open until you resolve it."
            )
        return f":rotating_light: New {severity} alert from {source} in this incident: *{title}*"
    named = "\n".join(f"• {severity} from {source}: *{title}*" for severity, source, title in shown)
    more = f"\n…and {count - len(shown)} more, each in the timeline" if count > len(shown) else ""
    if resolved:
        head = f":large_green_circle: {count} alerts of this incident cleared at their source:"
        return f"{head}\n{named}{more}\nThe incident stays open until you resolve it."
    return f":rotating_light: {count} new alerts in this incident:\n{named}{more}"
