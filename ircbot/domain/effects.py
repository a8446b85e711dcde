"""Chat side effects made after a change is committed: each may fail without undoing the change."""

from __future__ import annotations

from collections.abc import Callable

from ircbot.errors import GatewayError

Step = tuple[str, Callable[[], object]]


def attempt(*steps: Step) -> list[str]:
    """Run each (label, step); a step Slack (or the Matrix homeserver) refuses becomes a warning naming what could not
    be done."""
    warnings = []
    for label, step in steps:
        try:
            step()
        except GatewayError as exc:
            who = "the Matrix homeserver" if exc.method.startswith("matrix") else "Slack"
            warnings.append(f"Could not {label}: {who} said `{exc.error}`.")
    return warnings
