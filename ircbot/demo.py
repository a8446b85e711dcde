"""`ircbot demo`: a whole incident played against the built-in Slack emulator, no Slack account needed."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from ircbot.app import IrcBot, build_app
from ircbot.domain.incidents import view
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
ALICE, BOB, CAROL, _DAVE = PEOPLE


def _demo_config(folder: Path) -> Path:
    """The shipped config with on-call entries pointing at the demo's people."""
    roles = yaml.safe_load(shipped_path("roles.yaml").read_text())
    oncall = {"manager": [ALICE], "analyst": ["bob@example.com"], "legal": [CAROL], "comms": ["dave@example.com"]}
    for key, role in roles["roles"].items():
        role.pop("oncall_group", None)
        role["oncall"] = oncall.get(key, [ALICE])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "roles.yaml").write_text(yaml.safe_dump(roles, sort_keys=False))
    escalation = yaml.safe_load(shipped_path("escalation.yaml").read_text())
    for policy in escalation["severities"].values():
        policy["tiers"] = []  # the demo workspace has none of the shipped escalation targets
        policy.pop("updates", None)
    escalation["severities"]["sev1"]["tiers"] = [{"after": "0s", "notify": ["role:analyst"]}]
    escalation["severities"]["sev1"]["repeat"] = 0
    escalation.pop("audiences", None)
    (folder / "escalation.yaml").write_text(yaml.safe_dump(escalation, sort_keys=False))
    return folder


def _readable(text: str, emulator: SlackEmulator) -> str:
    """Show mentions and channel links the way Slack displays them."""
    people = {user_id: person[0] for user_id, person in PEOPLE.items()}
    text = re.sub(r"<@(\w+)(?:\|[^>]*)?>", lambda m: "@" + people.get(m.group(1), m.group(1)), text)
    text = re.sub(r"<!date\^\d+\^[^|>]*\|([^>]*)>", r"\1", text)
    names: dict[str, str] = {str(c["id"]): str(c["name"]) for c in emulator.channels()}
    return re.sub(r"<#(\w+)(?:\|[^>]*)?>", lambda m: "#" + names.get(m.group(1), m.group(1)), text)


def run_demo(output: Path | None = None) -> int:
    """Run the scripted incident, print what each person saw, write the postmortem; returns an exit code."""
    workdir = Path(tempfile.mkdtemp(prefix="ircbot-demo-"))
    emulator = SlackEmulator()
    emulator.start()
    server: HttpServer | None = None
    bot: IrcBot | None = None
    try:
        for user_id, (name, real_name, email, tz) in PEOPLE.items():
            emulator.add_user(user_id, name, real_name=real_name, email=email, tz=tz)
        general = emulator.add_channel("soc", members=list(PEOPLE))
        settings = Settings.model_validate(
            {
                "SLACK_BOT_TOKEN": emulator.bot_token,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": emulator.base_url,
                "DATABASE_URL": f"sqlite:///{workdir / 'ircbot.db'}",
                "IRCBOT_CONFIG_DIR": str(_demo_config(workdir / "config")),
            }
        )
        bot = build_app(settings)
        bot.start()
        server = HttpServer(bot, port=0, threads=4)
        driver = SlackDriver(f"{server.start()}/slack/events", SIGNING_SECRET, emulator)
        channel = _play(driver, emulator, bot, general)
        print(_readable(emulator.transcript(), emulator))
        incident_id = _incident_id(bot)
        markdown = latest_postmortem(bot.services, incident_id=incident_id) or ""
        target = output or Path.cwd() / "postmortem-INC-1.md"
        target.write_text(markdown, encoding="utf-8")
        calls = len([c for c in emulator.calls if c.method != "auth.test"])
        print(f"Demo finished: incident channel #{emulator.channel(channel)['name']}, {calls} Slack Web API calls.")
        print(f"Postmortem written to {target}")
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
        shutil.rmtree(workdir, ignore_errors=True)


def _incident_id(bot: IrcBot) -> int:
    with bot.db.transaction() as session:
        incident = queries.incident_by_number(session=session, number=1)
        assert incident is not None and incident.id is not None
        return incident.id


def _play(driver: SlackDriver, emulator: SlackEmulator, bot: IrcBot, general: str) -> str:
    """The scripted response: declare, staff it, work the checklists, note, resolve."""
    declared = driver.slash(ALICE, general, "declare Ransomware on FS01 sev1 --playbook ransomware")
    channel = re.findall(r"<#(C\w+)", declared.responses[-1]["text"])[0]
    page = _wait_for_page(emulator, BOB)  # sev1 pages the analyst on call at once
    driver.click(BOB, str(page["channel"]), str(page["ts"]), "page_ack")
    driver.slash(ALICE, channel, f"assign analyst <@{BOB}|bob>")
    driver.slash(ALICE, channel, "page legal")
    driver.slash(BOB, channel, "check 1")
    welcome = next(m for m in emulator.messages(channel) if m.get("blocks"))
    driver.click(BOB, channel, welcome["ts"], "checklist_toggle_2")
    driver.slash(ALICE, channel, "stage next")
    driver.slash(ALICE, channel, "stage next")  # refused: analysis has required items open
    incident_id = _incident_id(bot)
    while (current := view(bot.services, incident_id)).stage != "post-incident":
        for item in current.checklist:
            if item.required and not item.checked:
                driver.slash(BOB, channel, f"check {item.position}")
        if current.stage == "containment":
            driver.slash(BOB, channel, "note FS01 isolated via EDR; memory image taken (sha256 in case file 4411)")
        driver.slash(ALICE, channel, "stage next")
    driver.slash(ALICE, channel, "update Contained: FS01 isolated and rebuilt; no other host encrypted")
    driver.slash(BOB, channel, "action Enforce MFA on the VPN before re-enabling remote access")
    driver.slash(ALICE, channel, "status")
    driver.slash(ALICE, channel, "resolve FS01 rebuilt and restored from immutable backups; no exfiltration found")
    return channel


def _wait_for_page(emulator: SlackEmulator, user: str, timeout: float = 15.0) -> dict[str, object]:
    """The escalation page DM'd to `user`, once the escalation runner has sent it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        im = emulator.im_channel(user)
        page = next((m for m in emulator.messages(im) if m.get("blocks")), None) if im else None
        if page is not None:
            return {**page, "channel": im}
        time.sleep(0.05)
    raise RuntimeError(f"no escalation page reached {user} within {timeout:.0f} s")
