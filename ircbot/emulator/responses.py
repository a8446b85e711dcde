"""response_url handling: what Slack does with a payload POSTed to an interaction's response_url."""

from __future__ import annotations

from typing import Any

from ircbot.emulator.blocks import block_problems, flatten_message, with_block_ids
from ircbot.emulator.state import ResponseUrl, State

# Slack lets an app use a response_url at most five times.
MAX_USES = 5


def _replace(state: State, record: ResponseUrl, payload: dict[str, Any]) -> bool:
    """Replace the message the interaction came from; False when there is none."""
    if record.message_ts is None:
        return False
    text, blocks = payload.get("text"), payload.get("blocks")
    if record.ephemeral:
        original = state.find_ephemeral(record.user_id, record.message_ts)
        if original is None:
            return False
        original.update(text=text or "", blocks=with_block_ids(blocks))
        state.note_seen(record.user_id, state.where(record.channel_id), "ephemeral-edit", flatten_message(text, blocks))
        return True
    msg = state.find_message(record.channel_id, record.message_ts)
    msg.update(
        text=text or "",
        blocks=with_block_ids(blocks),
        edited={"user": state.bot_user_id, "ts": state.next_ts()},
    )
    rendered = flatten_message(text, blocks, msg["files"])
    for member in state._channels[record.channel_id]["members"]:
        state.note_seen(member, state.where(record.channel_id), "edit", rendered)
    return True


def _delete(state: State, record: ResponseUrl) -> None:
    """Delete the message the interaction came from."""
    if record.message_ts is None:
        return
    if record.ephemeral:
        original = state.find_ephemeral(record.user_id, record.message_ts)
        if original is not None:
            original["deleted"] = True
        return
    messages = state._messages[record.channel_id]
    messages[:] = [m for m in messages if m["ts"] != record.message_ts]


def handle_response(state: State, response_id: str, payload: Any) -> tuple[int, str]:
    """Apply one response_url POST; returns (HTTP status, body) as Slack would answer."""
    with state.lock:
        record = state.response_urls.get(response_id)
        if record is None or len(record.payloads) >= MAX_USES:
            return 404, "no_active_hooks" if record is None else "used_url"
        if not isinstance(payload, dict):
            state.violations.append(f"response_url {response_id}: body is not a JSON object: {payload!r}")
            return 400, "invalid_payload"
        record.payloads.append(payload)
        if payload.get("delete_original"):
            _delete(state, record)
            return 200, "ok"
        if not payload.get("text") and not payload.get("blocks"):
            state.violations.append(f"response_url {response_id}: payload has neither text nor blocks")
            return 400, "no_text"
        problems = block_problems(payload["blocks"]) if payload.get("blocks") is not None else []
        if problems:
            state.violations.append(f"response_url {response_id}: invalid blocks: {problems}")
            return 400, "invalid_blocks"
        if payload.get("replace_original") and _replace(state, record, payload):
            return 200, "ok"
        if payload.get("response_type") == "in_channel":
            thread_ts = payload.get("thread_ts")
            state.post(
                record.channel_id,
                user=state.bot_user_id,
                text=payload.get("text"),
                blocks=payload.get("blocks"),
                thread_ts=thread_ts,
            )
        else:
            state.add_ephemeral(
                record.channel_id, record.user_id, payload.get("text"), payload.get("blocks"), kind="response"
            )
        return 200, "ok"
