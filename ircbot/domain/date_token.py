"""Times in the chat's markup: Slack's date token, which each reader's client shows in their own zone.

A plain data helper, so that what commands and the domain write (a reply, a clock's reminder) shows times the way
the Slack layer's own messages do: never a fixed "14:05 UTC" that half the channel has to convert. The
out-of-band room's renderer turns the token back into a UTC time.
"""

from __future__ import annotations

from datetime import UTC, datetime


def slack_date(when: datetime, fallback: str | None = None) -> str:
    """`<!date^…^{date_short_pretty} {time}|…>`: "Today 14:05" in the reader's zone and clock, "Nov 29 …" further off.

    The fallback is what a client that cannot render the token shows (and what a notification may show), so it
    names its zone: UTC unless the caller gives one already in the reader's zone. A time without a zone is read
    as UTC, as the store keeps times, never in the zone of the machine the bot runs on.
    """
    moment = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    shown = fallback if fallback is not None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    shown = shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "/")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{shown}>"
