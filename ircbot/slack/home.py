"""The App Home tab: the viewer's open incidents and a way to declare one."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from ircbot.domain import incidents
from ircbot.domain.messages import Text
from ircbot.domain.services import Services
from ircbot.domain.stages import STAGE_TITLES
from ircbot.domain.views import IncidentView
from ircbot.durations import format_duration
from ircbot.errors import IrcbotError
from ircbot.slack.render import declare_modal

HOME_DECLARE_ACTION = "home_declare"
HOME_OPEN_CHANNEL_ACTION = "home_open_channel"
MAX_HOME_BLOCKS = 100
BLOCKS_PER_INCIDENT = 2
EMPTY_TEXT = "No open incidents you can see."
TYPED_DECLARE = (
    ":warning: Could not open the declare form. Type it instead: "
    "`/incident declare <title> [sev1-4] [--public] [--playbook NAME] [--drill]`"
)


def channel_url(channel_id: str) -> str:
    """A link that opens the channel in whichever Slack client follows it."""
    return f"https://slack.com/app_redirect?channel={channel_id}"


def home_view(viewer: str, shown: tuple[IncidentView, ...]) -> dict[str, Any]:
    """The Home tab for `viewer`, listing `shown` (already filtered to what the viewer may see)."""
    declare_button = ButtonElement(text="Declare an incident", action_id=HOME_DECLARE_ACTION, style="primary")
    if not shown:
        blocks: list[Block] = [
            HeaderBlock(text="Open incidents"),
            SectionBlock(text=MarkdownTextObject(text=EMPTY_TEXT)),
            ActionsBlock(elements=[declare_button]),
        ]
        return View(type="home", blocks=blocks).to_dict()
    blocks = [HeaderBlock(text=f"Open incidents ({len(shown)})"), ActionsBlock(elements=[declare_button])]
    # Leave room for the "…and N more" line: a home view over 100 blocks is rejected outright.
    room = (MAX_HOME_BLOCKS - len(blocks) - 1) // BLOCKS_PER_INCIDENT
    for view in shown[:room]:
        blocks += [DividerBlock(), _incident_section(viewer, view)]
    if len(shown) > room:
        more = f"…and {len(shown) - room} more; `/incident list` shows them all."
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=more)]))
    return View(type="home", blocks=blocks).to_dict()


def _incident_section(viewer: str, view: IncidentView) -> SectionBlock:
    role = ", ".join(r.title for r in view.roles if r.user_id == viewer) or "—"
    fields = [
        f"*Your role*\n{role}",
        f"*Severity*\n{view.severity.upper()}",
        f"*Stage*\n{STAGE_TITLES[view.stage]}",
        f"*Age*\n{format_duration(view.age)}",
        f"*Paging*\n{_paging(view)}",
    ]
    button = None
    if view.channel_id:
        button = ButtonElement(
            text="Open channel", action_id=HOME_OPEN_CHANNEL_ACTION, url=channel_url(view.channel_id), value=view.key
        )
    return SectionBlock(
        text=MarkdownTextObject(text=f"*{view.label}*: {view.title}"),
        fields=[MarkdownTextObject(text=f) for f in fields],
        accessory=button,
    )


def _paging(view: IncidentView) -> str:
    if view.acknowledged_by:
        return f"acknowledged by <@{view.acknowledged_by}>"
    if view.pending_pages and view.next_page_at:
        when = view.next_page_at
        stamp = f"<!date^{int(when.timestamp())}^{{time}}|{when:%H:%M} UTC>"
        return f"{view.pending_pages} pending, next {stamp}"
    return "none pending"


def publish_home(svc: Services, client: WebClient, user_id: str) -> None:
    """Publish a fresh Home tab for the user."""
    view = home_view(user_id, incidents.visible_open(svc, user_id))
    try:
        client.views_publish(user_id=user_id, view=view)
    except SlackClientError as exc:  # the tab keeps its last content; the next visit publishes again
        svc.log.warning("views.publish for %s failed: %s", user_id, exc)


def open_declare_form(svc: Services, client: WebClient, *, user_id: str, trigger_id: str) -> None:
    """Open the declare modal from the Home tab; if Slack refuses, DM the typed form instead."""
    playbooks = {k: p.title for k, p in svc.config.playbooks.items()}
    try:
        client.views_open(trigger_id=trigger_id, view=declare_modal(playbooks))
        return
    except SlackClientError as exc:
        svc.log.warning("views.open from the Home tab failed: %s", exc)
    try:
        svc.chat.post(user_id, Text(TYPED_DECLARE))
    except IrcbotError as exc:
        svc.log.error("could not tell %s the declare form failed: %s", user_id, exc)
