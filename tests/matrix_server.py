"""A real Synapse homeserver for the tests: one per pytest worker, on 127.0.0.1, SQLite, no federation.

tests/conftest.py imports the `synapse` fixture below, so every test module can ask for it by name (a module
that imported it again would get a second server of its own). Ask it for accounts: `synapse.user("alice")`
registers a fresh account (the localpart gets a counter and the xdist worker, so modules sharing the server
never collide) and returns a logged-in MatrixClient.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import itertools
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ircbot.adapters.matrix import MatrixClient
from tests.missing import missing
from tests.processes import free_port, stop_process

SERVER_NAME = "ircbot.test"
PASSWORD = "correct horse battery staple"
# Synapse run as `python -m synapse.app.homeserver`, less one optional import: jsonschema's IRI format check
# (rfc3987_syntax, pulled into the test environment by stix2-validator) builds a grammar at import that costs
# ~1.5 s of a ~4 s start, and Synapse validates no IRIs.
LAUNCH = (
    "import runpy, sys; sys.modules['rfc3987_syntax'] = None; "
    "runpy.run_module('synapse.app.homeserver', run_name='__main__', alter_sys=True)"
)
START_TIMEOUT = 60.0  # seconds; Synapse's first start (imports, then the SQLite schema) takes a few
HIGH = {"per_second": 10_000, "burst_count": 100_000}  # a rate limit no test reaches
RATE_LIMITS: dict[str, Any] = {
    "rc_message": HIGH,
    "rc_registration": HIGH,
    "rc_registration_token_validity": HIGH,
    "rc_login": {"address": HIGH, "account": HIGH, "failed_attempts": HIGH},
    "rc_joins": {"local": HIGH, "remote": HIGH},
    "rc_joins_per_room": HIGH,
    "rc_invites": {"per_room": HIGH, "per_user": HIGH, "per_issuer": HIGH},
    "rc_third_party_invite": HIGH,
    "rc_room_creation": HIGH,
    "rc_admin_redaction": HIGH,
    "rc_3pid_validation": HIGH,
    "rc_key_requests": HIGH,
    "rc_media_create": HIGH,
    "rc_presence": {"per_user": HIGH},
    "rc_delayed_event_mgmt": HIGH,
    "rc_reports": HIGH,
    "rc_user_directory": HIGH,
    "rc_profile": HIGH,
}
LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "formatters": {"precise": {"format": "%(asctime)s - %(name)s - %(levelname)s - %(request)s - %(message)s"}},
    "handlers": {
        "file": {
            "class": "logging.FileHandler",
            "formatter": "precise",
            "filename": "",  # set per server
            "encoding": "utf8",
        }
    },
    "loggers": {"synapse.storage.SQL": {"level": "WARNING"}},
    "root": {"level": "WARNING", "handlers": ["file"]},
    "disable_existing_loggers": False,
}


def synapse_installed() -> bool:
    """Whether the matrix-synapse package can be run by this interpreter."""
    return importlib.util.find_spec("synapse") is not None


def require_synapse() -> None:
    """Fail loudly when there is no Synapse to run."""
    if not synapse_installed():
        missing(
            "NO REAL MATRIX HOMESERVER: the matrix-synapse package is not installed, so the Matrix tests cannot run. "
            "Install it with pip install -e '.[test]' (it is in the test extra, Linux only)."
        )


def _call(
    url: str, body: dict[str, Any] | None = None, *, token: str | None = None, timeout: float = 10.0
) -> dict[str, Any]:
    """GET (or POST `body`) as JSON, with a bearer token if given; an error answer fails the test."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        with exc:
            raise AssertionError(f"{url}: HTTP {exc.code}: {exc.read()!r}") from None


def read_as(client: MatrixClient, *segments: str) -> dict[str, Any]:
    """GET a client-API path (segments quoted) as the client's user, bypassing the client: what the server holds."""
    path = "".join("/" + urllib.parse.quote(s, safe="") for s in segments)
    return _call(f"{client.homeserver}/_matrix/client/v3{path}", token=client.access_token)


def room_state(client: MatrixClient, room_id: str, event_type: str, state_key: str = "") -> dict[str, Any]:
    """The content of one state event of a room, as the client's user sees it."""
    return read_as(client, "rooms", room_id, "state", event_type, state_key)


class SynapseServer:
    """Synapse in a subprocess, configured in `folder`: one HTTP listener, SQLite, rate limits out of the way."""

    def __init__(self, folder: Path, server_name: str = SERVER_NAME) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.server_name = server_name
        self.port = free_port()
        self.shared_secret = secrets.token_hex(32)
        self.log = folder / "homeserver.log"
        self.output = folder / "synapse.out"  # what Synapse prints before its logging is set up
        self._serial = itertools.count(1)
        self._admin: MatrixClient | None = None
        self.config = folder / "homeserver.yaml"
        self.config.write_text(yaml.safe_dump(self._config(), sort_keys=False), encoding="utf-8")
        log_config = {**LOG_CONFIG, "handlers": {"file": {**LOG_CONFIG["handlers"]["file"], "filename": str(self.log)}}}
        (folder / "log.yaml").write_text(yaml.safe_dump(log_config, sort_keys=False), encoding="utf-8")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The client-server API's base URL, http://127.0.0.1:PORT."""
        return f"http://127.0.0.1:{self.port}"

    def _config(self) -> dict[str, Any]:
        folder = self.folder
        listener = {
            "port": self.port,
            "bind_addresses": ["127.0.0.1"],
            "type": "http",
            "tls": False,
            "x_forwarded": False,
            "resources": [{"names": ["client"], "compress": False}],
        }
        return {
            "server_name": self.server_name,
            "pid_file": str(folder / "homeserver.pid"),
            "listeners": [listener],
            "database": {"name": "sqlite3", "args": {"database": str(folder / "homeserver.db")}},
            "log_config": str(folder / "log.yaml"),
            "media_store_path": str(folder / "media"),
            "signing_key_path": str(folder / "signing.key"),  # missing: Synapse generates it on its first start
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],  # no federation, in or out
            "registration_shared_secret": self.shared_secret,
            "macaroon_secret_key": secrets.token_hex(32),
            "form_secret": secrets.token_hex(32),
            "enable_registration": False,
            "bcrypt_rounds": 4,  # the fastest bcrypt allows: the tests register and log in often
            "report_stats": False,
            "enable_metrics": False,
            "url_preview_enabled": False,
            "presence": {"enabled": False},
            "user_directory": {"enabled": False},
            **RATE_LIMITS,
        }

    def start(self, timeout: float = START_TIMEOUT) -> float:
        """Start Synapse and wait until its client API answers; returns the seconds it took."""
        started = time.monotonic()
        command = [sys.executable, "-c", LAUNCH, "-c", str(self.config)]
        with self.output.open("wb") as output:
            self.process = subprocess.Popen(
                command, cwd=self.folder, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"synapse exited with {self.process.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=1) as response:
                    if response.status == 200:
                        response.read()
                        return time.monotonic() - started
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError(f"synapse did not answer on {self.url} in {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        """The last lines of Synapse's console output and of its log, for a failure message."""
        parts = []
        for path in (self.output, self.log):
            if path.exists():
                text = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(parts)

    def stop(self) -> None:
        """Terminate Synapse (kill after 10 s) and reap it."""
        stop_process(self.process)

    def register(self, localpart: str, password: str = PASSWORD, *, admin: bool = False) -> str:
        """A new account through the shared-secret admin API; returns its user id (@localpart:server)."""
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        nonce = _call(endpoint)["nonce"]
        mac = hmac.new(self.shared_secret.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), localpart.encode(), password.encode()]))
        mac.update(b"\x00admin" if admin else b"\x00notadmin")
        body = {"nonce": nonce, "username": localpart, "password": password, "admin": admin, "mac": mac.hexdigest()}
        user_id: str = _call(endpoint, body)["user_id"]
        return user_id

    def user_id(self, localpart: str) -> str:
        """The full user id of a localpart on this server."""
        return f"@{localpart}:{self.server_name}"

    def unique(self, name: str) -> str:
        """A localpart nobody on this server has yet: `name` and a counter (and the worker)."""
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        return f"{name}-{worker}-{next(self._serial)}".lower()

    def login(self, localpart: str, password: str = PASSWORD) -> MatrixClient:
        """A client logged in with the password (the code under test's own login)."""
        return MatrixClient.login(self.url, localpart, password)

    def user(self, name: str, *, admin: bool = False) -> MatrixClient:
        """A fresh account (unique localpart derived from `name`), logged in."""
        localpart = self.unique(name)
        self.register(localpart, admin=admin)
        return self.login(localpart)

    def admin(self) -> MatrixClient:
        """A server admin's client (made on first use), for the admin API."""
        if self._admin is None:
            self._admin = self.user("admin", admin=True)
        return self._admin

    def limit_messages(self, user_id: str, per_second: int, burst_count: int) -> None:
        """Give one user a message rate limit of their own (the admin API's override, whole numbers; 0, 0 lift it)."""
        admin = self.admin()
        endpoint = f"{self.url}/_synapse/admin/v1/users/{urllib.parse.quote(user_id, safe='')}/override_ratelimit"
        _call(endpoint, {"messages_per_second": per_second, "burst_count": burst_count}, token=admin.access_token)

    def __enter__(self) -> SynapseServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="session", name="synapse")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    """One real Synapse per test session (per xdist worker); skipped loudly, or failed in CI, without it."""
    require_synapse()
    server = SynapseServer(tmp_path_factory.mktemp("synapse"))
    try:
        seconds = server.start()
        sys.stderr.write(f"synapse answered on {server.url} after {seconds:.1f} s\n")
        yield server
    finally:
        server.stop()
