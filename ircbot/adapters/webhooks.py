"""Outbound webhooks over HTTP: one POST per try with a short timeout, the answer turned into GatewayError."""

from __future__ import annotations

import urllib.error
import urllib.request

from ircbot.errors import GatewayError

WEBHOOK_TIMEOUT = 5.0  # seconds: a slow receiver holds up one outbox worker this long, at most, per try


class HttpWebhooks:
    """POSTs with urllib; a non-2xx answer, a timeout or a refused connection is a GatewayError to retry."""

    def __init__(self, timeout: float = WEBHOOK_TIMEOUT) -> None:
        self.timeout = timeout

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        """POST `body` to `url`; return on 2xx, else raise GatewayError('webhook', 'http_500' …)."""
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                answer.read()
        except urllib.error.HTTPError as exc:
            with exc:
                retry_after = _seconds(exc.headers.get("Retry-After"))
            raise GatewayError("webhook", f"http_{exc.code}", uncertain=True, retry_after=retry_after) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GatewayError("webhook", f"unreachable: {reason}"[:200], uncertain=True) from exc


def _seconds(value: str | None) -> float | None:
    try:
        return min(float(value), 3600.0) if value else None
    except ValueError:
        return None  # an HTTP date: the backoff decides
