"""kill -9 at random points during declare bursts and escalations, with a slow Slack: nothing lost, nothing twice."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from ircbot.emulator import SlackDriver, SlackEmulator
from ircbot.store.db import Database
from ircbot.store.models import Incident, OutboxMessage
from tests.conftest import SIGNING_SECRET, serve_environment
from tests.factories import ALICE, BOB, CAROL, escalation_config, tier, write_config
from tests.processes import ServeProcess

pytestmark = pytest.mark.slow

KILLS = 10
DECLARES_PER_ROUND = 4
POLICY = escalation_config(sev1={"name": "Critical", "tiers": [tier("0s", f"user:{BOB}"), tier("1s", f"user:{CAROL}")]})


def settled(database_url: str) -> bool:
    """Every declare finished and nothing left to deliver."""
    db = Database(database_url)
    try:
        with db.transaction() as session:
            unfinished = session.exec(select(Incident).where(Incident.ready_at == None)).all()  # noqa: E711
            pending = session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
            return not unfinished and not pending
    finally:
        db.dispose()


def incidents(database_url: str) -> list[Incident]:
    db = Database(database_url)
    try:
        with db.transaction() as session:
            return list(session.exec(select(Incident)).all())
    finally:
        db.dispose()


def tags(emu: SlackEmulator, channel_id: str) -> list[str]:
    """The delivery keys of the bot's messages in a conversation."""
    return [
        str(m["metadata"]["event_payload"]["key"])
        for m in emu.messages(channel_id)
        if m.get("metadata", {}).get("event_type") == "ircbot_delivery"
    ]


def test_kill_9_loop_loses_nothing_and_does_nothing_twice(
    emulator: SlackEmulator, database_url: str, tmp_path: Path, serving: list[ServeProcess]
) -> None:
    emulator.latency = 0.05
    env = serve_environment(emulator, database_url, write_config(tmp_path / "config", escalation=POLICY))
    rng = random.Random(9)
    acked: dict[str, str] = {}  # title -> response_url, for every declare the bot acknowledged
    general = emulator.add_channel("soc", members=[ALICE])
    for round_ in range(KILLS):
        bot = ServeProcess(env)
        serving.append(bot)
        bot.wait_healthy()
        driver = SlackDriver(f"{bot.url}/slack/events", SIGNING_SECRET, emulator)
        first_ack = threading.Event()

        def send(title: str, driver: SlackDriver = driver, first_ack: threading.Event = first_ack) -> None:
            try:
                result = driver.slash(ALICE, general, f"declare {title} sev1", wait=False, timeout=5)
            except OSError:
                return  # killed before it answered: Slack tells the user the command failed
            if result.status == 200:
                acked[title] = result.response_url
                first_ack.set()

        senders = [threading.Thread(target=send, args=(f"Wiper r{round_} n{n}",)) for n in range(DECLARES_PER_ROUND)]
        for sender in senders:
            sender.start()
        first_ack.wait(timeout=30)  # however loaded the machine, kill while declares are under way
        time.sleep(rng.uniform(0.0, 1.2))
        bot.kill_hard()
        for sender in senders:
            sender.join()
    survivor = ServeProcess(env)
    serving.append(survivor)
    survivor.wait_healthy()
    deadline = time.monotonic() + 200  # a send cut short by a kill is leased for two minutes
    while not settled(database_url):
        assert time.monotonic() < deadline, "declares or deliveries left unfinished"
        time.sleep(0.5)
    time.sleep(2)  # the second tier, one second after the last page

    found = incidents(database_url)
    assert len(acked) >= KILLS, "every round had a declare under way when it was killed"
    by_channel = {i.channel_id: i for i in found}
    orphans = [c["name"] for c in emulator.channels() if c["name"].startswith("inc-") and c["id"] not in by_channel]
    assert orphans == [], "every channel the bot made belongs to an incident"
    for incident in found:
        assert incident.channel_id and incident.card_ts, f"{incident.key} is whole"
        cards = [m for m in emulator.messages(incident.channel_id) if m["text"].startswith(f"{incident.key}: ")]
        assert len(cards) == 1, f"{incident.key} has one card, not {len(cards)}"
    dms: dict[str, list[dict[str, Any]]] = {}
    for user in (ALICE, BOB, CAROL):
        im = emulator.im_channel(user)
        dms[user] = emulator.messages(im) if im else []
        twice = [key for key, n in Counter(tags(emulator, im)).items() if n > 1] if im else []
        assert twice == [], f"messages delivered twice to {user}"
    for user in (BOB, CAROL):
        paged = Counter(
            next((i.key for i in found if str(i.channel_id) in emulator.message_text(m)), "?") for m in dms[user]
        )
        assert paged == {i.key: 1 for i in found}, f"{user} is paged once for every incident"
    told = " ".join(emulator.message_text(m) for m in dms[ALICE])
    for title, response_url in acked.items():
        answered = any(title in str(p) for p in emulator.responses(response_url))
        assert answered or f"declare of *{title}*" in told, f"the declarer of {title!r} was never told the outcome"
    assert not emulator.violations
