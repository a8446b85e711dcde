"""Every action and callback id ircbot puts into Slack, and the codec of the value each one carries.

Rendering encodes with these functions and the interactions decode with them, so the two cannot
drift apart. A value that does not decode raises ValueError: Slack only sends back what we rendered,
so anything else is a forged or garbled payload.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

# Buttons (action ids).
TICK = "checklist_toggle"  # + "_<position>": one id per item, since Slack wants ids unique in a message
ACK = "page_ack"
SNOOZE = "reminder_snooze"  # + "_<minutes>"
NOTICE_SEND, NOTICE_EDIT, NOTICE_CANCEL = "notice_send", "notice_edit", "notice_cancel"
HOME_DECLARE = "home_declare"
JOIN_APPROVE, JOIN_DENY = "join_approve", "join_deny"
HOME_OPEN_CHANNEL = "home_open_channel"  # a link button: Slack opens the URL and still sends the click
TRIAGE_DECLARE, TRIAGE_DISMISS = "alert_declare", "alert_dismiss"
DISMISS_FORM = "alert_dismiss_modal"
DECISION_APPROVE, DECISION_REJECT = "decision_approve", "decision_reject"
POST_UPDATE = "reminder_post_update"  # opens the update form from an update reminder

TICK_PATTERN = re.compile(rf"^{TICK}_\d+$")
SNOOZE_PATTERN = re.compile(rf"^{SNOOZE}_\d+$")
NOTICE_PATTERN = re.compile(rf"^(?:{NOTICE_SEND}|{NOTICE_EDIT}|{NOTICE_CANCEL})$")
JOIN_PATTERN = re.compile(rf"^(?:{JOIN_APPROVE}|{JOIN_DENY})$")
TRIAGE_PATTERN = re.compile(rf"^(?:{TRIAGE_DECLARE}|{TRIAGE_DISMISS})$")
DECISION_PATTERN = re.compile(rf"^(?:{DECISION_APPROVE}|{DECISION_REJECT})$")

# Forms (view callback ids).
DECLARE_FORM = "declare_modal"
UPDATE_FORM = "update_modal"
NOTICE_FORM = "notice_edit_modal"

Card = Literal["w", "s", "c"]  # the welcome card, the status card, a checklist card


@dataclass(frozen=True)
class TickValue:
    """Which item a checklist button ticks, in which stage, on which kind of card."""

    incident_id: int
    stage: str
    position: int
    card: Card


def tick_id(position: int) -> str:
    """The action id of item `position`'s button."""
    return f"{TICK}_{position}"


def tick_value(incident_id: int, stage: str, position: int, card: Card) -> str:
    """What a checklist button carries."""
    return json.dumps({"i": incident_id, "s": stage, "p": position, "c": card}, separators=(",", ":"))


def parse_tick(value: str) -> TickValue:
    """The inverse of `tick_value`; ValueError for anything else."""
    try:
        raw = json.loads(value)
        card = raw.get("c", "w")
        if card not in ("w", "s", "c"):
            raise ValueError(f"unknown card {card!r}")
        return TickValue(incident_id=int(raw["i"]), stage=str(raw["s"]), position=int(raw["p"]), card=card)
    except (TypeError, KeyError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a checklist button value: {value!r}") from exc


def snooze_id(minutes: int) -> str:
    """The action id of the `minutes` snooze button."""
    return f"{SNOOZE}_{minutes}"


def snooze_minutes(action_id: str) -> int:
    """How long a snooze button snoozes."""
    if not SNOOZE_PATTERN.match(action_id):
        raise ValueError(f"not a snooze button: {action_id!r}")
    return int(action_id.rsplit("_", 1)[1])


_NOTICE_VERBS: dict[str, Literal["send", "edit", "cancel"]] = {
    NOTICE_SEND: "send",
    NOTICE_EDIT: "edit",
    NOTICE_CANCEL: "cancel",
}


def notice_verb(action_id: str) -> Literal["send", "edit", "cancel"]:
    """What a notice button does."""
    if action_id not in _NOTICE_VERBS:
        raise ValueError(f"not a notice button: {action_id!r}")
    return _NOTICE_VERBS[action_id]


def carried(payload: dict[str, object]) -> str:
    """What a clicked button or a submitted form carries: the button's value or the form's metadata.

    It names a row (which incident, which notice), never who may act: that comes from Slack's signed
    user and channel, checked by the pipeline.
    """
    if payload.get("value") is not None:
        return str(payload["value"])
    return str(payload.get("private_metadata") or "")


def notice_value(notice_id: int, version: str) -> str:
    """What a notice's buttons carry: the notice and the version of its words on the card."""
    return f"{notice_id}:{version}"


def parse_notice(value: str) -> tuple[int, str | None]:
    """(notice id, version shown); cards from before versions carry the id alone."""
    number, _, version = value.partition(":")
    return parse_number(number), version or None


def number_value(number: int) -> str:
    """A row id carried by a button or a form (incident, notice)."""
    return str(number)


def parse_number(value: str | None) -> int:
    """The inverse of `number_value`."""
    if value is None or not value.isascii() or not value.isdigit():
        raise ValueError(f"not a row id: {value!r}")
    return int(value)
