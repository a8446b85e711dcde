"""The Declare / Dismiss buttons on an alert in the triage channel."""

from __future__ import annotations

from ircbot.commands import declare
from ircbot.domain.triage import declare_alert, dismiss_alert
from ircbot.slack import ids
from ircbot.slack.interactions.base import Answer, Interaction, Replace, interaction


@interaction("action", ids.TRIAGE_PATTERN, command=declare.run)
def triage_alert(it: Interaction) -> Answer:
    """Declare an incident from the alert (the clicker declares it), or dismiss it as a false positive."""
    alert_id = ids.parse_number(it.value)
    if it.payload.get("action_id") == ids.TRIAGE_DECLARE:
        return Replace(declare_alert(it.svc, alert_id=alert_id, actor=it.user))
    return Replace(dismiss_alert(it.svc, alert_id=alert_id, actor=it.user))
