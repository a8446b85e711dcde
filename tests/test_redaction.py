"""Secrets pasted into an incident channel are redacted; IOCs, mentions and ordinary prose are not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ircbot.domain.redaction import Redactor

# Sample secrets are assembled from pieces so that secret scanners do not flag this file as a leak.
AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_SESSION_KEY_ID = "ASIA" + "Y34FZKBOKMUTVV7A"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
SLACK_BOT_TOKEN = "xoxb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_USER_TOKEN = "xoxp-" + "123456789012-123456789012-1234567890123-" + "0123456789abcdef0123456789abcdef"
SLACK_APP_TOKEN = "xapp-" + "1-A0123456789-1234567890123-" + "0123456789abcdef" * 4
SLACK_WEBHOOK = "https://hooks.slack.com/" + "services/T00000000/B00000000/" + "XXXXXXXXXXXXXXXXXXXXXXXX"
GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
GITHUB_PAT = "github_pat_" + "11ABCDEFG0123456789abc_" + "Zyxwvutsrqponmlkjihgfedcba0123456789ABCDEFGHIJKLMNOPQRSTUV"
GOOGLE_KEY = "AIza" + "SyA-1234567890abcdefghijklmnopqrstu"
STRIPE_KEY = "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    + ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM_BODY = (
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
)
RSA_KEY = "-----BEGIN RSA " + "PRIVATE KEY-----\n" + PEM_BODY + "-----END RSA PRIVATE KEY-----"
OPENSSH_KEY = "-----BEGIN OPENSSH " + "PRIVATE KEY-----\n" + PEM_BODY + "-----END OPENSSH PRIVATE KEY-----"
PKCS8_KEY = "-----BEGIN " + "PRIVATE KEY-----\n" + PEM_BODY + "-----END PRIVATE KEY-----"
PGP_KEY = "-----BEGIN PGP " + "PRIVATE KEY BLOCK-----\n\n" + PEM_BODY + "=twTO\n-----END PGP PRIVATE KEY BLOCK-----"

SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def redacted(text: str) -> tuple[str, Redactor]:
    redactor = Redactor()
    return redactor.redact(text), redactor


@pytest.mark.parametrize(
    ("secret", "kind"),
    [
        (AWS_KEY_ID, "AWS access key"),
        (AWS_SESSION_KEY_ID, "AWS access key"),
        ("AROA" + "EXAMPLEROLEID123", "AWS access key"),
        (SLACK_BOT_TOKEN, "Slack token"),
        (SLACK_USER_TOKEN, "Slack token"),
        (SLACK_APP_TOKEN, "Slack token"),
        (SLACK_WEBHOOK, "Slack webhook URL"),
        (GITHUB_TOKEN, "GitHub token"),
        ("ghs_" + GITHUB_TOKEN[4:], "GitHub token"),
        (GITHUB_PAT, "GitHub token"),
        (GOOGLE_KEY, "Google API key"),
        (STRIPE_KEY, "Stripe key"),
        ("rk_" + STRIPE_KEY[3:], "Stripe key"),
        (JWT, "JWT"),
        (RSA_KEY, "private key"),
        (OPENSSH_KEY, "private key"),
        (PKCS8_KEY, "private key"),
        (PGP_KEY, "private key"),
    ],
)
def test_each_kind_is_replaced_and_the_context_kept(secret: str, kind: str) -> None:
    text, redactor = redacted(f"Found this in the logs: {secret}. Rotating now (INC-42).")
    assert text == f"Found this in the logs: [REDACTED {kind}]. Rotating now (INC-42)."
    assert redactor.counts == {kind: 1}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (f"aws_secret_access_key = {AWS_SECRET}", "aws_secret_access_key = [REDACTED AWS secret key]"),
        (f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}", "AWS_SECRET_ACCESS_KEY=[REDACTED AWS secret key]"),
        (f'"SecretAccessKey": "{AWS_SECRET}",', '"SecretAccessKey": "[REDACTED AWS secret key]",'),
        (f"SecretAccessKey: {AWS_SECRET}", "SecretAccessKey: [REDACTED AWS secret key]"),
    ],
)
def test_labelled_aws_secret_keys(before: str, after: str) -> None:
    text, redactor = redacted(before)
    assert text == after
    assert redactor.counts == {"AWS secret key": 1}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("postgres://admin:hunter2@db.internal/x", "postgres://admin:[REDACTED password]@db.internal/x"),
        (
            "see <https://deploy:s3cr%40t@ci.example.com/job|the job>",
            "see <https://deploy:[REDACTED password]@ci.example.com/job|the job>",
        ),
        ("redis://:Pa55word@10.0.0.5:6379/0", "redis://:[REDACTED password]@10.0.0.5:6379/0"),
        (
            "mongodb+srv://app:p@ss:w0rd@cluster0.example.net",
            "mongodb+srv://app:[REDACTED password]@cluster0.example.net",
        ),
    ],
)
def test_passwords_in_urls_keep_scheme_user_and_host(before: str, after: str) -> None:
    text, redactor = redacted(before)
    assert text == after
    assert redactor.counts == {"password": 1}


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        ("password=hunter2", "password=[REDACTED password]", "password"),
        ("DB_PASSWORD=hunter2 and retry", "DB_PASSWORD=[REDACTED password] and retry", "password"),
        ("passwd: correct-horse", "passwd: [REDACTED password]", "password"),
        ("mysql -u root --pwd=t0ps3cret.", "mysql -u root --pwd=[REDACTED password].", "password"),
        ('{"password": "two words"}', '{"password": "[REDACTED password]"}', "password"),
        ("client_secret='abc123xyz'", "client_secret='[REDACTED secret]'", "secret"),
        ("secret=s3cr3t-value", "secret=[REDACTED secret]", "secret"),
        ("GET /v1/items?api_key=abc123&page=2", "GET /v1/items?api_key=[REDACTED API key]&page=2", "API key"),
        ("x-api-key: 0123456789abcdef", "x-api-key: [REDACTED API key]", "API key"),
        ("token=opaque-token-value (expired?)", "token=[REDACTED token] (expired?)", "token"),
        ("aws_session_token = FQoGZXIvYXdzEBYaDEXAMPLE", "aws_session_token = [REDACTED token]", "token"),
    ],
)
def test_labelled_assignments_lose_only_their_value(before: str, after: str, kind: str) -> None:
    text, redactor = redacted(before)
    assert text == after
    assert redactor.counts == {kind: 1}


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        (f"token={JWT}", "token=[REDACTED JWT]", "JWT"),
        (f"Authorization: Bearer {JWT}", "Authorization: Bearer [REDACTED JWT]", "JWT"),
        (f"SLACK_BOT_TOKEN={SLACK_BOT_TOKEN}", "SLACK_BOT_TOKEN=[REDACTED Slack token]", "Slack token"),
        (f"GITHUB_TOKEN: {GITHUB_TOKEN}", "GITHUB_TOKEN: [REDACTED GitHub token]", "GitHub token"),
        (f"api_key={GOOGLE_KEY}", "api_key=[REDACTED Google API key]", "Google API key"),
        (f"password=x{AWS_KEY_ID}", "password=[REDACTED password]", "password"),
        (
            f"https://token:{GITHUB_TOKEN}@github.com/org/repo",
            "https://token:[REDACTED password]@github.com/org/repo",
            "password",
        ),
    ],
)
def test_overlapping_finds_are_redacted_once(before: str, after: str, kind: str) -> None:
    text, redactor = redacted(before)
    assert text == after
    assert redactor.counts == {kind: 1}


def test_a_multi_line_private_key_is_replaced_whole() -> None:
    message = f"Here's the deploy key, sorry:\n```\n{RSA_KEY}\n```\nRevoking it now."
    text, redactor = redacted(message)
    assert text == "Here's the deploy key, sorry:\n```\n[REDACTED private key]\n```\nRevoking it now."
    assert redactor.counts == {"private key": 1}


def test_a_private_key_cut_off_before_its_end_line_still_loses_its_body() -> None:
    message = "-----BEGIN EC " + "PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n" + PEM_BODY
    text, redactor = redacted(f"partial paste:\n{message}")
    assert text == "partial paste:\n[REDACTED private key]\n"
    assert redactor.total == 1


def test_a_key_pasted_on_one_line_is_replaced_whole() -> None:
    text, _ = redacted("KEY=" + RSA_KEY.replace("\n", ""))
    assert text == "KEY=[REDACTED private key]"


def test_a_secret_glued_to_another_is_found_once_its_neighbour_is_gone() -> None:
    text, redactor = redacted(f"keys: {GOOGLE_KEY}{AWS_KEY_ID}")
    assert text == "keys: [REDACTED Google API key][REDACTED AWS access key]"
    assert redactor.counts == {"Google API key": 1, "AWS access key": 1}


def test_counts_accumulate_and_the_summary_pluralises() -> None:
    redactor = Redactor()
    redactor.redact(f"found {AWS_KEY_ID} and {AWS_SESSION_KEY_ID}")
    redactor.redact(f"and the bot token {SLACK_BOT_TOKEN}")
    assert redactor.counts == {"AWS access key": 2, "Slack token": 1}
    assert redactor.total == 3
    assert redactor.summary() == "3 secrets redacted (2 AWS access keys, 1 Slack token)"


def test_summary_of_one_and_of_none() -> None:
    redactor = Redactor()
    assert redactor.summary() == "no secrets redacted"
    assert redactor.total == 0
    redactor.redact(JWT)
    assert redactor.summary() == "1 secret redacted (1 JWT)"


FALSE_POSITIVES = [
    f"C2 is 203.0.113.7; sha256 {SHA256}",
    f"sha256:{SHA256} sha1={SHA1} md5 {MD5}",
    f"hashes: {SHA256.upper()}",
    "request id 123e4567-e89b-12d3-a456-426614174000 on web-01.prod.example.com (10.0.12.7:8443)",
    "paging <@U123ABC> and <@U0G9QF9C6|alice> in <#C123|sec-incidents>",
    "ticket SEC-1234 / INC-42 / JIRA-99 opened; see https://wiki.example.com/runbooks/creds?id=7#rotate",
    "mail alice@example.com or <mailto:bob@example.org|bob@example.org>",
    "ssh://git@github.com:22/org/repo.git and user@host:/srv/backup",
    "the password was reset, the API key and token were rotated and the secret is out",
    "Add secret scanning to CI; tokens: 3 revoked; token_type=bearer",
    "passwords must be rotated: all of them",
    "GuardDuty: UnauthorizedAccess:EC2/SSHBruteForce from 198.51.100.23",
    "AKIA is the prefix of long-term AWS key ids; eyJ starts a JWT",
    "bypass=true compass: north",
    "[REDACTED AWS access key] and password=[REDACTED password]",
]


@pytest.mark.parametrize("text", FALSE_POSITIVES)
def test_ordinary_incident_text_is_left_alone(text: str) -> None:
    assert redacted(text) == (text, Redactor())


SAMPLES = [
    f"found {AWS_KEY_ID} in the repo, and postgres://admin:hunter2@db.internal/app",
    f"aws_secret_access_key = {AWS_SECRET}\naws_access_key_id = {AWS_KEY_ID}",
    f"{SLACK_WEBHOOK} and {SLACK_APP_TOKEN}",
    f"token={JWT}; password='hunter 2'; api_key={GOOGLE_KEY}",
    f"{PGP_KEY}\n{OPENSSH_KEY}",
    f"{GITHUB_PAT} {STRIPE_KEY} <@U123ABC> {SHA256}",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_redacting_redacted_text_changes_nothing(text: str) -> None:
    once, first = redacted(text)
    assert first.total > 0
    twice, second = redacted(once)
    assert twice == once
    assert second.total == 0


def test_long_unbroken_input_is_scanned_quickly() -> None:
    # Each would take minutes if a pattern backtracked quadratically.
    for text in (
        "a" * 200_000,
        "a." * 100_000,
        "password" * 25_000,
        "x:" * 100_000,
        "-----BEGIN PRIVATE KEY-----" * 2000,
    ):
        Redactor().redact(text)


SECRETS = [
    AWS_KEY_ID,
    AWS_SESSION_KEY_ID,
    SLACK_BOT_TOKEN,
    SLACK_APP_TOKEN,
    SLACK_WEBHOOK,
    GITHUB_TOKEN,
    GITHUB_PAT,
    GOOGLE_KEY,
    STRIPE_KEY,
    JWT,
    RSA_KEY,
    PGP_KEY,
]
LONGEST_MARKER = len("[REDACTED Slack webhook URL]")
prose = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)
fragments = st.lists(st.one_of(prose, st.sampled_from(SECRETS)), max_size=12)


@given(fragments, st.sampled_from([" ", "\n", "\t", "`", "(", ", ", "*"]))
def test_no_detected_secret_survives_and_text_grows_only_by_markers(parts: list[str], separator: str) -> None:
    text = separator.join(["", *parts, ""])
    redactor = Redactor()
    out = redactor.redact(text)
    for secret in SECRETS:
        if secret in parts:
            assert secret not in out
    assert len(out) <= len(text) + redactor.total * LONGEST_MARKER


@given(st.text())
def test_arbitrary_text_never_raises_and_redaction_is_idempotent(text: str) -> None:
    once, _ = redacted(text)
    twice, second = redacted(once)
    assert (twice, second.total) == (once, 0)
