"""Test databases at the newest schema without migrating each one: a SQLite file copied, a PostgreSQL template cloned.

The PostgreSQL names carry the session's process id (`ircbot_tpl_<pid>_<hex>`, `ircbot_test_<pid>_<hex>`),
so sessions running side by side never share one, and a session finds and drops what a crashed
session on this machine left behind.
"""

from __future__ import annotations

import os
import queue
import re
import secrets
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from ircbot.store.db import Database

PG_HOST = os.environ.get("IRCBOT_TEST_PG_HOST", "127.0.0.1")
OURS = re.compile(r"^ircbot_(?:tpl|test)_(\d+)_[0-9a-f]+$")


def _postgres_user() -> str | None:
    for user in ("postgres", "root"):
        try:
            with psycopg.connect(host=PG_HOST, user=user, dbname="test", connect_timeout=3):
                return user
        except psycopg.OperationalError:
            continue
    return None


PG_USER = _postgres_user()


def migrated_sqlite(path: Path) -> Path:
    """Create and migrate a SQLite file; closed afterwards, so it is a single file (no WAL left)."""
    database = Database(f"sqlite:///{path}")
    try:
        database.migrate()
    finally:
        database.dispose()
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists(), f"{wal} outlived its connections; a copy of {path} alone would miss it"
    return path


def copy_sqlite(template: Path, path: Path) -> Path:
    """A private copy of the migrated template."""
    shutil.copyfile(template, path)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Clones made ahead on a second connection, so a test rarely waits the ~0.2 s CREATE DATABASE takes.
READY_CLONES = 2


@dataclass
class PostgresTemplate:
    """A migrated template database of this session, and clones of it made ahead in the background."""

    admin: psycopg.Connection
    name: str
    _ready: queue.Queue[str | BaseException] = field(default_factory=lambda: queue.Queue(maxsize=READY_CLONES))
    _stopping: threading.Event = field(default_factory=threading.Event)
    _maker: threading.Thread | None = None

    @classmethod
    def create(cls) -> PostgresTemplate:
        assert PG_USER is not None
        admin = psycopg.connect(host=PG_HOST, user=PG_USER, dbname="test", autocommit=True)
        template = cls(admin, f"ircbot_tpl_{os.getpid()}_{secrets.token_hex(4)}")
        try:
            template.drop_leftovers()
            admin.execute(f'CREATE DATABASE "{template.name}"')
            database = Database(template.url(template.name))
            try:
                database.migrate()
            finally:
                database.dispose()  # CREATE DATABASE … TEMPLATE needs the template to have no sessions
        except BaseException:
            template.close()
            raise
        template._maker = threading.Thread(target=template._make_clones, name="pg-clones", daemon=True)
        template._maker.start()
        return template

    def _make_clones(self) -> None:
        with psycopg.connect(host=PG_HOST, user=PG_USER, dbname="test", autocommit=True) as admin:
            while not self._stopping.is_set():
                name = f"ircbot_test_{os.getpid()}_{secrets.token_hex(6)}"
                try:
                    admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
                except BaseException as exc:  # the test that takes this clone reports it
                    self._ready.put(exc)
                    return
                while True:
                    try:
                        self._ready.put(name, timeout=0.1)
                        break
                    except queue.Full:
                        if self._stopping.is_set():
                            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                            return

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://{PG_USER}@{PG_HOST}/{name}"

    def clone(self) -> str:
        """A new database copied from the template; the caller drops it."""
        made = self._ready.get(timeout=60)
        if isinstance(made, BaseException):
            raise RuntimeError(f"could not clone {self.name}") from made
        return made

    def create_empty(self) -> str:
        """A new database without any schema; the caller drops it."""
        name = f"ircbot_test_{os.getpid()}_{secrets.token_hex(6)}"
        self.admin.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop(self, name: str) -> None:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_leftovers(self) -> None:
        """Drop this naming scheme's databases whose session is gone (only a local server shares our pids)."""
        if PG_HOST not in ("127.0.0.1", "localhost", "::1"):
            return
        names = [row[0] for row in self.admin.execute("SELECT datname FROM pg_database").fetchall()]
        for name in names:
            found = OURS.match(name)
            if found and (int(found.group(1)) == os.getpid() or not _alive(int(found.group(1)))):
                self.drop(name)

    def close(self) -> None:
        """Stop making clones, drop the ones nobody took, then the template."""
        self._stopping.set()
        if self._maker is not None:
            self._maker.join(timeout=30)
        try:
            while not self._ready.empty():
                made = self._ready.get_nowait()
                if isinstance(made, str):
                    self.drop(made)
            if not self.admin.closed:
                self.drop(self.name)
        finally:
            self.admin.close()
