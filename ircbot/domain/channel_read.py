"""Reading an incident channel for its postmortem, reusing what the last compile read and stored.

Slack has no call that lists what changed in a channel since a time: which messages have threads, and where
each thread's newest reply is, shows only on the thread's parent (`reply_count`, `latest_reply`) in
conversations.history. So every compile reads the top-level history — one call per 999 messages, and the only
way to see a first reply to an old message, a new reply in an old thread, or an edited or deleted top-level
message — and reads a thread only when its parent shows other figures than the stored replies: then just the
replies after the newest stored one (`oldest=`), or the whole thread again when the figures do not add up (a
reply was deleted). Threads whose parent shows the stored figures are taken from the database, so a channel
that did not change costs its history pages and no conversations.replies call at all.

Known limitation: a thread reply edited after it was stored keeps its stored text. Nothing Slack returns for
the parent changes when a reply is edited, and finding edits would mean reading every thread again, which is
the cost this module exists to avoid. (Edited top-level messages are seen: the history is read every time.)

When the history cannot be read at all, the postmortem is built from the stored copy and says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ircbot.domain.ports import ChatMessage
from ircbot.domain.services import Services
from ircbot.errors import GatewayError
from ircbot.store import queries

THREAD_READERS = 4


@dataclass
class ChannelRead:
    """The channel's messages (top-level and thread replies) and whether reading them worked."""

    messages: list[ChatMessage] = field(default_factory=list)
    problem: str | None = None


@dataclass
class StoredCopy:
    """What the last compile stored: top-level messages, and each thread's replies oldest first."""

    top: list[ChatMessage] = field(default_factory=list)
    replies: dict[str, list[ChatMessage]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """How many messages the copy holds."""
        return len(self.top) + sum(len(replies) for replies in self.replies.values())


def read_channel(svc: Services, *, incident_id: int, channel_id: str | None) -> ChannelRead:
    """Read the history and the threads that moved, reuse the stored rest; a failure is reported, not raised."""
    if not channel_id:
        return ChannelRead()
    with svc.db.transaction() as session:
        copy = _copy(queries.channel_copy(session=session, incident_id=incident_id))
    try:
        top = list(svc.chat.history(channel_id))
    except GatewayError as exc:
        return _from_copy(copy, exc)
    parents = [m for m in top if m.reply_count and m.thread_ts in (None, m.ts)]
    problems: list[str] = []

    def thread(parent: ChatMessage) -> list[ChatMessage]:
        kept = copy.replies.get(parent.ts, [])
        try:
            return _thread(svc, channel_id, parent, kept)
        except GatewayError as exc:
            problems.append(exc.error)
            return kept  # stored figures now differ from Slack's, so the next compile tries this thread again

    # Each thread read is its own paginated call; a few at once hide Slack's round-trip time.
    with ThreadPoolExecutor(max_workers=THREAD_READERS) as pool:
        threads = list(pool.map(thread, parents))
    messages = _merged(top, threads)
    rows = [_row(m) for m in messages]
    if rows != [_row(m) for m in _merged(copy.top, copy.replies.values())]:
        with svc.db.transaction() as session:
            # One compile at a time writes an incident's copy; each writes a whole read, so the last one stands.
            queries.incident_by_id(session=session, incident_id=incident_id, lock=True)
            queries.store_channel_copy(session=session, incident_id=incident_id, messages=rows)
    read = ChannelRead(messages=messages)
    if problems:
        read.problem = f"the channel history could not be read completely (Slack said `{problems[0]}`)"
    return read


def _thread(svc: Services, channel_id: str, parent: ChatMessage, kept: list[ChatMessage]) -> list[ChatMessage]:
    """The thread's replies: the stored ones while the parent shows their figures, else read what is needed."""
    if _figures(kept) == (parent.latest_reply, parent.reply_count):
        return kept
    newest = kept[-1].ts if kept else None
    if newest and parent.latest_reply and Decimal(parent.latest_reply) > Decimal(newest):
        grown = kept + list(svc.chat.replies(channel_id, parent.ts, oldest=newest))
        if len(grown) == parent.reply_count:
            return grown
    # A reply deleted, or added while this compile read: only the whole thread is certain.
    return sorted(svc.chat.replies(channel_id, parent.ts), key=_when)


def _figures(replies: list[ChatMessage]) -> tuple[str | None, int]:
    """What a parent would show for these replies: the newest reply's ts and how many there are."""
    return (replies[-1].ts if replies else None, len(replies))


def _merged(top: list[ChatMessage], threads: Iterable[list[ChatMessage]]) -> list[ChatMessage]:
    """Top-level messages and replies in time order, once each (a reply also sent to the channel is in both)."""
    by_ts = {m.ts: m for m in top}
    for replies in threads:
        for reply in replies:
            by_ts.setdefault(reply.ts, reply)
    return sorted(by_ts.values(), key=_when)


def _from_copy(copy: StoredCopy, exc: GatewayError) -> ChannelRead:
    said = f"the channel history could not be read (Slack said `{exc.error}`)"
    if not copy.size:
        return ChannelRead(problem=said)
    messages = _merged(copy.top, copy.replies.values())
    shown = f"{said}, so it shows the {len(messages)} messages an earlier compile read"
    return ChannelRead(messages=messages, problem=shown)


def _copy(rows: Iterable[Any]) -> StoredCopy:
    copy = StoredCopy()
    for ts, thread_ts, user, bot_id, subtype, text, files in rows:  # queries.COPIED_FIELDS, after the ts
        message = ChatMessage(
            ts=ts, user=user, text=text, bot_id=bot_id, subtype=subtype, thread_ts=thread_ts, files=tuple(files)
        )
        if thread_ts and thread_ts != ts:
            copy.replies.setdefault(thread_ts, []).append(message)
        else:
            copy.top.append(message)
    for replies in copy.replies.values():
        replies.sort(key=_when)
    return copy


def _row(message: ChatMessage) -> dict[str, Any]:
    return {
        "ts": message.ts,
        "thread_ts": message.thread_ts,
        "user": message.user,
        "bot_id": message.bot_id,
        "subtype": message.subtype,
        "text": message.text.replace("\x00", ""),  # PostgreSQL refuses NUL in text
        "files": list(message.files),
    }


def _when(message: ChatMessage) -> Decimal:
    return Decimal(message.ts)
