"""Block Kit for the incident record: a decision card with Approve / Reject while it waits for approvals."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from ircbot.domain.messages import DecisionCard
from ircbot.slack import ids
from ircbot.slack.markup import neutral, slack_date


def decision_card(card: DecisionCard) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text and blocks of a decision card."""
    approvals = len(card.approved_by)
    icon = {"approved": ":white_check_mark:", "rejected": ":no_entry:"}.get(card.status, ":scales:")
    heading = f"{icon} *{card.label} {card.status.upper()}* — {neutral(card.text)}"
    if card.status == "pending":
        heading = f":scales: *Decision {card.label}* — {neutral(card.text)}"
    approvers = ", ".join(f"<@{user}> ({slack_date(at)})" for user, at in card.approved_by)
    lines = [
        heading,
        f"Proposed by <@{card.proposed_by}>; needs {card.approvers} distinct approval(s): {approvals} so far.",
        f"*Approved by:* {approvers}",
    ]
    if card.rejected_by is not None:
        user, at = card.rejected_by
        why = f": {neutral(card.reason)}" if card.reason else ""
        lines.append(f"*Rejected by* <@{user}> ({slack_date(at)}){why}")
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))]
    if card.status == "pending":
        value = ids.number_value(card.decision_id)
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(text="Approve", action_id=ids.DECISION_APPROVE, value=value, style="primary"),
                    ButtonElement(text="Reject", action_id=ids.DECISION_REJECT, value=value, style="danger"),
                ]
            )
        )
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"Or type `/incident approve {card.label}` / `/incident reject {card.label} <reason>`. "
                        "Each person counts once; one rejection settles it."
                    )
                ]
            )
        )
    fallback = f"{card.key} {card.label} {card.status}: {card.text}"
    return fallback, [b.to_dict() for b in blocks]
