"""The bot's messages as a Matrix room shows them: plain text and HTML from what Slack would have shown.

One renderer (`ircbot.slack.render`) decides what each message says; this turns its Block Kit into text,
and Slack's mrkdwn into Matrix's HTML subset: mentions become Matrix ids (or stay Slack ids, for people
oob.yaml does not map), `<!date^…>` tokens a UTC time, links `label (url)`. Buttons are Slack's alone:
a message that had some says which command does the same in the room.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

from ircbot.domain.messages import Message
from ircbot.slack.render import render_message

MatrixId = Callable[[str], str | None]

_TOKEN = re.compile(r"<([@#!])([^>|]*)(?:\|([^>]*))?>|<(https?://[^>|]+|mailto:[^>|]+)(?:\|([^>]*))?>")
_STYLE = (
    (re.compile(r"```(.+?)```", re.S), "<pre><code>{}</code></pre>", "{}"),
    (re.compile(r"`([^`\n]+)`"), "<code>{}</code>", "`{}`"),
    (re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])"), "<strong>{}</strong>", "{}"),
    (re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])"), "<em>{}</em>", "{}"),
    (re.compile(r"(?<![\w~])~([^~\n]+)~(?![\w~])"), "<del>{}</del>", "{}"),
)
EMOJI = {
    "warning": "⚠️", "white_check_mark": "✅", "rotating_light": "🚨", "x": "❌", "scales": "⚖️", "hourglass": "⌛",
    "wave": "👋", "stopwatch": "⏱️", "shield": "🛡️", "pushpin": "📌", "no_entry": "⛔", "mega": "📣",
    "large_green_circle": "🟢", "door": "🚪", "clipboard": "📋", "bar_chart": "📊", "white_large_square": "⬜",
    "white_circle": "⚪", "wastebasket": "🗑️", "test_tube": "🧪", "telephone_receiver": "📞", "red_circle": "🔴",
    "octagonal_sign": "🛑", "memo": "📝", "mag": "🔍", "link": "🔗", "large_yellow_circle": "🟡",
    "large_orange_circle": "🟠", "information_source": "ℹ️", "hourglass_flowing_sand": "⏳", "handshake": "🤝",
    "file_folder": "📁", "chart_with_downwards_trend": "📉", "ballot_box_with_check": "☑️", "arrow_double_up": "⏫",
}  # fmt: skip
"""The shortcodes the bot's messages use, as the characters Matrix clients show (Slack draws them from names)."""
_SHORTCODE = re.compile(r":([a-z0-9_+-]+):")
BUTTONS = "Buttons are Slack's: here, type `!incident help` for the commands that do the same."


def to_matrix(message: Message, matrix_id: MatrixId) -> tuple[str, str]:
    """(plain body, HTML formatted body) of a message."""
    fallback, blocks = render_message(message)
    lines = list(_block_lines(blocks)) or [fallback]
    if any(b.get("type") == "actions" or _has_button(b) for b in blocks):
        lines.append(f"_{BUTTONS}_")
    mrkdwn = _SHORTCODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), "\n".join(lines))
    return plain(mrkdwn, matrix_id), markup(mrkdwn, matrix_id)


def _has_button(block: dict[str, Any]) -> bool:
    return (block.get("accessory") or {}).get("type") == "button"


def _block_lines(blocks: list[dict[str, Any]]) -> Iterator[str]:
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            yield f"*{block['text']['text']}*"
        elif kind == "section":
            if block.get("text"):
                yield block["text"]["text"]
            for field in block.get("fields") or []:
                yield field["text"]
        elif kind == "context":
            yield " · ".join(e.get("text", e.get("alt_text", "")) for e in block.get("elements", []))
        elif kind == "divider":
            yield "———"
        elif kind == "image":
            yield f"[image: {block.get('alt_text', '')}]"
        elif kind == "rich_text":
            yield "".join(_rich_text(block))


def _rich_text(block: dict[str, Any]) -> Iterator[str]:
    for element in block.get("elements", []):
        for part in element.get("elements", []):
            yield str(part.get("text", ""))


def _date(body: str, label: str | None) -> str:
    stamp = body.split("^")[1] if "^" in body else ""
    try:
        return datetime.fromtimestamp(int(stamp), tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return label or ""


def _token(match: re.Match[str], matrix_id: MatrixId, *, as_html: bool) -> str:
    sigil, body, label, url, url_label = match.groups()
    if url is not None:  # Slack's text has &amp; &lt; &gt; escaped, in links too
        url, text = html.unescape(url), html.unescape(url_label or url)
        if as_html:
            return f'<a href="{html.escape(url, quote=True)}">{html.escape(text)}</a>'
        return text if text == url else f"{text} ({url})"
    if sigil == "@":
        found = matrix_id(body)
        shown = found or label or body
        if as_html and found:
            return f'<a href="https://matrix.to/#/{html.escape(found, quote=True)}">{html.escape(found)}</a>'
        return html.escape(shown) if as_html else shown
    if sigil == "#":
        shown = f"#{label or body}"
        return html.escape(shown) if as_html else shown
    if body.startswith("date^"):
        shown = _date(body, label)
        return html.escape(shown) if as_html else shown
    return ""  # <!here>, <!channel>, <!subteam^…>: nobody is mass-notified in the room


def plain(mrkdwn: str, matrix_id: MatrixId) -> str:
    """mrkdwn as plain text: tokens resolved, Slack's escapes undone, emphasis marks dropped."""
    text = _TOKEN.sub(lambda m: _token(m, matrix_id, as_html=False), mrkdwn)
    for pattern, _, shown in _STYLE[2:]:
        text = pattern.sub(partial(_styled, shown), text)
    return html.unescape(text)


def markup(mrkdwn: str, matrix_id: MatrixId) -> str:
    """mrkdwn as Matrix's HTML subset (Slack already escaped &, < and > in the text)."""
    pieces: list[str] = []
    last = 0
    for match in _TOKEN.finditer(mrkdwn):
        pieces.append(_escape(mrkdwn[last : match.start()]))
        pieces.append(_token(match, matrix_id, as_html=True))
        last = match.end()
    pieces.append(_escape(mrkdwn[last:]))
    text = "".join(pieces)
    for pattern, tag, _ in _STYLE:
        text = pattern.sub(partial(_styled, tag), text)
    return text.replace("\n", "<br>")


def _styled(form: str, match: re.Match[str]) -> str:
    return form.format(match.group(1))


def _escape(text: str) -> str:
    """Slack's text has &amp; &lt; &gt; already; anything else that HTML minds is escaped here."""
    return html.escape(html.unescape(text), quote=False)
