"""Indicators of compromise: added by hand, found in notes, pinned messages and alerts, listed with their TLP."""

from __future__ import annotations

from collections.abc import Callable

from ircbot.domain.indicators import list_indicators
from tests.conftest import Harness
from tests.factories import BOB, MALLORY
from tests.scenario import events, incident
from tests.test_alerts import post

SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def stored(h: Harness) -> list[tuple[str, str, str, list[str]]]:
    found = incident(h)
    assert found.id is not None
    return [(i.type, i.value, i.tlp, i.seen_in) for i in list_indicators(h.bot.services, incident_id=found.id)]


def test_ioc_add_refangs_infers_the_type_and_defaults_to_red_in_a_private_incident(harness: Harness) -> None:
    _, channel = harness.declare()
    reply = harness.slash("ioc add hxxps://login-micros0ft[.]com/reset?u=1", channel=channel)
    assert "added indicator url `https://login-micros0ft.com/reset?u=1` (TLP:RED)" in reply.text
    harness.slash("ioc add 10.0.0.5 --tlp amber+strict", channel=channel)  # private addresses: by hand only
    harness.slash(f"ioc add {SHA256.upper()}", channel=channel)
    harness.slash("ioc add invoice.pdf.exe --type file --tlp GREEN", channel=channel)
    again = harness.slash("ioc add https://login-micros0ft.com/reset?u=1 --type url", channel=channel)
    assert stored(harness) == [
        ("url", "https://login-micros0ft.com/reset?u=1", "red", ["added by hand"]),
        ("ip", "10.0.0.5", "amber+strict", ["added by hand"]),
        ("sha256", SHA256, "red", ["added by hand"]),
        ("file", "invoice.pdf.exe", "green", ["added by hand"]),
    ]
    assert "is already recorded in this incident" in again.text
    assert len(events(harness, kind="ioc_added")) == 4


def test_indicators_in_notes_and_pinned_messages_are_found_once_and_private_ranges_skipped(harness: Harness) -> None:
    _, channel = harness.declare("Phishing wave --public sev3")
    harness.slash("note C2 at 45.77.1[.]9 and hxxp://evil-cdn[.]net/p.js; lateral from 10.1.2.3", channel=channel)
    harness.slash("note again 45.77.1.9, see bob[@]evil-cdn[.]net", channel=channel)
    message = harness.emulator.post(channel, user=BOB, text=f"dropper sha256 {SHA256} from 45[.]77[.]1[.]9")
    pin = {
        "type": "pin_added",
        "user": BOB,
        "channel_id": channel,
        "item": {"type": "message", "channel": channel, "message": {"ts": message["ts"], "text": message["text"]}},
    }
    harness.driver.event(pin, event_id="Ev0PINIOC")
    harness.wait_for(lambda: events(harness, kind="captured"))
    assert stored(harness) == [
        ("ip", "45.77.1.9", "amber", ["note", "pinned message"]),
        ("url", "http://evil-cdn.net/p.js", "amber", ["note"]),
        ("email", "bob@evil-cdn.net", "amber", ["note"]),
        ("sha256", SHA256, "amber", ["pinned message"]),
    ]
    listing = harness.slash("iocs", channel=channel).text
    assert (
        "*Indicators (4)*" in listing and "ip `45.77.1.9` — TLP:AMBER" in listing and "note, pinned message" in listing
    )
    assert "10.1.2.3" not in listing
    assert "first seen <!date^" in listing and "^{date_short_pretty} {time}|" in listing, "in each reader's zone"


def test_indicators_in_an_alert_are_recorded_with_the_incident_it_opens(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(alerts={"rules": [{"when": {"severity": "critical"}, "declare": {"severity": "sev1"}}]})
    alert = {
        "title": "Beacon to 185.220.101[.]4 from FS01",
        "severity": "critical",
        "fingerprint": "edr-4711",
        "description": "Process svch0st.exe contacted update-check[.]top",
        "labels": {"host": "FS01", "console_url": "https://edr.vendor-console.com/alerts/4711"},
    }
    assert post(h, "generic", alert).status_code == 202
    h.run_timers()
    assert [(t, v, seen) for t, v, _, seen in stored(h)] == [
        ("ip", "185.220.101.4", ["alert from generic"]),
        ("domain", "update-check.top", ["alert from generic"]),
    ], "the sender's own console link is not an indicator"


def test_ioc_names_the_problem_with_bad_input_and_outsiders_see_nothing(harness: Harness) -> None:
    _, channel = harness.declare()
    assert "Say `ioc add <value>`" in harness.slash("ioc", channel=channel).text
    assert "Say `ioc add <value>`" in harness.slash("ioc remove 1.2.3.4", channel=channel).text
    assert "one indicator at a time" in harness.slash("ioc add 1.2.3.4 5.6.7.8", channel=channel).text
    assert "is not a type; types: ip, domain" in harness.slash("ioc add x --type cve", channel=channel).text
    assert "not a TLP 2.0 level" in harness.slash("ioc add 1.2.3.4 --tlp white", channel=channel).text
    bad_hash = harness.slash("ioc add abc --type sha256", channel=channel).text
    assert "a SHA-256 is 64 hexadecimal characters (got 3)" in bad_hash and "ioc add <value>" in bad_hash
    assert "Cannot tell what kind of indicator" in harness.slash("ioc add notes.txt", channel=channel).text
    assert "No indicators yet" in harness.slash("iocs", channel=channel).text
    harness.slash("ioc add 45.77.1.9", channel=channel)
    assert "no incident INC-1 that you can see" in harness.slash("INC-1 iocs", user=MALLORY).text
    assert "no incident INC-1 that you can see" in harness.slash("INC-1 ioc add 1.1.1.1", user=MALLORY).text
    assert len(stored(harness)) == 1
