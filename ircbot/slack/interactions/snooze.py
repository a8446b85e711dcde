"""The buttons on an update reminder: Post update (the update form) and Snooze."""

from __future__ import annotations

from ircbot.commands import update
from ircbot.domain.messages import Text
from ircbot.domain.reminders import snooze
from ircbot.slack import ids
from ircbot.slack.interactions.base import Answer, Interaction, OpenView, Replace, from_value, interaction
from ircbot.slack.markup import slack_date
from ircbot.slack.modals import update_modal


@interaction("action", ids.SNOOZE_PATTERN, command=update.run, locate=from_value)
def snooze_reminder(it: Interaction) -> Answer:
    """Push the update reminder back, and say until when."""
    minutes = ids.snooze_minutes(str(it.payload.get("action_id")))
    due = snooze(it.svc, incident_id=it.require_incident(), minutes=minutes, actor=it.user).until
    return Replace(Text(f":zzz: <@{it.user}> snoozed the update reminder until {slack_date(due)}."))


@interaction("action", ids.POST_UPDATE, command=update.run, locate=from_value)
def post_update(it: Interaction) -> Answer:
    """Open the status update form, as `/incident update` without text does."""
    fallback = ":warning: Could not open the update form. Type it instead: `/incident update <text>`"
    return OpenView(update_modal(ids.number_value(it.require_incident())), fallback=fallback)
