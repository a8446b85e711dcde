"""Templated notices to the parties a breach response must inform, approved in Slack before sending."""

from __future__ import annotations

import html
from dataclasses import dataclass

from sqlmodel import Session

from ircbot.domain import timeline
from ircbot.domain.messages import NoticeDraft, Text
from ircbot.domain.ports import Email
from ircbot.domain.services import Services
from ircbot.domain.wording import incident_fields
from ircbot.errors import Conflict, GatewayError, NotFound, UsageError
from ircbot.store import queries
from ircbot.store.models import Incident, Notice

USAGE = "notify <audience>"


def draft(svc: Services, *, incident_id: int, audience: str, actor: str) -> NoticeDraft:
    """Render the audience's template into a draft and keep it for approval."""
    key = audience.strip().lower()
    audiences = svc.config.escalation.audiences
    if key not in audiences:
        known = ", ".join(audiences) or "none are configured in escalation.yaml"
        raise UsageError(f"There is no audience `{audience}`. Audiences: {known}.", USAGE)
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id, lock=True)
        assert incident is not None and incident.id is not None
        template = svc.templates.get_template(f"notice_{key}.txt.j2")
        first, _, body = template.render(**incident_fields(svc, incident)).lstrip("\n").partition("\n")
        subject = first.removeprefix("Subject: ").strip()
        now = svc.clock()
        notice = Notice(
            incident_id=incident.id, audience=key, subject=subject, body=body.strip(), drafted_by=actor, drafted_at=now
        )
        session.add(notice)
        timeline.record(
            session,
            incident,
            kind="notice_drafted",
            actor=actor,
            at=now,
            text=f"Drafted a notice to {audiences[key].title}",
        )
        session.flush()
        return _card(svc, notice)


def edit(svc: Services, *, notice_id: int, subject: str, body: str, actor: str) -> NoticeDraft:
    """Replace a draft's words before it is sent."""
    if not subject.strip() or not body.strip():
        raise UsageError("A notice needs a subject and a body.", USAGE)
    with svc.db.transaction() as session:
        notice, incident = _locked(session, notice_id)
        if notice.status != "draft":
            raise Conflict(f"This notice was already {notice.status}.")
        notice.subject, notice.body = subject.strip(), body.strip()
        timeline.record(
            session, incident, kind="notice_edited", actor=actor, at=svc.clock(), text="Edited a notice draft"
        )
        return _card(svc, notice)


def cancel(svc: Services, *, notice_id: int, actor: str) -> NoticeDraft:
    """Drop a draft."""
    with svc.db.transaction() as session:
        notice, incident = _locked(session, notice_id)
        if notice.status != "draft":
            raise Conflict(f"This notice was already {notice.status}.")
        notice.status = "cancelled"
        title = svc.config.escalation.audiences[notice.audience].title
        timeline.record(
            session,
            incident,
            kind="notice_cancelled",
            actor=actor,
            at=svc.clock(),
            text=f"Cancelled the notice to {title}",
        )
        return _card(svc, notice)


@dataclass(frozen=True)
class Sent:
    """The sent notice and where it went."""

    card: NoticeDraft
    places: tuple[str, ...]


def send(svc: Services, *, notice_id: int, actor: str) -> Sent:
    """Approve and send: claim the draft, deliver by e-mail and to the audience's channel, record who approved."""
    with svc.db.transaction() as session:
        notice, incident = _locked(session, notice_id)
        if notice.status != "draft":
            raise Conflict(f"This notice was already {notice.status}.")
        audience = svc.config.escalation.audiences[notice.audience]
        if audience.email and not svc.mail.enabled and not audience.channel:
            raise Conflict("E-mail is off (SMTP_URL is not set) and the audience has no channel: nothing can send it.")
        notice.status, notice.approved_by, notice.sent_at = "sent", actor, svc.clock()
        subject, body = notice.subject, notice.body
    places = []
    try:
        if audience.email and svc.mail.enabled:
            svc.mail.send(Email(to=tuple(audience.email), subject=subject, text=body, html=_html(body)))
            places.append(f"{len(audience.email)} e-mail recipient(s)")
        if audience.channel:
            svc.chat.post(audience.channel, Text(f"*{subject}*\n\n{body}"))
            places.append(f"<#{audience.channel}>")
    except GatewayError as exc:
        with svc.db.transaction() as session:
            notice, incident = _locked(session, notice_id)
            notice.status, notice.approved_by, notice.sent_at = "draft", None, None
        raise Conflict(f"The notice could not be sent ({exc.error}); it is still a draft.") from exc
    with svc.db.transaction() as session:
        notice, incident = _locked(session, notice_id)
        timeline.record(
            session,
            incident,
            kind="notice_sent",
            actor=actor,
            at=svc.clock(),
            text=f"Notice to {audience.title} approved and sent by <@{actor}>: {subject}",
            data={"audience": notice.audience, "to": list(audience.email), "channel": audience.channel},
        )
        return Sent(card=_card(svc, notice), places=tuple(places))


def _locked(session: Session, notice_id: int) -> tuple[Notice, Incident]:
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NotFound("That notice no longer exists.")
    incident = queries.incident_by_id(session=session, incident_id=notice.incident_id, lock=True)
    assert incident is not None
    session.refresh(notice)
    return notice, incident


def _card(svc: Services, notice: Notice) -> NoticeDraft:
    assert notice.id is not None
    audience = svc.config.escalation.audiences.get(notice.audience)
    recipients: tuple[str, ...] = ()
    if audience is not None:
        recipients = tuple(audience.email) + ((f"<#{audience.channel}>",) if audience.channel else ())
    return NoticeDraft(
        notice_id=notice.id,
        audience=audience.title if audience else notice.audience,
        recipients=recipients,
        subject=notice.subject,
        body=notice.body,
        state=notice.status,
        approved_by=notice.approved_by,
    )


def _html(body: str) -> str:
    paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in body.split("\n\n"))
    return f'<html><body style="font-family: sans-serif">{paragraphs}</body></html>'
