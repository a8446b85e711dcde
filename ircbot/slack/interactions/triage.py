"""The Declare / Dismiss buttons on an alert in the triage channel, and the form that asks why it is dismissed."""

from __future__ import annotations

from ircbot.commands import declare
from ircbot.domain.messages import Reply, Text
from ircbot.domain.triage import alert_title, declare_alert, dismiss_with_reason
from ircbot.slack import ids
from ircbot.slack.interactions.base import Answer, Interaction, OpenView, Replace, interaction
from ircbot.slack.modals import dismiss_modal, form_values

NO_FORM = "Slack did not open the form that asks why; press Dismiss again."


@interaction("action", ids.TRIAGE_PATTERN, command=declare.run)
def triage_alert(it: Interaction) -> Answer:
    """Declare an incident from the alert (the clicker declares it), or ask why it is a false positive."""
    alert_id = ids.parse_number(it.value)
    if it.payload.get("action_id") == ids.TRIAGE_DECLARE:
        return Replace(declare_alert(it.svc, alert_id=alert_id, actor=it.user))
    return OpenView(dismiss_modal(alert_id, alert_title(it.svc, alert_id=alert_id)), fallback=NO_FORM)


@interaction("view", ids.DISMISS_FORM, command=declare.run)
def dismiss_form(it: Interaction) -> Answer:
    """Dismiss the alert as a false positive, keeping who said so and why."""
    card = dismiss_with_reason(
        it.svc, alert_id=ids.parse_number(it.value), actor=it.user, reason=form_values(it.payload).get("reason", "")
    )
    return Reply(Text(f":wastebasket: Dismissed the {card.source} alert “{card.title}” as a false positive."))
