"""The bundle of ports and resources every domain operation works with."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import jinja2

from ircbot.config import Config
from ircbot.domain.ports import ChatPort, Clock, system_clock
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
