"""`ircbot demo`: a whole incident played against the built-in Slack emulator, no Slack account needed.

The incident runs on a simulated clock — an EDR alert at night, a declare from triage minutes later, a page
and its acknowledgement, containment hours in, resolution the next morning — so every duration and metric
it prints means something. It prints the incident channel once, then what each person saw alone (DMs,
answers only they saw, forms, their Home tab), and writes the postmortem.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from pathlib import Path

import yaml

from ircbot.app import IrcBot, build_app
from ircbot.demo_script import ALERT_TOKEN, START, DemoClock, Scene, play
from ircbot.domain.postmortem import latest_postmortem
from ircbot.emulator import SlackDriver, SlackEmulator
from ircbot.settings import Settings
from ircbot.shipped import shipped_path
from ircbot.store import queries
from ircbot.web import HttpServer

SIGNING_SECRET = "demo-signing-secret"
PEOPLE = {
    "U0DEMOALICE": ("alice", "Alice (security manager)", "alice@example.com", "Europe/Berlin"),
    "U0DEMOBOB": ("bob", "Bob (SOC analyst)", "bob@example.com", "America/New_York"),
    "U0DEMOCAROL": ("carol", "Carol (legal counsel)", "carol@example.com", "America/Chicago"),
    "U0DEMODAVE": ("dave", "Dave (communications)", "dave@example.com", "Europe/London"),
}
ALICE, BOB, CAROL, DAVE = PEOPLE
ONLY_THEM = frozenset({"response", "ephemeral", "ephemeral-edit"})  # what only one person saw in a channel


def _demo_config(folder: Path, *, triage: str, leadership: str) -> Path:
    """The shipped config with on-call entries pointing at the demo's people, and alert intake into triage."""
    roles = yaml.safe_load(shipped_path("roles.yaml").read_text())
    oncall = {"manager": [ALICE], "analyst": [BOB], "legal": [CAROL], "comms": [DAVE]}
    for key, role in roles["roles"].items():
        role.pop("oncall_group", None)
        role["oncall"] = oncall.get(key, [ALICE])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "roles.yaml").write_text(yaml.safe_dump(roles, sort_keys=False))
    escalation = yaml.safe_load(shipped_path("escalation.yaml").read_text())
    for policy in escalation["severities"].values():
        policy["tiers"] = [{"after": "0s", "notify": ["role:manager"]}]  # the manager on call is paged at once
        policy["repeat"] = 0
        policy["updates"] = {"every": "4h", "channel": None, "email": []}
    escalation["audiences"] = {"leadership": {"title": "Executive leadership", "email": [], "channel": leadership}}
    (folder / "escalation.yaml").write_text(yaml.safe_dump(escalation, sort_keys=False))
    (folder / "alerts.yaml").write_text(yaml.safe_dump({"triage_channel": triage, "rules": []}, sort_keys=False))
    return folder


def _readable(text: str, emulator: SlackEmulator) -> str:
    """Show mentions, dates and channel links the way Slack displays them."""
    people = {user_id: person[0] for user_id, person in PEOPLE.items()}
    text = re.sub(r"<@(\w+)(?:\|[^>]*)?>", lambda m: "@" + people.get(m.group(1), m.group(1)), text)
    text = re.sub(r"<!date\^\d+\^[^|>]*\|([^>]*)>", r"\1", text)
    names: dict[str, str] = {str(c["id"]): str(c["name"]) for c in emulator.channels()}
    return re.sub(r"<#(\w+)(?:\|[^>]*)?>", lambda m: "#" + names.get(m.group(1), m.group(1)), text)


def run_demo(output: Path | None = None, keep: Path | None = None) -> int:
    """Run the scripted incident, print what each person saw, write the postmortem; returns an exit code."""
    workdir = keep or Path(tempfile.mkdtemp(prefix="ircbot-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    clock = DemoClock(START)
    emulator = SlackEmulator()
    emulator.clock = clock.epoch
    emulator.start()
    server: HttpServer | None = None
    bot: IrcBot | None = None
    quiet = logging.getLogger("ircbot")
    level, quiet.level = quiet.level, logging.CRITICAL  # the demo shows what people see, not the log
    try:
        for user_id, (name, real_name, email, tz) in PEOPLE.items():
            emulator.add_user(user_id, name, real_name=real_name, email=email, tz=tz)
        soc = emulator.add_channel("soc", members=list(PEOPLE))
        triage = emulator.add_channel("soc-triage", members=[ALICE, BOB], bot_member=True)
        leadership = emulator.add_channel("leadership", members=[ALICE], bot_member=True)
        database = workdir / "ircbot.db"
        settings = Settings.model_validate(
            {
                "SLACK_BOT_TOKEN": emulator.bot_token,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": emulator.base_url,
                "DATABASE_URL": f"sqlite:///{database}",
                "IRCBOT_CONFIG_DIR": str(_demo_config(workdir / "config", triage=triage, leadership=leadership)),
                "IRCBOT_ALERT_TOKEN": ALERT_TOKEN,
            }
        )
        bot = build_app(settings, clock=clock)
        server = HttpServer(bot, port=0, threads=4)
        url = server.start()
        scene = Scene(bot, SlackDriver(f"{url}/slack/events", SIGNING_SECRET, emulator), emulator, clock, url)
        people = {name: user_id for user_id, (name, *_rest) in PEOPLE.items()}
        channel = play(scene, people, soc, triage)
        print(_transcript(emulator, (triage, channel, leadership)))
        markdown = latest_postmortem(bot.services, incident_id=_incident_id(bot)) or ""
        target = output or Path.cwd() / "postmortem-INC-1.md"
        target.write_text(markdown, encoding="utf-8")
        calls = len([c for c in emulator.calls if c.method != "auth.test"])
        print(f"Demo finished: incident channel #{emulator.channel(channel)['name']}, {calls} Slack Web API calls.")
        print(f"Postmortem written to {target}")
        if keep is not None:
            print("The database and config are kept. Try next:")
            print(
                f"  DATABASE_URL=sqlite:///{database} IRCBOT_CONFIG_DIR={workdir / 'config'} ircbot stats --since 30d"
            )
            print(f"  DATABASE_URL=sqlite:///{database} ircbot postmortem INC-1")
            print(f"  DATABASE_URL=sqlite:///{database} ircbot verify INC-1")
        if emulator.violations:
            print("Emulator found Web API misuse:\n" + "\n".join(emulator.violations))
            return 1
        return 0
    finally:
        if server is not None:
            server.stop()
        if bot is not None:
            bot.close()
        emulator.stop()
        quiet.level = level
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


def _transcript(emulator: SlackEmulator, channels: tuple[str, ...]) -> str:
    """The triage, incident and leadership channels once each, then what each person saw alone."""
    out: list[str] = []
    for shown in channels:
        out.append(f"=== #{emulator.channel(shown)['name']} ===")
        for message in emulator.messages(shown):
            who = PEOPLE.get(str(message.get("user")), ("ircbot",))[0]
            stamp = f"{START.fromtimestamp(float(message['ts']), tz=START.tzinfo):%a %H:%M} UTC"
            body = _readable(emulator.message_text(message), emulator).replace("\n", "\n      ")
            out.append(f"{stamp} {who}: {body}")
        out.append("")
    for user_id, (_name, real_name, *_rest) in PEOPLE.items():
        alone = [s for s in emulator.seen_by(user_id) if not s.where.startswith("#") or s.kind in ONLY_THEM]
        if not alone:
            continue
        out.append(f"=== What {real_name} saw alone: DMs, answers only they saw, forms, Home ===")
        for seen in alone:
            stamp = f"{START.fromtimestamp(seen.at, tz=START.tzinfo):%a %H:%M} UTC"
            body = _readable(seen.text, emulator).replace("\n", "\n      ")
            out.append(f"{stamp} {seen.where} [{seen.kind}]\n      {body}")
        out.append("")
    return "\n".join(out)


def _incident_id(bot: IrcBot) -> int:
    with bot.db.transaction() as session:
        incident = queries.incident_by_number(session=session, number=1)
        assert incident is not None and incident.id is not None
        return incident.id
