"""STIX 2.1 and CSV exports of an incident's indicators: valid for the OASIS validator, TLP 2.0 marked and capped."""

from __future__ import annotations

import csv
import io
import json
import socket
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from stix2validator import ValidationOptions, validate_string

from ircbot.adapters.stix import ExportIncident, ExportIndicator, allowed, csv_text, stix_bundle

DECLARED = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
NOW = datetime(2024, 5, 2, 17, 0, tzinfo=UTC)
ORGANISATION = "Example Corp"
SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
SHA1 = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
MD5 = "098f6bcd4621d373cade4e832627b4f6"

# The official TLP 2.0 marking definitions, as OASIS publishes them in oasis-open/cti-stix-common-objects.
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_MARKINGS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
UNSHAREABLE_AT_GREEN = {TLP2_MARKINGS["amber"], TLP2_MARKINGS["amber+strict"], TLP2_MARKINGS["red"]}
OFFICIAL = {"marking-definition", "extension-definition"}
# Our ids are uuid5, so that a re-export names the same objects; the validator's best practice asks for uuid4.
VALIDATION = ValidationOptions(version="2.1", strict=True, disabled="uuid-check")


def incident(**changes: Any) -> ExportIncident:
    base = ExportIncident(
        key="INC-7",
        title="Credential phishing against finance",
        severity="sev2",
        declared_at=DECLARED,
        detected_at=DECLARED - timedelta(minutes=40),
        resolved_at=None,
        tlp="green",
        summary="Finance staff received a fake sign-in page.",
    )
    return replace(base, **changes)


def ioc(kind: str, value: str, pattern: str, tlp: str = "green", **changes: Any) -> ExportIndicator:
    base = ExportIndicator(
        type=kind,
        value=value,
        pattern=pattern,
        tlp=tlp,
        first_seen=DECLARED + timedelta(minutes=5),
        seen_in=("note", "pinned message"),
        added_by="U0ALICE",
    )
    return replace(base, **changes)


EVERY_TYPE = (
    ioc("ip", "203.0.113.9", "[ipv4-addr:value = '203.0.113.9']", "clear", seen_in=("alert",)),
    ioc("ip", "2001:db8::1", "[ipv6-addr:value = '2001:db8::1']"),
    ioc("domain", "evil.example.com", "[domain-name:value = 'evil.example.com']", "amber"),
    ioc("url", "https://evil.example.com/login", "[url:value = 'https://evil.example.com/login']", "amber+strict"),
    ioc("sha256", SHA256, f"[file:hashes.'SHA-256' = '{SHA256}']", "red", seen_in=("added by hand",)),
    ioc("sha1", SHA1, f"[file:hashes.'SHA-1' = '{SHA1}']", seen_in=()),
    ioc("md5", MD5, f"[file:hashes.MD5 = '{MD5}']", added_by=None),
    ioc("email", "billing@evil.example.com", "[email-addr:value = 'billing@evil.example.com']"),
    ioc("file", "invoice.pdf.exe", "[file:name = 'invoice.pdf.exe']", "amber"),
)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No connection leaves the process: the validator must work from the schemas it ships."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("this test runs offline")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def export(indicators: Sequence[ExportIndicator] = EVERY_TYPE, **options: Any) -> dict[str, Any]:
    options = {"organisation": ORGANISATION, "now": NOW, **options}
    return json.loads(stix_bundle(options.pop("incident", incident()), indicators, **options))


def of_type(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in bundle["objects"] if obj["type"] == kind]


def assert_valid(text: str) -> None:
    results = validate_string(text, VALIDATION)
    assert results.is_valid, "\n".join(str(error) for error in results.errors)


@pytest.mark.usefixtures("offline")
def test_the_network_guard_refuses_connections() -> None:
    with pytest.raises(OSError, match="offline"):
        socket.create_connection(("192.0.2.1", 443), timeout=1)


@pytest.mark.usefixtures("offline")
@pytest.mark.parametrize("max_tlp", ["red", "amber", "green", "clear"])
def test_a_bundle_with_every_indicator_type_passes_the_oasis_validator(max_tlp: str) -> None:
    assert_valid(stix_bundle(incident(tlp="amber"), EVERY_TYPE, organisation=ORGANISATION, max_tlp=max_tlp, now=NOW))


def test_the_bundle_carries_one_indicator_per_ioc_with_its_pattern_and_first_sighting() -> None:
    indicators = of_type(export(), "indicator")
    assert [(i["name"], i["pattern"]) for i in indicators] == [(x.value, x.pattern) for x in EVERY_TYPE]
    first = indicators[0]
    assert first["pattern_type"] == "stix"
    assert first["valid_from"] == "2024-05-01T09:35:00Z"
    assert first["indicator_types"] == ["malicious-activity"]
    assert first["labels"] == ["seen-in-alert"]
    assert first["description"] == "Seen during INC-7 (in alert)."
    assert indicators[1]["labels"] == ["seen-in-note", "seen-in-pinned-message"]


def test_the_tlp_markings_are_the_official_tlp_2_0_objects() -> None:
    bundle = export()
    markings = {obj["id"]: obj for obj in of_type(bundle, "marking-definition")}
    assert set(markings) == set(TLP2_MARKINGS.values())
    for level, marking_id in TLP2_MARKINGS.items():
        assert markings[marking_id] == {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": marking_id,
            "created": "2022-10-01T00:00:00.000Z",
            "name": f"TLP:{level.upper()}",
            "extensions": {TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level}},
        }
    (extension,) = of_type(bundle, "extension-definition")
    assert extension["id"] == TLP2_EXTENSION
    assert extension["extension_types"] == ["property-extension"]


def test_every_object_but_the_official_definitions_is_marked_and_signed_by_the_organisation() -> None:
    bundle = export()
    (identity,) = of_type(bundle, "identity")
    assert (identity["name"], identity["identity_class"]) == (ORGANISATION, "organization")
    defined = {obj["id"] for obj in of_type(bundle, "marking-definition")}
    ours = [obj for obj in bundle["objects"] if obj["type"] not in OFFICIAL]
    assert {obj["type"] for obj in ours} == {"identity", "indicator", "grouping"}
    for obj in ours:
        assert obj.get("object_marking_refs"), obj["id"]
        assert set(obj["object_marking_refs"]) <= defined, obj["id"]
        assert obj["created_by_ref"] == identity["id"], obj["id"]


def test_each_indicator_carries_its_own_tlp() -> None:
    indicators = of_type(export(), "indicator")
    assert [i["object_marking_refs"] for i in indicators] == [[TLP2_MARKINGS[x.tlp]] for x in EVERY_TYPE]


def test_ids_are_the_same_in_every_export_of_the_same_incident() -> None:
    first = stix_bundle(incident(), EVERY_TYPE, organisation=ORGANISATION, now=NOW)
    assert stix_bundle(incident(), EVERY_TYPE, organisation=ORGANISATION, now=NOW) == first
    later = export(now=NOW + timedelta(days=3))
    assert [obj["id"] for obj in later["objects"]] == [obj["id"] for obj in json.loads(first)["objects"]]
    elsewhere = export(incident=incident(key="INC-8"))
    assert {i["id"] for i in of_type(elsewhere, "indicator")}.isdisjoint(i["id"] for i in of_type(later, "indicator"))


def test_max_tlp_green_leaves_out_everything_amber_or_red() -> None:
    text = stix_bundle(incident(tlp="amber"), EVERY_TYPE, organisation=ORGANISATION, max_tlp="green", now=NOW)
    bundle = json.loads(text)
    assert [i["name"] for i in of_type(bundle, "indicator")] == [
        x.value for x in EVERY_TYPE if x.tlp in ("clear", "green")
    ]
    assert not UNSHAREABLE_AT_GREEN & {obj["id"] for obj in bundle["objects"]}
    for obj in bundle["objects"]:
        assert not UNSHAREABLE_AT_GREEN & set(obj.get("object_marking_refs", ())), obj["id"]
    assert "https://evil.example.com/login" not in text and "invoice.pdf.exe" not in text
    assert "amber" not in text.lower()


def test_an_incident_above_max_tlp_is_exported_as_its_key_alone() -> None:
    text = stix_bundle(incident(tlp="amber"), EVERY_TYPE, organisation=ORGANISATION, max_tlp="green", now=NOW)
    (grouping,) = of_type(json.loads(text), "grouping")
    assert grouping["name"] == "INC-7"
    assert "description" not in grouping
    assert grouping["object_marking_refs"] == [TLP2_MARKINGS["green"]]
    assert "phishing" not in text and "sign-in page" not in text


def test_the_grouping_is_as_restricted_as_the_most_restricted_thing_it_ties_together() -> None:
    (amber_ioc,) = of_type(export([EVERY_TYPE[0], EVERY_TYPE[2]]), "grouping")
    assert amber_ioc["object_marking_refs"] == [TLP2_MARKINGS["amber"]]
    (amber_incident,) = of_type(export(EVERY_TYPE[:2], incident=incident(tlp="amber")), "grouping")
    assert amber_incident["object_marking_refs"] == [TLP2_MARKINGS["amber"]]
    assert amber_incident["name"] == "INC-7: Credential phishing against finance"
    assert amber_incident["description"].endswith("Finance staff received a fake sign-in page.")
    assert amber_incident["context"] == "suspicious-activity"


@pytest.mark.usefixtures("offline")
def test_with_no_indicator_to_share_the_grouping_refers_to_the_identity() -> None:
    text = stix_bundle(incident(tlp="red"), EVERY_TYPE[1:], organisation=ORGANISATION, max_tlp="clear", now=NOW)
    assert_valid(text)
    bundle = json.loads(text)
    assert of_type(bundle, "indicator") == []
    (identity,) = of_type(bundle, "identity")
    (grouping,) = of_type(bundle, "grouping")
    assert grouping["object_refs"] == [identity["id"]]
    assert grouping["object_marking_refs"] == [TLP2_MARKINGS["clear"]]


def test_an_indicator_listed_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        export([EVERY_TYPE[0], replace(EVERY_TYPE[0], tlp="green")])


def test_the_csv_has_one_row_per_shareable_indicator() -> None:
    rows = list(csv.reader(io.StringIO(csv_text(incident(), EVERY_TYPE, max_tlp="green"))))
    assert rows[0] == ["incident", "type", "value", "tlp", "first_seen", "seen_in", "added_by"]
    assert [row[2] for row in rows[1:]] == [x.value for x in EVERY_TYPE if x.tlp in ("clear", "green")]
    assert rows[2] == ["INC-7", "ip", "2001:db8::1", "green", "2024-05-01T09:35:00Z", "note; pinned message", "U0ALICE"]
    assert (rows[3][5], rows[4][6]) == ("", "")  # the sha1 was seen nowhere in particular, the md5 added by nobody


@pytest.mark.parametrize("value", ["=cmd()", "+1+cmd()", "-2+cmd()", "@SUM(A1)", "\t=cmd()", "\r=cmd()"])
def test_csv_defuses_cells_a_spreadsheet_would_run_as_formulas(value: str) -> None:
    hostile = ioc("url", value, "[url:value = 'https://evil.example.com/']", added_by=value, seen_in=(value,))
    text = csv_text(incident(), [hostile])
    (row,) = list(csv.reader(io.StringIO(text)))[1:]
    assert (row[2], row[5], row[6]) == (f"'{value}", f"'{value}", f"'{value}")


def test_csv_leaves_ordinary_values_alone() -> None:
    (row,) = list(csv.reader(io.StringIO(csv_text(incident(), EVERY_TYPE[3:4]))))[1:]
    assert row[2] == "https://evil.example.com/login"


@pytest.mark.parametrize("bad", ["white", "purple", "", "amber-strict"])
def test_an_unknown_max_tlp_is_refused_naming_the_valid_levels(bad: str) -> None:
    levels = "clear, green, amber, amber\\+strict, red"
    with pytest.raises(ValueError, match=levels):
        stix_bundle(incident(), EVERY_TYPE, organisation=ORGANISATION, max_tlp=bad, now=NOW)
    with pytest.raises(ValueError, match=levels):
        csv_text(incident(), EVERY_TYPE, max_tlp=bad)
    with pytest.raises(ValueError, match=levels):
        allowed("green", bad)


def test_allowed_follows_the_order_of_restriction() -> None:
    assert allowed("clear", "green") and allowed("amber", "amber+strict") and allowed("red", "red")
    assert not allowed("amber+strict", "amber") and not allowed("green", "clear")
    assert allowed("TLP:AMBER", "amber")


def test_a_time_without_a_zone_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        export(now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="no time zone"):
        csv_text(incident(), [replace(EVERY_TYPE[0], first_seen=DECLARED.replace(tzinfo=None))])
