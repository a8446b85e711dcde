"""Stage checklists: ticking items and moving through the NIST stages."""

from __future__ import annotations

from dataclasses import dataclass

from ircbot.domain.effects import attempt
from ircbot.domain.kinds import TimelineKind
from ircbot.domain.messages import Topic
from ircbot.domain.services import Services
from ircbot.domain.stages import STAGE_TITLES, STAGES, next_stage, normalize_stage
from ircbot.domain.unit import incident_tx
from ircbot.domain.views import IncidentView
from ircbot.errors import Conflict, InvalidInput
from ircbot.store import queries
from ircbot.store.models import StageEntry


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
    with incident_tx(svc, incident_id, closed="{key} is resolved; its checklists are closed.") as tx:
        stage = stage or tx.incident.stage
        items = queries.checklist(session=tx.session, incident_id=tx.id, stage=stage)
        item = next((i for i in items if i.position == position), None)
        if item is None:
            span = f"items 1–{len(items)}" if items else "no items"
            raise InvalidInput(f"There is no item {position}: the {STAGE_TITLES[stage]} checklist has {span}.")
        if checked is None:
            checked = item.checked_by is None
        changed = (item.checked_by is None) == checked
        if changed:
            item.checked_by, item.checked_at = (actor, tx.now) if checked else (None, None)
            tx.record(
                TimelineKind.ITEM_CHECKED if checked else TimelineKind.ITEM_UNCHECKED,
                actor=actor,
                data={"stage": stage, "position": position, "item": item.text},
            )
        return Ticked(incident=tx.view(), text=item.text, changed=changed)


def move(svc: Services, *, incident_id: int, target: str, force: bool, actor: str) -> Moved:
    """Move to the next or a named stage; unticked required items block unless `force`."""
    with incident_tx(svc, incident_id, closed="{key} is resolved; reopen is not supported.") as tx:
        incident = tx.incident
        current = incident.stage
        destination = _destination(current, target)
        if destination == current:
            raise Conflict(f"{incident.key} is already in {STAGE_TITLES[current]}.")
        passed = STAGES[STAGES.index(current) : STAGES.index(destination)] if _forward(current, destination) else ()
        blocking = [
            i
            for i in queries.checklist(session=tx.session, incident_id=tx.id)
            if i.stage in passed and i.required and i.checked_by is None
        ]
        if blocking and not force:
            listed = "\n".join(f"• {STAGE_TITLES[i.stage]} #{i.position}: {i.text}" for i in blocking)
            raise Conflict(
                f"{len(blocking)} required item(s) are not ticked:\n{listed}\n"
                f"Tick them with `/incident check <n>`, or move on anyway with "
                f"`/incident stage {target} --force` (recorded in the timeline)."
            )
        for entry in queries.stage_entries(session=tx.session, incident_id=tx.id):
            if entry.left_at is None:
                entry.left_at, entry.left_forced = tx.now, bool(blocking)
        tx.session.add(StageEntry(incident_id=tx.id, stage=destination, entered_by=actor, entered_at=tx.now))
        incident.stage = destination
        if incident.contained_at is None and STAGES.index(destination) > STAGES.index("containment"):
            incident.contained_at = tx.now
            tx.record(TimelineKind.CONTAINED, "Containment complete", actor=actor)
        skipped = tuple(f"{STAGE_TITLES[i.stage]} #{i.position}: {i.text}" for i in blocking)
        if skipped:
            tx.record(TimelineKind.STAGE_FORCED, actor=actor, data={"skipped": list(skipped)})
        tx.record(TimelineKind.STAGE_ENTERED, actor=actor, data={"stage": destination, "from": current})
        view = tx.view()
    channel = view.channel_id
    warnings = attempt(("update the topic", lambda: svc.chat.set_topic(channel, Topic(view)))) if channel else []
    return Moved(incident=view, left=current, skipped=skipped, warnings=tuple(warnings))


def _destination(current: str, target: str) -> str:
    if target.strip().lower() == "next":
        following = next_stage(current)
        if following is None:
            raise Conflict("This is the last stage. Close the incident with `/incident resolve [summary]`.")
        return following
    stage = normalize_stage(target)
    if stage is None:
        raise InvalidInput(f"There is no stage `{target}`. Stages: {', '.join(STAGES)}.")
    return stage


def _forward(current: str, destination: str) -> bool:
    return STAGES.index(destination) > STAGES.index(current)
