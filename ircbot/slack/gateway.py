"""The chat port implemented on Slack's Web API."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.metadata import Metadata

from ircbot.domain.messages import Message, Topic
from ircbot.domain.ports import ChatMessage, Profile
from ircbot.domain.views import IncidentView
from ircbot.errors import GatewayError
from ircbot.slack.client import never_reached
from ircbot.slack.home import home_view
from ircbot.slack.render import render_message
from ircbot.slack.wording import topic_text
from ircbot.telemetry import Telemetry
from ircbot.turns import Turns


class SlackChat:
    """ChatPort over one slack_sdk WebClient; Slack errors become GatewayError(method, error)."""

    def __init__(self, client: WebClient, telemetry: Telemetry | None = None, turns: Turns | None = None):
        self.client = client
        self.telemetry = telemetry
        self.turns = turns or Turns.ungated()  # only the HTTP round trip is made off turn, not the rendering

    def _call(self, method: str, call: Callable[[], Any]) -> Any:
        try:
            with self.turns.off_turn():
                answer = call()
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            self._count(method, str(error or f"http_{status}"))
            raise GatewayError(
                method,
                str(error or f"http_{status}"),
                uncertain=status >= 500,
                retry_after=_retry_after(exc.response.headers) if status == 429 else None,
            ) from exc
        except (SlackClientError, OSError) as exc:
            self._count(method, "connection_error")
            raise GatewayError(method, f"connection_error: {exc}", uncertain=not never_reached(exc)) from exc
        self._count(method, "ok")
        return answer

    def _count(self, method: str, outcome: str) -> None:
        if self.telemetry is not None:
            self.telemetry.api_calls.labels(method=method, outcome=outcome).inc()

    def create_channel(self, name: str, *, private: bool) -> str:
        response = self._call(
            "conversations.create", lambda: self.client.conversations_create(name=name, is_private=private)
        )
        return str(response["channel"]["id"])

    def find_channel(self, name: str) -> str | None:
        cursor: str | None = None
        while True:
            page = self._call("conversations.list", partial(self._channel_page, cursor))
            for channel in page.get("channels", []):
                if channel.get("name") == name and channel.get("is_member"):
                    return str(channel["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None

    def _channel_page(self, cursor: str | None) -> Any:
        return self.client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=1000, cursor=cursor
        )

    def invite(self, channel_id: str, user_ids: list[str]) -> None:
        try:
            self._call(
                "conversations.invite",
                lambda: self.client.conversations_invite(channel=channel_id, users=",".join(user_ids)),
            )
        except GatewayError as exc:
            # Inviting someone already there (the bot's own channel creator, a re-assigned role) is fine.
            if exc.error not in ("already_in_channel", "cant_invite_self"):
                raise

    def set_topic(self, channel_id: str, topic: Topic) -> None:
        text = topic_text(topic)
        self._call("conversations.setTopic", lambda: self.client.conversations_setTopic(channel=channel_id, topic=text))

    def post(self, channel_id: str, message: Message, *, key: str | None = None) -> str:
        text, blocks = render_message(message)
        tag = Metadata(event_type=DELIVERY_EVENT, event_payload={"key": key}) if key else None
        response = self._call(
            "chat.postMessage",
            lambda: self.client.chat_postMessage(
                channel=channel_id, text=text, blocks=blocks, unfurl_links=False, metadata=tag
            ),
        )
        return str(response["ts"])

    def update(self, channel_id: str, ts: str, message: Message) -> None:
        text, blocks = render_message(message)
        self._call("chat.update", lambda: self.client.chat_update(channel=channel_id, ts=ts, text=text, blocks=blocks))

    def publish_home(self, user_id: str, incidents: tuple[IncidentView, ...]) -> None:
        view = home_view(user_id, incidents)
        self._call("views.publish", lambda: self.client.views_publish(user_id=user_id, view=view))

    def find_posted(self, channel_id: str, key: str, *, since: datetime) -> str | None:
        conversation = channel_id
        if channel_id.startswith(("U", "W")):  # the bot's DM with that person
            opened = self._call("conversations.open", lambda: self.client.conversations_open(users=channel_id))
            conversation = str(opened["channel"]["id"])
        oldest = f"{since.timestamp() - CLOCK_SKEW:.6f}"
        for page in self._raw_pages(
            "conversations.history",
            lambda cursor: self.client.conversations_history(
                **_page(conversation, cursor), oldest=oldest, include_all_metadata=True
            ),
        ):
            for raw in page:
                metadata = raw.get("metadata") or {}
                if metadata.get("event_type") == DELIVERY_EVENT and metadata.get("event_payload", {}).get("key") == key:
                    return str(raw["ts"])
        return None

    def pin(self, channel_id: str, ts: str) -> None:
        try:
            self._call("pins.add", lambda: self.client.pins_add(channel=channel_id, timestamp=ts))
        except GatewayError as exc:
            if exc.error != "already_pinned":
                raise

    def user_by_email(self, email: str) -> str | None:
        try:
            response = self._call("users.lookupByEmail", lambda: self.client.users_lookupByEmail(email=email))
        except GatewayError as exc:
            if exc.error == "users_not_found":
                return None
            raise
        return str(response["user"]["id"])

    def group_members(self, group_id: str) -> list[str]:
        response = self._call("usergroups.users.list", lambda: self.client.usergroups_users_list(usergroup=group_id))
        return [str(u) for u in response.get("users", [])]

    def upload(self, channel_id: str, *, filename: str, title: str, content: str | bytes, comment: str) -> None:
        target, initial_comment = channel_id, comment or None
        if channel_id.startswith(("U", "W")):
            # files.completeUploadExternal shares into conversations, not users. chat.postMessage to a user id
            # posts into the bot's DM (chat:write is enough, no im:write) and answers with that DM's id.
            opened = self._call(
                "chat.postMessage", lambda: self.client.chat_postMessage(channel=channel_id, text=comment or title)
            )
            target, initial_comment = str(opened["channel"]), None
        self._call(
            "files.completeUploadExternal",
            lambda: self.client.files_upload_v2(
                channel=target, filename=filename, title=title, content=content, initial_comment=initial_comment
            ),
        )

    def profile(self, user_id: str) -> Profile:
        response = self._call("users.info", lambda: self.client.users_info(user=user_id))
        user = response["user"]
        profile = user.get("profile") or {}
        name = (
            user.get("real_name")
            or profile.get("real_name")
            or profile.get("display_name")
            or user.get("name")
            or user_id
        )
        return Profile(user_id=user_id, name=str(name), email=profile.get("email"), tz=user.get("tz"))

    def history(self, channel_id: str, *, oldest: str | None = None) -> Iterator[ChatMessage]:
        pages = self._pages(
            "conversations.history",
            lambda cursor: self.client.conversations_history(oldest=oldest, **_page(channel_id, cursor)),
        )
        newest_first = [m for page in pages for m in page]
        return iter(reversed(newest_first))

    def replies(self, channel_id: str, thread_ts: str, *, oldest: str | None = None) -> Iterator[ChatMessage]:
        for page in self._pages(
            "conversations.replies",
            lambda cursor: self.client.conversations_replies(ts=thread_ts, oldest=oldest, **_page(channel_id, cursor)),
        ):
            yield from (m for m in page if m.ts != thread_ts)

    def message(self, channel_id: str, ts: str) -> ChatMessage | None:
        window: dict[str, Any] = {"channel": channel_id, "latest": ts, "oldest": ts, "inclusive": True, "limit": 1}
        found = self._call("conversations.history", lambda: self.client.conversations_history(**window))
        for raw in found.get("messages", []):
            if raw.get("ts") == ts:
                return _chat_message(raw)
        try:
            thread = self._call("conversations.replies", lambda: self.client.conversations_replies(ts=ts, **window))
        except GatewayError as exc:
            if exc.error == "thread_not_found":
                return None
            raise
        return next((_chat_message(raw) for raw in thread.get("messages", []) if raw.get("ts") == ts), None)

    def _pages(self, method: str, fetch: Callable[[str | None], Any]) -> Iterator[list[ChatMessage]]:
        for page in self._raw_pages(method, fetch):
            yield [_chat_message(raw) for raw in page]

    def _raw_pages(self, method: str, fetch: Callable[[str | None], Any]) -> Iterator[list[dict[str, Any]]]:
        cursor: str | None = None
        while True:
            response = self._call(method, partial(fetch, cursor))
            yield list(response.get("messages", []))
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return


DELIVERY_EVENT = "ircbot_delivery"
"""The metadata event type that tags a delivered message with its outbox key."""
CLOCK_SKEW = 60.0
"""Seconds looked back before `since`: Slack's clock and ours may disagree a little."""

# Slack's largest page: the fewest calls for a long incident channel.
PAGE_SIZE = 999


def _page(channel_id: str, cursor: str | None) -> dict[str, Any]:
    args: dict[str, Any] = {"channel": channel_id, "limit": PAGE_SIZE}
    if cursor:
        args["cursor"] = cursor
    return args


def _retry_after(headers: Mapping[str, Any]) -> float | None:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return float(value[0] if isinstance(value, list) else value)
            except (TypeError, ValueError, IndexError):
                return None
    return None


def _chat_message(raw: dict[str, Any]) -> ChatMessage:
    return ChatMessage(
        ts=str(raw.get("ts", "0")),
        user=raw.get("user"),
        text=str(raw.get("text") or ""),
        bot_id=raw.get("bot_id"),
        subtype=raw.get("subtype"),
        thread_ts=raw.get("thread_ts"),
        reply_count=int(raw.get("reply_count") or 0),
        latest_reply=raw.get("latest_reply"),
        files=tuple(str(f.get("name") or f.get("title") or "file") for f in raw.get("files") or []),
    )
