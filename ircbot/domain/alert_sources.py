"""What each sender posts, turned into normalised alerts: one reader per source, registered in READERS.

Every reader takes the decoded JSON body and returns the alerts in it, or raises InvalidInput naming
what the payload lacks (the edge answers 400 with that text). Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dateutil import parser as dateparser

from ircbot.domain.policy import ALERT_SEVERITIES
from ircbot.errors import InvalidInput

MAX_TITLE = 300
MAX_DESCRIPTION = 3000


@dataclass(frozen=True)
class NormalisedAlert:
    """One alert in ircbot's terms, whatever sent it."""

    source: str
    fingerprint: str
    group_key: str
    severity: str  # critical | high | medium | low | info
    title: str
    status: str = "firing"  # firing | resolved
    description: str = ""
    started_at: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, str]:
        """What alerts.yaml's `when` can match: the normalised fields and `labels.NAME`."""
        found = {
            "source": self.source,
            "severity": self.severity,
            "title": self.title,
            "description": self.description,
            "fingerprint": self.fingerprint,
            "group_key": self.group_key,
            "status": self.status,
        }
        return found | {f"labels.{name}": value for name, value in self.labels.items()}

    @property
    def is_drill(self) -> bool:
        """Sent with `labels.drill: "true"`: the incident it opens is a drill."""
        return self.labels.get("drill", "").strip().lower() == "true"


# Senders' severity words, in ircbot's five.
_SEVERITY_WORDS = {
    "critical": "critical",
    "crit": "critical",
    "page": "critical",
    "emergency": "critical",
    "fatal": "critical",
    "high": "high",
    "error": "high",
    "major": "high",
    "medium": "medium",
    "warning": "medium",
    "warn": "medium",
    "moderate": "medium",
    "low": "low",
    "minor": "low",
    "info": "info",
    "informational": "info",
    "none": "info",
}
_AZURE_SEVERITIES = {"sev0": "critical", "sev1": "high", "sev2": "medium", "sev3": "low", "sev4": "info"}


def severity_word(value: object, default: str = "medium") -> str:
    """A sender's severity in ircbot's words; an unknown word counts as `default`."""
    return _SEVERITY_WORDS.get(str(value or "").strip().lower(), default)


def _require(data: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(data, dict) or key not in data or data[key] is None:
        raise InvalidInput(f"{where}{key} is missing")
    if not isinstance(data[key], kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise InvalidInput(f"{where}{key} must be a {_json_name(names)}")
    return data[key]


def _json_name(python: str) -> str:
    return {"str": "string", "dict": "JSON object", "list": "JSON array"}.get(python, python)


def _time(value: object, where: str) -> datetime | None:
    """An RFC 3339 time or epoch seconds; Go's zero time (Alertmanager's unset endsAt) is None."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.replace(".", "", 1).isdigit()):
            return datetime.fromtimestamp(float(value), UTC)
        parsed = dateparser.isoparse(str(value))
    except (ValueError, OverflowError) as exc:
        raise InvalidInput(f"{where} is not a time: {value!r}") from exc
    if parsed.year <= 1:
        return None
    return parsed.replace(tzinfo=parsed.tzinfo or UTC).astimezone(UTC)


def _strings(values: Any) -> dict[str, str]:
    if not isinstance(values, dict):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in values.items() if v is not None}


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split()) if limit == MAX_TITLE else text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_alertmanager(body: Any) -> list[NormalisedAlert]:
    """Prometheus Alertmanager's webhook (`version: "4"`): every alert of one group notification."""
    version = _require(body, "version", str, "")
    if version != "4":
        raise InvalidInput(f'version must be "4" (Alertmanager\'s webhook payload), not {version!r}')
    group_key = _require(body, "groupKey", str, "")
    alerts = _require(body, "alerts", list, "")
    envelope = {k: v for k, v in body.items() if k != "alerts"}
    found = []
    for n, alert in enumerate(alerts):
        where = f"alerts[{n}]."
        labels = _strings(_require(alert, "labels", dict, where))
        annotations = _strings(alert.get("annotations"))
        status = _require(alert, "status", str, where)
        if status not in ("firing", "resolved"):
            raise InvalidInput(f"{where}status must be firing or resolved, not {status!r}")
        title = annotations.get("summary") or labels.get("alertname") or "Alertmanager alert"
        found.append(
            NormalisedAlert(
                source="alertmanager",
                fingerprint=str(alert.get("fingerprint") or _digest(sorted(labels.items()))),
                group_key=group_key,
                severity=severity_word(labels.get("severity")),
                title=_cut(title, MAX_TITLE),
                status=status,
                description=_cut(annotations.get("description", ""), MAX_DESCRIPTION),
                started_at=_time(alert.get("startsAt"), f"{where}startsAt"),
                labels=labels,
                raw={**envelope, "alert": alert},
            )
        )
    return found


def read_splunk(body: Any) -> list[NormalisedAlert]:
    """Splunk's webhook alert action: the saved search (`search_name`, `sid`) and its first result row."""
    sid = _require(body, "sid", str, "")
    result = _require(body, "result", dict, "")
    name = body.get("search_name")
    # The result row's own fields (not Splunk's internal _time, _raw …) say which finding this is.
    own = {k: v for k, v in _strings(result).items() if not k.startswith("_")}
    labels = {**own, **_strings({k: body.get(k) for k in ("search_name", "app", "owner", "results_link", "sid")})}
    fingerprint = _digest(name or sid, sorted(own.items()))
    severity = severity_word(result.get("severity") or result.get("urgency"))
    return [
        NormalisedAlert(
            source="splunk",
            fingerprint=fingerprint,
            group_key=fingerprint,
            severity=severity,
            title=_cut(str(name or f"Splunk alert {sid}"), MAX_TITLE),
            description=str(body.get("results_link") or ""),
            started_at=_time(result.get("_time"), "result._time"),
            labels=labels,
            raw=body,
        )
    ]


def read_sentinel(body: Any) -> list[NormalisedAlert]:
    """Azure Monitor's common alert schema (Microsoft Sentinel and Azure Monitor alerts): `data.essentials`."""
    schema = _require(body, "schemaId", str, "")
    if schema != "azureMonitorCommonAlertSchema":
        raise InvalidInput(f"schemaId must be azureMonitorCommonAlertSchema, not {schema!r}")
    data = _require(body, "data", dict, "")
    essentials = _require(data, "essentials", dict, "data.")
    where = "data.essentials."
    alert_id = _require(essentials, "alertId", str, where)
    rule = _require(essentials, "alertRule", str, where)
    condition = _require(essentials, "monitorCondition", str, where)
    severity = _require(essentials, "severity", str, where)
    if severity.lower() not in _AZURE_SEVERITIES:
        raise InvalidInput(f"{where}severity must be one of Sev0 … Sev4, not {severity!r}")
    labels = {
        **_strings(data.get("customProperties")),
        **_strings({k: essentials.get(k) for k in ("alertRule", "signalType", "monitoringService", "severity")}),
    }
    targets = essentials.get("configurationItems") or essentials.get("alertTargetIDs") or []
    if targets:
        labels["target"] = ", ".join(str(t) for t in targets)
    return [
        NormalisedAlert(
            source="sentinel",
            fingerprint=alert_id,
            group_key=alert_id,
            severity=_AZURE_SEVERITIES[severity.lower()],
            title=_cut(rule, MAX_TITLE),
            status="resolved" if condition.lower() == "resolved" else "firing",
            description=_cut(str(essentials.get("description") or ""), MAX_DESCRIPTION),
            started_at=_time(essentials.get("firedDateTime"), f"{where}firedDateTime"),
            labels=labels,
            raw=body,
        )
    ]


def read_generic(body: Any) -> list[NormalisedAlert]:
    """ircbot's own shape, for anything else: one object or a list of them (`title` required)."""
    items = body if isinstance(body, list) else [body]
    found = []
    for n, item in enumerate(items):
        where = f"[{n}]." if isinstance(body, list) else ""
        title = _require(item, "title", str, where)
        if not title.strip():
            raise InvalidInput(f"{where}title is empty")
        severity = str(item.get("severity") or "medium").lower()
        if severity not in ALERT_SEVERITIES:
            raise InvalidInput(f"{where}severity must be one of {', '.join(ALERT_SEVERITIES)}, not {severity!r}")
        status = str(item.get("status") or "firing")
        if status not in ("firing", "resolved"):
            raise InvalidInput(f"{where}status must be firing or resolved, not {status!r}")
        if item.get("labels") is not None and not isinstance(item["labels"], dict):
            raise InvalidInput(f"{where}labels must be a JSON object")
        labels = _strings(item.get("labels"))
        if item.get("source"):
            labels.setdefault("source", str(item["source"]))
        fingerprint = str(item.get("fingerprint") or _digest(item.get("source"), title, sorted(labels.items())))
        found.append(
            NormalisedAlert(
                source="generic",
                fingerprint=fingerprint,
                group_key=str(item.get("group_key") or fingerprint),
                severity=severity,
                title=_cut(title, MAX_TITLE),
                status=status,
                description=_cut(str(item.get("description") or ""), MAX_DESCRIPTION),
                started_at=_time(item.get("started_at"), f"{where}started_at"),
                labels=labels,
                raw=item,
            )
        )
    return found


READERS: dict[str, Callable[[Any], list[NormalisedAlert]]] = {
    "alertmanager": read_alertmanager,
    "splunk": read_splunk,
    "sentinel": read_sentinel,
    "generic": read_generic,
}
"""The reader of each source's payload; a source not listed here is not served."""


def read_alerts(source: str, body: bytes) -> list[NormalisedAlert]:
    """The alerts in a sender's body; InvalidInput names what is wrong (not JSON, a field missing)."""
    try:
        decoded = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidInput("the body is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if not isinstance(decoded, dict | list):
        raise InvalidInput("the body must be a JSON object")
    if isinstance(decoded, list) and source != "generic":
        raise InvalidInput("the body must be a JSON object")
    alerts = READERS[source](decoded)
    if not alerts:
        raise InvalidInput("the payload holds no alerts")
    return alerts
