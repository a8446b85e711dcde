"""Work done after the ack that fails unexpectedly still gets an answer, not silence."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from typing import Any

from slack_bolt.kwargs_injection import Args

from ircbot.domain.messages import Text, internal_error
from ircbot.domain.services import Services
from ircbot.errors import IrcbotError


def guarded(svc: Services, work: Callable[..., None]) -> Callable[[Args], None]:
    """A lazy listener running `work`; an unexpected failure is logged with a reference the user is given."""
    wanted = list(inspect.signature(work).parameters)

    def run(args: Args) -> None:
        try:
            work(**{name: getattr(args, name) for name in wanted})
        except Exception:  # what reaches here is a bug or an outage; the person must still hear about it
            reference = uuid.uuid4().hex[:8]
            svc.log.exception("%s failed [ref %s]", work.__name__, reference)
            _tell(svc, args, reference)

    run.__name__ = work.__name__
    return run


def _tell(svc: Services, args: Args, reference: str) -> None:
    text = internal_error(reference).text
    body: dict[str, Any] = args.body or {}
    try:
        if body.get("response_url") or (body.get("response_urls") or []):
            args.respond(text=text, response_type="ephemeral", replace_original=False)
            return
        user = body.get("user_id") or (body.get("user") or {}).get("id")
        if user and body.get("type") != "event_callback":
            svc.chat.post(str(user), Text(text))
    except (IrcbotError, OSError) as exc:
        svc.log.error("could not tell the user about failure %s: %s", reference, exc)
