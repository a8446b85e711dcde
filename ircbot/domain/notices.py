"""Templated notices to the parties a breach response must inform, approved in Slack before sending."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ircbot.domain.kinds import NoticeStatus, TimelineKind
from ircbot.domain.messages import NoticeDraft, SentNotice
from ircbot.domain.out_of_band import away_row
from ircbot.domain.people import without_mentions
from ircbot.domain.ports import Email
from ircbot.domain.services import Services
from ircbot.domain.unit import IncidentTx, incident_tx
from ircbot.domain.wording import incident_fields
from ircbot.errors import Conflict, GatewayError, InvalidInput, NotFound
from ircbot.store.models import Notice


def draft(svc: Services, *, incident_id: int, audience: str, actor: str) -> NoticeDraft:
    """Render the audience's template into a draft and keep it for approval."""
    key = audience.strip().lower()
    audiences = svc.config.escalation.audiences
    if key not in audiences:
        known = ", ".join(audiences) or "none are configured in escalation.yaml"
        raise InvalidInput(f"There is no audience `{audience}`. Audiences: {known}.")
    with incident_tx(svc, incident_id) as tx:
        template = svc.templates.get_template(f"notice_{key}.txt.j2")
        first, _, body = template.render(**incident_fields(svc, tx.incident)).lstrip("\n").partition("\n")
        subject = first.removeprefix("Subject: ").strip()
        notice = Notice(
            incident_id=tx.id, audience=key, subject=subject, body=body.strip(), drafted_by=actor, drafted_at=tx.now
        )
        tx.session.add(notice)
        tx.record(TimelineKind.NOTICE_DRAFTED, f"Drafted a notice to {audiences[key].title}", actor=actor)
        tx.session.flush()
        return _card(svc, notice)


def incident_of(svc: Services, notice_id: int) -> int:
    """The incident a notice belongs to; NotFound when the notice is gone."""
    with svc.db.transaction() as session:
        notice = session.get(Notice, notice_id)
        if notice is None:
            raise NotFound("That notice no longer exists.")
        return notice.incident_id


@contextmanager
def _draft_tx(svc: Services, notice_id: int) -> Iterator[tuple[IncidentTx, Notice]]:
    """The incident locked and its notice, which must still be a draft."""
    with incident_tx(svc, incident_of(svc, notice_id)) as tx:
        notice = _notice(tx, notice_id)
        if notice.status != NoticeStatus.DRAFT:
            raise Conflict(f"This notice was already {notice.status}.")
        yield tx, notice


def _notice(tx: IncidentTx, notice_id: int) -> Notice:
    """The notice, read again now that its incident is locked."""
    notice = tx.session.get(Notice, notice_id)
    assert notice is not None
    tx.session.refresh(notice)
    return notice


def edit(svc: Services, *, notice_id: int, subject: str, body: str, actor: str) -> NoticeDraft:
    """Replace a draft's words before it is sent."""
    if not subject.strip() or not body.strip():
        raise InvalidInput("A notice needs a subject and a body.")
    with _draft_tx(svc, notice_id) as (tx, notice):
        notice.subject, notice.body = subject.strip(), body.strip()
        tx.record(TimelineKind.NOTICE_EDITED, "Edited a notice draft", actor=actor)
        return _card(svc, notice)


def cancel(svc: Services, *, notice_id: int, actor: str) -> NoticeDraft:
    """Drop a draft."""
    with _draft_tx(svc, notice_id) as (tx, notice):
        notice.status = NoticeStatus.CANCELLED
        title = svc.config.escalation.audiences[notice.audience].title
        tx.record(TimelineKind.NOTICE_CANCELLED, f"Cancelled the notice to {title}", actor=actor)
        return _card(svc, notice)


@dataclass(frozen=True)
class Sent:
    """The sent notice and where it went."""

    card: NoticeDraft
    places: tuple[str, ...]


def send(svc: Services, *, notice_id: int, actor: str, seen: str | None = None) -> Sent:
    """Approve and send: claim the draft, deliver by e-mail and to the audience's channel, record who approved.

    `seen` is the version the approver was shown; when the draft changed since, nothing is sent.
    """
    with _draft_tx(svc, notice_id) as (tx, notice):
        if seen is not None and version_of(notice.subject, notice.body) != seen:
            raise ChangedSinceSeen(_card(svc, notice))
        audience = svc.config.escalation.audiences[notice.audience]
        if audience.email and not svc.mail.enabled and not audience.channel:
            raise Conflict("E-mail is off (SMTP_URL is not set) and the audience has no channel: nothing can send it.")
        notice.status, notice.approved_by, notice.sent_at = NoticeStatus.SENT, actor, tx.now
        subject, body, incident_id = notice.subject, notice.body, tx.id
        to_slack = bool(audience.channel) and away_row(tx.session, tx.id, tx.now) is None  # never while away
    places = []
    try:
        if audience.email and svc.mail.enabled:
            svc.mail.send(Email(to=tuple(audience.email), subject=subject, text=body, html=_html(body)))
            places.append(f"{len(audience.email)} e-mail recipient(s)")
        if to_slack and audience.channel:
            svc.chat.post(audience.channel, SentNotice(without_mentions(subject), without_mentions(body)))
            places.append(f"<#{audience.channel}>")
    except GatewayError as exc:
        with incident_tx(svc, incident_id) as tx:
            unsent = _notice(tx, notice_id)
            unsent.status, unsent.approved_by, unsent.sent_at = NoticeStatus.DRAFT, None, None
        raise Conflict(f"The notice could not be sent ({exc.error}); it is still a draft.") from exc
    with incident_tx(svc, incident_id) as tx:
        sent = _notice(tx, notice_id)
        tx.record(
            TimelineKind.NOTICE_SENT,
            actor=actor,
            data={
                "audience": sent.audience,
                "title": audience.title,
                "subject": subject,
                "to": list(audience.email),
                "channel": audience.channel,
            },
        )
        return Sent(card=_card(svc, sent), places=tuple(places))


def _card(svc: Services, notice: Notice) -> NoticeDraft:
    assert notice.id is not None
    audience = svc.config.escalation.audiences.get(notice.audience)
    recipients: tuple[str, ...] = ()
    warning = ""
    if audience is not None:
        mailed = tuple(audience.email) if svc.mail.enabled else ()
        recipients = mailed + ((f"<#{audience.channel}>",) if audience.channel else ())
        if audience.email and not svc.mail.enabled:
            warning = f"E-mail is off (SMTP_URL is not set): {', '.join(audience.email)} will not receive it" + (
                f"; it goes to <#{audience.channel}> only." if audience.channel else ", and it has no channel."
            )
    return NoticeDraft(
        notice_id=notice.id,
        audience=audience.title if audience else notice.audience,
        recipients=recipients,
        subject=notice.subject,
        body=notice.body,
        state=notice.status,
        approved_by=notice.approved_by,
        version=version_of(notice.subject, notice.body),
        warning=warning,
    )


def version_of(subject: str, body: str) -> str:
    """A short fingerprint of a notice's words."""
    return hashlib.sha256(f"{subject}\0{body}".encode()).hexdigest()[:16]


class ChangedSinceSeen(Conflict):
    """Send was pressed on a card showing words the draft no longer has."""

    def __init__(self, card: NoticeDraft):
        self.card = card
        super().__init__("This notice was edited after you saw it; read the new words and press Send again.")


def _html(body: str) -> str:
    paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in body.split("\n\n"))
    return f'<html><body style="font-family: sans-serif">{paragraphs}</body></html>'


def current(svc: Services, *, notice_id: int) -> NoticeDraft:
    """The notice as it stands now."""
    with svc.db.transaction() as session:
        notice = session.get(Notice, notice_id)
        if notice is None:
            raise NotFound("That notice no longer exists.")
        return _card(svc, notice)
