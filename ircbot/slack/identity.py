"""Who the bot is in the workspace, asked of Slack once and remembered, for Bolt's authorization step.

Bolt's single-workspace authorization calls `auth.test` on the first request and answers HTTP 500 when
Slack's API cannot be reached, so a bot restarted during an outage would answer no one. This asks the
same question, but while Slack cannot be reached it lets the request through on the configured token
(without the bot's own ids, which only filter the bot's own events, and ircbot checks those itself).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError


class BotIdentity:
    """The identity behind one bot token in one workspace."""

    def __init__(self, client: WebClient):
        self.client = client
        self.token = client.token
        self._known: AuthorizeResult | None = None
        self._lock = threading.Lock()

    def find(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        """The bot's identity for a request: remembered, asked of Slack, or (Slack unreachable) the token alone."""
        if self._known is not None:
            return self._known
        with self._lock:
            if self._known is None:
                try:
                    found = self.client.auth_test()
                except SlackApiError:
                    raise  # a revoked or wrong token: Bolt answers that the app needs installing
                except (SlackClientError, OSError):
                    return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=self.token)
                self._known = AuthorizeResult(
                    enterprise_id=found.get("enterprise_id"),
                    team_id=found.get("team_id"),
                    bot_id=found.get("bot_id"),
                    bot_user_id=found.get("user_id"),
                    bot_token=self.token,
                    bot_scopes=found.headers.get("x-oauth-scopes"),
                )
            return self._known


def authorizer(client: WebClient) -> Callable[..., AuthorizeResult]:
    """Bolt's `authorize` function (a plain function: Bolt passes what its parameter names ask for)."""
    identity = BotIdentity(client)

    def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        return identity.find(enterprise_id, team_id)

    return authorize
