"""Forms for status updates and for editing a notice before it is sent."""

from __future__ import annotations

from typing import Any

UPDATE_MODAL = "update_modal"
NOTICE_MODAL = "notice_edit_modal"


def update_modal(incident_id: str) -> dict[str, Any]:
    """Current status, impact, next steps and when the next update is due."""
    return {
        "type": "modal",
        "callback_id": UPDATE_MODAL,
        "private_metadata": incident_id,
        "title": {"type": "plain_text", "text": "Status update"},
        "submit": {"type": "plain_text", "text": "Send update"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _text_input("status", "Current status", multiline=True),
            _text_input("impact", "Impact", multiline=True, optional=True),
            _text_input("next_steps", "Next steps", multiline=True, optional=True),
            _text_input("next_update", "Next update in (e.g. 30m, 2h)", optional=True),
        ],
    }


def notice_modal(notice_id: int, subject: str, body: str) -> dict[str, Any]:
    """The draft's subject and body, editable."""
    return {
        "type": "modal",
        "callback_id": NOTICE_MODAL,
        "private_metadata": str(notice_id),
        "title": {"type": "plain_text", "text": "Edit notice"},
        "submit": {"type": "plain_text", "text": "Save draft"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _text_input("subject", "Subject", initial=subject[:150]),
            _text_input("body", "Body", multiline=True, initial=body[:3000]),
        ],
    }


def form_values(view: dict[str, Any]) -> dict[str, str]:
    """The text typed into each input block of a submitted form."""
    values = view.get("state", {}).get("values", {})
    return {block: str((actions.get("value") or {}).get("value") or "") for block, actions in values.items()}


def _text_input(
    block_id: str, label: str, *, multiline: bool = False, optional: bool = False, initial: str = ""
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value", "multiline": multiline}
    if initial:
        element["initial_value"] = initial
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }
