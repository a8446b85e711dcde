"""The demo's incident, scene by scene, on a simulated clock: a night-time EDR alert to a resolution next morning."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from ircbot.app import IrcBot
from ircbot.emulator import SlackDriver, SlackEmulator
from ircbot.store import queries
from ircbot.store.models import HomeViewer, Incident, OutboxMessage

START = datetime(2026, 11, 28, 2, 47, tzinfo=UTC)  # a Saturday, 03:47 in Berlin, 21:47 in New York
ALERT_TOKEN = "demo-alert-token"


class DemoClock:
    """Time that moves only when the script moves it (a microsecond per reading, so readings stay ordered)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(microseconds=1)
        return self.now

    def epoch(self) -> float:
        return self().timestamp()


class Scene:
    """What the script needs: the bot, Slack (emulated), the clock, and a way to let time pass."""

    def __init__(self, bot: IrcBot, driver: SlackDriver, emulator: SlackEmulator, clock: DemoClock, url: str):
        self.bot, self.driver, self.emulator, self.clock, self.url = bot, driver, emulator, clock, url

    def at(self, hours: float = 0, minutes: float = 0) -> None:
        """Let the clock run to START + the given time, firing every timer on the way when it falls due."""
        target = START + timedelta(hours=hours, minutes=minutes)
        self.settle()
        while (due := self._next_due()) is not None and due <= target:
            self.clock.now = max(self.clock.now, due)
            self.bot.runner.run_once()
            self.settle()
        self.clock.now = max(self.clock.now, target)
        self.bot.runner.run_once()
        self.settle()

    def settle(self) -> None:
        """Wait for the work the bot does after each acknowledgement (real threads, simulated time)."""
        time.sleep(0.15)

    def slash(self, user: str, channel: str, text: str) -> str:
        result = self.driver.slash(user, channel, text)
        self.settle()
        return result.text

    def alert(self, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"{self.url}/alerts/generic",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {ALERT_TOKEN}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()

    def message(self, channel: str, find: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        for _ in range(100):
            found = next((m for m in self.emulator.messages(channel) if find(m)), None)
            if found is not None:
                return found
            self.settle()
        raise RuntimeError(f"the demo waited in vain for a message in {channel}")

    def _next_due(self) -> datetime | None:
        with self.bot.db.transaction() as session:
            times = list(queries.future_due_times(session=session, now=self.clock.now - timedelta(days=1)))
            retry = session.exec(select(OutboxMessage.next_attempt_at).where(OutboxMessage.status == "pending")).all()
            homes = session.exec(select(HomeViewer.due_at).where(col(HomeViewer.due_at).is_not(None))).all()
        pending = [t for t in [*times, *retry, *homes] if t is not None]
        return min(pending, default=None)


def play(scene: Scene, people: dict[str, str], soc: str, triage: str) -> str:
    """The response, as a team would run it; returns the incident channel."""
    alice, bob, carol, dave = (people[k] for k in ("alice", "bob", "carol", "dave"))
    s = scene
    s.alert({"title": "Port scan from the guest Wi-Fi", "severity": "low", "fingerprint": "ids-scan-77"})
    s.at(minutes=1)
    scan = s.message(triage, lambda m: "Port scan" in (m.get("text") or ""))
    s.driver.click(bob, triage, scan["ts"], "alert_dismiss", wait=False)
    s.settle()
    form = next(k for k, v in s.emulator.views.items() if v["callback_id"] == "alert_dismiss_modal")
    reason = {"reason": {"value": {"type": "plain_text_input", "value": "Scheduled scan by the network team"}}}
    s.driver.submit_view(bob, form, reason)
    s.at(minutes=4)
    s.alert(
        {
            "title": "Ransomware behaviour on FS01: mass file renames",
            "severity": "high",
            "fingerprint": "edr-fs01-4711",
            "started_at": (START - timedelta(minutes=17)).isoformat(),
            "description": "svch0st.exe renamed 4,200 files to *.lockbit; beacon to 185.220.101[.]4",
            "labels": {"host": "FS01", "vendor": "EDR"},
        }
    )
    s.at(minutes=11)
    card = s.message(triage, lambda m: "Ransomware behaviour" in (m.get("text") or ""))
    s.driver.click(bob, triage, card["ts"], "alert_declare")  # Bob declares it; he is the incident manager for now
    s.settle()
    channel = _incident_channel(s)
    s.at(minutes=14)
    page = s.message(s.emulator.im_channel(alice) or "", lambda m: bool(m.get("blocks")))
    s.driver.click(alice, str(s.emulator.im_channel(alice)), page["ts"], "page_ack")
    s.slash(bob, channel, f"assign manager <@{alice}|alice>")
    s.slash(alice, channel, f"assign analyst <@{bob}|bob>")
    s.slash(alice, channel, "severity sev1")
    s.at(minutes=25)
    s.slash(bob, channel, "note Beacon from FS01 to 185.220.101[.]4 every 60 s; dropper hash in EV-1")
    digest = "3f7a9c1e5b2d4f6081a9c3e5b7d9f1a2c4e6b8d0f2a4c6e8b0d2f4a6c8e0b2d4"
    s.slash(
        bob, channel, f'evidence add Memory image of FS01 --hash sha256:{digest} --source FS01 --location "Locker 3"'
    )
    s.at(minutes=32)
    s.slash(alice, channel, "decide Isolate FS01 from the network")
    decision = s.message(channel, lambda m: "Decision D-1" in s.emulator.message_text(m))
    s.driver.click(bob, channel, decision["ts"], "decision_approve")
    s.settle()
    _work_the_checklists(s, alice, bob, channel, until="containment")
    s.at(hours=1, minutes=40)
    s.slash(bob, channel, "contained")
    s.slash(bob, channel, "impact FS01 2026-11-28T02:30Z 2026-11-28T04:27Z")
    s.slash(alice, channel, "page legal")
    s.at(hours=2, minutes=10)
    s.slash(carol, channel, "clock start gdpr --aware 2026-11-28T04:00Z")
    s.slash(alice, channel, "page comms")
    s.slash(dave, channel, "update FS01 isolated; file shares read-only while we restore. Next update 08:00 UTC.")
    s.slash(alice, channel, "notify leadership")
    notice = next(m for m in reversed(s.emulator.ephemerals(alice)) if "Notice to" in (m.get("text") or ""))
    s.driver.click(alice, channel, notice["ts"], "notice_send")
    s.settle()
    s.driver.event({"type": "app_home_opened", "user": alice, "tab": "home", "channel": "D0HOME"}, event_id="EvHOME1")
    s.slash(bob, channel, "iocs")
    s.at(hours=6, minutes=15)  # the update cadence runs out overnight: a reminder
    s.slash(dave, channel, "update Restores from immutable backups under way; about 60% of shares back.")
    _work_the_checklists(s, alice, bob, channel, until="recovery")
    s.at(hours=10)
    s.slash(dave, channel, "update All shares restored and verified; FS01 rebuilt. Monitoring for 30 days.")
    _work_the_checklists(s, alice, bob, channel, until="post-incident")
    s.slash(bob, channel, "action Enforce MFA on the VPN before re-enabling remote access")
    s.at(hours=13)
    s.slash(dave, channel, "update Service normal. Post-incident review on Monday.")
    s.at(hours=22)  # the next morning in Berlin
    s.slash(carol, channel, "clock done gdpr BfDI-2026-11-0042")
    s.slash(alice, channel, "status")
    s.slash(alice, soc, "stats --since 30d")
    s.slash(alice, channel, "resolve FS01 rebuilt and restored from immutable backups; no exfiltration found")
    s.at(hours=22, minutes=5)
    return channel


def _work_the_checklists(s: Scene, alice: str, bob: str, channel: str, *, until: str) -> None:
    from ircbot.domain.incidents import view

    incident_id = _incident_id(s)
    while (current := view(s.bot.services, incident_id)).stage != until:
        for item in current.checklist:
            if item.required and not item.checked:
                s.slash(bob, channel, f"check {item.position}")
        s.slash(alice, channel, "stage next")
        s.clock.now += timedelta(minutes=7)


def _incident_id(s: Scene) -> int:
    with s.bot.db.transaction() as session:
        incident = queries.incident_by_number(session=session, number=1)
        if incident is None or incident.id is None:
            raise RuntimeError("the demo's incident was not declared")
        return incident.id


def _incident_channel(s: Scene) -> str:
    for _ in range(100):
        with s.bot.db.transaction() as session:
            found = session.exec(select(Incident).where(Incident.number == 1)).first()
        if found is not None and found.channel_id:
            return found.channel_id
        s.settle()
    raise RuntimeError("the demo's incident channel was not opened")


MENTION = re.compile(r"<@(\w+)(?:\|[^>]*)?>")
