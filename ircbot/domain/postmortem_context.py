"""Everything a postmortem says, gathered from the database and the channel's history (see channel_read)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dateutil import tz
from sqlmodel import Session

from ircbot.domain.chain import verify_incident
from ircbot.domain.channel_read import ChannelRead
from ircbot.domain.kinds import TimelineKind
from ircbot.domain.metrics import INTERVALS
from ircbot.domain.out_of_band import spans, within
from ircbot.domain.people import MENTION, People
from ircbot.domain.postmortem_record import record_sections
from ircbot.domain.postmortem_retro import retro_sections
from ircbot.domain.redaction import Redactor
from ircbot.domain.services import Services
from ircbot.domain.stages import STAGE_TITLES, STAGES
from ircbot.domain.timeline import describe
from ircbot.durations import format_duration
from ircbot.store import alert_queries, queries
from ircbot.store.models import Incident, TimelineEvent

ACTION_ITEM = re.compile(r"^\s*(?:AI|TODO)\s*:\s*(.+)", re.IGNORECASE | re.DOTALL)
# What each metric means, in words; the intervals themselves are defined once, in metrics.INTERVALS.
METRIC_WORDS = {
    "mttd": ("time to detect", "detected − impact started"),
    "mtta": ("time to acknowledge", "first acknowledgement − declared"),
    "mttc": ("time to contain", "contained − detected"),
    "mttr": ("time to resolve", "resolved − detected"),
}
UNKNOWN = {
    "mttd": "— (impact start not recorded: `started TIME`)",
    "mtta": "— (never acknowledged)",
    "mttc": "— (containment not recorded: `contained [TIME]`)",
    "mttr": "— (not resolved)",
}
"""What a metric without one of its two times says instead: unknown, and how to record it, never a zero."""
# NIST SP 800-61 r2, section 3.4.1 (lessons learned).
LESSONS_QUESTIONS = (
    "Exactly what happened, and at what times?",
    "How well did staff and management perform? Were the documented procedures followed, and were they adequate?",
    "What information was needed sooner?",
    "Were any steps or actions taken that might have inhibited the recovery?",
    "What would staff and management do differently the next time a similar incident occurs?",
    "How could information sharing with other organizations have been improved?",
    "What corrective actions can prevent similar incidents in the future?",
    "What precursors or indicators should be watched for in the future to detect similar incidents?",
    "What additional tools or resources are needed to detect, analyze and mitigate future incidents?",
)


@dataclass
class Line:
    """One row of the postmortem's timeline: a key event in full, or a condensed run of chat."""

    at: datetime
    who: str | None
    text: str
    pinned: bool = False
    away: bool = False  # it happened out of band (in the room, while the incident was away from Slack)


def metrics(incident: Incident) -> list[dict[str, str]]:
    """The four response metrics of one incident, each with its definition."""
    rows = []
    for name, (start, end) in INTERVALS.items():
        began: datetime | None = getattr(incident, start)
        ended: datetime | None = getattr(incident, end)
        label, definition = METRIC_WORDS[name]
        value = format_duration(ended - began) if began and ended else UNKNOWN[name]
        rows.append({"name": name.upper(), "label": label, "definition": definition, "value": value})
    return rows


def build_context(
    svc: Services, session: Session, incident: Incident, channel: ChannelRead, redactor: Redactor
) -> dict[str, Any]:
    """The template's variables; every free text passes through the redactor."""
    assert incident.id is not None
    zone = tz.gettz(svc.timezone) or tz.UTC
    events = list(queries.timeline(session=session, incident_id=incident.id))
    person = People(svc)

    def clean(text: str) -> str:
        return redactor.redact(person.in_text(text))

    return {
        "incident": incident,
        "key": incident.key,
        "title": clean(incident.title),
        "summary": clean(incident.summary or ""),
        "timezone": svc.timezone,
        "when": lambda t: t.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if t else "—",
        "playbook": svc.config.playbooks.get(incident.playbook),
        "severity_history": _severity_history(incident, events),
        "role_history": _role_history(svc, session, incident),
        "stages": _stages(svc, session, incident, events),
        "escalations": _escalations(incident, events, person),
        "timeline": _timeline(events, clean, person),
        "transcript": _transcript(events, channel, clean, person),
        "out_of_band": spans(events),
        "alerts": [
            {
                "at": a.started_at or a.received_at,
                "source": a.source,
                "severity": a.severity,
                "status": a.status,
                "title": clean(a.title),
                "outcome": a.outcome,
            }
            for a in alert_queries.alerts_of_incident(session=session, incident_id=incident.id)
        ],
        "metrics": metrics(incident),
        "action_items": _action_items(events, channel, clean),
        "lessons": LESSONS_QUESTIONS,
        "channel_problem": channel.problem,
        "message_count": len(channel.messages),
        "compiled_at": svc.clock(),
        "person": person,
        "chain": verify_incident(session, incident),
        **record_sections(svc, session, incident, clean, person),
        **retro_sections(session, incident, clean, person),
    }


def _severity_history(incident: Incident, events: list[TimelineEvent]) -> list[dict[str, Any]]:
    changes = [e for e in events if e.kind == "severity_changed"]
    first = changes[0].data["from"] if changes else incident.severity
    history = [{"at": incident.declared_at, "severity": first.upper(), "by": incident.declared_by}]
    history += [{"at": e.at, "severity": str(e.data["to"]).upper(), "by": e.actor} for e in changes]
    return history


def _role_history(svc: Services, session: Session, incident: Incident) -> list[dict[str, Any]]:
    assert incident.id is not None
    roles = svc.config.roles.roles
    return [
        {
            "title": roles[a.role].title if a.role in roles else a.role,
            "user": a.user_id,
            "since": a.assigned_at,
            "until": a.released_at,
        }
        for a in queries.role_history(session=session, incident_id=incident.id)
    ]


def _stages(svc: Services, session: Session, incident: Incident, events: list[TimelineEvent]) -> list[dict[str, Any]]:
    assert incident.id is not None
    items = queries.checklist(session=session, incident_id=incident.id)
    entries = queries.stage_entries(session=session, incident_id=incident.id)
    skipped = {text for e in events if e.kind == "stage_forced" for text in e.data.get("skipped", [])}
    stages = []
    for stage in STAGES:
        visits = [e for e in entries if e.stage == stage]
        spent = sum(((e.left_at or svc.clock()) - e.entered_at for e in visits), timedelta())
        stage_items = [i for i in items if i.stage == stage]
        stages.append(
            {
                "stage": stage,
                "title": STAGE_TITLES[stage],
                "visited": bool(visits),
                "duration": format_duration(spent) if visits else "not entered",
                "forced": any(e.left_forced for e in visits),
                "done": sum(1 for i in stage_items if i.checked_by),
                "checklist": [
                    {"item": i, "skipped": f"{STAGE_TITLES[stage]} #{i.position}: {i.text}" in skipped}
                    for i in stage_items
                ],
            }
        )
    return stages


def _words(event: TimelineEvent, person: People) -> str:
    return describe(event.kind, actor=event.actor, text=event.text, data=event.data, who=person)


def _without_actor(text: str, who: str | None) -> str:
    """ "Alice ticked …" in the row whose Who column already says Alice reads "ticked …"."""
    if who and text.startswith(f"{who} ") and len(text) > len(who) + 1:
        return text[len(who) + 1 :]
    return text


def _escalations(incident: Incident, events: list[TimelineEvent], person: People) -> dict[str, Any]:
    kinds = (TimelineKind.PAGED, TimelineKind.PAGE_UNRESOLVED, TimelineKind.ESCALATED, TimelineKind.JOINED_ON_REQUEST)
    pages = [{"at": e.at, "text": person.in_text(_words(e, person))} for e in events if e.kind in kinds]
    took = incident.acknowledged_at - incident.declared_at if incident.acknowledged_at else None
    return {
        "pages": pages,
        "acknowledged_by": incident.acknowledged_by,
        "acknowledged_at": incident.acknowledged_at,
        "time_to_ack": format_duration(took) if took else None,
    }


def _timeline(events: list[TimelineEvent], clean: Any, person: People) -> list[Line]:
    """Slack's and the out-of-band room's events in one order, those of the room marked."""
    away = spans(events)
    lines = [_line(e, clean, person) for e in events if not _redundant(e)]
    for line in lines:
        line.away = within(line.at, away)
    lines.sort(key=lambda line: line.at)
    return lines


def _transcript(events: list[TimelineEvent], channel: ChannelRead, clean: Any, person: People) -> list[Line]:
    """Every message people wrote in the channel and nobody pinned, for the appendix: no fact is lost."""
    captured = {e.data.get("ts") for e in events if e.kind == TimelineKind.CAPTURED}
    chatter = [
        m
        for m in channel.messages
        if not m.bot_id and m.subtype not in ("channel_join", "channel_leave") and m.ts not in captured
    ]
    lines = [
        Line(at=m.at, who=person(m.user) if m.user else "someone", text=clean(person.in_text(m.text))) for m in chatter
    ]
    lines += [  # what was said in the out-of-band room, kept as it arrived
        Line(at=e.at, who=person(e.actor) if e.actor else "someone", text=clean(e.text), away=True)
        for e in events
        if e.kind == TimelineKind.SAID_OUT_OF_BAND
    ]
    return sorted(lines, key=lambda line: line.at)


ELSEWHERE = frozenset(
    {
        TimelineKind.POSTMORTEM,
        TimelineKind.ESCALATION,  # the Escalation section has the pages
        TimelineKind.ITEM_CHECKED,  # the stage sections have the checklists
        TimelineKind.ITEM_UNCHECKED,
        TimelineKind.IOC_ADDED,  # the Indicators section
        TimelineKind.DECISION_VOTED,  # the Decisions section has who approved
        TimelineKind.REMINDER,
        TimelineKind.CLOCK_REMINDER,
        TimelineKind.MEMBER_JOINED,  # the Participants section
        TimelineKind.MEMBER_LEFT,
        TimelineKind.SAID_OUT_OF_BAND,  # the appendix's transcript, beside the channel's
    }
)
"""Events the timeline of key events leaves to the sections that list them."""


def _redundant(event: TimelineEvent) -> bool:
    """Rows the timeline of key events leaves out: what other sections list, and the declarer taking the role
    the declare gives them."""
    if event.kind in ELSEWHERE:
        return True
    return event.kind == TimelineKind.ROLE_ASSIGNED and event.data.get("user") == event.actor


def _line(event: TimelineEvent, clean: Any, person: People) -> Line:
    """A timeline row; a captured message is credited to its author, with who pinned or marked it beside."""
    if event.kind == TimelineKind.CAPTURED:
        author = event.data.get("author") or event.actor
        marked = f" (pinned by {person(event.actor)})" if event.actor and event.actor != author else ""
        return Line(at=event.at, who=person(author) if author else None, text=clean(event.text) + marked, pinned=True)
    who = person(event.actor) if event.actor else None
    return Line(at=event.at, who=who, text=clean(_without_actor(_words(event, person), who)))


def _action_items(events: list[TimelineEvent], channel: ChannelRead, clean: Any) -> list[dict[str, Any]]:
    items = [
        {
            "text": clean(e.text),
            "owner": e.data.get("owner"),
            "by": e.actor,
            "at": e.at,
            "due": e.data.get("due"),
            "priority": (e.data.get("priority") or "").upper(),
        }
        for e in events
        if e.kind == "action_item"
    ]
    for message in channel.messages:
        match = ACTION_ITEM.match(message.text)
        if match and not message.bot_id:
            owner = MENTION.search(match.group(1))
            items.append(
                {
                    "text": clean(match.group(1).strip()),
                    "owner": owner.group(1) if owner else None,
                    "by": message.user,
                    "at": message.at,
                    "due": None,
                    "priority": "",
                }
            )
    return sorted(items, key=lambda item: item["at"])
