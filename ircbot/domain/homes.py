"""App Home tabs kept current: redrawn for the people concerned when an incident they can see changes.

Recording a change (`IncidentTx.homes_changed`) marks the tabs of those who may see the incident
(everyone who has opened the tab, for a public incident; its participants, for a private one) as due
a moment later, so a burst of changes is one `views.publish` each. A redraw lost to a crash is made
good the next time the person opens the tab, which always redraws it.
"""

from __future__ import annotations

from datetime import timedelta

from ircbot.domain.incidents import visible_open
from ircbot.domain.services import Services
from ircbot.errors import GatewayError
from ircbot.store import queries
from ircbot.store.models import HomeViewer

RETRY_AFTER = timedelta(seconds=60)


def remember_viewer(svc: Services, user_id: str) -> None:
    """Note that the person opened their Home tab, so later changes redraw it."""
    with svc.db.transaction() as session:
        viewer = session.get(HomeViewer, user_id)
        if viewer is None:
            session.add(HomeViewer(user_id=user_id, opened_at=svc.clock()))
        else:
            viewer.opened_at, viewer.due_at = svc.clock(), None  # it is being drawn now


def refresh_homes(svc: Services, *, limit: int = 50) -> int:
    """Redraw the Home tabs that are due; returns how many Slack redrew."""
    now = svc.clock()
    with svc.db.transaction() as session:
        due = list(queries.due_homes(session=session, now=now, limit=limit))
        for user_id in due:  # taken: a change from now on makes the tab due again
            viewer = session.get(HomeViewer, user_id)
            if viewer is not None:
                viewer.due_at = None
    redrawn = 0
    for user_id in due:
        try:
            svc.chat.publish_home(user_id, visible_open(svc, user_id))
        except GatewayError as exc:
            svc.log.info("Home tab of %s not redrawn (%s); trying again later", user_id, exc.error)
            with svc.db.transaction() as session:
                queries.mark_home_due(session=session, user_id=user_id, due_at=now + RETRY_AFTER)
            continue
        redrawn += 1
    return redrawn
