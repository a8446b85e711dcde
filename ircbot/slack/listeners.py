"""Bolt listeners: acknowledge at once, then turn Slack payloads into command and domain calls."""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from ircbot.commands.base import Invocation
from ircbot.commands.declare import check_title, declared_reply
from ircbot.commands.dispatch import dispatch
from ircbot.domain import incidents, timeline
from ircbot.domain.access import may_see
from ircbot.domain.capture import capture_message
from ircbot.domain.checklist import set_item
from ircbot.domain.declare import Declaration, declare
from ircbot.domain.escalation import acknowledge
from ircbot.domain.messages import ChecklistCard, IncidentCard, Message, OpenModal, Outcome, PageCard, Reply, Text
from ircbot.domain.paging import local_time
from ircbot.domain.services import Services
from ircbot.errors import DomainError, IrcbotError, UsageError
from ircbot.slack.comms import register_comms
from ircbot.slack.guard import guarded
from ircbot.slack.home import HOME_DECLARE_ACTION, HOME_OPEN_CHANNEL_ACTION, open_declare_form, publish_home
from ircbot.slack.modals import update_modal
from ircbot.slack.render import ACK_ACTION, TOGGLE_ACTION, declare_modal, render_message
from ircbot.store import queries


def delivery_key(body: dict[str, Any]) -> str | None:
    """What makes a delivery unique: the event id, else the trigger id (new for every command, click, submit)."""
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}"
    return None


def register(app: App, svc: Services) -> None:
    """Attach every listener: each acks at once and does its work in a lazy (background) function."""

    def ack_now(ack: Ack) -> None:
        ack()

    def first_delivery(body: dict[str, Any]) -> bool:
        # Slack redelivers what it did not see acknowledged in 3 s; handle each delivery once. This runs
        # after the ack so the ack never waits for a database write lock.
        key = delivery_key(body)
        if key is None:
            return True
        with svc.db.transaction() as session:
            if queries.remember_request(session=session, key=key, at=svc.clock()):
                return True
        svc.log.info("dropping redelivery %s", key)
        return False

    def run_command(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        if not first_delivery(body):
            return
        invocation = Invocation(
            user_id=body["user_id"],
            channel_id=body.get("channel_id", ""),
            text=body.get("text", ""),
            trigger_id=body.get("trigger_id"),
            request_key=body.get("trigger_id"),
        )
        deliver(svc, dispatch(svc, invocation), respond=respond, client=client, trigger_id=invocation.trigger_id)

    def toggle_item(body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        if first_delivery(body):
            _toggle(svc, body["user"]["id"], json.loads(action["value"]), respond)

    def acknowledge_page(body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        if first_delivery(body):
            _acknowledge(svc, body["user"]["id"], int(action["value"]), respond)

    def validate_declare(ack: Ack, view: dict[str, Any]) -> None:
        problem = _declare_form_problem(view)
        if problem:
            ack(response_action="errors", errors={"title": problem})
        else:
            ack()

    def submit_declare(body: dict[str, Any], view: dict[str, Any]) -> None:
        if _declare_form_problem(view) is None and first_delivery(body):
            _declare_from_form(svc, body["user"]["id"], view)

    def member_joined(body: dict[str, Any], event: dict[str, Any]) -> None:
        if first_delivery(body):
            _record_membership(svc, event, joined=True)

    def member_left(body: dict[str, Any], event: dict[str, Any]) -> None:
        if first_delivery(body):
            _record_membership(svc, event, joined=False)

    app.command("/incident")(ack=ack_now, lazy=[guarded(svc, run_command)])
    app.action(re.compile(rf"^{TOGGLE_ACTION}_\d+$"))(ack=ack_now, lazy=[guarded(svc, toggle_item)])
    app.action(ACK_ACTION)(ack=ack_now, lazy=[guarded(svc, acknowledge_page)])
    app.view("declare_modal")(ack=validate_declare, lazy=[guarded(svc, submit_declare)])

    def reaction_added(body: dict[str, Any], event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        if event.get("reaction") == svc.timeline_emoji and item.get("type") == "message" and first_delivery(body):
            capture_message(
                svc, channel_id=item.get("channel", ""), ts=item.get("ts", ""), actor=event.get("user"), via="reaction"
            )

    def pin_added(body: dict[str, Any], event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        message = item.get("message") or {}
        if item.get("type") == "message" and message.get("ts") and first_delivery(body):
            capture_message(
                svc,
                channel_id=event.get("channel_id") or item.get("channel", ""),
                ts=message["ts"],
                actor=event.get("user"),
                via="pin",
            )

    def bot_message(body: dict[str, Any], event: dict[str, Any]) -> None:
        # People's messages are read from history at compile time; other bots' (alerts, SIEM) are kept now.
        if event.get("bot_id") and event.get("ts") and first_delivery(body):
            capture_message(svc, channel_id=event.get("channel", ""), ts=event["ts"], actor=None, via="bot")

    app.event("reaction_added")(ack=ack_now, lazy=[guarded(svc, reaction_added)])
    app.event("pin_added")(ack=ack_now, lazy=[guarded(svc, pin_added)])
    app.event("message")(ack=ack_now, lazy=[guarded(svc, bot_message)])
    app.event("member_joined_channel")(ack=ack_now, lazy=[guarded(svc, member_joined)])
    app.event("member_left_channel")(ack=ack_now, lazy=[guarded(svc, member_left)])

    def home_opened(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") == "home" and first_delivery(body):
            publish_home(svc, client, event.get("user", ""))

    def home_declare(body: dict[str, Any], client: WebClient) -> None:
        if first_delivery(body):
            open_declare_form(svc, client, user_id=body["user"]["id"], trigger_id=body["trigger_id"])

    register_comms(app, svc, ack_now, first_delivery)
    app.event("app_home_opened")(ack=ack_now, lazy=[guarded(svc, home_opened)])
    app.action(HOME_DECLARE_ACTION)(ack=ack_now, lazy=[guarded(svc, home_declare)])
    # A url button: Slack opens the link itself, but still sends the click, which must be acknowledged.
    app.action(HOME_OPEN_CHANNEL_ACTION)(ack_now)
    # Acknowledge events ircbot does not act on, so Slack does not retry them.
    app.event(re.compile(".*"))(ack_now)


def _toggle(svc: Services, user: str, value: dict[str, Any], respond: Respond) -> None:
    try:
        ticked = set_item(
            svc, incident_id=int(value["i"]), position=int(value["p"]), checked=None, actor=user, stage=value["s"]
        )
    except (DomainError, UsageError) as exc:
        respond(text=f":warning: {exc}", response_type="ephemeral", replace_original=False)
        return
    view = ticked.incident
    verb = "ticked" if any(i.position == int(value["p"]) and i.checked for i in view.checklist) else "unticked"
    message: Message
    if value.get("c") == "c":
        message = ChecklistCard(view, note=f"<@{user}> {verb} #{value['p']}: {ticked.text}")
    elif value.get("c") == "s":
        message = IncidentCard(view, heading=f"Status of {view.label}: {view.title}", purpose="status")
    else:
        message = IncidentCard(view, heading=f"{view.label}: {view.title}")
    text, blocks = render_message(message)
    respond(text=text, blocks=blocks, replace_original=True)


def _acknowledge(svc: Services, user: str, incident_id: int, respond: Respond) -> None:
    with svc.db.transaction() as session:
        found = queries.incident_by_id(session=session, incident_id=incident_id)
        if found is None or not may_see(session, found, user):
            respond(
                text=":warning: You cannot acknowledge an incident you were not brought into.", replace_original=False
            )
            return
    result = acknowledge(svc, incident_id=incident_id, actor=user)
    current = incidents.view(svc, incident_id)
    page = PageCard(
        current, reason="Acknowledged", declared_local=local_time(current.declared_at, None), acknowledged_by=result.by
    )
    text, blocks = render_message(page)
    respond(text=text, blocks=blocks, replace_original=True)


def _form_value(view: dict[str, Any], block: str) -> dict[str, Any]:
    return dict(view["state"]["values"].get(block, {}).get("value", {}))


def _declare_form_problem(view: dict[str, Any]) -> str | None:
    try:
        check_title((_form_value(view, "title").get("value") or "").strip())
    except UsageError as exc:
        return exc.message
    return None


def _declare_from_form(svc: Services, user: str, view: dict[str, Any]) -> None:
    options = {o["value"] for o in (_form_value(view, "options").get("selected_options") or [])}
    request = Declaration(
        title=(_form_value(view, "title").get("value") or "").strip(),
        severity=(_form_value(view, "severity").get("selected_option") or {}).get("value", "sev3"),
        declared_by=user,
        is_private="public" not in options,
        playbook=(_form_value(view, "playbook").get("selected_option") or {}).get("value", "default"),
        is_drill="drill" in options,
        request_key=f"view:{view['id']}",
    )
    try:
        answer: Message = declared_reply(declare(svc, request)).message
    except IrcbotError as exc:
        answer = Text(f":warning: {exc}")
    try:
        svc.chat.post(user, answer)
    except IrcbotError as exc:
        svc.log.error("could not tell %s the outcome of their declare: %s", user, exc)


def deliver(svc: Services, outcome: Outcome, *, respond: Respond, client: WebClient, trigger_id: str | None) -> None:
    """Send a command's outcome: a response to its response_url, or a modal."""
    if isinstance(outcome, OpenModal) and outcome.name == "update":
        client.views_open(trigger_id=trigger_id, view=update_modal(outcome.private_metadata))
        return
    if isinstance(outcome, OpenModal):
        playbooks = {k: p.title for k, p in svc.config.playbooks.items()}
        try:
            client.views_open(trigger_id=trigger_id, view=declare_modal(playbooks, outcome.private_metadata))
            return
        except SlackClientError as exc:  # the form is a convenience; fall back to the typed form
            svc.log.warning("views.open failed: %s", exc)
            outcome = Reply(
                Text(
                    ":warning: Could not open the declare form. Type it instead: "
                    "`/incident declare <title> [sev1-4] [--public] [--playbook NAME] [--drill]`"
                )
            )
    text, blocks = render_message(outcome.message)
    respond(text=text, blocks=blocks, response_type=outcome.visibility, replace_original=outcome.replace_original)


def _record_membership(svc: Services, event: dict[str, Any], *, joined: bool) -> None:
    channel, user = event.get("channel", ""), event.get("user", "")
    with svc.db.transaction() as session:
        found = queries.incident_by_channel(session=session, channel_id=channel)
        if found is None or found.id is None:
            return
        # Lock the incident row first, as every writer does, so concurrent writers queue instead of deadlocking.
        incident = queries.incident_by_id(session=session, incident_id=found.id, lock=True)
        assert incident is not None and incident.id is not None
        now = svc.clock()
        if joined:
            queries.add_participant(session=session, incident_id=incident.id, user_id=user, reason="joined", at=now)
        verb = "joined" if joined else "left"
        timeline.record(
            session, incident, kind=f"member_{verb}", actor=user, at=now, text=f"<@{user}> {verb} the channel"
        )
