"""The declare form and the status-update form; their answers go to the submitter's DM."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ircbot.commands import declare as declare_command
from ircbot.commands import update
from ircbot.commands.declare import check_title, declared_reply
from ircbot.commands.times import read_time, zone_of
from ircbot.commands.update import update_summary
from ircbot.domain.deadlines import parse_time
from ircbot.domain.declare import Declaration, declare
from ircbot.domain.messages import Reply, Text
from ircbot.domain.resuming import remember_declaration
from ircbot.domain.services import Services
from ircbot.domain.updates import UpdateRequest, post_update
from ircbot.durations import parse_duration
from ircbot.errors import UsageError
from ircbot.slack import ids
from ircbot.slack.interactions.base import Answer, Interaction, from_value, interaction
from ircbot.slack.modals import form_values, selected, selected_options


def declare_problems(view: dict[str, Any]) -> dict[str, str] | None:
    """What Slack shows beside the fields, before the form closes."""
    values = form_values(view)
    try:
        check_title(values.get("title", "").strip())
    except UsageError as exc:
        return {"title": exc.message}
    for field in ("started", "detected"):
        text = values.get(field, "").strip()
        if text and not _looks_like_a_time(text):
            return {field: f"`{text}` is not a time: write `2h` (ago) or a date and time, e.g. 2026-11-29 04:10."}
    return None


def _looks_like_a_time(text: str) -> bool:
    try:
        parse_duration(text.removesuffix("ago").strip())
        return True
    except (ValueError, OverflowError):
        pass
    try:
        parse_time(text, "UTC", datetime.now(UTC))
        return True
    except (ValueError, OverflowError):
        return False


def _declaration(svc: Services, user: str, view: dict[str, Any], *, zone: str | None = None) -> Declaration:
    options = selected_options(view, "options")
    values = form_values(view)
    zone = zone or (zone_of(svc, user) if values.get("started") or values.get("detected") else svc.timezone)
    started, detected = (
        read_time(svc, values[name].strip(), what=label, usage="the declare form", zone=zone)
        if values.get(name, "").strip()
        else None
        for name, label in (("started", "impact started"), ("detected", "detected"))
    )
    return Declaration(
        title=form_values(view).get("title", "").strip(),
        severity=selected(view, "severity") or "sev3",
        declared_by=user,
        is_private="public" not in options,
        playbook=selected(view, "playbook") or "default",
        is_drill="drill" in options,
        started_at=started,
        detected_at=detected,
        request_key=f"view:{view['id']}",
    )


def keep_form(svc: Services, user: str, view: dict[str, Any]) -> None:
    """Keep the submitted declare before Slack closes the form, so a crash right after cannot lose it."""
    remember_declaration(svc, _declaration(svc, user, view, zone=svc.timezone))  # no Slack call before the ack


@interaction("view", ids.DECLARE_FORM, command=declare_command.run, validate=declare_problems, before_ack=keep_form)
def declare_form(it: Interaction) -> Answer:
    """Declare the incident the form describes."""
    return declared_reply(declare(it.svc, _declaration(it.svc, it.user, it.payload)))


def update_problems(view: dict[str, Any]) -> dict[str, str] | None:
    """A status is required; the next update must be a duration."""
    values = form_values(view)
    if not values.get("status", "").strip():
        return {"status": "Say where things stand."}
    after = values.get("next_update", "").strip()
    if after:
        try:
            parse_duration(after)
        except ValueError:
            return {"next_update": "Write a duration such as 30m or 2h."}
    return None


@interaction("view", ids.UPDATE_FORM, command=update.run, locate=from_value, validate=update_problems)
def update_form(it: Interaction) -> Answer:
    """Send the status update the form holds."""
    values = form_values(it.payload)
    after = values.get("next_update", "").strip()
    request = UpdateRequest(
        status=values.get("status", ""),
        impact=values.get("impact", ""),
        next_steps=values.get("next_steps", ""),
        next_update_at=it.svc.clock() + parse_duration(after) if after else None,
    )
    delivered = post_update(it.svc, incident_id=it.require_incident(), actor=it.user, request=request)
    return Reply(Text(update_summary(delivered.places, delivered.warnings)))
