"""Listeners for stakeholder communication: update forms, reminder snoozes, notice approval."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from ircbot.commands.update import update_summary
from ircbot.domain import notices
from ircbot.domain.access import may_see
from ircbot.domain.messages import Text
from ircbot.domain.reminders import snooze
from ircbot.domain.services import Services
from ircbot.domain.updates import UpdateRequest, post_update
from ircbot.durations import parse_duration
from ircbot.errors import IrcbotError
from ircbot.slack.guard import guarded
from ircbot.slack.modals import NOTICE_MODAL, UPDATE_MODAL, form_values, notice_modal
from ircbot.slack.render import SNOOZE_ACTION, render_message
from ircbot.store import queries
from ircbot.store.models import Notice

FirstDelivery = Callable[[dict[str, Any]], bool]


def register_comms(app: App, svc: Services, ack_now: Callable[..., None], first_delivery: FirstDelivery) -> None:
    """Attach the communication listeners; they ack at once and work in lazy functions."""

    def snoozed(body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        if not first_delivery(body):
            return
        minutes = int(action["action_id"].rsplit("_", 1)[-1])
        user = body["user"]["id"]
        if not _may_see(svc, int(action["value"]), user):
            respond(
                text=":warning: You cannot snooze reminders of an incident you were not brought into.",
                replace_original=False,
            )
            return
        try:
            due = snooze(svc, incident_id=int(action["value"]), minutes=minutes, actor=user)
        except IrcbotError as exc:
            respond(text=f":warning: {exc}", replace_original=False)
            return
        respond(text=f":zzz: <@{user}> snoozed the update reminder until {due:%H:%M} UTC.", replace_original=True)

    def notice_button(body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient) -> None:
        if first_delivery(body):
            _notice_action(svc, body, action, respond, client)

    def validate_update(ack: Ack, view: dict[str, Any]) -> None:
        problem = _update_problem(form_values(view))
        if problem:
            ack(response_action="errors", errors=problem)
        else:
            ack()

    def submit_update(body: dict[str, Any], view: dict[str, Any]) -> None:
        values = form_values(view)
        if _update_problem(values) or not first_delivery(body):
            return
        user = body["user"]["id"]
        after = values.get("next_update", "").strip()
        request = UpdateRequest(
            status=values.get("status", ""),
            impact=values.get("impact", ""),
            next_steps=values.get("next_steps", ""),
            next_update_at=svc.clock() + parse_duration(after) if after else None,
        )
        try:
            delivered = post_update(svc, incident_id=int(view["private_metadata"]), actor=user, request=request)
            answer = update_summary(delivered.places, delivered.warnings)
        except IrcbotError as exc:
            answer = f":warning: {exc}"
        _tell(svc, user, answer)

    def submit_notice(body: dict[str, Any], view: dict[str, Any]) -> None:
        if not first_delivery(body):
            return
        values, user = form_values(view), body["user"]["id"]
        try:
            card = notices.edit(
                svc, notice_id=int(view["private_metadata"]), subject=values["subject"], body=values["body"], actor=user
            )
            svc.chat.post(user, card)
        except IrcbotError as exc:
            _tell(svc, user, f":warning: {exc}")

    app.action(re.compile(rf"^{SNOOZE_ACTION}_\d+$"))(ack=ack_now, lazy=[guarded(svc, snoozed)])
    app.action(re.compile(r"^notice_(send|edit|cancel)$"))(ack=ack_now, lazy=[guarded(svc, notice_button)])
    app.view(UPDATE_MODAL)(ack=validate_update, lazy=[guarded(svc, submit_update)])
    app.view(NOTICE_MODAL)(ack=ack_now, lazy=[guarded(svc, submit_notice)])


def _update_problem(values: dict[str, str]) -> dict[str, str] | None:
    if not values.get("status", "").strip():
        return {"status": "Say where things stand."}
    after = values.get("next_update", "").strip()
    if after:
        try:
            parse_duration(after)
        except ValueError:
            return {"next_update": "Write a duration such as 30m or 2h."}
    return None


def _notice_action(
    svc: Services, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient
) -> None:
    user, notice_id, verb = body["user"]["id"], int(action["value"]), action["action_id"].removeprefix("notice_")
    with svc.db.transaction() as session:
        notice = session.get(Notice, notice_id)
        incident_id = notice.incident_id if notice else 0
    if not _may_see(svc, incident_id, user):
        respond(
            text=":warning: You cannot act on a notice of an incident you were not brought into.",
            replace_original=False,
        )
        return
    try:
        if verb == "edit":
            assert notice is not None
            client.views_open(trigger_id=body["trigger_id"], view=notice_modal(notice_id, notice.subject, notice.body))
            return
        if verb == "send":
            sent = notices.send(svc, notice_id=notice_id, actor=user)
            card, done = sent.card, f"Sent to {', '.join(sent.places) or 'nobody'}."
        else:
            card, done = notices.cancel(svc, notice_id=notice_id, actor=user), "Cancelled."
    except IrcbotError as exc:
        respond(text=f":warning: {exc}", replace_original=False)
        return
    text, blocks = render_message(card)
    respond(text=f"{text} — {done}", blocks=blocks, replace_original=True)


def _may_see(svc: Services, incident_id: int, user: str) -> bool:
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id)
        return incident is not None and may_see(session, incident, user)


def _tell(svc: Services, user: str, text: str) -> None:
    try:
        svc.chat.post(user, Text(text))
    except IrcbotError as exc:
        svc.log.error("could not tell %s: %s", user, exc)
