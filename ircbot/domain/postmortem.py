"""Compiling the postmortem (channel history merged with the timeline) and publishing it."""

from __future__ import annotations

from dataclasses import dataclass, field

import jinja2
from sqlmodel import col, select

from ircbot.domain.channel_read import read_channel
from ircbot.domain.effects import attempt
from ircbot.domain.kinds import TimelineKind
from ircbot.domain.people import People
from ircbot.domain.postmortem_context import build_context
from ircbot.domain.redaction import Redactor
from ircbot.domain.services import Services
from ircbot.domain.unit import incident_tx
from ircbot.errors import ConfigError
from ircbot.store import queries
from ircbot.store.models import Postmortem


@dataclass
class Published:
    """The compiled Markdown, how it was made, and what could not be delivered."""

    markdown: str
    filename: str
    redacted: int = 0
    messages_read: int = 0
    warnings: list[str] = field(default_factory=list)


def compile_postmortem(svc: Services, *, incident_id: int, whole: bool = False) -> Published:
    """Read the channel (outside any transaction), then render templates/postmortem.md.j2 with secrets redacted.

    `whole` reads the channel history from its start (the final postmortem); otherwise a draft reads only
    what moved since the stored copy, when it can tell (see channel_read).
    """
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id)
        assert incident is not None
        channel_id, key = incident.channel_id, incident.key
    channel = read_channel(svc, incident_id=incident_id, channel_id=channel_id, whole=whole)
    redactor = Redactor()
    with svc.db.transaction() as session:
        incident = queries.incident_by_id(session=session, incident_id=incident_id)
        assert incident is not None
        context = build_context(svc, session, incident, channel, redactor)
        context["redaction"] = redactor.summary()
        try:
            markdown = svc.templates.get_template("postmortem.md.j2").render(**context)
        except jinja2.TemplateError as exc:
            raise ConfigError([f"postmortem.md.j2: {exc}"]) from exc
    published = Published(
        markdown=markdown,
        filename=f"postmortem-{key}.md",
        redacted=redactor.total,
        messages_read=len(channel.messages),
    )
    if channel.problem:
        published.warnings.append(f"The postmortem is incomplete: {channel.problem}.")
    return published


def publish_postmortem(svc: Services, *, incident_id: int, actor: str, whole: bool = False) -> Published:
    """Compile, keep in the database with a timeline event, and upload into the incident channel."""
    published = compile_postmortem(svc, incident_id=incident_id, whole=whole)
    with incident_tx(svc, incident_id) as tx:
        tx.session.add(
            Postmortem(incident_id=tx.id, compiled_at=tx.now, compiled_by=actor, markdown=published.markdown)
        )
        tx.record(
            TimelineKind.POSTMORTEM,
            f"Postmortem compiled from {published.messages_read} messages ({published.redacted} secrets redacted)",
            actor=actor,
        )
        channel_id, key, title = tx.incident.channel_id, tx.incident.key, tx.incident.title
    if channel_id:
        shared = channel_id

        def upload() -> None:
            svc.chat.upload(
                shared,
                filename=published.filename,
                title=f"Postmortem {key}: {title}",
                content=published.markdown,
                comment=f"Postmortem for {key}, compiled by {People(svc)(actor)}.",
            )

        published.warnings += attempt(("upload the postmortem", upload))
    return published


def latest_postmortem(svc: Services, *, incident_id: int) -> str | None:
    """The most recently compiled postmortem's Markdown, if any."""
    with svc.db.transaction() as session:
        query = select(Postmortem).where(Postmortem.incident_id == incident_id).order_by(col(Postmortem.id).desc())
        latest = session.exec(query).first()
        return latest.markdown if latest else None
