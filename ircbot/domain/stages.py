"""The NIST SP 800-61 incident stages, in order."""

from __future__ import annotations

STAGES: tuple[str, ...] = (
    "detection",
    "analysis",
    "containment",
    "eradication",
    "recovery",
    "post-incident",
)

STAGE_TITLES = {
    "detection": "Detection",
    "analysis": "Analysis",
    "containment": "Containment",
    "eradication": "Eradication",
    "recovery": "Recovery",
    "post-incident": "Post-incident",
}

SEVERITIES: tuple[str, ...] = ("sev1", "sev2", "sev3", "sev4")


def next_stage(stage: str) -> str | None:
    """The stage after `stage`, or None at the last one."""
    index = STAGES.index(stage)
    return STAGES[index + 1] if index + 1 < len(STAGES) else None


def normalize_stage(text: str) -> str | None:
    """Map what a user typed (`Post incident`, `CONTAINMENT`, `3`) to a stage key, or None."""
    cleaned = text.strip().lower().replace("_", "-").replace(" ", "-")
    if cleaned in STAGES:
        return cleaned
    if cleaned in ("postincident", "post", "lessons-learned"):
        return "post-incident"
    if cleaned.isdigit() and 1 <= int(cleaned) <= len(STAGES):
        return STAGES[int(cleaned) - 1]
    return None
