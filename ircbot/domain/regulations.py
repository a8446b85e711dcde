"""regulations.yaml: notification regimes — which report is due to whom, within how long of which event.

Typed, validated data only; the deadline arithmetic is `ircbot.domain.deadlines`. Like record_policy, this
module keeps its own strict base, because `ircbot.domain.policy` imports it for the `Config` it describes.
"""

from __future__ import annotations

import re
from datetime import time
from functools import lru_cache
from typing import Annotated, Any, Literal, NamedTuple, get_args
from zoneinfo import ZoneInfo

import holidays
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

Unit = Literal["seconds", "minutes", "hours", "days", "business_days", "months"]
UNITS: tuple[str, ...] = get_args(Unit)
WeekendRule = Literal["next_working_day_noon"]  # DORA, Delegated Regulation (EU) 2025/301, Art. 5(4)

_KEY = re.compile(r"^[a-z][a-z0-9_-]*$")
# The owner is a target as in escalation.yaml, checked with the same patterns (tests hold the two together).
_OWNER_KINDS = {
    "role": re.compile(r"^[a-z][a-z0-9_-]*$"),
    "user": re.compile(r"^[UW][A-Z0-9]{2,}$"),
    "email": re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
}
_SHORT_UNITS = {"s": "seconds", "m": "minutes", "min": "minutes", "h": "hours", "d": "days"}
_LONG_UNITS = {
    "second": "seconds",
    "minute": "minutes",
    "hour": "hours",
    "day": "days",
    "calendar day": "days",
    "business day": "business_days",
    "month": "months",
}
_WINDOW = re.compile(r"^(\d+)\s*([a-z ]+?)s?$")
# Far beyond any notification period, and short enough that no date arithmetic overflows.
_LONGEST = {"seconds": 10**8, "minutes": 10**7, "hours": 10**5, "days": 3660, "business_days": 2600, "months": 120}
_SHOWN = {"seconds": "s", "minutes": "min", "hours": "h"}
_WINDOW_FORMS = "write e.g. 30s, 15m, 72h, 60d, 4 business days or 1 month"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(_Strict):
    """How long a report may take: an amount of one unit, read from `72h`, `60d`, `4 business days`, `1 month`."""

    amount: int = Field(ge=1)
    unit: Unit

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return value
        text = str(value).strip().lower()
        match = _WINDOW.match(text) if not isinstance(value, bool) else None
        word = match.group(2).strip() if match else ""
        unit = _SHORT_UNITS.get(word) or _LONG_UNITS.get(word)
        if match is None or unit is None:
            raise ValueError(f"{value!r} is not a window; {_WINDOW_FORMS}")
        if int(match.group(1)) == 0:
            raise ValueError(f"{value!r} is an empty window; {_WINDOW_FORMS}")
        return {"amount": int(match.group(1)), "unit": unit}

    @model_validator(mode="after")
    def _not_absurd(self) -> Window:
        if self.amount > _LONGEST[self.unit]:
            raise ValueError(f"{self} is too long a window; {_WINDOW_FORMS}")
        return self

    def __str__(self) -> str:
        if self.unit in _SHOWN:
            return f"{self.amount} {_SHOWN[self.unit]}"
        word = self.unit.replace("_", " ").removesuffix("s")
        return f"{self.amount} {word}{'' if self.amount == 1 else 's'}"


class ReportRule(_Strict):
    """One report of a regime: due `within` a window `from` awareness or from the previous report's submission."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1)
    within: Window
    start: Literal["awareness", "previous"] = Field(default="awareness", validation_alias="from")
    recipient: str = ""
    cite: str = ""  # the provision this report's figure comes from


class Cutoff(NamedTuple):
    """When a business day ends: a local time of day, and the IANA zone it is read in."""

    at: time
    zone: str


def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone `name` (`Europe/Berlin`, `UTC`), or a ValueError saying how to write one."""
    try:
        return ZoneInfo(name)
    except (ValueError, OSError, KeyError) as exc:  # a ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"{name!r} is not a time zone; write an IANA name such as Europe/Berlin or UTC") from exc


def _cutoff(value: Any) -> Cutoff:
    if isinstance(value, Cutoff):
        return value
    match = re.fullmatch(r"(\d{1,2}):(\d{2})\s+(\S+)", str(value).strip()) if isinstance(value, str) else None
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(
            f'{value!r} is not a cut-off; write a local time and its zone in quotes: "17:30 America/New_York"'
        )
    zone_named(match.group(3))
    return Cutoff(time(int(match.group(1)), int(match.group(2))), match.group(3))


def _fraction(value: Any) -> float:
    text = str(value).strip()
    try:
        fraction = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        fraction = -1.0
    if isinstance(value, bool) or not 0 < fraction < 1:
        raise ValueError(
            f"{value!r} is not a point inside the window; write a percentage such as 75% or a fraction 0.75"
        )
    return fraction


@lru_cache(maxsize=1)
def _calendars() -> tuple[dict[str, list[str]], frozenset[str]]:
    """The `holidays` package's countries (with their subdivisions) and financial calendars."""
    return holidays.list_supported_countries(), frozenset(holidays.list_supported_financial())


def _calendar(value: Any) -> str:
    text = str(value).strip()
    countries, markets = _calendars()
    country, _, subdivision = text.partition("-")
    if text in markets or (country in countries and (not subdivision or subdivision in countries[country])):
        return text
    raise ValueError(
        f"{text!r} is not a holiday calendar; write a country code (US, DE, FR), a country and subdivision (DE-BY) "
        "or a financial calendar (NYSE, ECB)"
    )


def _owner(value: Any) -> str:
    text = str(value).strip()
    kind, _, rest = text.partition(":")
    pattern = _OWNER_KINDS.get(kind)
    if pattern is None or not pattern.match(rest):
        raise ValueError(f"{text!r} is not an owner; write role:KEY, user:U… or email:ADDRESS")
    return text


class Regime(_Strict):
    """A notification regime: its reports in order, who answers for them, and how its days are counted."""

    name: str = Field(min_length=1)
    cite: str = ""  # the provisions the regime comes from
    owner: Annotated[str, BeforeValidator(_owner)] | None = None
    remind: list[Annotated[float, BeforeValidator(_fraction)]] = []
    calendar: Annotated[str, BeforeValidator(_calendar)] | None = None
    cutoff: Annotated[Cutoff, BeforeValidator(_cutoff)] | None = None
    zone: str | None = None
    weekend_rule: WeekendRule | None = None
    reports: list[ReportRule] = Field(min_length=1)

    @field_validator("remind")
    @classmethod
    def _ascending(cls, remind: list[float]) -> list[float]:
        return sorted(set(remind))

    @field_validator("zone")
    @classmethod
    def _zone(cls, zone: str | None, info: ValidationInfo) -> str | None:
        cutoff = info.data.get("cutoff")
        if zone is not None:
            zone_named(zone)
            if cutoff is not None and cutoff.zone != zone:
                raise ValueError(f"{zone!r} is not the cut-off's zone {cutoff.zone!r}; give the zone once")
        return zone

    @field_validator("reports")
    @classmethod
    def _reports(cls, reports: list[ReportRule]) -> list[ReportRule]:
        if reports and reports[0].start == "previous":
            raise ValueError(f"the first report {reports[0].name!r} has no previous report; give it from: awareness")
        names = [report.name for report in reports]
        twice = next((name for name in names if names.count(name) > 1), None)
        if twice is not None:
            raise ValueError(f"two reports are named {twice!r}; give each report its own name")
        return reports

    @model_validator(mode="after")
    def _counting_needs(self) -> Regime:
        # After the fields, so that a mistyped cut-off or zone is reported once, on its own line.
        counted = next((r for r in self.reports if r.within.unit == "business_days"), None)
        if counted is not None and self.cutoff is None:
            raise ValueError(
                f"report {counted.name!r} counts business days, which end at a cut-off; "
                'add e.g. cutoff: "17:30 America/New_York"'
            )
        if self.weekend_rule is not None and self.zone is None and self.cutoff is None:
            raise ValueError(
                f"weekend_rule {self.weekend_rule} needs the zone whose weekends and noon it means; "
                "add e.g. zone: Europe/Brussels"
            )
        return self

    @property
    def local_zone(self) -> ZoneInfo:
        """The zone the regime's days, months, weekends and cut-off are read in: the cut-off's or `zone`, else UTC."""
        return zone_named(self.cutoff.zone if self.cutoff is not None else self.zone or "UTC")


def _regime_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"regime key {key!r} must be lowercase letters, digits, - or _")
    return key


class RegulationsFile(_Strict):
    """regulations.yaml: the regimes by key. The shipped file is replaced whole by a config folder's own copy."""

    regimes: dict[Annotated[str, AfterValidator(_regime_key)], Regime] = {}

    def regime(self, key: str) -> Regime | None:
        """The regime named `key`, or None."""
        return self.regimes.get(key)
