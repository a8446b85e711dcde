"""The bundle of ports and resources every domain operation works with."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import jinja2

from ircbot.config import Config
from ircbot.domain.ports import ChatPort, Clock, MailPort, NoMail, system_clock
from ircbot.store.db import Database


@dataclass
class Services:
    """Built once by the composition root; passed to commands and domain functions."""

    db: Database
    chat: ChatPort
    config: Config
    templates: jinja2.Environment
    clock: Clock = system_clock
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("ircbot"))
    mail: MailPort = field(default_factory=NoMail)
    timeline_emoji: str = "pushpin"
    timezone: str = "UTC"  # the one zone postmortems state their times in
    # The scheduler sets this so a new due time wakes it up exactly then (the tick is the safety net).
    wake: Callable[[datetime], None] = field(default=lambda when: None)
