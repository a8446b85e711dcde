"""Block Kit for an alert in the triage channel: what it says, and Declare / Dismiss until someone decides."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from ircbot.domain.kinds import AlertOutcome
from ircbot.domain.messages import TriageCard
from ircbot.slack import ids
from ircbot.slack.markup import neutral, slack_date

MAX_LABELS = 12
_ICONS = {"critical": ":red_circle:", "high": ":large_orange_circle:", "medium": ":large_yellow_circle:"}


def triage_card(card: TriageCard) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text and blocks of a triage card."""
    icon = _ICONS.get(card.severity, ":white_circle:")
    heading = f"{icon} *{card.severity.upper()} alert from {card.source}:* {neutral(card.title)}"
    lines = [heading]
    if card.description:
        lines.append(neutral(card.description)[:1500])
    if card.started_at is not None:
        lines.append(f"Started {slack_date(card.started_at)}")
    shown = [f"`{neutral(k)}`: {neutral(v)[:200]}" for k, v in card.labels[:MAX_LABELS]]
    more = len(card.labels) - len(shown)
    if card.cleared_at is not None:
        lines.append(f":large_green_circle: Cleared at the source {slack_date(card.cleared_at)}")
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))]
    if shown:
        extra = f" (+{more} more)" if more > 0 else ""
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=" · ".join(shown) + extra)]))
    fallback = f"{card.severity.upper()} alert from {card.source}: {neutral(card.title)}"
    answer = _answer(card)
    if answer is None:
        value = ids.number_value(card.alert_id)
        buttons = [
            ButtonElement(text="Declare", action_id=ids.TRIAGE_DECLARE, value=value, style="danger"),
            ButtonElement(text="Dismiss", action_id=ids.TRIAGE_DISMISS, value=value),
        ]
        blocks.append(ActionsBlock(elements=buttons))
    else:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=answer)]))
        fallback = f"{fallback} — {answer}"
    return fallback, [b.to_dict() for b in blocks]


def _answer(card: TriageCard) -> str | None:
    by = f" by <@{card.decided_by}>" if card.decided_by else ""
    where = f" <#{card.channel_id}>" if card.channel_id else ""
    if card.outcome == AlertOutcome.DECLARED:
        return f":rotating_light: Declared as {card.incident_key}{by}{where}"
    if card.outcome == AlertOutcome.ATTACHED:
        return f":link: Added to {card.incident_key}{by}, open for the same alerts{where}"
    if card.outcome == AlertOutcome.DISMISSED:
        why = f": {neutral(card.reason)}" if card.reason else ""
        return f":wastebasket: Dismissed as a false positive{by}{why}"
    return None
