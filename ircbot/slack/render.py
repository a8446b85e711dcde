"""Block Kit for ircbot's messages: the last step before anything reaches Slack."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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

from ircbot.domain.kinds import IncidentStatus, NoticeStatus
from ircbot.domain.messages import (
    AccessPrompt,
    ChecklistCard,
    DecisionCard,
    IncidentCard,
    IncidentList,
    Message,
    NoticeDraft,
    PageCard,
    ReminderCard,
    RolesCard,
    StatsCard,
    Text,
    TriageCard,
)
from ircbot.domain.metrics_report import report_body, report_scope
from ircbot.domain.stages import STAGE_TITLES, STAGES
from ircbot.domain.views import IncidentView, ItemView
from ircbot.durations import format_duration
from ircbot.slack import ids
from ircbot.slack.markup import slack_date
from ircbot.slack.render_alerts import triage_card
from ircbot.slack.render_record import decision_card
from ircbot.slack.wording import SHORT, announcement_text

MAX_SECTION = 3000
MAX_BLOCKS = 50
CARD_ITEMS = MAX_BLOCKS - 9  # header, drill notice, facts, roles (2), divider, checklist heading, progress, hint
"""Checklist items the pinned incident card shows with their buttons; more are named, not dropped."""


def render_message(message: Message) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text (notifications, screen readers) and Block Kit blocks for a message."""
    if isinstance(message, Text):
        return message.text, [b.to_dict() for b in _text_sections(message.text)]
    if isinstance(message, SHORT):
        text = announcement_text(message)
        return text, [b.to_dict() for b in _text_sections(text)]
    if isinstance(message, IncidentCard):
        blocks = _incident_card(message.incident, message.heading, card="s" if message.purpose == "status" else "w")
        return message.heading, blocks
    if isinstance(message, ChecklistCard):
        view = message.incident
        fallback = message.note or f"{view.key} {STAGE_TITLES[view.stage]} checklist"
        return fallback, _checklist_card(view, message.note)
    if isinstance(message, RolesCard):
        return f"Roles in {message.incident.key}", [b.to_dict() for b in _roles(message.incident)]
    if isinstance(message, IncidentList):
        return "Open incidents", _incident_list(message)
    if isinstance(message, ReminderCard):
        return announcement_text(message), _reminder(message)
    if isinstance(message, NoticeDraft):
        return f"Notice to {message.audience}: {message.subject}", _notice(message)
    if isinstance(message, StatsCard):
        median = format_duration(message.metrics.total.mttr.median)
        return f"Incident metrics: {message.metrics.total.incidents} incidents, median MTTR {median}", _stats(message)
    if isinstance(message, PageCard):
        view = message.incident
        return f"Paged: {view.label} {view.title} ({view.severity.upper()})", _page_card(message)
    if isinstance(message, AccessPrompt):
        return _access_prompt(message)
    if isinstance(message, TriageCard):
        return triage_card(message)
    if isinstance(message, DecisionCard):
        return decision_card(message)
    raise TypeError(f"no rendering for {type(message).__name__}")


def with_note(blocks: list[dict[str, Any]], note: str) -> list[dict[str, Any]]:
    """The blocks with a line under them saying what just happened to the message."""
    line = ContextBlock(elements=[MarkdownTextObject(text=note[:MAX_SECTION])]).to_dict()
    return [*blocks[: MAX_BLOCKS - 1], line]


def _when(view: IncidentView) -> str:
    """When it was declared and, once resolved, when and after how long: no age that would go stale."""
    if view.status == IncidentStatus.RESOLVED and view.resolved_at is not None:
        took = format_duration(view.resolved_at - view.declared_at)
        return f"*Resolved*\n{slack_date(view.resolved_at)}, {took} after it was declared"
    return f"*Declared*\n{slack_date(view.declared_at)}"


def _text_sections(text: str) -> list[Block]:
    chunks = [text[i : i + MAX_SECTION] for i in range(0, len(text), MAX_SECTION)] or [" "]
    return [SectionBlock(text=MarkdownTextObject(text=chunk)) for chunk in chunks]


def _facts(view: IncidentView) -> SectionBlock:
    manager = f"<@{view.manager}>" if view.manager else "_unassigned_"
    channel = f"<#{view.channel_id}>" if view.channel_id else "—"
    fields = [
        f"*Severity*\n{view.severity.upper()}",
        f"*Stage*\n{STAGE_TITLES[view.stage]}",
        f"*Incident manager*\n{manager}",
        f"*Declared by*\n<@{view.declared_by}>",
        _when(view),
        f"*Channel*\n{channel} ({'private' if view.is_private else 'public'})",
    ]
    if view.status == IncidentStatus.OPEN:
        if view.acknowledged_by:
            fields.append(f"*Paging*\nacknowledged by <@{view.acknowledged_by}>")
        elif view.next_page_at:
            fields.append(f"*Paging*\n{view.pending_pages} tier(s) pending, next {slack_date(view.next_page_at)}")
        if view.undelivered:
            fields.append(f"*Undelivered*\n:warning: {view.undelivered} page message(s) refused so far, still retrying")
    if view.next_deadline is not None:
        fields.append(deadline_field(view.next_deadline))
    return SectionBlock(fields=[MarkdownTextObject(text=f) for f in fields])


def deadline_field(deadline: tuple[str, datetime]) -> str:
    """The regulatory report due soonest, as a field of the card, status and Home."""
    report, due = deadline
    return f"*Next deadline*\n:stopwatch: {report} {slack_date(due)}"


def _roles(view: IncidentView) -> list[Block]:
    lines = [f"*{r.title}*: " + (f"<@{r.user_id}>" if r.user_id else "_unassigned_") for r in view.roles]
    if view.others:
        lines.append("*Also in the incident* (no role): " + ", ".join(f"<@{u}>" for u in view.others))
    return [
        SectionBlock(text=MarkdownTextObject(text=f"*Roles in {view.label}*\n" + "\n".join(lines))),
        ContextBlock(elements=[MarkdownTextObject(text="Change a role with `/incident assign <role> [@user]`.")]),
    ]


def _progress(view: IncidentView) -> str:
    parts = []
    for stage in STAGES:
        done, total = view.progress.get(stage, (0, 0))
        marker = "▶ " if stage == view.stage else ""
        parts.append(f"{marker}{STAGE_TITLES[stage]} {done}/{total}")
    return " · ".join(parts)


def _checklist(view: IncidentView, card: ids.Card, room: int) -> list[Block]:
    """The stage's checklist in at most `room` blocks: what does not fit is said, never silently dropped."""
    done, total = view.progress.get(view.stage, (0, 0))
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=f"*{STAGE_TITLES[view.stage]} checklist* — {done}/{total} done"))
    ]
    items = view.checklist
    fits = len(items) <= room - 2  # with the heading and the progress line
    shown = items if fits else items[: max(0, room - 3)]
    closed = view.status != "open"
    for item in shown:
        button = None
        if not closed:
            button = ButtonElement(
                text="Untick" if item.checked else "Tick",
                action_id=ids.tick_id(item.position),
                value=ids.tick_value(view.id, view.stage, item.position, card),
                style=None if item.checked else "primary",
            )
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_item_line(item)), accessory=button))
    if not fits:
        rest = items[len(shown) :]
        if card == "c":  # this is what `/incident stage` shows: the rest as text, ticked by number
            lines = "\n".join(_item_line(item) for item in rest)
            text = f"{lines[: MAX_SECTION - 80]}\n_Tick these with `/incident check <n>`._"
        else:
            text = f"Items {rest[0].position}–{rest[-1].position} are not shown here: `/incident stage` shows the rest."
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_progress(view))]))
    return blocks


def _item_line(item: ItemView) -> str:
    box = ":white_check_mark:" if item.checked else ":white_large_square:"
    required = " *(required)*" if item.required else ""
    who = f"  _— <@{item.checked_by}>_" if item.checked_by else ""
    return f"{box} {item.position}. {item.text}{required}{who}"


def _incident_card(view: IncidentView, heading: str, card: ids.Card) -> list[dict[str, Any]]:
    blocks: list[Block] = [HeaderBlock(text=heading[:150])]
    if view.is_drill:
        blocks.append(
            ContextBlock(
                elements=[MarkdownTextObject(text=":test_tube: *Drill* — tabletop exercise, kept out of metrics.")]
            )
        )
    blocks += [_facts(view), *_roles(view), DividerBlock()]
    blocks += _checklist(view, card, room=MAX_BLOCKS - len(blocks) - 1)  # and the hint line below
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Tick items with the buttons or `/incident check <n>` · move on with `/incident stage next` · "
                    "`/incident note <text>` · `/incident help`"
                )
            ]
        )
    )
    return [b.to_dict() for b in blocks]


def _checklist_card(view: IncidentView, note: str) -> list[dict[str, Any]]:
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=note[:MAX_SECTION]))] if note else []
    blocks += _checklist(view, "c", room=MAX_BLOCKS - len(blocks))
    return [b.to_dict() for b in blocks]


def _incident_list(listing: IncidentList) -> list[dict[str, Any]]:
    incidents = listing.incidents
    if not incidents:
        return [SectionBlock(text=MarkdownTextObject(text="No open incidents that you can see.")).to_dict()]
    first = listing.first
    heading = f"*Open incidents* ({listing.total})"
    if listing.pages > 1:
        heading = f"*Open incidents* ({first}–{first + len(incidents) - 1} of {listing.total}, most severe first)"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=heading))]
    for view in incidents:
        channel = f"<#{view.channel_id}>" if view.channel_id else ""
        line = (
            f"*{view.label}* {view.title} {channel}\n{view.severity.upper()} · {STAGE_TITLES[view.stage]} · "
            f"declared {slack_date(view.declared_at)}"
        )
        blocks.append(SectionBlock(text=MarkdownTextObject(text=line)))
    if listing.page < listing.pages:
        more = f"Page {listing.page} of {listing.pages}: `/incident list {listing.page + 1}` shows the next."
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=more)]))
    return [b.to_dict() for b in blocks]


def _access_prompt(prompt: AccessPrompt) -> tuple[str, list[dict[str, Any]]]:
    if prompt.status != "pending":
        verb = "let in" if prompt.status == "approved" else "turned down"
        text = f":door: <@{prompt.user_id}> asked to join this incident: {verb} by <@{prompt.decided_by}>."
        return text, [b.to_dict() for b in _text_sections(text)]
    text = (
        f":door: <@{prompt.user_id}> asks to join this incident. They know only its key until someone who "
        "may answer lets them in (the incident manager, or a role whose `may:` lists `approve_join`)."
    )
    value = ids.number_value(prompt.request_id)
    buttons = [
        ButtonElement(text="Let them in", action_id=ids.JOIN_APPROVE, value=value, style="primary"),
        ButtonElement(text="Turn down", action_id=ids.JOIN_DENY, value=value, style="danger"),
    ]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=text)), ActionsBlock(elements=buttons)]
    return text, [b.to_dict() for b in blocks]


def _page_card(page: PageCard) -> list[dict[str, Any]]:
    view = page.incident
    drill = " [DRILL]" if view.is_drill else ""
    lines = [
        f":rotating_light: *{view.severity.upper()}{drill} — {view.key}: {view.title}*",
        # The fallback is the declared time in the recipient's own zone, should their client not render the token.
        f"Declared by <@{view.declared_by}>, {slack_date(view.declared_at, page.declared_local)}.",
        f"Channel: <#{view.channel_id}>" if view.channel_id else "",
        f"_{page.reason}_",
    ]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text="\n".join(line for line in lines if line)))]
    if page.acknowledged_by:
        blocks.append(
            ContextBlock(
                elements=[MarkdownTextObject(text=f":white_check_mark: Acknowledged by <@{page.acknowledged_by}>")]
            )
        )
    else:
        ack = ButtonElement(text="Acknowledge", action_id=ids.ACK, value=ids.number_value(view.id), style="danger")
        blocks.append(ActionsBlock(elements=[ack]))
    return [b.to_dict() for b in blocks]


def _reminder(card: ReminderCard) -> list[dict[str, Any]]:
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=announcement_text(card)[:MAX_SECTION]))]
    if card.snooze:
        value = ids.number_value(card.incident_id)
        buttons = [ButtonElement(text="Post update", action_id=ids.POST_UPDATE, value=value, style="primary")]
        buttons += [
            ButtonElement(text=label, action_id=ids.snooze_id(minutes), value=value)
            for minutes, label in ((15, "Snooze 15 min"), (60, "Snooze 1 hour"))
        ]
        blocks.append(ActionsBlock(elements=buttons))
    return [b.to_dict() for b in blocks]


def _notice(draft: NoticeDraft) -> list[dict[str, Any]]:
    to = ", ".join(draft.recipients) or "nobody configured"
    head = f"*Notice to {draft.audience}* ({draft.state}) — to: {to}\n*Subject:* {draft.subject}"
    if draft.warning and draft.state == NoticeStatus.DRAFT:
        head += f"\n:warning: {draft.warning}"
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=head[:MAX_SECTION])),
        *[
            SectionBlock(text=MarkdownTextObject(text=f"```{chunk}```"))
            for chunk in _chunks(draft.body, MAX_SECTION - 6)
        ],
    ]
    if draft.state == NoticeStatus.DRAFT:
        choices = (
            (ids.NOTICE_SEND, "Send", "primary"),
            (ids.NOTICE_EDIT, "Edit", None),
            (ids.NOTICE_CANCEL, "Cancel", "danger"),
        )
        buttons = [
            ButtonElement(
                text=label, action_id=action, value=ids.notice_value(draft.notice_id, draft.version), style=style
            )
            for action, label, style in choices
        ]
        blocks.append(ActionsBlock(elements=buttons))
    elif draft.approved_by:
        note = f":white_check_mark: Approved and sent by <@{draft.approved_by}>"
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    return [b.to_dict() for b in blocks[:MAX_BLOCKS]]


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [" "]


def _stats(card: StatsCard) -> list[dict[str, Any]]:
    """The window in the reader's zone above the table; a code block would show a date token raw."""
    metrics = card.metrics
    window = f"Incidents declared {slack_date(metrics.since)} – {slack_date(metrics.until)} · {report_scope(metrics)}"
    text = report_body(metrics)
    size = MAX_SECTION - 6  # room for the code fences
    blocks: list[Block] = [HeaderBlock(text="Incident response metrics")]
    blocks += [SectionBlock(text=MarkdownTextObject(text=window))]
    blocks += [
        SectionBlock(text=MarkdownTextObject(text=f"```{text[i : i + size]}```")) for i in range(0, len(text), size)
    ]
    if card.note:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=card.note[:MAX_SECTION])]))
    return [b.to_dict() for b in blocks[:MAX_BLOCKS]]
