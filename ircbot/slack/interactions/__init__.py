"""Buttons, forms and events: one module each, registered in this explicit list (like the commands).

An interaction is a function tagged with what Slack sends and the typed command whose rules it
obeys; the pipeline finds its incident with `locate`, applies that command's `may:` rule, and
delivers what it returns::

    @interaction("action", ids.ACK, command=ack_command.run, locate=from_value)
    def acknowledge_page(it: Interaction) -> Answer:
        result = acknowledge(it.svc, incident_id=it.require_incident(), actor=it.user)
        return Replace(PageCard(...))
"""

from __future__ import annotations

from ircbot.slack.interactions import ack, channel, decision, forms, home, joining, notice, snooze, tick, triage
from ircbot.slack.interactions.base import InteractionSpec

INTERACTIONS: list[InteractionSpec] = [
    tick.toggle,
    ack.acknowledge_page,
    joining.answer_join,
    triage.triage_alert,
    triage.dismiss_form,
    decision.vote_on_decision,
    snooze.snooze_reminder,
    snooze.post_update,
    notice.notice_button,
    notice.notice_form,
    forms.declare_form,
    forms.update_form,
    home.home_opened,
    home.home_declare,
    channel.member_joined,
    channel.member_left,
    channel.reaction_added,
    channel.pin_added,
    channel.channel_message,
]
