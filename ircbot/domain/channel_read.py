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

A draft recompile (`/incident postmortem`, `ircbot postmortem --recompile`) can do better while Slack's
message events keep arriving: each reply, and each edit or deletion, in an incident channel is noted
(`note_activity`), so the recompile reads only the history after the newest stored message (`oldest=`)
and the threads noted since — one call for a channel that did not change. Events missed while no process
was running cannot be noted, so the copy is trusted only after a whole read made since this process
started, and the final postmortem at resolve always reads the history whole.
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
from ircbot.store import channel_copy, queries

THREAD_READERS = 4
REWRITTEN = channel_copy.REWRITTEN


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


def read_channel(svc: Services, *, incident_id: int, channel_id: str | None, whole: bool = True) -> ChannelRead:
    """Read the channel, reusing the stored copy; a failure is reported, not raised.

    With `whole` (the final postmortem at resolve) the top-level history is read from the start. Without it
    (a draft recompile), and while the copy is trusted (Slack's message events have been received since it
    was last read whole), only the history after the newest stored message and the threads the events
    said moved are read: one history call and no thread call for a channel that did not change.
    """
    if not channel_id:
        return ChannelRead()
    started = svc.clock()
    with svc.db.transaction() as session:
        copy = _copy(channel_copy.channel_copy(session=session, incident_id=incident_id))
        incident = queries.incident_by_id(session=session, incident_id=incident_id)
        moved = set(channel_copy.moved_threads(session=session, incident_id=incident_id))
        trusted = incident is not None and incident.channel_read_at is not None
    since = not whole and trusted and bool(copy.top) and channel_copy.WHOLE not in moved
    problems: list[str] = []
    try:
        top = _top_since(svc, channel_id, copy) if since else list(svc.chat.history(channel_id))
    except GatewayError as exc:
        return _from_copy(copy, exc)

    def thread(job: tuple[ChatMessage, str]) -> list[ChatMessage]:
        parent, how = job
        kept = copy.replies.get(parent.ts, [])
        try:
            if how == "grown" and kept:  # the events saw new replies: only those after the newest stored
                return kept + list(svc.chat.replies(channel_id, parent.ts, oldest=kept[-1].ts))
            if how == "rewritten":  # a reply edited or deleted: only the whole thread is certain
                return sorted(svc.chat.replies(channel_id, parent.ts), key=_when)
            return _thread(svc, channel_id, parent, kept)
        except GatewayError as exc:
            problems.append(exc.error)
            return kept  # stored figures now differ from Slack's, so the next compile tries this thread again

    jobs = _thread_jobs(top, copy, moved) if since else [(m, "check") for m in top if _is_parent(m)]
    # Each thread read is its own paginated call; a few at once hide Slack's round-trip time. Meanwhile this thread
    # only waits: its turn (ircbot/turns.py) is someone else's.
    with svc.turns.off_turn(), ThreadPoolExecutor(max_workers=THREAD_READERS) as pool:
        threads = dict(zip((parent.ts for parent, _ in jobs), pool.map(thread, jobs), strict=True))
    if since:
        threads = {**copy.replies, **threads}
    messages = _merged(top, threads.values())
    rows = [_row(m) for m in messages]
    with svc.db.transaction() as session:
        # One compile at a time writes an incident's copy; each writes a whole read, so the last one stands.
        queries.incident_by_id(session=session, incident_id=incident_id, lock=True)
        if rows != [_row(m) for m in _merged(copy.top, copy.replies.values())]:
            channel_copy.store_channel_copy(session=session, incident_id=incident_id, messages=rows)
        if not problems:
            channel_copy.read_done(session=session, incident_id=incident_id, started=started, whole=not since)
    read = ChannelRead(messages=messages)
    if problems:
        read.problem = f"the channel history could not be read completely (Slack said `{problems[0]}`)"
    return read


def note_activity(svc: Services, *, channel_id: str, thread_ts: str | None, rewritten: bool) -> None:
    """A message event in a channel: in an incident's, note the thread that moved (None: a top-level message was
    edited or deleted, so the next read is whole); `rewritten` when a reply was edited or deleted, not added."""
    with svc.db.transaction() as session:
        incident = queries.incident_by_channel(session=session, channel_id=channel_id)
        if incident is None or incident.id is None:
            return
        key = channel_copy.WHOLE if thread_ts is None else thread_ts + (REWRITTEN if rewritten else "")
        channel_copy.note_thread_activity(session=session, incident_id=incident.id, thread_ts=key, at=svc.clock())


def _top_since(svc: Services, channel_id: str, copy: StoredCopy) -> list[ChatMessage]:
    """The stored top-level messages and those posted after the newest of them (one call when none were)."""
    newest = max(copy.top, key=_when).ts
    return sorted([*copy.top, *svc.chat.history(channel_id, oldest=newest)], key=_when)


def _thread_jobs(top: list[ChatMessage], copy: StoredCopy, moved: set[str]) -> list[tuple[ChatMessage, str]]:
    """Which threads a read since the copy must fetch: those the events said moved, and new parents."""
    by_ts = {m.ts: m for m in top}
    jobs = [(by_ts[ts], "grown") for ts in moved if ts in by_ts]
    jobs += [(by_ts[ts[:-1]], "rewritten") for ts in moved if ts.endswith(REWRITTEN) and ts[:-1] in by_ts]
    stored = {m.ts for m in copy.top}
    jobs += [(m, "check") for m in top if _is_parent(m) and m.ts not in stored and m.ts not in moved]
    return jobs


def _is_parent(message: ChatMessage) -> bool:
    return bool(message.reply_count) and message.thread_ts in (None, message.ts)


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
    for ts, thread_ts, user, bot_id, subtype, text, files in rows:  # channel_copy.COPIED_FIELDS, after the ts
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
