"""Who the bot is in the workspace, asked of Slack once and remembered, for Bolt's authorization step.

Bolt's single-workspace authorization calls `auth.test` on the first request and answers HTTP 500 when
Slack's API cannot be reached, so a bot restarted during an outage would answer no one. This asks the
same question (at start, and again on a request while no answer is known), but never lets a request
wait long for it: one request at a time asks, with a short timeout, and the others, like any request
while Slack cannot be reached, go through on the configured token alone. Without the bot's own ids
Bolt cannot drop the bot's own events, so until Slack has answered once, the bot's messages reach the
`message` listener like another bot's (kept in the timeline): hence the question at start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

ASK_TIMEOUT = 2  # seconds: well inside Slack's 3 s for acknowledging the request that asks


class BotIdentity:
    """The identity behind one bot token in one workspace."""

    def __init__(self, client: WebClient):
        self.token = client.token
        self.client = WebClient(token=client.token, base_url=client.base_url, timeout=ASK_TIMEOUT)
        self._known: AuthorizeResult | None = None
        self._asking = threading.Lock()
        self.described = ""  # "bot @ircbot (U…) in workspace Acme (T…)" once Slack has answered

    def find(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        """The bot's identity for a request: remembered, asked of Slack, or (Slack unreachable) the token alone."""
        if self._known is None and self._asking.acquire(blocking=False):
            try:
                self.learn()
            finally:
                self._asking.release()
        return self._known or AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=self.token)

    def learn(self) -> bool:
        """Ask Slack who the bot is, unless known; False when Slack could not be reached.

        A wrong or revoked token raises SlackApiError: Bolt answers that the app needs installing.
        """
        if self._known is not None:
            return True
        try:
            found = self.client.auth_test()
        except (SlackClientError, OSError) as exc:
            if isinstance(exc, SlackApiError) and exc.response.status_code < 500:
                raise
            return False
        self._known = AuthorizeResult(
            enterprise_id=found.get("enterprise_id"),
            team_id=found.get("team_id"),
            bot_id=found.get("bot_id"),
            bot_user_id=found.get("user_id"),
            bot_token=self.token,
            bot_scopes=found.headers.get("x-oauth-scopes"),
        )
        bot, team = f"@{found.get('user')} ({found.get('user_id')})", f"{found.get('team')} ({found.get('team_id')})"
        self.described = f"bot {bot} in workspace {team}"
        return True


def authorizer(identity: BotIdentity) -> Callable[..., AuthorizeResult]:
    """Bolt's `authorize` function (a plain function: Bolt passes what its parameter names ask for)."""

    def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        return identity.find(enterprise_id, team_id)

    return authorize
