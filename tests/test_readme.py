"""The README stays true to the code: every subcommand and CLI command is documented, its examples load."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ircbot.commands import COMMANDS
from ircbot.domain.record_policy import RecordFile

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_subcommand_has_a_row_in_the_command_reference() -> None:
    reference = README.split("## Slash command reference", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in reference.splitlines() if line.startswith("| `")]
    missing = [
        spec.name
        for spec in COMMANDS
        if not any(re.match(rf"\| `{spec.name}\b", row) or f"/ `{spec.name}" in row for row in rows)
    ]
    assert missing == []


def test_the_record_yaml_example_loads_and_means_what_it_says() -> None:
    example = README.split("`record.yaml` (optional", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    record = RecordFile.model_validate(yaml.safe_load(example))
    assert record.organisation == "Example Corp SOC" and record.indicators.private_tlp == "red"
    assert record.decisions.approvers_for("Isolate FS01 from the network") == 2
    assert record.decisions.approvers_for("Brief the board") == 1


def test_the_regulations_yaml_example_loads() -> None:
    from ircbot.domain.regulations import RegulationsFile

    example = README.split("## Regulatory notification clocks", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    regulations = RegulationsFile.model_validate(yaml.safe_load(example))
    assert set(regulations.regimes) == {"gdpr", "sec"}
