"""record.yaml: how the incident record is kept — decisions' approvers, indicators' TLP, the exporting organisation.

Optional; without it a decision needs one approval (its proposer's), except containment actions — isolating
hosts, disabling accounts, wiping, paying anything — which need two people; indicators are TLP:AMBER, and
TLP:RED in private incidents.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

TLP_LEVELS = ("clear", "green", "amber", "amber+strict", "red")
"""TLP 2.0, least restrictive first."""

TWO_PERSON = (
    r"/\b(isolat|quarantin|contain|disabl|deactivat|suspend|lock(ed)? out|block|revok|wip(e|ing)|reimag|"
    r"shut ?down|power (off|down)|take .* offline|delet|destroy|pay|ransom|wire|transfer funds|bitcoin)/"
)


def _is_regex(text: str) -> bool:
    return len(text) >= 2 and text.startswith("/") and text.endswith("/")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApprovalRule(_Strict):
    """A decision whose text matches `when` (`/regex/`, case-insensitive, or words) needs `approvers` people."""

    when: str = Field(min_length=1)
    approvers: int = Field(ge=1, le=10)

    @field_validator("when")
    @classmethod
    def _pattern(cls, when: str) -> str:
        if _is_regex(when):
            try:
                re.compile(when[1:-1])
            except re.error as exc:
                raise ValueError(f"{when!r} is not a valid regular expression: {exc}") from None
        return when

    def matches(self, text: str) -> bool:
        """Whether the decision's text matches this rule."""
        if _is_regex(self.when):
            return re.search(self.when[1:-1], text, re.IGNORECASE) is not None
        return self.when.casefold() in text.casefold()


class Decisions(_Strict):
    """How many distinct people must approve a decision."""

    approvers: int = Field(default=1, ge=1, le=10)
    rules: list[ApprovalRule] = [ApprovalRule(when=TWO_PERSON, approvers=2)]

    def approvers_for(self, text: str) -> int:
        """The approvers a decision with this text needs: the first matching rule's, else the default."""
        return next((rule.approvers for rule in self.rules if rule.matches(text)), self.approvers)


def _tlp(value: Any) -> str:
    level = str(value).strip().lower().removeprefix("tlp:")
    if level not in TLP_LEVELS:
        raise ValueError(f"{value!r} is not a TLP 2.0 level; use one of {', '.join(TLP_LEVELS)}")
    return level


class Indicators(_Strict):
    """The TLP an indicator gets unless its adder says otherwise."""

    tlp: str = "amber"
    private_tlp: str = "red"

    @field_validator("tlp", "private_tlp", mode="before")
    @classmethod
    def _levels(cls, value: Any) -> str:
        return _tlp(value)

    def default_tlp(self, *, private: bool) -> str:
        """The TLP of a new indicator in a private or a public incident."""
        return self.private_tlp if private else self.tlp


class RecordFile(_Strict):
    """record.yaml."""

    organisation: str = Field(default="ircbot", min_length=1)  # who exports: the STIX identity's name
    decisions: Decisions = Decisions()
    indicators: Indicators = Indicators()


def tlp_level(value: str) -> str:
    """A TLP 2.0 level as typed (`AMBER`, `tlp:amber+strict`) → its name; ValueError naming the levels."""
    return _tlp(value)
