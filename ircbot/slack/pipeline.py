"""The one pipeline every Slack interaction goes through, typed or clicked.

After Bolt's ack: drop Slack's redeliveries, find the incident and apply the typed command's rules
(a button never allows what the command refuses), run the handler, word any failure the same way,
and deliver the answer — to the response_url, as a form, or to the person's DM when there is neither.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from slack_bolt.kwargs_injection import Args
from slack_sdk.errors import SlackClientError

from ircbot.commands.answers import failure_reply, internal_error
from ircbot.commands.base import Invocation
from ircbot.commands.dispatch import dispatch
from ircbot.domain.access import authorise
from ircbot.domain.deliveries import remember_delivery
from ircbot.domain.messages import OpenModal, Reply, Text
from ircbot.domain.resuming import declarer_answered
from ircbot.domain.services import Services
from ircbot.errors import DomainError, IrcbotError
from ircbot.slack import modals
from ircbot.slack.interactions.base import Answer, Interaction, InteractionSpec, OpenView, PublishHome, Replace
from ircbot.slack.markup import neutral
from ircbot.slack.render import render_message, with_note
from ircbot.turns import off_turn


def delivery_key(body: dict[str, Any]) -> str | None:
    """What makes a delivery unique: the event id, else the trigger id (new for every command, click, submit)."""
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}"
    return None


def first_delivery(svc: Services, body: dict[str, Any]) -> bool:
    """False for a delivery already handled (Slack redelivers what it did not see acknowledged in 3 s)."""
    key = delivery_key(body)
    if key is None or remember_delivery(svc, key):
        return True
    svc.log.info("dropping redelivery %s", key)
    return False


def user_of(body: dict[str, Any]) -> str:
    """Who typed, clicked, submitted, or did what the event reports."""
    found = body.get("user_id") or (body.get("user") or {}).get("id") or (body.get("event") or {}).get("user")
    return str(found or "")


def run_command(svc: Services, args: Args) -> str:
    """`/incident …`: the command layer parses, locates, authorises and answers; returns the outcome."""
    body: dict[str, Any] = args.body
    if not first_delivery(svc, body):
        return "redelivery"
    answer = dispatch(svc, invocation_of(body))
    deliver(svc, answer, args)
    return outcome_of(answer)


def outcome_of(answer: Answer) -> str:
    """How a delivery ended, as the metrics count it: ok, refused (the person's input or rights) or failed."""
    return (answer.problem if isinstance(answer, Reply) else None) or "ok"


def invocation_of(body: dict[str, Any]) -> Invocation:
    """The typed command of a slash-command request."""
    return Invocation(
        user_id=body["user_id"],
        channel_id=body.get("channel_id", ""),
        text=neutral(body.get("text", "")),
        trigger_id=body.get("trigger_id"),
        request_key=body.get("trigger_id"),
    )


def run_interaction(svc: Services, spec: InteractionSpec, args: Args) -> str:
    """A button, form or event, through the same checks as a typed command; returns the outcome."""
    body: dict[str, Any] = args.body
    payload = payload_of(spec, args)
    if spec.accepts is not None and not spec.accepts(svc, payload):
        return "ignored"
    if spec.validate is not None and spec.validate(payload):
        return "refused"  # the ack showed the problems beside the fields; the form is still open
    if not first_delivery(svc, body):
        return "redelivery"
    user = user_of(body)
    try:
        incident_id = spec.locate(svc, payload) if spec.locate else None
        if incident_id is not None:
            # Slack events about an incident away are dropped before this, by `accepts`
            authorise(svc, incident_id=incident_id, user_id=user, permission=spec.permission)
        answer = spec.func(Interaction(svc, user, payload, incident_id))
    except Exception as exc:  # every failure is answered; failure_reply logs what ircbot did not expect
        if spec.kind == "event":  # nobody is waiting on an event: the log is the only place to say it
            svc.log.warning("event %s not handled: %s", spec.name, exc, exc_info=not isinstance(exc, DomainError))
            return "refused" if isinstance(exc, DomainError) else "failed"
        answer = failure_reply(svc, exc, what=spec.name)  # no usage line under a click
    deliver(svc, answer, args)
    return outcome_of(answer)


def deliver(svc: Services, answer: Answer, args: Args) -> None:
    """Send an answer where it belongs."""
    body: dict[str, Any] = args.body
    if answer is None:
        return
    client, respond = off_turn(args.client, svc.turns), off_turn(args.respond, svc.turns)  # each a wait on Slack
    if isinstance(answer, PublishHome):
        try:
            client.views_publish(user_id=user_of(body), view=answer.view)
        except SlackClientError as exc:  # the tab keeps its last content; the next visit publishes again
            svc.log.warning("views.publish for %s failed: %s", user_of(body), exc)
        return
    if isinstance(answer, OpenModal | OpenView):
        view = answer.view if isinstance(answer, OpenView) else modals.form_for(svc, answer)
        try:
            client.views_open(trigger_id=body["trigger_id"], view=view)
            return
        except SlackClientError as exc:  # a form is a convenience; say how to do without it
            svc.log.warning("views.open failed: %s", exc)
            fallback = answer.fallback if isinstance(answer, OpenView) else modals.typed_instead(answer)
            answer = Reply(Text(fallback))
    if isinstance(answer, Replace):
        text, blocks = render_message(answer.message)
        if answer.note:
            text, blocks = f"{text} — {answer.note}", with_note(blocks, answer.note)
        respond(text=text, blocks=blocks, replace_original=True)
        if answer.announce is not None:
            text, blocks = render_message(answer.announce)
            respond(text=text, blocks=blocks, response_type="in_channel", replace_original=False)
        return
    delivered = True
    if _has_response_url(body):
        text, blocks = render_message(answer.message)
        sent = respond(
            text=text, blocks=blocks, response_type=answer.visibility, replace_original=answer.replace_original
        )
        delivered = getattr(sent, "status_code", 200) == 200
    else:  # a form submission or a Home tab click: the person's DM with the bot
        svc.chat.post(user_of(body), answer.message)
    if answer.answers is not None and delivered:  # a declarer told the outcome; else a resume tells them later
        declarer_answered(svc, answer.answers)


def guarded(
    svc: Services, name: str, work: Callable[[Args], str], counted: Callable[[Args, str], None] | None = None
) -> Callable[[Args], None]:
    """The work after an ack: `work(args)` on Bolt's executor; a failure of the pipeline itself still gets an answer.

    `counted(args, outcome)` is told how each delivery ended (the metrics).
    """

    def run(args: Args) -> None:
        try:
            with svc.turns.turn():  # see ircbot/turns.py
                outcome = work(args)
        except Exception:  # a bug or an outage past the handler; the person must still hear about it
            reference = uuid.uuid4().hex[:8]
            svc.log.exception("%s failed [ref %s]", name, reference)
            _tell(svc, args, reference)
            outcome = "failed"
        if counted is not None:
            counted(args, outcome)

    run.__name__ = name
    return run


def payload_of(spec: InteractionSpec, args: Args) -> dict[str, Any]:
    """What the interaction is about: the clicked action, the submitted view, or the event."""
    if spec.kind == "action":
        return dict(args.action or {})
    if spec.kind == "view":
        return dict(args.view or {})
    return dict(args.event or {})


def _has_response_url(body: dict[str, Any]) -> bool:
    return bool(body.get("response_url") or body.get("response_urls"))


def _tell(svc: Services, args: Args, reference: str) -> None:
    body: dict[str, Any] = args.body or {}
    text = internal_error(reference).text
    try:
        if _has_response_url(body):
            args.respond(text=text, response_type="ephemeral", replace_original=False)  # outside any turn
        elif user_of(body) and body.get("type") != "event_callback":
            svc.chat.post(user_of(body), Text(text))
    except (IrcbotError, SlackClientError, OSError) as exc:
        svc.log.error("could not tell the user about failure %s: %s", reference, exc)
