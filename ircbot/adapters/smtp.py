"""E-mail at the edge: the SMTP implementation of MailPort."""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from ircbot.domain.ports import Email, MailPort, NoMail
from ircbot.errors import ConfigError, GatewayError

DEFAULT_TIMEOUT = 10.0
_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_TRUE = {"1", "true", "yes", "on"}
_FIX = "write smtp://[user:password@]host:port[?starttls=1&from=ircbot@example.com] or smtps://…"


class SmtpMail:
    """MailPort over SMTP, configured by one URL; opens a connection per e-mail, since pages are rare."""

    enabled = True

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT):
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS:
            raise ConfigError([f"SMTP_URL: scheme {parts.scheme or '(none)'!r} is not smtp or smtps; {_FIX}"])
        try:
            port = parts.port
        except ValueError:
            raise ConfigError([f"SMTP_URL: the port is not a number from 1 to 65535; {_FIX}"]) from None
        if not parts.hostname:
            raise ConfigError([f"SMTP_URL: no host; {_FIX}"])
        query = parse_qs(parts.query)
        unknown = sorted(set(query) - {"starttls", "from"})
        if unknown:
            raise ConfigError([f"SMTP_URL: unknown option {', '.join(unknown)}; {_FIX}"])
        self.host = parts.hostname
        self.port = port or _DEFAULT_PORTS[parts.scheme]
        self.use_ssl = parts.scheme == "smtps"
        self.starttls = query.get("starttls", ["0"])[-1].lower() in _TRUE
        if self.use_ssl and self.starttls:
            raise ConfigError([f"SMTP_URL: smtps is already encrypted, drop ?starttls=1; {_FIX}"])
        self.sender = query.get("from", [f"ircbot@{socket.gethostname()}"])[-1]
        # Credentials in a URL arrive percent-encoded (a password may hold '@' or ':').
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else ""
        self.timeout = timeout

    def __repr__(self) -> str:
        # The password stays out of logs and tracebacks.
        scheme = "smtps" if self.use_ssl else "smtp"
        user = f"{self.username}:***@" if self.username else ""
        return f"SmtpMail({scheme}://{user}{self.host}:{self.port}, from={self.sender})"

    def send(self, email: Email) -> None:
        """Deliver the e-mail or raise GatewayError('smtp', reason)."""
        if not email.to:
            raise GatewayError("smtp", "no recipients")
        try:
            message = self._message(email)
        except ValueError as exc:
            # The header registry refuses line breaks and malformed addresses; say so rather than crash.
            raise GatewayError("smtp", f"cannot build the message: {exc}") from exc
        try:
            with self._connect() as client:
                refused = client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise GatewayError("smtp", f"recipients refused: {', '.join(exc.recipients)}") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise GatewayError("smtp", f"login refused: {_reply(exc.smtp_code, exc.smtp_error)}") from exc
        except smtplib.SMTPResponseException as exc:
            raise GatewayError("smtp", _reply(exc.smtp_code, exc.smtp_error)) from exc
        except smtplib.SMTPException as exc:
            raise GatewayError("smtp", f"{self.host}:{self.port}: {exc or type(exc).__name__}") from exc
        except TimeoutError as exc:
            raise GatewayError("smtp", f"no answer from {self.host}:{self.port} within {self.timeout:g}s") from exc
        except OSError as exc:
            raise GatewayError("smtp", f"cannot reach {self.host}:{self.port}: {exc.strerror or exc}") from exc
        if refused:
            # The others got it, but the caller must know who was not paged.
            raise GatewayError("smtp", f"recipients refused: {', '.join(sorted(refused))}")

    def _message(self, email: Email) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(email.to)
        # A title typed with a line break must not end the Subject header early.
        message["Subject"] = " ".join(email.subject.split())
        message["Date"] = formatdate(usegmt=True)
        # The sender's domain, not socket.getfqdn(), which can stall on a slow resolver.
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or self.host)
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        return message

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.use_ssl:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password)
        except BaseException:
            client.close()
            raise
        return client


def _reply(code: int, error: bytes | str) -> str:
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else error
    return f"{code} {' '.join(text.split())}"


def mail_from_url(url: str | None) -> MailPort:
    """The mail port for SMTP_URL: NoMail when unset, else SmtpMail; raises ConfigError on a bad URL."""
    if not url or not url.strip():
        return NoMail()
    return SmtpMail(url.strip())
