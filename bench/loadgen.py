"""The clients of bench/ack.py, in a process of their own: POST pre-signed requests and time each one.

bench/ack.py runs the Slack emulator in its own process; ircbot calls it after every ack (response_url posts,
Web API calls) while the bare app never does. Were the clients threads of that process, the emulator's work
would delay ircbot's timed requests and not the bare app's. Here the clients share a process with nothing.

Reads one JSON object on stdin: {"url", "concurrency", "warmup": [request...], "requests": [request...]}, each
request {"body": str, "headers": {...}}; sends the warm-up, then the timed requests, from `concurrency` threads
with no think time (a new connection per request, as Slack opens), and writes one JSON object on stdout:
{"samples": [[sent, elapsed_s, status, error], ...], "cpu_s": CPU of the timed part, "wall_s": its wall time}.
`sent` is time.monotonic(), which on Linux is comparable across processes.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

Sample = tuple[float, float, int, str | None]


def post(url: str, request: dict[str, Any], timeout: float = 30) -> Sample:
    """POST one request; a refused or dropped connection is an error to count, not a crash."""
    data = request["body"].encode()
    sent = time.monotonic()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, request["headers"]), timeout=timeout) as resp:
            resp.read()
            return sent, time.monotonic() - sent, resp.status, None
    except urllib.error.HTTPError as err:
        with err:
            body = err.read().decode(errors="replace")
        return sent, time.monotonic() - sent, err.code, f"HTTP {err.code}: {body[:100]}"
    except Exception as exc:
        return sent, time.monotonic() - sent, 0, repr(exc)


def fire(url: str, requests: list[dict[str, Any]], concurrency: int) -> list[Sample]:
    """Send every request from `concurrency` threads, in order of submission."""
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="client") as pool:
        return list(pool.map(lambda r: post(url, r), requests))


def main() -> None:
    job = json.load(sys.stdin)
    fire(job["url"], job["warmup"], job["concurrency"])
    cpu, started = time.process_time(), time.monotonic()
    samples = fire(job["url"], job["requests"], job["concurrency"])
    result = {"samples": samples, "cpu_s": time.process_time() - cpu, "wall_s": time.monotonic() - started}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
