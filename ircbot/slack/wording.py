"""The words of the short messages ircbot posts, in Slack's mrkdwn: the last step before Slack."""

from __future__ import annotations

from ircbot.domain.kinds import IncidentStatus
from ircbot.domain.messages import (
    AckNotice,
    DeclareOutcome,
    JoinRequest,
    PageLine,
    ReminderCard,
    ResolvedNotice,
    RoleAnnouncement,
    SentNotice,
    Topic,
)
from ircbot.domain.stages import STAGE_TITLES
from ircbot.durations import format_duration

MAX_TOPIC = 250
SHORT = (RoleAnnouncement, JoinRequest, AckNotice, ResolvedNotice, PageLine, SentNotice, DeclareOutcome)
"""The messages that are a few lines of text and nothing else."""
Announcement = (
    RoleAnnouncement | JoinRequest | AckNotice | ResolvedNotice | PageLine | SentNotice | DeclareOutcome | ReminderCard
)


def topic_text(topic: Topic) -> str:
    """E.g. `SEV1 · Stage: Containment · IM: <@U1> · INC-7`."""
    view = topic.incident
    manager = f"<@{view.manager}>" if view.manager else "unassigned"
    parts = [
        "DRILL" if view.is_drill else None,
        view.severity.upper(),
        f"Stage: {STAGE_TITLES[view.stage]}",
        f"IM: {manager}",
        "RESOLVED" if view.status == IncidentStatus.RESOLVED else None,
        view.key,
    ]
    return " · ".join(p for p in parts if p)[:MAX_TOPIC]


def announcement_text(message: Announcement) -> str:
    """What one of the short announcements says."""
    if isinstance(message, RoleAnnouncement):
        handoff = f" (taking over from <@{message.previous}>)" if message.previous else ""
        duties = "".join(f"\n• {d}" for d in message.duties) or (
            f"\n{message.description}" if message.description else ""
        )
        return f"<@{message.user}> is now *{message.title}*{handoff}.{duties}"
    if isinstance(message, JoinRequest):
        view = message.incident
        duties = "".join(f"\n• {d}" for d in message.duties)
        return (
            f":wave: <@{message.by}> asked you to join *{view.key}: {view.title}* as *{message.role_title}* "
            f"in <#{view.channel_id}>.\n{message.description}{duties}"
        )
    if isinstance(message, AckNotice):
        return f":white_check_mark: <@{message.by}> acknowledged {message.key}; escalation stopped."
    if isinstance(message, ResolvedNotice):
        return _resolved(message)
    if isinstance(message, PageLine):
        names = [f"<@{u}>" for u in message.users] + [f"{e} (e-mail)" for e in message.emails]
        repeat = f", round {message.round + 1}" if message.round else ""
        late = f" ({message.late} late)" if message.late else ""
        if message.about:
            return f":rotating_light: Paged {', '.join(names)}: {message.about}"
        return f":rotating_light: Paged tier {message.tier}{repeat}: {', '.join(names)}{late}"
    if isinstance(message, SentNotice):
        return f"*{message.subject}*\n\n{message.body}"
    if isinstance(message, DeclareOutcome):
        return _declare_outcome(message)
    return _reminder(message)


def _declare_outcome(outcome: DeclareOutcome) -> str:
    view = outcome.incident
    if view is None:
        return f":x: Your declare of *{outcome.title}* was interrupted, and finishing it failed: {outcome.problem}"
    return (
        f":rotating_light: Your declare of *{outcome.title}* was held up (a restart, or Slack not answering) "
        f"and has now finished: *{view.label}* ({view.severity.upper()}) is ready in <#{view.channel_id}>."
    )


def _resolved(notice: ResolvedNotice) -> str:
    view = notice.incident
    lines = [f":white_check_mark: *{view.label} resolved* by <@{notice.by}> after {format_duration(view.age)}."]
    if view.is_drill:
        lines.append("_This was a drill; it is kept out of the response metrics._")
    if notice.false_positive:
        lines.append("Marked as a *false positive*.")
    if notice.summary:
        lines.append(f"*Summary:* {notice.summary}")
    if notice.chain_head:
        lines.append(
            f"Timeline sealed at event #{notice.chain_seq}, hash `{notice.chain_head}` "
            f"(`ircbot verify {view.key}` checks the record against it)."
        )
    return "\n".join(lines)


def _reminder(card: ReminderCard) -> str:
    if card.about == "update":
        if card.since:
            what = "since it was declared" if card.first else "since the last one"
            cadence = f"; the {card.severity.upper()} cadence is every {card.cadence}" if card.cadence else ""
            head = f":hourglass: No status update for {card.key} for {card.since} ({what}{cadence})."
        else:
            head = f":hourglass: No status update for {card.key} in a while."
        return f"{head} Post one with *Post update* or `/incident update <text>`."
    lines = "\n".join(f"• #{position}: {text}" for position, text in card.items)
    stage = STAGE_TITLES.get(card.stage, card.stage)
    where = f" in <#{card.channel_id}>" if card.channel_id else ""
    return f":clipboard: {card.key} ({stage}) still has required items open{where}:\n{lines}"
