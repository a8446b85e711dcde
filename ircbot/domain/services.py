"""The bundle of ports and resources every domain operation works with."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import jinja2

from ircbot.domain.policy import Config
from ircbot.domain.ports import (
    ChartDrawer,
    ChatPort,
    Clock,
    MailPort,
    NoMail,
    NoWebhooks,
    WakeUp,
    WebhookPort,
    system_clock,
)
from ircbot.store.db import Database
from ircbot.turns import Turns


def _no_wake(when: datetime) -> None:
    """Without a timer engine (the command line, unit tests) due times wait for the next run."""


@dataclass(frozen=True)
class Services:
    """Built once by the composition root; passed to commands and domain functions, never changed."""

    db: Database
    chat: ChatPort
    config: Config
    templates: jinja2.Environment
    clock: Clock = system_clock
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("ircbot"))
    mail: MailPort = field(default_factory=NoMail)
    webhooks: WebhookPort = field(default_factory=NoWebhooks)
    timeline_emoji: str = "pushpin"
    timezone: str = "UTC"  # the one zone postmortems state their times in
    wake: WakeUp = _no_wake
    draw_chart: ChartDrawer | None = None
    oob_chat: ChatPort | None = None  # the out-of-band room's platform (Matrix), when oob.yaml configures one
    turns: Turns = field(default_factory=Turns.ungated)  # the work after acknowledgements takes these
