"""An incident's indicators of compromise as a STIX 2.1 bundle marked with TLP 2.0, or as CSV.

TLP 2.0 is not in the STIX 2.1 core (whose `tlp` marking type knows only TLP 1.0's white/green/amber/red):
OASIS publishes it as the property extension `extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d`
with five fixed marking-definition objects, copied here exactly as published in oasis-open/cti-stix-common-objects
(objects/marking-definition/ and extension-definition-specifications/tlp-2.0/).

What an export may carry is capped by `max_tlp`: an indicator above it is left out, and nothing in the bundle is
marked above it — the incident's grouping included, which is stripped to the incident's key when the incident
itself is classified above the cap (its title, summary and timeline are as sensitive as the incident).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import stix2
from stix2.exceptions import STIXError

from ircbot.domain.record_policy import TLP_LEVELS

TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_MARKING_IDS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
_TLP2_PUBLISHED = "2022-10-01T00:00:00.000Z"  # `created` of the official TLP 2.0 objects
_TLP2_AUTHOR = "identity--b3bca3c2-1f3d-4b54-b44f-dac42c3a8f01"  # the extension definition's author, as published

# The seed of every id this module makes (uuid5 of "urn:ircbot:stix-export"): the same incident, organisation
# and value give the same id in every export, so a consumer sees a re-export as new versions of known objects.
# (STIX's best practice asks for random uuid4 ids; stable ids are worth more to whoever de-duplicates our feed.)
_ID_NAMESPACE = uuid.UUID("d3fb7fae-b226-5aad-9bb3-154d69721d8e")
# The identity object is the same in every export, so its timestamps are fixed too: a STIX object's `created`
# must never change between versions, and nothing else about the organisation has a date.
_IDENTITY_CREATED = datetime(2024, 1, 1, tzinfo=UTC)

CSV_HEADER = ("incident", "type", "value", "tlp", "first_seen", "seen_in", "added_by")
# A spreadsheet runs a cell that starts with one of these as a formula; indicators are attacker-written text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportIndicator:
    """One indicator of compromise as the export sees it; the caller has normalised it and written its pattern."""

    type: str  # ip | domain | url | sha256 | sha1 | md5 | email | file
    value: str  # normalised value, e.g. "203.0.113.9", "evil.example.com" or a hex hash
    pattern: str  # its STIX pattern, e.g. "[ipv4-addr:value = '203.0.113.9']"
    tlp: str  # one of TLP_LEVELS
    first_seen: datetime  # aware
    seen_in: tuple[str, ...]  # "note", "alert", "pinned message", "added by hand" ...
    added_by: str | None


@dataclass(frozen=True)
class ExportIncident:
    """The incident the indicators belong to."""

    key: str  # "INC-7"
    title: str
    severity: str  # sev1..sev4
    declared_at: datetime
    detected_at: datetime
    resolved_at: datetime | None
    tlp: str  # the incident's own TLP, the default of its indicators
    summary: str | None


def tlp_rank(tlp: str) -> int:
    """The place of `tlp` in TLP_LEVELS (0 = clear); case and a "TLP:" prefix are ignored; ValueError if unknown."""
    name = tlp.strip().lower().removeprefix("tlp:")
    if name not in TLP_LEVELS:
        raise ValueError(f"unknown TLP level {tlp!r}: use one of {', '.join(TLP_LEVELS)}")
    return TLP_LEVELS.index(name)


def allowed(tlp: str, max_tlp: str) -> bool:
    """Whether something marked `tlp` may go into an export capped at `max_tlp`."""
    return tlp_rank(tlp) <= tlp_rank(max_tlp)


def stix_bundle(
    incident: ExportIncident,
    indicators: Sequence[ExportIndicator],
    *,
    organisation: str,
    max_tlp: str = "red",
    now: datetime,
) -> str:
    """The incident's indicators allowed by `max_tlp` as a STIX 2.1 bundle (JSON), every object marked TLP 2.0."""
    cap = tlp_rank(max_tlp)
    if not organisation.strip():
        raise ValueError("the organisation's name is empty: it names the identity that signs the export")
    now = _utc(now)
    shared = [indicator for indicator in indicators if tlp_rank(indicator.tlp) <= cap]
    _refuse_duplicates(shared)

    identity = _identity(organisation)
    stix_indicators = [_indicator(incident, indicator, identity.id, organisation, now) for indicator in shared]
    grouping = _grouping(incident, shared, stix_indicators, identity, organisation, cap, now)
    marked = [identity, *stix_indicators, grouping]
    used = {ref for obj in marked for ref in obj.object_marking_refs}
    markings = [_tlp2_marking(tlp) for tlp in TLP_LEVELS if TLP2_MARKING_IDS[tlp] in used]
    objects = [_tlp2_extension(), *markings, *marked]
    bundle = stix2.Bundle(objects=objects, id=f"bundle--{_uuid(organisation, incident.key, 'bundle', now.isoformat())}")
    return str(bundle.serialize(pretty=True))


def csv_text(incident: ExportIncident, indicators: Sequence[ExportIndicator], *, max_tlp: str = "red") -> str:
    """The incident's indicators allowed by `max_tlp` as CSV, one row each, with formula-looking cells defused."""
    cap = tlp_rank(max_tlp)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for indicator in indicators:
        if tlp_rank(indicator.tlp) > cap:
            continue
        row = (
            incident.key,
            indicator.type,
            indicator.value,
            _tlp_name(indicator.tlp),
            _zulu(indicator.first_seen),
            "; ".join(indicator.seen_in),
            indicator.added_by or "",
        )
        writer.writerow([_defused(cell) for cell in row])
    return buffer.getvalue()


def _identity(organisation: str) -> stix2.Identity:
    # One identity per organisation across all incidents, marked clear: it only names who shares the export, and
    # a fixed marking keeps it the very same object in every bundle, whatever the bundle's cap.
    identity_id = f"identity--{_uuid(organisation, 'identity')}"
    return stix2.Identity(
        id=identity_id,
        created=_IDENTITY_CREATED,
        modified=_IDENTITY_CREATED,
        created_by_ref=identity_id,
        name=organisation,
        identity_class="organization",
        object_marking_refs=[TLP2_MARKING_IDS["clear"]],
    )


def _indicator(
    incident: ExportIncident, indicator: ExportIndicator, author: str, organisation: str, now: datetime
) -> stix2.Indicator:
    first_seen = _utc(indicator.first_seen)
    where = f" (in {', '.join(indicator.seen_in)})" if indicator.seen_in else ""
    try:
        return stix2.Indicator(
            id=f"indicator--{_uuid(organisation, incident.key, 'indicator', indicator.type, indicator.value)}",
            created=first_seen,
            modified=max(first_seen, now),  # a later export is a newer version of the same indicator
            created_by_ref=author,
            name=indicator.value,
            description=f"Seen during {incident.key}{where}.",
            indicator_types=["malicious-activity"],
            labels=[_label(place) for place in indicator.seen_in] or None,
            pattern=indicator.pattern,
            pattern_type="stix",
            pattern_version="2.1",
            valid_from=first_seen,
            object_marking_refs=[TLP2_MARKING_IDS[_tlp_name(indicator.tlp)]],
        )
    except STIXError as exc:
        raise ValueError(f"the {indicator.type} {indicator.value!r} cannot be exported: {exc}") from exc


def _grouping(
    incident: ExportIncident,
    shared: Sequence[ExportIndicator],
    stix_indicators: Sequence[stix2.Indicator],
    identity: stix2.Identity,
    organisation: str,
    cap: int,
    now: datetime,
) -> stix2.Grouping:
    # A grouping, not a report: a report is a finished, published analysis, and an incident is exported while live.
    # A grouping needs one object at least: with no indicator to share it refers to the identity, so the export
    # still says "this organisation had this incident" and nothing more.
    declared = _utc(incident.declared_at)
    if tlp_rank(incident.tlp) <= cap:
        name, description = f"{incident.key}: {incident.title}", _incident_description(incident)
    else:
        name, description = incident.key, None
    return stix2.Grouping(
        id=f"grouping--{_uuid(organisation, incident.key, 'grouping')}",
        created=declared,
        modified=max(declared, now),
        created_by_ref=identity.id,
        name=name,
        description=description,
        context="suspicious-activity",
        object_refs=[indicator.id for indicator in stix_indicators] or [identity.id],
        object_marking_refs=[TLP2_MARKING_IDS[_grouping_tlp(incident, shared, cap)]],
    )


def _grouping_tlp(incident: ExportIncident, shared: Sequence[ExportIndicator], cap: int) -> str:
    # The grouping ties every indicator to the incident, so it is as sensitive as the most sensitive of them and as
    # the incident itself; above the cap it takes the cap, and `_grouping` withholds what made it sensitive.
    rank = max([tlp_rank(incident.tlp), *_ranks(shared)])
    return TLP_LEVELS[min(rank, cap)]


def _incident_description(incident: ExportIncident) -> str:
    facts = [f"Severity {incident.severity}", f"detected {_zulu(incident.detected_at)}"]
    facts.append(f"declared {_zulu(incident.declared_at)}")
    facts.append(f"resolved {_zulu(incident.resolved_at)}" if incident.resolved_at else "not resolved yet")
    text = ", ".join(facts) + "."
    return f"{text}\n\n{incident.summary}" if incident.summary else text


def _tlp2_marking(tlp: str) -> stix2.MarkingDefinition:
    return stix2.MarkingDefinition(
        id=TLP2_MARKING_IDS[tlp],
        created=_TLP2_PUBLISHED,
        name=f"TLP:{tlp.upper()}",
        extensions={TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": tlp}},
    )


def _tlp2_extension() -> stix2.ExtensionDefinition:
    # Shipped with the markings so that a consumer meeting their `extensions` key can resolve it offline.
    return stix2.ExtensionDefinition(
        id=TLP2_EXTENSION_ID,
        created=_TLP2_PUBLISHED,
        modified=_TLP2_PUBLISHED,
        created_by_ref=_TLP2_AUTHOR,
        name="TLP 2.0",
        description="This defines TLP 2.0 as a STIX extension",
        schema="https://github.com/oasis-open/cti-stix-common-objects/tree/master/extension-definition-specifications/tlp-2.0",
        version="1.0.0",
        extension_types=["property-extension"],
    )


def _refuse_duplicates(indicators: Sequence[ExportIndicator]) -> None:
    # Two indicators with one (type, value) would be two objects with one id and one version: a broken bundle.
    seen: set[tuple[str, str]] = set()
    for indicator in indicators:
        key = (indicator.type, indicator.value)
        if key in seen:
            raise ValueError(f"the {indicator.type} {indicator.value!r} is listed twice")
        seen.add(key)


def _ranks(indicators: Sequence[ExportIndicator]) -> set[int]:
    return {tlp_rank(indicator.tlp) for indicator in indicators}


def _tlp_name(tlp: str) -> str:
    return TLP_LEVELS[tlp_rank(tlp)]


def _uuid(*parts: str) -> uuid.UUID:
    return uuid.uuid5(_ID_NAMESPACE, json.dumps(parts))  # JSON keeps ("a|b", "c") apart from ("a", "b|c")


def _label(place: str) -> str:
    return "seen-in-" + "-".join(place.lower().split())


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{moment.isoformat()} has no time zone: exports need aware datetimes")
    return moment.astimezone(UTC)


def _zulu(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _defused(cell: str) -> str:
    return f"'{cell}" if cell.startswith(_FORMULA_STARTS) else cell
