"""The App Home tab: the viewer's open incidents and a way to declare one."""

from __future__ import annotations

from typing import Any

from slack_sdk.models import blocks as kit
from slack_sdk.models.views import View

from ircbot.domain.stages import STAGE_TITLES
from ircbot.domain.views import IncidentView
from ircbot.slack import ids
from ircbot.slack.markup import slack_date
from ircbot.slack.render import deadline_field

MAX_HOME_BLOCKS = 100
BLOCKS_PER_INCIDENT = 2
EMPTY_TEXT = "No open incidents you can see."


def channel_url(channel_id: str) -> str:
    """A link that opens the channel in whichever Slack client follows it."""
    return f"https://slack.com/app_redirect?channel={channel_id}"


def home_view(viewer: str, shown: tuple[IncidentView, ...]) -> dict[str, Any]:
    """The Home tab for `viewer`, listing `shown` (already filtered to what the viewer may see)."""
    declare_button = kit.ButtonElement(text="Declare an incident", action_id=ids.HOME_DECLARE, style="primary")
    if not shown:
        blocks: list[kit.Block] = [
            kit.HeaderBlock(text="Open incidents"),
            kit.SectionBlock(text=kit.MarkdownTextObject(text=EMPTY_TEXT)),
            kit.ActionsBlock(elements=[declare_button]),
        ]
        return View(type="home", blocks=blocks).to_dict()
    blocks = [kit.HeaderBlock(text=f"Open incidents ({len(shown)})"), kit.ActionsBlock(elements=[declare_button])]
    # Leave room for the "…and N more" line: a home view over 100 blocks is rejected outright.
    room = (MAX_HOME_BLOCKS - len(blocks) - 1) // BLOCKS_PER_INCIDENT
    for view in shown[:room]:
        blocks += [kit.DividerBlock(), _incident_section(viewer, view)]
    if len(shown) > room:
        more = f"…and {len(shown) - room} more, less severe or newer; `/incident list` pages through them all."
        blocks.append(kit.ContextBlock(elements=[kit.MarkdownTextObject(text=more)]))
    return View(type="home", blocks=blocks).to_dict()


def _incident_section(viewer: str, view: IncidentView) -> kit.SectionBlock:
    role = ", ".join(r.title for r in view.roles if r.user_id == viewer) or "—"
    fields = [
        f"*Your role*\n{role}",
        f"*Severity*\n{view.severity.upper()}",
        f"*Stage*\n{STAGE_TITLES[view.stage]}",
        f"*Declared*\n{slack_date(view.declared_at)}",
        f"*Paging*\n{_paging(view)}",
    ]
    if view.next_deadline is not None:
        fields.append(deadline_field(view.next_deadline))
    button = None
    if view.channel_id:
        button = kit.ButtonElement(
            text="Open channel", action_id=ids.HOME_OPEN_CHANNEL, url=channel_url(view.channel_id), value=view.key
        )
    return kit.SectionBlock(
        text=kit.MarkdownTextObject(text=f"*{view.label}*: {view.title}"),
        fields=[kit.MarkdownTextObject(text=f) for f in fields],
        accessory=button,
    )


def _paging(view: IncidentView) -> str:
    if view.acknowledged_by:
        return f"acknowledged by <@{view.acknowledged_by}>"
    if view.pending_pages and view.next_page_at:
        return f"{view.pending_pages} pending, next {slack_date(view.next_page_at)}"
    return "none pending"
