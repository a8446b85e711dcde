"""The slack_sdk WebClient of a process (and the template Bolt copies per request), with slack_sdk's retry handlers.

A 5xx or a dropped connection may come after Slack did the work, so those are retried here only for
methods that are safe to repeat. A post or a channel creation is left to its caller, which knows
how to check whether it went through (the outbox looks for its tag; declare looks for its channel).
"""

from __future__ import annotations

from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

AT_ONCE = FixedValueRetryIntervalCalculator(fixed_internal=0.05)

NOT_REPEATABLE = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.scheduleMessage",
        "conversations.create",
        "files.completeUploadExternal",
        "bookmarks.add",
        "canvases.create",
    }
)
"""Methods a second call would do twice: never re-sent blind after an answer that may have been lost."""


def method_of(request: HttpRequest) -> str:
    """`chat.postMessage` from `https://slack.com/api/chat.postMessage`."""
    return request.url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]


def never_reached(error: Exception | None) -> bool:
    """The connection was refused: the request never reached Slack, so repeating it is always safe."""
    reason = error.reason if isinstance(error, URLError) else error
    return isinstance(reason, ConnectionRefusedError)


class RepeatableOnly(RetryHandler):
    """Retries like `inner`, but a call that is not idempotent only when it certainly never arrived."""

    def __init__(self, inner: RetryHandler):
        super().__init__(inner.max_retry_count, inner.interval_calculator)
        self.inner = inner

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if method_of(request) in NOT_REPEATABLE and not never_reached(error):
            return False
        return self.inner.can_retry(state=state, request=request, response=response, error=error)


def build_web_client(*, token: str | None, base_url: str, timeout: int = 15) -> WebClient:
    """A WebClient that waits out rate limits (Retry-After) and retries 5xx and dropped connections."""
    if not base_url.endswith("/"):
        base_url += "/"
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3),
            RepeatableOnly(ServerErrorRetryHandler(max_retry_count=2)),
            # A dropped keep-alive connection is retried at once; a Slack that stays unreachable is the
            # caller's to wait out (the outbox backs off) rather than a thread's to sleep through.
            RepeatableOnly(ConnectionErrorRetryHandler(max_retry_count=1, interval_calculator=AT_ONCE)),
        ],
    )
