"""`ircbot check-config`: the config folder, the environment and (with --slack) the workspace, every problem at once.

What it reads is said first, file by file, each marked when it is a shipped example rather than the operator's
own; then every problem of every kind, so that one run lists all there is to fix.

A typo in a member id validates (it is shaped like one) and fails only when an incident pages it, so `--slack`
asks the workspace with the bot's own token: users.info for each user id, usergroups.users.list for each user
group, and conversations.list for the channels (one call per 1,000 channels, which also finds those given as
#name).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import ArgumentError

from ircbot.adapters.smtp import mail_from_url
from ircbot.config import config_files, describe_paths, example_placeholders, load_config, require_folder
from ircbot.domain.policy import GROUP_ID, USER_ID, Config
from ircbot.errors import ConfigError
from ircbot.settings import Settings
from ircbot.slack.client import build_web_client
from ircbot.store.db import describe_url, url_problem
from ircbot.yamlsource import Problem, YamlSource, grouped, read_yaml

Kind = Literal["user", "group", "channel"]
_SCOPES = {"user": "users:read", "group": "usergroups:read", "channel": "channels:read and groups:read"}
REFUSAL = (
    "`ircbot serve` refuses to start on placeholders, which page nobody: put your own people, ids and addresses "
    "in these files, or pass --allow-example-config to try the bot with them"
)


def environment_problems(settings: Settings) -> list[str]:
    """What is wrong with DATABASE_URL and SMTP_URL beyond their type (IRCBOT_TIMEZONE is checked with the type)."""
    problems = []
    problem = url_problem(settings.database_url)
    if problem is not None:
        try:
            shown = f"={describe_url(settings.database_url)!r}"
        except ArgumentError:  # not a URL at all; it may hold a password, so it is not repeated
            shown = ""
        problems.append(f"DATABASE_URL{shown}: {problem}")
    try:
        mail_from_url(settings.smtp_url)
    except ConfigError as exc:
        problems.extend(exc.problems)
    return problems


def _oob_secret(config: Config) -> list[str]:
    """oob.yaml names the variable holding the bot's Matrix secret: it must be set, or moving out of band fails."""
    if config.oob.matrix is None:
        return []
    kind, value = config.oob.matrix.secret()
    name = config.oob.matrix.access_token_env if kind == "access_token" else config.oob.matrix.password_env
    return [] if value else [f"{name}: not set, and oob.yaml reads the bot's Matrix {kind.replace('_', ' ')} from it"]


def run_check(settings: Settings, environment: list[str], *, slack: bool) -> int:
    """Check everything, print what was read and every problem; 0 when all is well, 2 when something is wrong."""
    environment = [*environment, *environment_problems(settings)]
    print(f"config folder: {settings.config_dir.absolute()}")
    problems: list[str] = []
    warnings: list[str] = []
    config: Config | None = None
    try:
        require_folder(settings.config_dir)
        files = config_files(settings.config_dir)
        for line in describe_paths(files):
            print(f"  {line}")
        placeholders = example_placeholders(settings.config_dir)
        warnings += [*placeholders, REFUSAL] if placeholders else []
        config = load_config(settings.config_dir)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if config is not None:
        warnings += _long_stages(config)
        environment += _oob_secret(config)
    slack_problems: list[str] = []
    checked = ""
    if slack and config is not None:
        slack_problems, checked = check_workspace(config, settings)
    elif slack:
        warnings.append("Slack: not asked, since the configuration does not load yet")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for title, found in (
        ("Environment problems", environment),
        ("Configuration problems", problems),
        ("Slack problems", slack_problems),
    ):
        if found:
            print(f"{title}:", file=sys.stderr)
            for problem in found:
                print(f"  {problem}", file=sys.stderr)
    if environment or problems or slack_problems:
        return 2
    assert config is not None
    print(
        f"OK: {len(config.roles.roles)} roles, {len(config.escalation.severities)} severities, "
        f"{len(config.playbooks)} playbooks ({', '.join(sorted(config.playbooks))})"
    )
    if checked:
        print(checked)
    return 0


def _long_stages(config: Config) -> list[str]:
    from ircbot.slack.render import CARD_ITEMS

    return [
        f"{config.files[f'playbooks/{name}.yaml']}: stages.{stage}: {len(items)} items, more than the {CARD_ITEMS} "
        "the incident card shows with buttons; it names the rest and points to `/incident stage`, which lists them all"
        for name, playbook in sorted(config.playbooks.items())
        for stage, items in playbook.stages.items()
        if len(items) > CARD_ITEMS
    ]


@dataclass(frozen=True)
class Reference:
    """One Slack id or channel name in a config file, and where."""

    file: str
    loc: tuple[int | str, ...]
    kind: Kind
    value: str


def references(config: Config) -> list[Reference]:
    """Every user id, user group id and channel the config names (e-mail addresses aside)."""
    found: list[Reference] = []
    for key, role in config.roles.roles.items():
        found += [Reference("roles.yaml", ("roles", key, "oncall", n), "user", e) for n, e in enumerate(role.oncall)]
        if role.oncall_group:
            found.append(Reference("roles.yaml", ("roles", key, "oncall_group"), "group", role.oncall_group))
    for sev, policy in config.escalation.severities.items():
        for t, tier in enumerate(policy.tiers):
            for n, target in enumerate(tier.notify):
                found += _target("escalation.yaml", ("severities", sev, "tiers", t, "notify", n), target)
        if policy.updates and policy.updates.channel:
            loc = ("severities", sev, "updates", "channel")
            found.append(Reference("escalation.yaml", loc, "channel", policy.updates.channel))
    for key, audience in config.escalation.audiences.items():
        if audience.channel:
            found.append(Reference("escalation.yaml", ("audiences", key, "channel"), "channel", audience.channel))
    if config.alerts.triage_channel:
        found.append(Reference("alerts.yaml", ("triage_channel",), "channel", config.alerts.triage_channel))
    for key, regime in config.regulations.regimes.items():
        found += _target("regulations.yaml", ("regimes", key, "owner"), regime.owner or "")
    return [ref for ref in found if ref.kind != "user" or USER_ID.match(ref.value)]


def _target(file: str, loc: tuple[int | str, ...], target: str) -> list[Reference]:
    kind, _, value = target.partition(":")
    if kind == "user":
        return [Reference(file, loc, "user", value)]
    if kind == "group" and GROUP_ID.match(value):
        return [Reference(file, loc, "group", value)]
    return []


def check_workspace(config: Config, settings: Settings) -> tuple[list[str], str]:
    """Problems with the Slack ids of the config (each naming file, line and field), and what was checked."""
    if not settings.slack_bot_token:
        return ["--slack asks the workspace with the bot's token: set SLACK_BOT_TOKEN (xoxb-…)"], ""
    client = build_web_client(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=settings.slack_timeout
    )
    refs = references(config)
    try:
        team = client.auth_test().get("team") or "the workspace"
        missing = dict(_missing_users(client, refs)) | dict(_missing_groups(client, refs))
        missing |= dict(_missing_channels(client, refs))
    except ConfigError as exc:
        return exc.problems, ""
    except SlackApiError as exc:
        return [f"Slack refused the check ({_error(exc)}): is SLACK_BOT_TOKEN the bot's xoxb-… token?"], ""
    except (URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, URLError) else exc
        return [f"cannot reach Slack at {settings.slack_api_url}: {reason}"], ""
    sources: dict[str, YamlSource] = {}
    problems: list[Problem | str] = []
    for ref in refs:
        why = missing.get((ref.kind, ref.value))
        if why is not None:
            source = sources.get(ref.file) or sources.setdefault(ref.file, read_yaml(config.files[ref.file]))
            problems.append(Problem.at(source, ref.loc, f"{ref.value}: {why}"))
    counts = {kind: len({r.value for r in refs if r.kind == kind}) for kind in ("user", "group", "channel")}
    checked = f"{counts['user']} users, {counts['group']} user groups and {counts['channel']} channels"
    return grouped(problems), f"Slack: {checked} checked in {team}"


def _error(exc: SlackApiError) -> str:
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    return str(data.get("error") or exc.response.status_code)


def _unchecked(kind: Kind, exc: SlackApiError) -> str:
    """Slack's answer about one id; raised on when no id of this kind can be checked (a scope, the token)."""
    error = _error(exc)
    if error == "missing_scope":
        raise ConfigError([f"cannot check {kind}s: the token lacks the {_SCOPES[kind]} scope"]) from exc
    if error in ("not_allowed_token_type", "invalid_auth", "not_authed", "account_inactive", "token_revoked"):
        raise exc
    return error


def _missing_users(client: WebClient, refs: list[Reference]) -> Iterator[tuple[tuple[Kind, str], str]]:
    for user_id in sorted({r.value for r in refs if r.kind == "user"}):
        try:
            user = client.users_info(user=user_id).get("user") or {}
        except SlackApiError as exc:
            error = _unchecked("user", exc)
            yield ("user", user_id), "no such user in the workspace" if error == "user_not_found" else error
            continue
        if user.get("deleted"):
            yield ("user", user_id), "the user is deactivated"


def _missing_groups(client: WebClient, refs: list[Reference]) -> Iterator[tuple[tuple[Kind, str], str]]:
    for group_id in sorted({r.value for r in refs if r.kind == "group"}):
        try:
            members = client.usergroups_users_list(usergroup=group_id).get("users") or []
        except SlackApiError as exc:
            error = _unchecked("group", exc)
            yield ("group", group_id), "no such user group" if error == "no_such_subteam" else error
            continue
        if not members:
            yield ("group", group_id), "the user group has no members: paging it reaches nobody"


def _missing_channels(client: WebClient, refs: list[Reference]) -> Iterator[tuple[tuple[Kind, str], str]]:
    wanted = {r.value for r in refs if r.kind == "channel"}
    seen: dict[str, dict[str, Any]] = {}
    cursor = ""
    try:
        while wanted and not wanted <= set(seen):
            page = client.conversations_list(types="public_channel,private_channel", limit=1000, cursor=cursor or None)
            for channel in page.get("channels") or []:
                for name in (str(channel["id"]), f"#{channel['name']}", str(channel["name"])):
                    seen[name] = channel
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                break
    except SlackApiError as exc:
        error = _unchecked("channel", exc)
        for value in sorted(wanted):
            yield ("channel", value), error
        return
    for value in sorted(wanted):
        channel = seen.get(value)
        if channel is None:
            yield ("channel", value), "no such channel, or a private one the bot is not in (invite it)"
        elif channel.get("is_archived"):
            yield ("channel", value), "the channel is archived"
