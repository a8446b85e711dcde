"""Stage checklists: ticking items and moving through the NIST stages."""

from __future__ import annotations

from dataclasses import dataclass

from ircbot.domain import timeline
from ircbot.domain.effects import attempt
from ircbot.domain.services import Services
from ircbot.domain.stages import STAGE_TITLES, STAGES, next_stage, normalize_stage
from ircbot.domain.topic import topic_for
from ircbot.domain.views import IncidentView, incident_view
from ircbot.errors import Conflict, UsageError
from ircbot.store import queries
from ircbot.store.models import StageEntry

STAGE_USAGE = "stage [next | <name>] [--force]"


@dataclass(frozen=True)
class Ticked:
    """The incident after an item changed, and which item."""

    incident: IncidentView
    text: str
    changed: bool


@dataclass(frozen=True)
class Moved:
    """The incident after a stage change."""

    incident: IncidentView
    left: str
    skipped: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def set_item(
    svc: Services,
    *,
    incident_id: int,
    position: int,
    checked: bool | None,
    actor: str,
    stage: str | None = None,
) -> Ticked:
    """Tick or untick item `position` of `stage` (default: the current stage); checked=None flips it."""
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id, lock=True)
        assert incident is not None and incident.id is not None
        if incident.status != "open":
            raise Conflict(f"{incident.key} is resolved; its checklists are closed.")
        stage = stage or incident.stage
        items = queries.checklist(session=session, incident_id=incident.id, stage=stage)
        item = next((i for i in items if i.position == position), None)
        if item is None:
            span = f"items 1–{len(items)}" if items else "no items"
            verb = "check" if checked else "uncheck"
            raise UsageError(
                f"There is no item {position}: the {STAGE_TITLES[stage]} checklist has {span}.",
                f"{verb} <n> (1–{len(items)})",
            )
        now = svc.clock()
        if checked is None:
            checked = item.checked_by is None
        changed = (item.checked_by is None) == checked
        if changed:
            item.checked_by, item.checked_at = (actor, now) if checked else (None, None)
            verb = "ticked" if checked else "unticked"
            timeline.record(
                session,
                incident,
                kind="item_checked" if checked else "item_unchecked",
                actor=actor,
                at=now,
                text=f"<@{actor}> {verb} {STAGE_TITLES[stage]} #{position}: {item.text}",
                data={"stage": stage, "position": position},
            )
        session.flush()
        view = incident_view(session=session, incident=incident, config=svc.config, now=now)
        return Ticked(incident=view, text=item.text, changed=changed)


def move(svc: Services, *, incident_id: int, target: str, force: bool, actor: str) -> Moved:
    """Move to the next or a named stage; unticked required items block unless `force`."""
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id, lock=True)
        assert incident is not None and incident.id is not None
        if incident.status != "open":
            raise Conflict(f"{incident.key} is resolved; reopen is not supported.")
        current = incident.stage
        destination = _destination(current, target)
        if destination == current:
            raise Conflict(f"{incident.key} is already in {STAGE_TITLES[current]}.")
        passed = STAGES[STAGES.index(current) : STAGES.index(destination)] if _forward(current, destination) else ()
        blocking = [
            i
            for i in queries.checklist(session=session, incident_id=incident.id)
            if i.stage in passed and i.required and i.checked_by is None
        ]
        if blocking and not force:
            listed = "\n".join(f"• {STAGE_TITLES[i.stage]} #{i.position}: {i.text}" for i in blocking)
            raise Conflict(
                f"{len(blocking)} required item(s) are not ticked:\n{listed}\n"
                f"Tick them with `/incident check <n>`, or move on anyway with "
                f"`/incident stage {target} --force` (recorded in the timeline)."
            )
        now = svc.clock()
        for entry in queries.stage_entries(session=session, incident_id=incident.id):
            if entry.left_at is None:
                entry.left_at, entry.left_forced = now, bool(blocking)
        session.add(StageEntry(incident_id=incident.id, stage=destination, entered_by=actor, entered_at=now))
        incident.stage = destination
        if incident.contained_at is None and STAGES.index(destination) > STAGES.index("containment"):
            incident.contained_at = now
            timeline.record(session, incident, kind="contained", actor=actor, at=now, text="Containment complete")
        skipped = tuple(f"{STAGE_TITLES[i.stage]} #{i.position}: {i.text}" for i in blocking)
        if skipped:
            timeline.record(
                session,
                incident,
                kind="stage_forced",
                actor=actor,
                at=now,
                text=f"<@{actor}> moved on with {len(skipped)} required item(s) unticked (--force)",
                data={"skipped": list(skipped)},
            )
        timeline.record(
            session,
            incident,
            kind="stage_entered",
            actor=actor,
            at=now,
            text=f"Stage: {STAGE_TITLES[current]} → {STAGE_TITLES[destination]}",
            data={"stage": destination, "from": current},
        )
        session.flush()
        view = incident_view(session=session, incident=incident, config=svc.config, now=now)
    channel = view.channel_id
    warnings = attempt(("update the topic", lambda: svc.chat.set_topic(channel, topic_for(view)))) if channel else []
    return Moved(incident=view, left=current, skipped=skipped, warnings=tuple(warnings))


def _destination(current: str, target: str) -> str:
    if target.strip().lower() == "next":
        following = next_stage(current)
        if following is None:
            raise Conflict("This is the last stage. Close the incident with `/incident resolve [summary]`.")
        return following
    stage = normalize_stage(target)
    if stage is None:
        raise UsageError(f"There is no stage `{target}`. Stages: {', '.join(STAGES)}.", STAGE_USAGE)
    return stage


def _forward(current: str, destination: str) -> bool:
    return STAGES.index(destination) > STAGES.index(current)
