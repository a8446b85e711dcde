"""The Send / Edit / Cancel buttons on a drafted notice, and the form that edits it."""

from __future__ import annotations

from typing import Any

from ircbot.commands import notify
from ircbot.domain import notices
from ircbot.domain.messages import Reply
from ircbot.domain.services import Services
from ircbot.slack import ids
from ircbot.slack.interactions.base import Answer, Interaction, OpenView, Replace, interaction
from ircbot.slack.modals import form_values, notice_modal

EDIT_FAILED = ":warning: Could not open the notice editor; try again, or Send or Cancel the draft as it is."


def _incident(svc: Services, payload: dict[str, Any]) -> int:
    return notices.incident_of(svc, ids.parse_notice(ids.carried(payload))[0])


@interaction("action", ids.NOTICE_PATTERN, command=notify.run, locate=_incident)
def notice_button(it: Interaction) -> Answer:
    """Send, edit or cancel a drafted notice (only those who may `notify`)."""
    (notice_id, seen), verb = ids.parse_notice(it.value), ids.notice_verb(str(it.payload.get("action_id")))
    if verb == "edit":
        draft = notices.current(it.svc, notice_id=notice_id)
        return OpenView(notice_modal(notice_id, draft.subject, draft.body), fallback=EDIT_FAILED)
    if verb == "send":
        try:
            sent = notices.send(it.svc, notice_id=notice_id, actor=it.user, seen=seen)
        except notices.ChangedSinceSeen as changed:
            return Replace(changed.card, note="Not sent: the words changed since this card was shown. Read them again.")
        return Replace(sent.card, note=f"Sent to {', '.join(sent.places) or 'nobody'}.")
    return Replace(notices.cancel(it.svc, notice_id=notice_id, actor=it.user), note="Cancelled.")


@interaction("view", ids.NOTICE_FORM, command=notify.run, locate=_incident)
def notice_form(it: Interaction) -> Answer:
    """Save the edited words of a draft, and show the draft again."""
    values = form_values(it.payload)
    card = notices.edit(
        it.svc,
        notice_id=ids.parse_notice(it.value)[0],
        subject=values.get("subject", ""),
        body=values.get("body", ""),
        actor=it.user,
    )
    return Reply(card)
