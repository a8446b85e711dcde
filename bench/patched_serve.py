"""`ircbot serve` with experimental patches applied first, to measure candidate fixes without editing ircbot.

    python bench/patched_serve.py --patch executor --patch nodedupe -- serve --port 3000

Patches:
  executor   give Bolt a listener pool as large as waitress's (Bolt's default is 5 threads; the /incident
             listener calls ack() only once it gets a pool thread, so acks queue behind running commands)
  nodedupe   skip the redelivery table write that runs before the ack (keeps the duplicate check unsafe;
             only for measuring what that write costs)
  lazyack    ack /incident in the request thread and run the command as a Bolt lazy listener
             (process_before_response=True), so acks never wait for a pool thread or Bolt's 10 ms ack poll
  trace      time the redelivery check (write lock wait included) and print percentiles to stdout on exit
"""

from __future__ import annotations

import argparse
import atexit
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

PATCHES = ("executor", "nodedupe", "lazyack", "trace")


def patch_executor(workers: int) -> None:
    """Make build_app hand Bolt a listener pool of `workers` threads."""
    from slack_bolt import App

    import ircbot.app

    def app_with_pool(*args: Any, **kwargs: Any) -> App:
        kwargs.setdefault("listener_executor", ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bolt"))
        return App(*args, **kwargs)

    ircbot.app.App = app_with_pool  # type: ignore[misc,assignment]


def patch_lazyack() -> None:
    """Register slash-command listeners as ack-only plus a lazy function, and answer once the ack ran."""
    from slack_bolt import Ack, App

    import ircbot.app

    def ack_only(ack: Ack) -> None:
        ack()

    class LazyAckApp(App):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["process_before_response"] = True
            super().__init__(*args, **kwargs)

        def command(self, *args: Any, **kwargs: Any) -> Any:
            register = super().command(*args, **kwargs)
            # The original listener still calls ack(); in a lazy function that ack is a harmless no-op.
            return lambda func: register(ack=ack_only, lazy=[func])

    ircbot.app.App = LazyAckApp  # type: ignore[misc]


def patch_nodedupe() -> None:
    """Accept every delivery as new without touching the database."""
    from ircbot.store import queries

    queries.remember_request = lambda **_: True


def patch_trace() -> None:
    """Time every remember_request call (it opens the transaction, so SQLite's BEGIN IMMEDIATE wait is inside)."""
    from ircbot.store import queries

    original = queries.remember_request
    durations: list[float] = []

    def timed(**kwargs: Any) -> bool:
        started = time.perf_counter()
        try:
            return original(**kwargs)
        finally:
            durations.append((time.perf_counter() - started) * 1000)

    def report() -> None:
        ordered = sorted(durations) or [0.0]
        picks = {p: ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] for p in (50, 90, 99, 100)}
        figures = ", ".join(f"p{p} {v:.1f}" for p, v in picks.items())
        print(f"trace: remember_request over {len(durations)} requests (ms): {figures}", flush=True)

    queries.remember_request = timed
    atexit.register(report)
    # The benchmark stops the server with SIGTERM; exit normally so the report runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def main() -> int:
    """Apply the named patches, then run the ircbot command line with the remaining arguments."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patch", action="append", choices=PATCHES, default=[])
    parser.add_argument("--workers", type=int, default=32, help="listener pool size for the executor patch")
    parser.add_argument("ircbot_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if "executor" in args.patch:
        patch_executor(args.workers)
    if "nodedupe" in args.patch:
        patch_nodedupe()
    if "lazyack" in args.patch:
        patch_lazyack()
    if "trace" in args.patch:
        patch_trace()
    from ircbot.cli import main as ircbot_main

    rest = args.ircbot_args[1:] if args.ircbot_args[:1] == ["--"] else args.ircbot_args
    return ircbot_main(rest)


if __name__ == "__main__":
    sys.exit(main())
