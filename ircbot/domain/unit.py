"""One unit of work per incident operation: lock the row, check, change, record, commit, then wake timers.

Every writer takes the incident row first (in id order when it needs several), so concurrent writers
queue instead of deadlocking, and the timeline event is written in the same transaction as the change.
Wake-ups are issued only after the commit, when the rows they point at are visible to the runner.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from ircbot.domain import chain
from ircbot.domain.kinds import CARD_KINDS, HOME_KINDS, IncidentStatus, TimelineKind
from ircbot.domain.services import Services
from ircbot.domain.snapshot import incident_view
from ircbot.domain.timeline import WORDED, describe, plain
from ircbot.domain.views import IncidentView
from ircbot.domain.webhooks import queue_webhooks
from ircbot.errors import Conflict, NotFound
from ircbot.store import queries
from ircbot.store.models import Incident, TimelineEvent

CARD_COALESCE = timedelta(seconds=2)
"""How long the pinned card waits after a change before it is redrawn, so a run of ticks is one chat.update
(Slack allows chat.update about once a second per channel, and ~50 a minute per workspace: Tier 3)."""
HOME_COALESCE = timedelta(seconds=2)
"""The same for the App Home tabs of those who can see the incident (views.publish, Tier 4)."""


@dataclass
class IncidentTx:
    """The locked incident, the session and the time of one operation."""

    svc: Services
    session: Session
    incident: Incident
    now: datetime
    wakeups: list[datetime] = field(default_factory=list)
    defer_wakeups: bool = False
    homes_due: bool = False  # the Home tabs of those who can see it are marked as the transaction commits
    shared_view: list[IncidentView] | None = None  # within `one_view`: the view read first, once it is

    @property
    def id(self) -> int:
        assert self.incident.id is not None
        return self.incident.id

    def record(
        self,
        kind: TimelineKind,
        text: str | None = None,
        *,
        actor: str | None = None,
        data: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> TimelineEvent:
        """Add a timeline event in this transaction (at `now` unless given).

        Free text (a note, a warning) is given as `text`; without it the event keeps its facts in `data`
        and is worded when read (`timeline.describe`), so no reader has to undo another's formatting.
        """
        facts = dict(data or {})
        if text is None:
            facts[WORDED] = 1
            text = describe(kind, actor=actor, text="", data=facts, who=plain)
        event = TimelineEvent(incident_id=self.id, at=at or self.now, kind=kind, actor=actor, text=text, data=facts)
        self._chain(event)
        self.session.add(event)
        if self.svc.config.webhooks.root:
            queue_webhooks(self, event)
        if kind in CARD_KINDS:
            self.card_changed()
        if kind in HOME_KINDS:
            self.homes_changed()
        return event

    def _chain(self, event: TimelineEvent) -> None:
        """Make the event the next link of the incident's hash chain (the incident row is locked, or new)."""
        incident = self.incident
        event.seq, event.recorded_at = incident.chain_seq + 1, self.now
        event.prev_hash = incident.chain_head or chain.GENESIS
        event.hash = chain.link_hash(chain.event_body(incident.key, event), event.prev_hash)
        incident.chain_seq, incident.chain_head = event.seq, event.hash

    def homes_changed(self, *, also: str | None = None) -> None:
        """Have the Home tabs of those who can see the incident (and of `also`) redrawn shortly.

        Those who can see it are found once, as the transaction commits: by then everyone this operation brought
        in is a participant, and an operation recording several changes marks the tabs once, not per change.
        """
        due = self.now + HOME_COALESCE
        if also is not None:
            queries.mark_home_due(session=self.session, user_id=also, due_at=due)
        if not self.homes_due:
            self.homes_due = True
            event.listen(self.session, "before_commit", self._mark_homes, once=True)
            self.wake(due)

    def _mark_homes(self, session: Session) -> None:
        queries.mark_homes_due(
            session=session, incident_id=self.id, is_private=self.incident.is_private, due_at=self.now + HOME_COALESCE
        )

    def card_changed(self) -> None:
        """Have the pinned card redrawn: once per burst of changes, CARD_COALESCE after the first.

        Before the card is posted only the version counts up: the declare posts what is current then.
        """
        self.incident.card_version += 1
        if self.incident.card_ts is not None and self.incident.card_due_at is None:
            self.incident.card_due_at = self.now + CARD_COALESCE
            self.wake(self.incident.card_due_at)

    def wake(self, *when: datetime) -> None:
        """Have the timer engine run at these times, once this transaction has committed."""
        self.wakeups.extend(when)

    def issue_wakeups(self) -> None:
        """Wake the timer engine for every due time recorded (incident_tx does this at commit unless deferred)."""
        due, self.wakeups[:] = list(self.wakeups), []
        for when in due:
            self.svc.wake(when)

    def view(self) -> IncidentView:
        """The incident as it reads inside this transaction, changes included (read once within `one_view`)."""
        if self.shared_view:
            return self.shared_view[0]
        self.session.flush()
        view = incident_view(session=self.session, incident=self.incident, config=self.svc.config, now=self.now)
        if self.shared_view is not None:
            self.shared_view.append(view)
        return view

    @contextmanager
    def one_view(self) -> Iterator[None]:
        """Within, `view()` is read once and shared: for a caller that changes nothing a view shows meanwhile (the
        messages of one outbox claim, each rendering the incident)."""
        self.shared_view = []
        try:
            yield
        finally:
            self.shared_view = None


@contextmanager
def incident_tx(
    svc: Services, incident_id: int, *, closed: str | None = None, defer_wakeups: bool = False
) -> Iterator[IncidentTx]:
    """Lock the incident for one operation; with `closed`, a resolved incident is refused with that message.

    `closed` may name the incident as `{key}`, e.g. "{key} is resolved; its checklists are closed."
    With `defer_wakeups` the caller issues the wake-ups itself, later (`tx.issue_wakeups()`).
    """
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id, lock=True)
        if incident is None:
            raise NotFound("That incident no longer exists.")
        if closed is not None and incident.status != IncidentStatus.OPEN:
            raise Conflict(closed.format(key=incident.key))
        tx = IncidentTx(svc=svc, session=session, incident=incident, now=svc.clock(), defer_wakeups=defer_wakeups)
        yield tx
    if not tx.defer_wakeups:
        tx.issue_wakeups()
