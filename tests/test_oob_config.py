"""oob.yaml is validated like every config file, and the room's rendering of the bot's messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from ircbot.config import load_config
from ircbot.domain.messages import Text
from ircbot.errors import ConfigError
from ircbot.oob.render import markup, plain, to_matrix
from tests.factories import ALICE, BOB, write_config
from tests.test_cli import ircbot

GOOD = (
    "matrix:\n"
    "  homeserver: https://matrix.example.org/\n"
    '  user: "@ircbot:example.org"\n'
    "  password_env: MATRIX_BOT_PASSWORD\n"
    "people:\n"
    f'  {ALICE}: "@alice:example.org"\n'
    f'  {BOB}: {{matrix: "@bob:example.org", email: bob@example.org}}\n'
)


def test_a_good_oob_yaml_maps_people_both_ways_and_the_file_is_optional(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config")
    assert not load_config(folder).oob.enabled
    (folder / "oob.yaml").write_text(GOOD)
    oob = load_config(folder).oob
    assert oob.enabled and oob.matrix is not None and oob.matrix.homeserver == "https://matrix.example.org"
    assert oob.matrix_id(BOB) == "@bob:example.org" and oob.people[BOB].email == "bob@example.org"
    assert oob.slack_id("@alice:example.org") == ALICE and oob.slack_id("@mallory:example.org") is None


def test_a_bad_oob_yaml_is_refused_naming_file_line_and_field(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config")
    path = folder / "oob.yaml"
    path.write_text(
        "matrix:\n"  # 1
        "  homeserver: matrix.example.org\n"  # 2
        "  user: ircbot\n"  # 3
        "  password_env: MATRIX_BOT_PASSWORD\n"  # 4
        "  access_token_env: MATRIX_TOKEN\n"  # 5
        "people:\n"  # 6
        '  U012ABCDEF: "alice"\n'  # 7
    )
    with pytest.raises(ConfigError) as refused:
        load_config(folder)
    said = "\n".join(refused.value.problems)
    assert f"{path}:2: matrix.homeserver: 'matrix.example.org' is not a homeserver URL" in said
    assert f"{path}:3: matrix.user: 'ircbot' is not a Matrix user id" in said
    path.write_text(GOOD.replace("  password_env: MATRIX_BOT_PASSWORD\n", "  password_env: A\n  access_token_env: B\n"))
    with pytest.raises(ConfigError) as refused:
        load_config(folder)
    assert "matrix: give exactly one of password_env and access_token_env" in "\n".join(refused.value.problems)
    assert f"{path}:7: people.U012ABCDEF.matrix: 'alice' is not a Matrix user id" in said
    assert "password_env" not in said, "the model's cross-field check runs once its fields are valid"


def test_one_matrix_account_cannot_stand_for_two_people(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config")
    (folder / "oob.yaml").write_text(GOOD + '  U0CAROL: "@alice:example.org"\n')
    with pytest.raises(ConfigError) as refused:
        load_config(folder)
    assert "@alice:example.org is mapped twice (U0ALICE and U0CAROL)" in "\n".join(refused.value.problems)


def test_check_config_says_when_the_bots_matrix_secret_is_not_set(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config")
    (folder / "oob.yaml").write_text(GOOD)
    done = ircbot("check-config", cwd=tmp_path, IRCBOT_CONFIG_DIR=str(folder))
    assert done.returncode == 2 and "MATRIX_BOT_PASSWORD: not set" in done.stdout + done.stderr
    done = ircbot("check-config", cwd=tmp_path, IRCBOT_CONFIG_DIR=str(folder), MATRIX_BOT_PASSWORD="s3cret")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"oob.yaml: {folder / 'oob.yaml'}" in done.stdout


def mapped(user: str) -> str | None:
    return {ALICE: "@alice:example.org"}.get(user)


def test_slack_markup_becomes_matrix_text_and_html() -> None:
    mrkdwn = (
        f"*Paged* <@{ALICE}> and <@{BOB}> in <#C0INC1|inc-1> at <!date^1796374800^{{date_short}} {{time}}|fallback> "
        "<!channel> see <https://ex.example/a?b=1&amp;c=2|the runbook> &lt;now&gt; `code`"
    )
    text = plain(mrkdwn, mapped)
    assert text == (
        "Paged @alice:example.org and U0BOB in #inc-1 at 2026-12-04 09:00 UTC  see the runbook "
        "(https://ex.example/a?b=1&c=2) <now> `code`"
    )
    html = markup(mrkdwn, mapped)
    assert html.startswith('<strong>Paged</strong> <a href="https://matrix.to/#/@alice:example.org">')
    assert "U0BOB" in html and "&lt;now&gt;" in html and "<code>code</code>" in html and "channel" not in html
    assert '<a href="https://ex.example/a?b=1&amp;c=2">the runbook</a>' in html


def test_a_message_with_buttons_says_how_to_do_the_same_in_the_room() -> None:
    body, html = to_matrix(Text(":warning: Something went wrong"), mapped)
    assert body == "⚠️ Something went wrong" and "Buttons" not in body and "⚠️" in html
