"""E-mail: SmtpMail against a real SMTP server (aiosmtpd), the SMTP_URL forms, and the page e-mail templates."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import jinja2
import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from ircbot.adapters.smtp import SmtpMail, mail_from_url
from ircbot.app import template_environment
from ircbot.config import load_config
from ircbot.domain.mailing import render_email
from ircbot.domain.ports import Email, NoMail
from ircbot.errors import ConfigError, GatewayError
from tests.factories import write_config
from tests.smtp import SmtpServer, free_port, running_smtp

USER, PASSWORD = "pager", "s3cret@:/x"


def check_password(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    # handled=False makes aiosmtpd answer 535 itself; the default leaves the client waiting.
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    # AUTH over plain text is fine on loopback; production servers offer it after STARTTLS.
    with running_smtp(authenticator=check_password, auth_require_tls=False) as server:
        yield server


@pytest.fixture
def templates(tmp_path: Path) -> jinja2.Environment:
    return template_environment(load_config(write_config(tmp_path)))


def page(**overrides: object) -> dict[str, object]:
    context: dict[str, object] = {
        "key": "INC-7",
        "title": "Credential stuffing on the login API",
        "severity": "SEV1",
        "severity_name": "Critical",
        "tier": 1,
        "declared_by": "Alice Analyst-Lead",
        "declared_at": "2024-05-02 09:15 UTC",
        "channel_name": "inc-7-credential-stuffing",
        "channel_url": "https://example.slack.com/archives/C0INC7",
        "reason": "You are on call for Incident manager",
        "drill": False,
        "ack_hint": "Acknowledge in Slack with the button in your DM from ircbot, "
        "or type /incident ack in the incident channel.",
    }
    context.update(overrides)
    return context


def mail(to: tuple[str, ...] = ("bob@example.com",)) -> Email:
    return Email(to=to, subject="[SEV1] INC-7 paged: Token leak", text="Plain body\n", html="<p>HTML body</p>\n")


def parts(message: EmailMessage) -> dict[str, str]:
    """Each alternative's text by content type, with the wire's CRLF line ends read back as LF."""
    return {
        part.get_content_type(): part.get_content().replace("\r\n", "\n")  # type: ignore[attr-defined]
        for part in message.iter_parts()
    }


def test_sends_a_multipart_email_to_every_recipient(smtp_server: SmtpServer) -> None:
    smtp = SmtpMail(f"smtp://127.0.0.1:{smtp_server.port}?from=ircbot@example.com")
    assert smtp.enabled

    smtp.send(mail(to=("bob@example.com", "erin@dfir.example.net")))

    [received] = smtp_server.inbox.received
    assert received.mail_from == "ircbot@example.com"
    assert received.rcpt_tos == ["bob@example.com", "erin@dfir.example.net"]
    message = received.message()
    assert message["Subject"] == "[SEV1] INC-7 paged: Token leak"
    assert message["From"] == "ircbot@example.com"
    assert message["To"] == "bob@example.com, erin@dfir.example.net"
    assert message["Date"]
    assert message["Message-ID"].endswith("@example.com>")
    assert message.get_content_type() == "multipart/alternative"
    assert parts(message) == {"text/plain": "Plain body\n", "text/html": "<p>HTML body</p>\n"}


def test_logs_in_with_the_credentials_in_the_url(smtp_server: SmtpServer) -> None:
    # The password holds '@', ':' and '/', so it is percent-encoded in the URL.
    url = f"smtp://{USER}:s3cret%40%3A%2Fx@127.0.0.1:{smtp_server.port}?from=ircbot@example.com"

    SmtpMail(url).send(mail())

    assert [r.rcpt_tos for r in smtp_server.inbox.received] == [["bob@example.com"]]


def test_a_wrong_password_is_a_gateway_error(smtp_server: SmtpServer) -> None:
    smtp = SmtpMail(f"smtp://{USER}:wrong@127.0.0.1:{smtp_server.port}")

    with pytest.raises(GatewayError) as caught:
        smtp.send(mail())

    assert (caught.value.method, caught.value.error.split(":")[0]) == ("smtp", "login refused")
    assert smtp_server.inbox.received == []


def test_a_server_that_is_down_is_a_quick_gateway_error() -> None:
    smtp = SmtpMail(f"smtp://127.0.0.1:{free_port()}")
    started = time.monotonic()

    with pytest.raises(GatewayError) as caught:
        smtp.send(mail())

    assert time.monotonic() - started < 5
    assert caught.value.method == "smtp"
    assert f"cannot reach 127.0.0.1:{smtp.port}" in caught.value.error


def test_a_server_that_never_answers_is_a_gateway_error_after_the_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel accepts the connection; nobody ever sends the greeting
        smtp = SmtpMail(f"smtp://127.0.0.1:{silent.getsockname()[1]}", timeout=0.5)
        started = time.monotonic()

        with pytest.raises(GatewayError) as caught:
            smtp.send(mail())

    assert time.monotonic() - started < 5
    assert caught.value.method == "smtp"
    assert "timed out" in caught.value.error


def test_a_line_break_in_the_subject_does_not_split_the_header(smtp_server: SmtpServer) -> None:
    smtp = SmtpMail(f"smtp://127.0.0.1:{smtp_server.port}")

    smtp.send(Email(to=("bob@example.com",), subject="Leak\r\nBcc: mallory@example.com", text="t", html="h"))

    [received] = smtp_server.inbox.received
    assert received.rcpt_tos == ["bob@example.com"]
    assert received.message()["Subject"] == "Leak Bcc: mallory@example.com"


def test_no_recipients_is_a_gateway_error() -> None:
    with pytest.raises(GatewayError, match="no recipients"):
        SmtpMail("smtp://127.0.0.1:1").send(mail(to=()))


def test_url_forms() -> None:
    plain = SmtpMail("smtp://mail.example.com")
    assert (plain.host, plain.port, plain.use_ssl, plain.starttls, plain.username) == (
        "mail.example.com",
        25,
        False,
        False,
        None,
    )
    assert plain.sender == f"ircbot@{socket.gethostname()}"

    submission = SmtpMail("smtp://u%40corp:p%40ss@mail.example.com:587?starttls=1&from=pager@example.com")
    assert (submission.port, submission.starttls, submission.username, submission.password) == (
        587,
        True,
        "u@corp",
        "p@ss",
    )
    assert submission.sender == "pager@example.com"
    assert "p@ss" not in repr(submission)

    tls = SmtpMail("smtps://mail.example.com")
    assert (tls.port, tls.use_ssl, tls.timeout) == (465, True, 10)


@pytest.mark.parametrize(
    "url",
    [
        "http://mail.example.com:25",
        "mail.example.com:25",
        "smtp://:25",
        "smtp://mail.example.com:port",
        "smtp://mail.example.com:25?tls=1",
        "smtps://mail.example.com?starttls=1",
    ],
)
def test_a_bad_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        mail_from_url(url)

    [problem] = caught.value.problems
    assert problem.startswith("SMTP_URL: ")
    assert "smtp://" in problem


def test_no_url_means_no_mail() -> None:
    for url in (None, "", "  "):
        port = mail_from_url(url)
        assert isinstance(port, NoMail)
        assert not port.enabled
        with pytest.raises(GatewayError) as caught:
            port.send(mail())
        assert caught.value.method == "smtp"

    assert isinstance(mail_from_url("smtp://127.0.0.1:2525"), SmtpMail)


def test_page_email_renders_subject_text_and_html(templates: jinja2.Environment) -> None:
    subject, text, html = render_email(templates, "page_email", **page())

    assert subject == "[SEV1] INC-7 paged: Credential stuffing on the login API"
    assert not text.startswith(("Subject", "\n"))
    for expected in (
        "INC-7: Credential stuffing on the login API",
        "You are on call for Incident manager",
        "SEV1 (Critical)",
        "tier 1",
        "Alice Analyst-Lead",
        "2024-05-02 09:15 UTC",
        "#inc-7-credential-stuffing https://example.slack.com/archives/C0INC7",
        "type /incident ack in the incident channel.",
    ):
        assert expected in text
    assert "DRILL" not in subject + text + html
    assert '<a href="https://example.slack.com/archives/C0INC7"' in html
    assert "#inc-7-credential-stuffing</a>" in html
    assert "You are on call for Incident manager" in html
    assert "SEV1 (Critical)" in html


def test_a_drill_page_says_so(templates: jinja2.Environment) -> None:
    subject, text, html = render_email(templates, "page_email", **page(drill=True, channel_url=""))

    assert subject == "[DRILL] [SEV1] INC-7 paged: Credential stuffing on the login API"
    assert "THIS IS A DRILL" in text
    assert "THIS IS A DRILL" in html
    assert "<a " not in html
    assert "#inc-7-credential-stuffing" in html


def test_the_html_escapes_what_people_typed(templates: jinja2.Environment) -> None:
    title = '<script>alert("x")</script> & co'
    subject, text, html = render_email(
        templates, "page_email", **page(title=title, declared_by="<b>Eve</b>", channel_url="javascript:alert(1)")
    )

    assert subject == f"[SEV1] INC-7 paged: {title}"
    assert title in text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in html
    assert "&lt;b&gt;Eve&lt;/b&gt;" in html
    assert "javascript:" not in html


def test_an_override_without_a_subject_line_is_a_config_error(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config")
    (folder / "templates").mkdir()
    (folder / "templates" / "page_email.txt.j2").write_text("Paged for {{ key }}\n")
    templates = template_environment(load_config(folder))

    with pytest.raises(ConfigError, match="must start with 'Subject: '"):
        render_email(templates, "page_email", **page())


def test_a_rendered_page_goes_through_smtp(templates: jinja2.Environment, smtp_server: SmtpServer) -> None:
    subject, text, html = render_email(templates, "page_email", **page(title="Token leak <prod>"))

    SmtpMail(f"smtp://127.0.0.1:{smtp_server.port}?from=ircbot@example.com").send(
        Email(to=("bob@example.com",), subject=subject, text=text, html=html)
    )

    message = smtp_server.inbox.received[0].message()
    assert message["Subject"] == "[SEV1] INC-7 paged: Token leak <prod>"
    body = parts(message)
    assert "INC-7: Token leak <prod>" in body["text/plain"]
    assert "INC-7: Token leak &lt;prod&gt;" in body["text/html"]
