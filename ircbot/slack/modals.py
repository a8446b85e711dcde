"""The forms: declaring an incident, a status update, and editing a notice before it is sent."""

from __future__ import annotations

from typing import Any

from ircbot.commands import declare, update
from ircbot.commands.parsing import without_nul
from ircbot.domain.messages import OpenModal
from ircbot.domain.services import Services
from ircbot.slack import ids
from ircbot.slack.markup import neutral

TYPED = {"declare": declare.USAGE, "update": update.USAGE}


def form_for(svc: Services, request: OpenModal) -> dict[str, Any]:
    """The form a command asked to open."""
    if request.name == "update":
        return update_modal(request.private_metadata)
    return declare_modal({k: p.title for k, p in svc.config.playbooks.items()}, request.private_metadata)


def typed_instead(request: OpenModal) -> str:
    """What to say when Slack would not open a command's form: how to type the same thing."""
    typed = TYPED.get(request.name)
    if typed is None:
        return ":warning: Could not open the form; try again in a moment."
    return f":warning: Could not open the {request.name} form. Type it instead: `/incident {typed}`"


def update_modal(incident_id: str) -> dict[str, Any]:
    """Current status, impact, next steps and when the next update is due."""
    return _modal(
        ids.UPDATE_FORM,
        incident_id,
        ("Status update", "Send update"),
        [
            _text_input("status", "Current status", multiline=True),
            _text_input("impact", "Impact", multiline=True, optional=True),
            _text_input("next_steps", "Next steps", multiline=True, optional=True),
            _text_input("next_update", "Next update in (e.g. 30m, 2h)", optional=True),
        ],
    )


def notice_modal(notice_id: int, subject: str, body: str) -> dict[str, Any]:
    """The draft's subject and body, editable."""
    return _modal(
        ids.NOTICE_FORM,
        ids.number_value(notice_id),
        ("Edit notice", "Save draft"),
        [
            _text_input("subject", "Subject", initial=subject[:150]),
            _text_input("body", "Body", multiline=True, initial=body[:3000]),
        ],
    )


def dismiss_modal(alert_id: int, title: str) -> dict[str, Any]:
    """Why an alert is a false positive, asked before it is dismissed (the answer may be left empty)."""
    return _modal(
        ids.DISMISS_FORM,
        ids.number_value(alert_id),
        ("Dismiss alert", "Dismiss"),
        [
            {
                "type": "section",
                "text": {"type": "plain_text", "text": f"Dismiss “{title[:200]}” as a false positive."},
            },
            _text_input("reason", "Why? (kept with the alert)", multiline=True, optional=True),
        ],
    )


def declare_modal(playbooks: dict[str, str], private_metadata: str = "") -> dict[str, Any]:
    """The declare form: title, severity, playbook, public and drill, when impact started and when detected."""
    sev_options = [
        {"text": {"type": "plain_text", "text": label}, "value": value}
        for value, label in (
            ("sev1", "SEV1 — Critical"),
            ("sev2", "SEV2 — High"),
            ("sev3", "SEV3 — Medium"),
            ("sev4", "SEV4 — Low"),
        )
    ]
    playbook_options = [{"text": {"type": "plain_text", "text": t[:75]}, "value": k} for k, t in playbooks.items()]
    default_playbook = next((o for o in playbook_options if o["value"] == "default"), playbook_options[0])
    return _modal(
        ids.DECLARE_FORM,
        private_metadata,
        ("Declare an incident", "Declare"),
        [
            _input("title", "Title", {"type": "plain_text_input", "action_id": "value", "max_length": 150}),
            _input(
                "severity",
                "Severity",
                {
                    "type": "static_select",
                    "action_id": "value",
                    "options": sev_options,
                    "initial_option": sev_options[2],
                },
            ),
            _input(
                "playbook",
                "Playbook",
                {
                    "type": "static_select",
                    "action_id": "value",
                    "options": playbook_options,
                    "initial_option": default_playbook,
                },
            ),
            _input(
                "options",
                "Options",
                {
                    "type": "checkboxes",
                    "action_id": "value",
                    "options": [
                        {
                            "text": {"type": "plain_text", "text": "Public channel (default is private)"},
                            "value": "public",
                        },
                        {
                            "text": {
                                "type": "plain_text",
                                "text": "Drill (tabletop exercise, kept out of metrics)",
                            },
                            "value": "drill",
                        },
                    ],
                },
                optional=True,
            ),
            _text_input(
                "started", "Impact started (e.g. 2h ago, or 2026-11-29 04:10 in your time zone)", optional=True
            ),
            _text_input("detected", "Detected (e.g. 30m ago; empty: now)", optional=True),
        ],
    )


def _input(block_id: str, label: str, element: dict[str, Any], optional: bool = False) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }


def _modal(callback_id: str, metadata: str, words: tuple[str, str], blocks: list[dict[str, Any]]) -> dict[str, Any]:
    title, submit = words
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def form_values(view: dict[str, Any]) -> dict[str, str]:
    """The text typed into each input block of a submitted form."""
    values = view.get("state", {}).get("values", {})
    return {
        block: neutral(without_nul(str((actions.get("value") or {}).get("value") or "")))
        for block, actions in values.items()
    }


def selected(view: dict[str, Any], block: str) -> str | None:
    """The value of the option chosen in a select menu."""
    chosen = _element(view, block).get("selected_option") or {}
    return str(chosen["value"]) if chosen.get("value") else None


def selected_options(view: dict[str, Any], block: str) -> set[str]:
    """The values of the boxes ticked in a checkbox group."""
    return {str(o["value"]) for o in _element(view, block).get("selected_options") or []}


def _element(view: dict[str, Any], block: str) -> dict[str, Any]:
    return dict((view.get("state", {}).get("values", {}).get(block) or {}).get("value") or {})


def _text_input(
    block_id: str, label: str, *, multiline: bool = False, optional: bool = False, initial: str = ""
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value", "multiline": multiline}
    if initial:
        element["initial_value"] = initial
    return _input(block_id, label, element, optional)
