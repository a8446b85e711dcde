"""`ircbot export`: an incident's indicators as a STIX 2.1 bundle the OASIS validator accepts, or CSV; TLP respected."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from stix2validator import ValidationOptions, validate_string

from tests.conftest import Harness, serve_environment


@pytest.mark.slow
def test_export_writes_a_valid_bundle_and_csv_and_leaves_out_what_is_above_max_tlp(
    harness: Harness, tmp_path: Path
) -> None:
    _, channel = harness.declare("Phishing wave --public sev3")
    harness.slash("note C2 at 45.77.1[.]9 and hxxp://evil-cdn[.]net/p.js", channel=channel)  # TLP:AMBER
    harness.slash("ioc add invoice.pdf.exe --type file --tlp green", channel=channel)
    harness.slash("ioc add =HYPERLINK(1) --type file --tlp clear", channel=channel)
    folder = Path(harness.bot.settings.config_dir)
    (folder / "record.yaml").write_text("organisation: Example Corp SOC\n")
    env = serve_environment(harness.emulator, str(harness.bot.settings.database_url), folder)

    def export(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "ircbot.cli", "export", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    whole = export("INC-1", "--stix", str(tmp_path / "all.json"))
    assert whole.returncode == 0, whole.stderr
    assert "4 indicator(s) of INC-1" in whole.stdout
    bundle = (tmp_path / "all.json").read_text()
    results = validate_string(bundle, ValidationOptions(version="2.1", disabled="uuid-check"))
    assert results.is_valid, [str(e) for e in results.errors]
    objects = json.loads(bundle)["objects"]
    identity = next(o for o in objects if o["type"] == "identity")
    assert identity["name"] == "Example Corp SOC"
    patterns = sorted(o["pattern"] for o in objects if o["type"] == "indicator")
    assert "[ipv4-addr:value = '45.77.1.9']" in patterns and "[file:name = 'invoice.pdf.exe']" in patterns

    shared = export("INC-1", "--stix", str(tmp_path / "green.json"), "--max-tlp", "green")
    assert shared.returncode == 0 and "2 above TLP:GREEN left out" in shared.stdout
    green = json.loads((tmp_path / "green.json").read_text())["objects"]
    assert not any("45.77.1.9" in json.dumps(o) for o in green)

    table = export("INC-1", "--csv", str(tmp_path / "iocs.csv"))
    assert table.returncode == 0, table.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "iocs.csv").read_text())))
    assert [r["value"] for r in rows] == ["45.77.1.9", "http://evil-cdn.net/p.js", "invoice.pdf.exe", "'=HYPERLINK(1)"]

    wrong = export("INC-1", "--csv", str(tmp_path / "x.csv"), "--max-tlp", "white")
    assert wrong.returncode == 1 and "--max-tlp: unknown TLP level 'white'" in wrong.stderr
    missing = export("INC-9", "--csv", str(tmp_path / "x.csv"))
    assert missing.returncode == 1 and "there is no incident INC-9" in missing.stderr
    neither = export("INC-1")
    assert neither.returncode == 2 and "one of the arguments --stix --csv is required" in neither.stderr
