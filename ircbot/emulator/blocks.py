"""Block Kit checks (a practical subset of Slack's limits) and Block Kit to plain-text flattening."""

from __future__ import annotations

import secrets
from typing import Any

MESSAGE_BLOCK_TYPES = frozenset(
    {
        "section",
        "divider",
        "header",
        "context",
        "actions",
        "image",
        "rich_text",
        "input",
        "file",
        "video",
        "markdown",
        "table",
    }
)
MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_VIEW = 100


def _text_problems(obj: Any, where: str, max_len: int, plain_only: bool = False) -> list[str]:
    """Problems with one text composition object."""
    if not isinstance(obj, dict):
        return [f"{where}: text object must be an object"]
    kind = obj.get("type")
    allowed = {"plain_text"} if plain_only else {"plain_text", "mrkdwn"}
    problems = []
    if kind not in allowed:
        problems.append(f"{where}/type: must be one of {sorted(allowed)}, got {kind!r}")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{where}/text: must be a non-empty string")
    elif len(text) > max_len:
        problems.append(f"{where}/text: must be at most {max_len} characters, got {len(text)}")
    return problems


def _element_problems(el: Any, where: str, action_ids: set[str]) -> list[str]:
    """Problems with one interactive element."""
    if not isinstance(el, dict) or "type" not in el:
        return [f"{where}: element must be an object with a type"]
    problems: list[str] = []
    action_id = el.get("action_id")
    if action_id is not None:
        if len(str(action_id)) > 255:
            problems.append(f"{where}/action_id: must be at most 255 characters")
        if action_id in action_ids:
            problems.append(f"{where}/action_id: duplicate action_id {action_id!r}")
        action_ids.add(action_id)
    if el["type"] == "button":
        problems += _text_problems(el.get("text"), f"{where}/text", 75, plain_only=True)
        if len(str(el.get("value", ""))) > 2000:
            problems.append(f"{where}/value: must be at most 2000 characters")
        if el.get("style") not in (None, "primary", "danger"):
            problems.append(f"{where}/style: must be primary or danger")
    return problems


def block_problems(blocks: Any, max_blocks: int = MAX_BLOCKS_MESSAGE) -> list[str]:
    """Return human-readable schema problems for a blocks array (empty when valid)."""
    if not isinstance(blocks, list):
        return ["blocks: must be an array"]
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"blocks: at most {max_blocks} blocks allowed, got {len(blocks)}")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        # Slack's rule: an action_id must be unique among the action_ids of its containing block.
        action_ids: set[str] = set()
        if not isinstance(block, dict) or block.get("type") not in MESSAGE_BLOCK_TYPES:
            kind = block.get("type") if isinstance(block, dict) else block
            problems.append(f"{where}/type: unknown block type {kind!r}")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in block_ids:
                problems.append(f"{where}/block_id: duplicate block_id {block_id!r}")
            block_ids.add(block_id)
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"{where}: section needs text or fields")
            if "text" in block:
                problems += _text_problems(block["text"], f"{where}/text", 3000)
            fields = block.get("fields", [])
            if len(fields) > 10:
                problems.append(f"{where}/fields: at most 10 fields allowed")
            for j, fld in enumerate(fields):
                problems += _text_problems(fld, f"{where}/fields/{j}", 2000)
            if "accessory" in block:
                problems += _element_problems(block["accessory"], f"{where}/accessory", action_ids)
        elif kind == "header":
            problems += _text_problems(block.get("text"), f"{where}/text", 150, plain_only=True)
        elif kind == "context":
            elements = block.get("elements", [])
            if not elements or len(elements) > 10:
                problems.append(f"{where}/elements: context needs 1..10 elements")
        elif kind == "actions":
            elements = block.get("elements", [])
            if not elements or len(elements) > 25:
                problems.append(f"{where}/elements: actions needs 1..25 elements")
            for j, el in enumerate(elements):
                problems += _element_problems(el, f"{where}/elements/{j}", action_ids)
        elif kind == "input":
            problems += _text_problems(block.get("label"), f"{where}/label", 2000, plain_only=True)
            problems += _element_problems(block.get("element"), f"{where}/element", action_ids)
    return problems


def with_block_ids(blocks: list[Any] | None) -> list[Any] | None:
    """Copy of blocks where each block has a block_id; Slack generates one when the app did not."""
    if not blocks:
        return blocks
    out = []
    for block in blocks:
        if isinstance(block, dict) and "block_id" not in block:
            block = {**block, "block_id": secrets.token_urlsafe(4)[:5]}
        out.append(block)
    return out


def _text_of(obj: Any) -> str:
    """Plain text of a text object, or of an image element's alt text."""
    if isinstance(obj, dict):
        if obj.get("type") == "image":
            return f"[image: {obj.get('alt_text', '')}]"
        return str(obj.get("text", ""))
    return str(obj) if obj is not None else ""


def _element_text(el: dict[str, Any]) -> str:
    """How an interactive element looks to a reader."""
    kind = el.get("type")
    if kind == "button":
        return f"[{_text_of(el.get('text'))}]"
    if kind == "checkboxes":
        chosen = {o.get("value") for o in el.get("initial_options", [])}
        return "\n".join(
            f"[{'x' if o.get('value') in chosen else ' '}] {_text_of(o.get('text'))}" for o in el.get("options", [])
        )
    if kind in ("static_select", "radio_buttons", "overflow", "multi_static_select"):
        opts = ", ".join(_text_of(o.get("text")) for o in el.get("options", []))
        return f"[{_text_of(el.get('placeholder')) or kind}: {opts}]"
    if "placeholder" in el:
        return f"[{_text_of(el['placeholder'])}]"
    return f"[{kind}]"


def _rich_text(elements: list[Any]) -> str:
    """Flatten rich_text sections, lists and quotes."""
    out: list[str] = []
    for el in elements:
        kind = el.get("type")
        if kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
            out.append("".join(str(e.get("text", e.get("url", e.get("user_id", "")))) for e in el["elements"]))
        elif kind == "rich_text_list":
            bullet = "1." if el.get("style") == "ordered" else "-"
            out += [f"{bullet} {_rich_text([item])}" for item in el.get("elements", [])]
    return "\n".join(out)


def flatten_blocks(blocks: list[dict[str, Any]] | None) -> str:
    """Render blocks as the plain text a reader would take away from them."""
    lines: list[str] = []
    for block in blocks or []:
        kind = block.get("type")
        if kind in ("section", "header"):
            if "text" in block:
                lines.append(_text_of(block["text"]))
            lines += [_text_of(f) for f in block.get("fields", [])]
            if "accessory" in block:
                lines.append(_element_text(block["accessory"]))
        elif kind == "context":
            lines.append(" ".join(_text_of(e) for e in block.get("elements", [])))
        elif kind == "actions":
            lines.append(" ".join(_element_text(e) for e in block.get("elements", [])))
        elif kind == "divider":
            lines.append("---")
        elif kind == "markdown":
            lines.append(str(block.get("text", "")))
        elif kind == "rich_text":
            lines.append(_rich_text(block.get("elements", [])))
        elif kind == "input":
            lines.append(f"{_text_of(block.get('label'))}: {_element_text(block.get('element', {}))}")
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
    return "\n".join(line for line in lines if line)


def flatten_message(text: str | None, blocks: list[dict[str, Any]] | None, files: list[Any] | None = None) -> str:
    """Plain text of a message: its blocks when present (as clients show them), else its text."""
    body = flatten_blocks(blocks) if blocks else (text or "")
    for f in files or []:
        body += f"\n[file: {f.get('name') or f.get('title') or f.get('id')}]"
    return body.strip()


def flatten_view(view: dict[str, Any]) -> str:
    """Plain text of a modal or home tab: title, blocks and submit label."""
    parts = [_text_of(view.get("title")), flatten_blocks(view.get("blocks"))]
    if view.get("submit"):
        parts.append(f"[{_text_of(view['submit'])}]")
    return "\n".join(p for p in parts if p)
