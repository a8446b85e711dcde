"""Slack mrkdwn markup: times each reader sees in their own zone, and what people type made safe to post again.

Every time ircbot shows in Slack is a `slack_date` token, never a fixed "14:05 UTC": each client renders it in
its reader's zone and 12/24-hour preference. Only mrkdwn text renders the token; plain_text (headers, buttons,
modal titles, file titles) would show it raw, so no time goes there.

What people type loses its channel-wide pings and its links disguised by a label. Slack delivers typed text
with its markup already in place: `@channel` arrives as `<!channel>`, a pasted link with a label as
`<https://…|label>`, and literal `<`, `>`, `&` escaped as entities. Text that ircbot stores and reposts
elsewhere (a title in the stakeholder channel, the Home tab, `list`) keeps people's mentions but loses the
specials, and every link shows its target.
"""

from __future__ import annotations

import re

from ircbot.domain.date_token import slack_date

__all__ = ["neutral", "slack_date"]  # slack_date lives with the plain types, so commands and the domain share it

# <!channel>, <!here>, <!everyone>, <!subteam^S123|@team>, <!date^…|fallback>, and any other <!…>.
_SPECIAL = re.compile(r"<!(?P<what>[^<>|^]*)(?:\^(?P<arg>[^<>|]*))?(?:[^<>|]*)(?:\|(?P<label>[^<>]*))?>")
# <https://target|label>, <mailto:x|label> …: a label can say anything, so only the target is kept.
_LABELLED_LINK = re.compile(r"<(?P<target>[a-zA-Z][a-zA-Z0-9+.-]*:[^|>]*)\|[^>]*>")


def _special(match: re.Match[str]) -> str:
    what, arg, label = match.group("what"), match.group("arg"), match.group("label")
    if what == "subteam":
        return f"@{label.lstrip('@')}" if label else f"@{arg}"
    if what == "date":
        return label or ""
    return f"@{what}"  # "@channel" as plain text: a bot's message pings only through the <!channel> markup


def neutral(text: str) -> str:
    """The text with special mentions reduced to words and labelled links to their targets."""
    cleaned = _LABELLED_LINK.sub(lambda m: f"<{m.group('target')}>", _SPECIAL.sub(_special, text))
    # Whatever could still open a special (`<!` left over from nested brackets) is shown, not obeyed.
    return cleaned.replace("<!", "&lt;!")
