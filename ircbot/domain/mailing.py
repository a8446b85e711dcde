"""E-mail pages, worded by the page_email templates (overridable in the config folder)."""

from __future__ import annotations

import jinja2

from ircbot.domain.people import People
from ircbot.domain.ports import Email
from ircbot.domain.services import Services
from ircbot.domain.views import IncidentView
from ircbot.errors import ConfigError

ACK_HINT = "Acknowledge with the button in your Slack DM from ircbot, or type /incident ack in the incident channel."


def page_email(svc: Services, view: IncidentView, *, to: str, reason: str, tier: int) -> Email:
    """The e-mail for one paged address."""
    policy = svc.config.escalation.severities.get(view.severity)
    subject, text, html = render_email(
        svc.templates,
        "page_email",
        key=view.key,
        title=view.title,
        severity=view.severity.upper(),
        severity_name=policy.name if policy else view.severity.upper(),
        tier=tier,
        declared_by=People(svc)(view.declared_by),
        declared_at=view.declared_at.strftime("%Y-%m-%d %H:%M UTC"),
        channel_name=view.channel_name or "",
        channel_url=f"https://slack.com/app_redirect?channel={view.channel_id}" if view.channel_id else "",
        reason=reason,
        drill=view.is_drill,
        ack_hint=ACK_HINT,
    )
    return Email(to=(to,), subject=subject, text=text, html=html)


def render_email(templates: jinja2.Environment, name: str, **context: object) -> tuple[str, str, str]:
    """(subject, text, html) from `<name>.txt.j2` (first line `Subject: …`) and `<name>.html.j2`."""
    text_template = templates.get_template(f"{name}.txt.j2")
    first, _, body = text_template.render(**context).lstrip("\n").partition("\n")
    if not first.startswith("Subject: "):
        raise ConfigError([f"{text_template.filename}: line 1: an e-mail template must start with 'Subject: '"])
    html = templates.get_template(f"{name}.html.j2").render(**context)
    return first.removeprefix("Subject: ").strip(), body.lstrip("\n"), html
