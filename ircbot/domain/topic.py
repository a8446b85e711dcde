"""The incident channel's topic: severity, stage and manager at a glance."""

from __future__ import annotations

from ircbot.domain.stages import STAGE_TITLES
from ircbot.domain.views import IncidentView

MAX_TOPIC = 250


def topic_for(view: IncidentView) -> str:
    """E.g. `SEV1 · Stage: Containment · IM: <@U1> · INC-7`."""
    manager = f"<@{view.manager}>" if view.manager else "unassigned"
    parts = [
        "DRILL" if view.is_drill else None,
        view.severity.upper(),
        f"Stage: {STAGE_TITLES[view.stage]}",
        f"IM: {manager}",
        "RESOLVED" if view.status == "resolved" else None,
        view.key,
    ]
    return " · ".join(p for p in parts if p)[:MAX_TOPIC]
