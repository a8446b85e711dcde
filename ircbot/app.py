"""The composition root: `build_app(settings)` wires config, database, Slack and listeners."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import jinja2
from dateutil import tz
from slack_bolt import App
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient

from ircbot.adapters.smtp import mail_from_url
from ircbot.adapters.webhooks import HttpWebhooks
from ircbot.config import load_config
from ircbot.domain.identities import remember_oncall
from ircbot.domain.metrics import Metrics
from ircbot.domain.policy import Config
from ircbot.domain.ports import Clock, system_clock
from ircbot.domain.services import Services
from ircbot.errors import ConfigError
from ircbot.oob.matrix_chat import MatrixChat
from ircbot.oob.room import RoomListener
from ircbot.oob.venue import VenueChat
from ircbot.scheduling.runner import EscalationRunner, new_alarm
from ircbot.settings import Settings
from ircbot.slack.client import build_web_client
from ircbot.slack.gateway import SlackChat
from ircbot.slack.identity import BotIdentity, authorizer
from ircbot.slack.listeners import register
from ircbot.store import channel_copy
from ircbot.store.db import Database
from ircbot.telemetry import Telemetry
from ircbot.turns import Turns, off_turn


@dataclass
class IrcBot:
    """A wired ircbot: everything `serve`, the demo and tests need, built once."""

    settings: Settings
    config: Config
    db: Database
    client: WebClient
    services: Services
    bolt: App
    runner: EscalationRunner
    identity: BotIdentity
    telemetry: Telemetry
    room_listener: RoomListener | None = None  # the out-of-band rooms' commands, when oob.yaml sets a homeserver

    def ready(self) -> bool:
        """True when the database answers (config was validated when the app was built)."""
        try:
            self.db.ping()
        except Exception:  # any failure means not ready; /healthz reports it as 503
            return False
        return True

    def start(self) -> None:
        """Start the timer engine (which also resumes declares a crash cut short); ask Slack who is who."""
        with self.db.transaction() as session:  # message events may have been missed while nothing ran
            channel_copy.distrust_channel_copies(session=session)
        self.runner.start()
        if self.room_listener is not None:
            self.room_listener.start()
        threading.Thread(target=self._look_up, name="ircbot-lookup", daemon=True).start()

    def _look_up(self) -> None:
        # Ahead of any request and any page, so that a Slack outage later finds both remembered.
        if not self.identity.learn():
            self.services.log.warning("Slack could not be asked who the bot is yet; asking again on requests")
        remember_oncall(self.services)

    def close(self) -> None:
        """Stop the escalation runner and release pooled database connections."""
        self.runner.stop()
        if self.room_listener is not None:
            self.room_listener.stop()
        self.db.dispose()


def _not_about_the_env_token(record: logging.LogRecord) -> bool:
    """Bolt reads SLACK_BOT_TOKEN itself and warns that the client given wins; the client is token-less on
    purpose (`authorize` gives each request its token), so the warning is noise at every start."""
    return record.getMessage() != warning_client_prioritized_and_token_skipped()


def draw_monthly_chart(metrics: Metrics) -> bytes:
    """The metrics chart as PNG; matplotlib is imported on first use, since it takes a while."""
    from ircbot.adapters.charts import monthly_chart

    return monthly_chart(metrics).png


def template_environment(config: Config) -> jinja2.Environment:
    """Jinja2 for Markdown and text output: the config folder's templates/ first, then the shipped ones."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in config.template_dirs]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def build_app(
    settings: Settings, *, clock: Clock = system_clock, socket_mode: bool = False, tick_seconds: float = 1.0
) -> IrcBot:
    """Validate config, migrate the database, and wire Slack; raises ConfigError on bad config."""
    config = load_config(settings.config_dir)
    if tz.gettz(settings.timezone) is None:
        raise ConfigError(
            [f"IRCBOT_TIMEZONE: unknown time zone {settings.timezone!r}; write e.g. UTC or Europe/Berlin"]
        )
    db = Database(settings.database_url)
    db.migrate()
    client = build_web_client(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=settings.slack_timeout
    )
    alarm = new_alarm(clock)
    telemetry = Telemetry(db, clock)
    # On SQLite the process's transactions take turns already and its statements run outside the interpreter's
    # lock: a turn there cost a tenth of the declares a second and made acknowledgements no faster.
    turns = Turns.ungated() if db.is_sqlite else Turns()
    mail = off_turn(mail_from_url(settings.smtp_url), turns)
    slack = SlackChat(client, telemetry, turns)
    room = off_turn(MatrixChat(config.oob, db), turns) if config.oob.enabled else None
    services = Services(
        db=db,
        chat=slack if room is None else VenueChat(slack, room, db, mail),
        oob_chat=room,
        turns=turns,
        config=config,
        templates=template_environment(config),
        clock=clock,
        log=logging.getLogger("ircbot"),
        mail=mail,
        webhooks=off_turn(HttpWebhooks(), turns),
        timeline_emoji=settings.timeline_emoji.strip(":"),
        timezone=settings.timezone,
        wake=alarm,
        draw_chart=draw_monthly_chart,
    )
    identity = BotIdentity(client)
    bolt_log = logging.getLogger("ircbot.bolt")
    bolt_log.addFilter(_not_about_the_env_token)
    bolt = App(
        # Bolt copies this client for each request and gives it the token `authorize` found; authorizing is
        # ours, not Bolt's auth.test on the first request, which fails every request while Slack is unreachable.
        client=build_web_client(token=None, base_url=settings.slack_api_url, timeout=settings.slack_timeout),
        authorize=authorizer(identity),
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=not socket_mode,
        # Listeners ack synchronously and hand their work to Bolt's executor (slack/listeners.py).
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(max_workers=16, thread_name_prefix="ircbot-work"),
        logger=bolt_log,
    )
    register(bolt, services, telemetry)
    runner = EscalationRunner(services, alarm, tick_seconds=tick_seconds)
    return IrcBot(
        settings=settings,
        config=config,
        db=db,
        client=client,
        services=services,
        bolt=bolt,
        runner=runner,
        identity=identity,
        telemetry=telemetry,
        room_listener=RoomListener(services, room) if room is not None else None,
    )
