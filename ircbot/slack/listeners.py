"""Bolt registration: every command and interaction acks at once, then hands the pipeline to Bolt's executor.

The hand-off is ours, not Bolt's lazy listeners: those deep-copy the whole request for every hand-off (they
are made to be re-invoked in another process, as on FaaS) and inspect the function's signature each time,
which under a sustained load was most of an acknowledgement's CPU. Here the work runs in this process on
the arguments the acknowledgement had, which nothing touches once it has returned.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import Executor
from functools import partial

from slack_bolt import App
from slack_bolt.kwargs_injection import Args

from ircbot.commands.dispatch import lookup, prepare
from ircbot.commands.parsing import split_words
from ircbot.domain.access import INCIDENT_KEY
from ircbot.domain.services import Services
from ircbot.slack import ids
from ircbot.slack.interactions import INTERACTIONS
from ircbot.slack.interactions.base import InteractionSpec
from ircbot.slack.pipeline import guarded, invocation_of, payload_of, run_command, run_interaction, user_of
from ircbot.telemetry import Telemetry


def ack_now(args: Args) -> None:
    """Acknowledge within milliseconds; the work, if any, happens after, on Bolt's executor."""
    args.ack()


def register(app: App, svc: Services, telemetry: Telemetry) -> None:
    """Attach the slash command and every interaction in INTERACTIONS, each acknowledgement timed."""
    executor = app.listener_runner.listener_executor
    command = guarded(svc, "command", partial(run_command, svc), _counter(telemetry, "command", _subcommand))
    app.command("/incident")(_then(executor, _timed(telemetry, "command", _ack_command(svc)), command))
    for spec in INTERACTIONS:
        name = spec.func.__name__
        work = guarded(svc, spec.name, partial(run_interaction, svc, spec), _counter(telemetry, spec.kind, name))
        listen = {"action": app.action, "view": app.view, "event": app.event}[spec.kind]
        listen(spec.id)(_then(executor, _timed(telemetry, spec.kind, _ack_for(svc, spec)), work))
    # A link button: Slack opens the channel itself, but still sends the click, which must be acknowledged.
    app.action(ids.HOME_OPEN_CHANNEL)(ack_now)
    # Acknowledge events ircbot does not act on, so Slack does not retry them.
    app.event(re.compile(".*"))(ack_now)


Acknowledge = Callable[[Args], None]


def _then(executor: Executor, acknowledge: Acknowledge, work: Callable[[Args], None]) -> Callable[[Args], None]:
    """The listener Bolt runs: acknowledge, then have `work` run on the executor (not when acknowledging failed:
    Bolt answers 500 and Slack sends the request again)."""

    def listener(args: Args) -> None:
        acknowledge(args)
        executor.submit(work, args)

    listener.__name__ = getattr(work, "__name__", "listener")
    return listener


def _timed(telemetry: Telemetry, kind: str, acknowledge: Acknowledge) -> Acknowledge:
    """The acknowledgement, its duration observed."""
    histogram = telemetry.ack_seconds.labels(kind=kind)

    def timed(args: Args) -> None:
        started = time.perf_counter()
        try:
            acknowledge(args)
        finally:
            histogram.observe(time.perf_counter() - started)

    return timed


def _subcommand(args: Args) -> str:
    """The subcommand typed, as a metric label: only names ircbot knows, so the label set stays small."""
    words = split_words(str(args.body.get("text", "")))
    words = words[1:] if words and INCIDENT_KEY.match(words[0]) else words
    spec = lookup(words[0]) if words else None
    return spec.name if spec else ("help" if not words else "unknown")


def _counter(telemetry: Telemetry, kind: str, name: str | Callable[[Args], str]) -> Callable[[Args, str], None]:
    def count(args: Args, outcome: str) -> None:
        label = name(args) if callable(name) else name
        telemetry.requests.labels(kind=kind, name=label, outcome=outcome).inc()

    return count


def _ack_command(svc: Services) -> Acknowledge:
    def ack_command(args: Args) -> None:
        """What a command must make durable first (a declare's record), then the acknowledgement."""
        prepare(svc, invocation_of(args.body))
        args.ack()

    return ack_command


def _ack_for(svc: Services, spec: InteractionSpec) -> Acknowledge:
    validate, keep = spec.validate, spec.before_ack
    if validate is None and keep is None:
        return ack_now

    def ack_checked(args: Args) -> None:
        """A form's problems go back beside its fields; what must survive a crash is kept; then the ack."""
        payload = payload_of(spec, args)
        problems = validate(payload) if validate is not None else None
        if problems:
            args.ack(response_action="errors", errors=problems)
            return
        if keep is not None:
            keep(svc, user_of(args.body), payload)
        args.ack()

    return ack_checked
