"""Config files: the shipped ones load; broken ones fail fast naming file, line and field."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ircbot.config import load_config
from ircbot.domain.stages import STAGES
from ircbot.errors import ConfigError
from ircbot.shipped import shipped_path
from tests.factories import write_config

ROOT = Path(__file__).resolve().parents[1]

GOOD_ROLES = """\
declarer_role: manager
roles:
  manager:
    title: Incident manager
    oncall: [U0ALICE]
  analyst:
    title: Security analyst
    oncall: [bob@example.com]
"""

GOOD_ESCALATION = """\
severities:
  sev1:
    name: Critical
    tiers:
      - after: 0s
        notify: [role:manager]
      - after: 5m
        notify:
          - role:analyst
          - email:soc@example.com
  sev2:
    name: High
  sev3:
    name: Medium
  sev4:
    name: Low
"""


def folder_with(tmp_path: Path, **files: str) -> Path:
    """A config folder with good roles.yaml and escalation.yaml, overridden by `files` (name -> YAML text)."""
    folder = tmp_path / "config"
    (folder / "playbooks").mkdir(parents=True, exist_ok=True)
    contents = {"roles.yaml": GOOD_ROLES, "escalation.yaml": GOOD_ESCALATION, **files}
    for name, text in contents.items():
        (folder / name.replace("__", "/")).write_text(text, encoding="utf-8")
    return folder


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(folder)
    return caught.value.problems


def only_problem(folder: Path) -> str:
    problems = problems_of(folder)
    assert len(problems) == 1, problems
    return problems[0]


# --- the shipped files -------------------------------------------------------------------------------------------


def test_the_shipped_config_loads_with_all_four_playbooks(tmp_path: Path) -> None:
    config = load_config(tmp_path)  # an empty folder: every file is the shipped one
    assert set(config.playbooks) == {"default", "ransomware", "phishing", "data-breach"}
    assert set(config.escalation.severities) == {"sev1", "sev2", "sev3", "sev4"}
    assert {"manager", "analyst", "legal", "comms", "forensics"} <= set(config.roles.roles)
    assert config.roles.declarer_role == "manager"


def test_every_shipped_playbook_has_a_checklist_for_all_six_stages(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    for name, playbook in config.playbooks.items():
        assert tuple(playbook.stages) == STAGES, name
        for stage, items in playbook.stages.items():
            assert items, f"{name}: {stage} has no checklist"
            assert any(i.required for i in items), f"{name}: {stage} has no required item"


def test_the_data_breach_playbook_covers_legal_and_notification_duties(tmp_path: Path) -> None:
    playbook = load_config(tmp_path).playbooks["data-breach"]
    text = " ".join(i.text for items in playbook.stages.values() for i in items).lower()
    for needed in ("notif", "regulator", "supervisory authority", "72 hours", "legal", "data subjects", "evidence"):
        assert needed in text, needed


def test_the_test_workspace_config_loads(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path / "config"))
    assert config.role("forensics") is not None and config.role("wizard") is None


def test_a_config_folder_playbook_overrides_the_shipped_one(tmp_path: Path) -> None:
    stages = "".join(f"  {s}:\n    - text: Own step for {s}\n      required: true\n" for s in STAGES)
    folder = folder_with(tmp_path, **{"playbooks__default.yaml": f"name: default\ntitle: Ours\nstages:\n{stages}"})
    config = load_config(folder)
    assert config.playbooks["default"].title == "Ours"
    assert config.playbooks["default"].stages["analysis"][0].text == "Own step for analysis"
    assert "ransomware" in config.playbooks


# --- broken files name file, line and field ----------------------------------------------------------------------


def test_unknown_field_in_roles_yaml_names_file_line_and_field(tmp_path: Path) -> None:
    roles = GOOD_ROLES.replace("    oncall: [U0ALICE]\n", "    oncall: [U0ALICE]\n    colour: red\n")
    folder = folder_with(tmp_path, **{"roles.yaml": roles})
    problem = only_problem(folder)
    assert problem.startswith(f"{folder / 'roles.yaml'}:6: roles.manager.colour:"), problem
    assert "Extra inputs are not permitted" in problem


def test_bad_oncall_entry_names_its_line(tmp_path: Path) -> None:
    roles = GOOD_ROLES.replace("oncall: [bob@example.com]", "oncall: [bob]")
    folder = folder_with(tmp_path, **{"roles.yaml": roles})
    problem = only_problem(folder)
    assert problem.startswith(f"{folder / 'roles.yaml'}:8: roles.analyst.oncall.0:"), problem
    assert "'bob' is neither a Slack user id" in problem


def test_bad_oncall_entry_in_a_block_list_names_the_entrys_own_line(tmp_path: Path) -> None:
    roles = GOOD_ROLES.replace("oncall: [bob@example.com]", "oncall:\n      - bob@example.com\n      - bob")
    folder = folder_with(tmp_path, **{"roles.yaml": roles})
    problem = only_problem(folder)
    assert problem.startswith(f"{folder / 'roles.yaml'}:10: roles.analyst.oncall.1:"), problem


def test_bad_duration_names_its_line_and_the_accepted_form(tmp_path: Path) -> None:
    escalation = GOOD_ESCALATION.replace("after: 5m", "after: 5 minutes")
    folder = folder_with(tmp_path, **{"escalation.yaml": escalation})
    problem = only_problem(folder)
    assert problem.startswith(f"{folder / 'escalation.yaml'}:7: severities.sev1.tiers.1.after:"), problem
    assert "30s, 5m, 1h" in problem


def test_unknown_target_kind_names_the_line_of_the_target(tmp_path: Path) -> None:
    escalation = GOOD_ESCALATION.replace("- email:soc@example.com", "- pager:xyz")
    folder = folder_with(tmp_path, **{"escalation.yaml": escalation})
    problem = only_problem(folder)
    assert problem.startswith(f"{folder / 'escalation.yaml'}:10: severities.sev1.tiers.1.notify.1:"), problem
    assert "'pager:xyz' is not a target" in problem and "role:KEY" in problem


def test_escalation_role_target_missing_from_roles_yaml_lists_the_roles(tmp_path: Path) -> None:
    escalation = GOOD_ESCALATION.replace("- role:analyst", "- role:legal")
    folder = folder_with(tmp_path, **{"escalation.yaml": escalation})
    problem = only_problem(folder)
    assert problem.startswith(f"{folder / 'escalation.yaml'}:9: severities.sev1.tiers.1.notify.0:"), problem
    assert "role 'legal' is not in roles.yaml; roles are manager, analyst" in problem


def test_missing_severity_is_named(tmp_path: Path) -> None:
    escalation = GOOD_ESCALATION.replace("  sev4:\n    name: Low\n", "")
    folder = folder_with(tmp_path, **{"escalation.yaml": escalation})
    problem = only_problem(folder)
    assert problem.startswith(f"{folder / 'escalation.yaml'}:1: severities:"), problem
    assert "missing severity 'sev4'" in problem


def test_yaml_syntax_error_names_its_line(tmp_path: Path) -> None:
    roles = GOOD_ROLES.replace("    title: Security analyst\n", "    title: [Security analyst\n")
    folder = folder_with(tmp_path, **{"roles.yaml": roles})
    problem = only_problem(folder)
    assert problem.startswith(f"{folder / 'roles.yaml'}:"), problem
    assert "YAML syntax error" in problem
    line = int(problem.split(":")[1])
    assert line in (7, 8), problem  # the open bracket's line or the next one, where PyYAML notices


def test_tab_indentation_is_a_syntax_error_on_that_line(tmp_path: Path) -> None:
    roles = GOOD_ROLES.replace("    oncall: [U0ALICE]", "\toncall: [U0ALICE]")
    folder = folder_with(tmp_path, **{"roles.yaml": roles})
    problem = only_problem(folder)
    assert problem.startswith(f"{folder / 'roles.yaml'}:5: YAML syntax error"), problem


def test_playbook_missing_a_stage_names_the_file_and_stage(tmp_path: Path) -> None:
    stages = "".join(f"  {s}:\n    - Step for {s}\n" for s in STAGES if s != "recovery")
    folder = folder_with(
        tmp_path, **{"playbooks__insider.yaml": f"name: insider\ntitle: Insider threat\nstages:\n{stages}"}
    )
    problem = only_problem(folder)
    assert problem.startswith(f"{folder / 'playbooks' / 'insider.yaml'}:3: stages:"), problem
    assert "missing stage 'recovery'" in problem


def test_playbook_name_must_match_its_file(tmp_path: Path) -> None:
    stages = "".join(f"  {s}:\n    - Step for {s}\n" for s in STAGES)
    folder = folder_with(tmp_path, **{"playbooks__insider.yaml": f"title: Insider\nname: insiders\nstages:\n{stages}"})
    problem = only_problem(folder)
    assert problem.startswith(f"{folder / 'playbooks' / 'insider.yaml'}:2: name:"), problem
    assert "'insider'" in problem


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    roles = GOOD_ROLES.replace("oncall: [bob@example.com]", "oncall: [bob]")
    escalation = GOOD_ESCALATION.replace("after: 5m", "after: soon")
    folder = folder_with(tmp_path, **{"roles.yaml": roles, "escalation.yaml": escalation})
    problems = problems_of(folder)
    assert any("roles.yaml:8:" in p for p in problems) and any("escalation.yaml:7:" in p for p in problems)


def test_an_unrepresentable_duration_is_a_config_error_not_a_crash(tmp_path: Path) -> None:
    escalation = GOOD_ESCALATION.replace("after: 5m", "after: 99999999999d")
    folder = folder_with(tmp_path, **{"escalation.yaml": escalation})
    problem = only_problem(folder)
    assert problem.startswith(f"{folder / 'escalation.yaml'}:7: severities.sev1.tiers.1.after:"), problem


def test_empty_roles_file_says_what_is_missing(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, **{"roles.yaml": ""})
    problems = problems_of(folder)
    assert any(p.startswith(f"{folder / 'roles.yaml'}:1: roles:") for p in problems), problems


def test_declarer_role_must_be_a_role(tmp_path: Path) -> None:
    folder = folder_with(
        tmp_path, **{"roles.yaml": GOOD_ROLES.replace("declarer_role: manager", "declarer_role: boss")}
    )
    problem = only_problem(folder)
    assert "declarer_role 'boss' is not a role" in problem and "roles.yaml" in problem


# --- the command line --------------------------------------------------------------------------------------------


def ircbot(*args: str, tmp_path: Path, config_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the `ircbot` command line in a clean environment; a hang fails instead of blocking the suite."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_", "IRCBOT_", "SMTP_"))}
    environment = {**base, "IRCBOT_CONFIG_DIR": str(config_dir), **env}
    try:
        return subprocess.run(
            [sys.executable, "-m", "ircbot.cli", *args],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"`ircbot {' '.join(args)}` did not exit: {exc.stderr!r}") from exc


@pytest.mark.slow
def test_check_config_accepts_the_shipped_files(tmp_path: Path) -> None:
    done = ircbot("check-config", tmp_path=tmp_path, config_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout and "data-breach" in done.stdout


@pytest.mark.slow
def test_check_config_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, **{"escalation.yaml": GOOD_ESCALATION.replace("after: 5m", "after: 5 minutes")})
    done = ircbot("check-config", tmp_path=tmp_path, config_dir=folder)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert f"{folder / 'escalation.yaml'}:7: severities.sev1.tiers.1.after" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_serve_refuses_to_start_on_bad_config(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, **{"roles.yaml": GOOD_ROLES.replace("oncall: [U0ALICE]", "oncall: [alice]")})
    done = ircbot(
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        tmp_path=tmp_path,
        config_dir=folder,
        SLACK_BOT_TOKEN="xoxb-x",
        SLACK_SIGNING_SECRET="x",
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert f"{folder / 'roles.yaml'}:5: roles.manager.oncall" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_serve_without_a_bot_token_names_the_variable(tmp_path: Path) -> None:
    done = ircbot("serve", "--port", "0", tmp_path=tmp_path, config_dir=tmp_path, SLACK_SIGNING_SECRET="x")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "SLACK_BOT_TOKEN" in done.stderr


def test_shipped_files_are_found_from_a_source_checkout() -> None:
    assert shipped_path("roles.yaml") == ROOT / "roles.yaml"
    assert shipped_path("templates") == ROOT / "templates"


@pytest.mark.slow
def test_check_config_warns_about_a_stage_longer_than_the_card_shows(tmp_path: Path) -> None:
    folder = folder_with(tmp_path)
    (folder / "playbooks").mkdir(exist_ok=True)
    items = "\n".join(f"    - Step {n}" for n in range(1, 61))
    (folder / "playbooks" / "default.yaml").write_text(
        f"name: default\ntitle: Long\ndescription: Long detection\nstages:\n  detection:\n{items}\n"
        "  analysis: [a]\n  containment: [c]\n  eradication: [e]\n  recovery: [r]\n  post-incident: [p]\n"
    )
    done = ircbot("check-config", tmp_path=tmp_path, config_dir=folder)
    assert done.returncode == 0, done.stderr
    assert "default.yaml: stages.detection: 60 items, more than the 41 the incident card shows" in done.stderr


# --- every problem in one run ------------------------------------------------------------------------------------


def test_an_unknown_role_target_is_reported_with_a_problem_in_roles_yaml(tmp_path: Path) -> None:
    roles = GOOD_ROLES.replace("oncall: [bob@example.com]", "oncall: [bob]")
    escalation = GOOD_ESCALATION.replace("- role:analyst", "- role:legal")
    folder = folder_with(tmp_path, **{"roles.yaml": roles, "escalation.yaml": escalation})
    problems = problems_of(folder)
    assert any(p.startswith(f"{folder / 'roles.yaml'}:8: roles.analyst.oncall.0:") for p in problems), problems
    assert any(
        p.startswith(f"{folder / 'escalation.yaml'}:9: severities.sev1.tiers.1.notify.0:")
        and "role 'legal' is not in roles.yaml; roles are manager, analyst" in p
        for p in problems
    ), problems


def test_an_unknown_role_target_is_reported_with_a_bad_duration_in_another_tier(tmp_path: Path) -> None:
    escalation = GOOD_ESCALATION.replace("after: 0s", "after: soon").replace("- role:analyst", "- role:legal")
    folder = folder_with(tmp_path, **{"escalation.yaml": escalation})
    problems = problems_of(folder)
    assert any("escalation.yaml:5: severities.sev1.tiers.0.after:" in p for p in problems), problems
    assert any("escalation.yaml:9: severities.sev1.tiers.1.notify.0: role 'legal'" in p for p in problems), problems


def test_a_missing_severity_is_reported_with_a_bad_duration(tmp_path: Path) -> None:
    escalation = GOOD_ESCALATION.replace("after: 5m", "after: soon").replace("  sev4:\n    name: Low\n", "")
    folder = folder_with(tmp_path, **{"escalation.yaml": escalation})
    problems = problems_of(folder)
    assert len(problems) == 2, problems
    assert "escalation.yaml:7: severities.sev1.tiers.1.after:" in problems[0]
    assert "escalation.yaml:1: severities: missing severity 'sev4'" in problems[1]


def test_a_bad_declarer_role_and_a_bad_role_key_are_reported_with_a_bad_oncall_entry(tmp_path: Path) -> None:
    roles = GOOD_ROLES.replace("declarer_role: manager", "declarer_role: boss")
    roles = roles.replace("oncall: [bob@example.com]", "oncall: [bob]").replace("  analyst:", "  Analyst:")
    problems = problems_of(folder_with(tmp_path, **{"roles.yaml": roles}))
    assert any("roles.Analyst.oncall.0: 'bob' is neither" in p for p in problems), problems
    assert any("roles: role key 'Analyst' must be lowercase" in p for p in problems), problems
    assert any("declarer_role 'boss' is not a role; choose one of manager, Analyst" in p for p in problems), problems


def test_a_playbook_missing_a_stage_is_reported_with_its_bad_item_and_wrong_name(tmp_path: Path) -> None:
    stages = "".join(f"  {s}:\n    - Step for {s}\n" for s in STAGES if s != "recovery")
    stages = stages.replace("- Step for analysis", "- {text: Step, colour: red}")
    folder = folder_with(tmp_path, **{"playbooks__insider.yaml": f"name: insiders\ntitle: Insider\nstages:\n{stages}"})
    problems = problems_of(folder)
    where = folder / "playbooks" / "insider.yaml"
    assert any(p.startswith(f"{where}:1: name: must equal the file name 'insider'") for p in problems), problems
    assert any(f"{where}:" in p and "stages.analysis.0.colour: Extra inputs" in p for p in problems), problems
    assert any(p.startswith(f"{where}:3: stages: missing stage 'recovery'") for p in problems), problems


def test_an_alert_rule_naming_an_invalid_playbook_is_not_told_it_does_not_exist(tmp_path: Path) -> None:
    stages = "".join(f"  {s}:\n    - Step for {s}\n" for s in STAGES if s != "recovery")
    folder = folder_with(
        tmp_path,
        **{
            "playbooks__insider.yaml": f"name: insider\ntitle: Insider\nstages:\n{stages}",
            "alerts.yaml": "rules:\n  - when: {severity: high}\n    declare: {playbook: insider}\n",
        },
    )
    problem = only_problem(folder)
    assert "insider.yaml:3: stages: missing stage 'recovery'" in problem


def test_the_same_message_on_many_lines_is_said_once_listing_the_lines(tmp_path: Path) -> None:
    escalation = GOOD_ESCALATION.replace("- role:analyst", "- role:legal").replace(
        "  sev2:\n    name: High\n",
        "  sev2:\n    name: High\n    tiers:\n      - after: 0s\n        notify: [role:legal, role:legal]\n",
    )
    folder = folder_with(tmp_path, **{"escalation.yaml": escalation})
    problem = only_problem(folder)
    assert problem.startswith(f"{folder / 'escalation.yaml'}: lines 9, 15: role 'legal' is not in roles.yaml"), problem
    assert "(3 times: severities.sev1.tiers.1.notify.0, severities.sev2.tiers.0.notify.0, " in problem


def test_a_config_folder_that_does_not_exist_is_an_error_not_the_shipped_examples(tmp_path: Path) -> None:
    problem = only_problem(tmp_path / "confg")
    assert problem.startswith(f"IRCBOT_CONFIG_DIR={tmp_path / 'confg'} does not exist: set it to the folder"), problem
    (tmp_path / "file").write_text("")
    assert "is not a folder" in only_problem(tmp_path / "file")


# --- may: words ---------------------------------------------------------------------------------------------------


def test_an_unknown_may_word_is_an_error_naming_the_line_and_the_words(tmp_path: Path) -> None:
    roles = GOOD_ROLES.replace("    oncall: [U0ALICE]\n", "    oncall: [U0ALICE]\n    may: [resolve, resolv]\n")
    problem = only_problem(folder_with(tmp_path, **{"roles.yaml": roles}))
    assert problem.startswith(f"{tmp_path / 'config' / 'roles.yaml'}:6: roles.manager.may.1: unknown permission"), (
        problem
    )
    assert "'resolv': did you mean 'resolve'?" in problem and "approve_join, assign, decide" in problem


def test_every_may_word_the_code_checks_is_known_and_no_other() -> None:
    import ast

    from ircbot.commands import COMMANDS
    from ircbot.domain.access_requests import APPROVE
    from ircbot.domain.policy import MAY_WORDS

    checked = {spec.permission for spec in COMMANDS if spec.permission} | {APPROVE}
    for path in (ROOT / "ircbot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            called = node.func if isinstance(node, ast.Call) else None
            name = getattr(called, "id", getattr(called, "attr", None))
            if name in ("has_permission", "require_permission") and isinstance(node, ast.Call):
                word = node.args[-1] if len(node.args) == 5 else None
                if isinstance(word, ast.Constant) and isinstance(word.value, str):
                    checked.add(word.value)
    assert "update" in checked, "the scan of has_permission(…, 'update') found nothing: it is broken"
    assert set(MAY_WORDS) == checked


def test_the_shipped_roles_use_only_known_may_words(tmp_path: Path) -> None:
    from ircbot.domain.policy import MAY_WORDS

    roles = load_config(tmp_path).roles.roles
    assert {word for role in roles.values() for word in role.may or []} <= set(MAY_WORDS)


# --- the shipped examples' placeholders --------------------------------------------------------------------------


def test_the_shipped_examples_are_named_as_placeholders(tmp_path: Path) -> None:
    from ircbot.config import example_placeholders

    found = example_placeholders(tmp_path)
    assert len(found) == 2, found
    assert found[0].startswith(f"roles.yaml: the shipped example ({ROOT / 'roles.yaml'}) is in use")
    assert "U0MANAGER1" in found[0] and f"put your own roles.yaml in IRCBOT_CONFIG_DIR ({tmp_path})" in found[0]
    assert found[1].startswith(f"escalation.yaml: the shipped example ({ROOT / 'escalation.yaml'})")


def test_placeholders_copied_into_your_own_files_are_named_by_line(tmp_path: Path) -> None:
    from ircbot.config import example_placeholders

    folder = folder_with(tmp_path, **{"roles.yaml": GOOD_ROLES.replace("[U0ALICE]", "[U0MANAGER1, U0ALICE]")})
    escalation = (ROOT / "escalation.yaml").read_text().replace("role:analyst", "role:manager")
    (folder / "escalation.yaml").write_text(escalation)
    found = example_placeholders(folder)
    assert found[0] == (
        f"{folder / 'roles.yaml'}:5: roles.manager.oncall.0: 'U0MANAGER1' is a placeholder of the shipped example: "
        "replace it with your own"
    )
    assert any(f.startswith(f"{folder / 'escalation.yaml'}: lines ") and "'S0SOCTIER2'" in f for f in found), found
    assert not any("soc-lead@example.com" in f for f in found), "escalation addresses are not on-call placeholders"


def test_the_test_workspace_config_has_no_placeholders(tmp_path: Path) -> None:
    from ircbot.config import example_placeholders

    assert example_placeholders(write_config(tmp_path / "config")) == []
