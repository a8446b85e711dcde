"""The pinned incident card kept true: redrawn in place after the changes it shows, one burst at a time.

Recording a change the card shows counts the incident's `card_version` up and sets `card_due_at` a moment
later (`IncidentTx.card_changed`), so a run of ticks is one redraw. The runner takes each due card under
the incident's row lock with a lease (a replica that dies mid-redraw is taken over when it runs out),
redraws it with `chat.update` outside any transaction, then records the version Slack now shows; a change
that arrived meanwhile makes the card due again.
"""

from __future__ import annotations

from datetime import timedelta

from ircbot.domain.messages import IncidentCard
from ircbot.domain.services import Services
from ircbot.domain.unit import CARD_COALESCE, incident_tx
from ircbot.domain.views import IncidentView
from ircbot.errors import GatewayError, NotFound
from ircbot.store import queries

CARD_LEASE = timedelta(seconds=30)
"""How long one process may take to redraw a card before another takes the redraw over."""
RETRY_AFTER = timedelta(seconds=30)
"""When Slack did not redraw the card, the next try (or Slack's Retry-After when longer)."""
GONE = frozenset({"message_not_found", "channel_not_found", "cant_update_message", "is_archived", "not_in_channel"})
"""Slack's answers meaning this card can never be redrawn: stop trying."""


def pinned_card(view: IncidentView) -> IncidentCard:
    """The card pinned in the incident's channel."""
    return IncidentCard(incident=view, heading=f"{view.label}: {view.title}")


def refresh_cards(svc: Services, *, limit: int = 20) -> int:
    """Redraw the cards that are due; returns how many Slack redrew."""
    with svc.db.transaction() as session:
        due = queries.due_cards(session=session, now=svc.clock(), limit=limit)
    redrawn = 0
    for incident_id in due:
        taken = _take(svc, incident_id)
        if taken is None:
            continue  # another process took it, or it is no longer due
        version, view, ts = taken
        assert view.channel_id is not None
        try:
            svc.chat.update(view.channel_id, ts, pinned_card(view))
        except GatewayError as exc:
            _not_redrawn(svc, incident_id, exc)
            continue
        _shown(svc, incident_id, version)
        redrawn += 1
    return redrawn


def _take(svc: Services, incident_id: int) -> tuple[int, IncidentView, str] | None:
    try:
        with incident_tx(svc, incident_id) as tx:
            incident = tx.incident
            if incident.card_due_at is None or incident.card_due_at > tx.now or incident.card_ts is None:
                return None
            incident.card_due_at = tx.now + CARD_LEASE
            return incident.card_version, tx.view(), incident.card_ts
    except NotFound:
        return None


def _shown(svc: Services, incident_id: int, version: int) -> None:
    with incident_tx(svc, incident_id) as tx:
        incident = tx.incident
        incident.card_shown = max(incident.card_shown, version)
        if incident.card_version > incident.card_shown:  # changed again while Slack was redrawing it
            incident.card_due_at = tx.now + CARD_COALESCE
            tx.wake(incident.card_due_at)
        else:
            incident.card_due_at = None


def _not_redrawn(svc: Services, incident_id: int, exc: GatewayError) -> None:
    with incident_tx(svc, incident_id) as tx:
        incident = tx.incident
        if exc.error in GONE:
            svc.log.warning("%s: the pinned card can no longer be updated (Slack said %s)", incident.key, exc.error)
            incident.card_due_at, incident.card_shown = None, incident.card_version
            return
        wait = max(RETRY_AFTER, timedelta(seconds=exc.retry_after or 0))
        svc.log.info("%s: the pinned card was not updated (%s); trying again in %s", incident.key, exc.error, wait)
        incident.card_due_at = tx.now + wait
        tx.wake(incident.card_due_at)
