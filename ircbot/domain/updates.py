"""Status updates: the incident channel, the stakeholder channel and the stakeholder e-mail list.

For a private incident the stakeholder channel and e-mail get only what the stakeholder templates
allow (by default a line saying an incident of that severity is being handled), never details.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ircbot.domain.access import has_permission
from ircbot.domain.date_token import slack_date
from ircbot.domain.kinds import ReminderKind, TimelineKind
from ircbot.domain.mailing import render_email
from ircbot.domain.messages import Text
from ircbot.domain.out_of_band import away_row
from ircbot.domain.people import without_mentions
from ircbot.domain.ports import Email
from ircbot.domain.reminders import schedule_reminder
from ircbot.domain.services import Services
from ircbot.domain.unit import IncidentTx, incident_tx
from ircbot.domain.wording import incident_fields
from ircbot.errors import GatewayError, InvalidInput
from ircbot.store.models import Incident, StatusUpdate

MAX_FIELD = 2000


@dataclass(frozen=True)
class UpdateRequest:
    """What the person sending the update wrote."""

    status: str
    impact: str = ""
    next_steps: str = ""
    next_update_at: datetime | None = None


@dataclass
class Delivered:
    """Where the update went and what could not be done."""

    places: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def post_update(svc: Services, *, incident_id: int, actor: str, request: UpdateRequest) -> Delivered:
    """Record the update, restart the update reminder, and deliver it to every audience allowed."""
    for name, value in (("status", request.status), ("impact", request.impact), ("next steps", request.next_steps)):
        if len(value) > MAX_FIELD:
            raise InvalidInput(f"Keep the {name} under {MAX_FIELD} characters.")
    if not request.status.strip():
        raise InvalidInput("An update needs the current status, e.g. `/incident update Contained; restoring FS01`.")
    with incident_tx(
        svc, incident_id, closed="{key} is resolved; post a final note with `/incident note` instead."
    ) as tx:
        incident = tx.incident
        outside = has_permission(tx.session, svc.config, incident, actor, "update")
        update = StatusUpdate(
            incident_id=tx.id,
            sent_by=actor,
            sent_at=tx.now,
            status=request.status.strip(),
            impact=request.impact.strip() or None,
            next_steps=request.next_steps.strip() or None,
            next_update_at=request.next_update_at,
        )
        tx.session.add(update)
        tx.record(TimelineKind.STATUS_UPDATE, actor=actor, data={"status": update.status})
        _restart_reminder(tx, request.next_update_at)
        context = _context(svc, incident, update)
        policy = svc.config.escalation.severities[incident.severity].updates
        away = away_row(tx.session, tx.id, tx.now) is not None
    delivered = Delivered()
    _deliver(svc, context, policy, outside, delivered, away=away)
    return delivered


def _restart_reminder(tx: IncidentTx, promised: datetime | None) -> None:
    policy = tx.svc.config.escalation.severities[tx.incident.severity].updates
    every = policy.every if policy else None
    if promised is not None or every is not None:
        schedule_reminder(tx, ReminderKind.UPDATE, promised or tx.now + (every or timedelta()))


def _context(svc: Services, incident: Incident, update: StatusUpdate) -> dict[str, object]:
    return {
        **incident_fields(svc, incident),
        "status": update.status,
        "impact": update.impact or "",
        "next_steps": update.next_steps or "",
        "next_update_at": update.next_update_at,  # shown per medium: `_in_chat`, `_in_mail`
        "sent_by": update.sent_by,
    }


def _in_chat(context: dict[str, object]) -> dict[str, object]:
    """The context for a Slack template: the next update as a date token, which each reader sees in their zone."""
    return _with_next_update(context, slack_date)


def _in_mail(context: dict[str, object]) -> dict[str, object]:
    """The context for an e-mail template: the next update in UTC, since an e-mail has to name one zone."""
    return _with_next_update(context, lambda when: f"{when:%Y-%m-%d %H:%M} UTC")


def _with_next_update(context: dict[str, object], shown: Callable[[datetime], str]) -> dict[str, object]:
    when = context["next_update_at"]
    return {**context, "next_update_at": shown(when) if isinstance(when, datetime) else ""}


def _deliver(
    svc: Services, context: dict[str, object], policy: object, outside: bool, delivered: Delivered, *, away: bool
) -> None:
    channel = str(context["channel_id"] or "")
    text = svc.templates.get_template("update_channel.md.j2").render(**_in_chat(context))
    _try(delivered, "the incident channel", lambda: svc.chat.post(channel, Text(text)))
    stakeholder_channel = getattr(policy, "channel", None)
    emails = list(getattr(policy, "email", []) or [])
    if not (stakeholder_channel or emails):
        return
    if not outside:
        delivered.warnings.append(
            "Stakeholders were not updated: only the roles roles.yaml allows to `update` may speak outside the channel."
        )
        return
    # Outside the incident channel nobody is pinged by what responders typed.
    context = {k: without_mentions(v) if isinstance(v, str) else v for k, v in context.items()}
    if stakeholder_channel and away:
        delivered.warnings.append(
            "The stakeholder channel in Slack was not updated: the incident is out of band, and nothing about it goes "
            "to Slack until it is back."
        )
    elif stakeholder_channel:
        summary = svc.templates.get_template("update_stakeholder.md.j2").render(**_in_chat(context))
        _try(delivered, f"<#{stakeholder_channel}>", lambda: svc.chat.post(stakeholder_channel, Text(summary)))
    if emails:
        if not svc.mail.enabled:
            delivered.warnings.append("E-mail is off (SMTP_URL is not set), so the stakeholder list was not e-mailed.")
            return
        subject, body, html = render_email(svc.templates, "update_email", **_in_mail(context))
        email = Email(to=tuple(emails), subject=subject, text=body, html=html)
        _try(delivered, f"{len(emails)} e-mail recipient(s)", lambda: svc.mail.send(email))


def _try(delivered: Delivered, place: str, send: Callable[[], object]) -> None:
    try:
        send()
        delivered.places.append(place)
    except GatewayError as exc:
        delivered.warnings.append(f"Could not reach {place}: {exc.error}.")
