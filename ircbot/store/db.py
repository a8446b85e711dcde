"""The database handle: engine, transactions and migrations."""

from __future__ import annotations

import select
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, NoSuchModuleError
from sqlmodel import Session, create_engine

from ircbot.errors import ConfigError, IrcbotError, MissingExtra

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK_ID = 0x1BC0_7001  # any constant shared by every replica
_SHORTHANDS = ("postgres://", "postgresql://")  # Heroku-style and driverless URLs: psycopg 3 is the driver we ship
CONNECT_TIMEOUT = 10  # seconds; a firewall that drops packets would otherwise hold a command for minutes


def normalise_url(url: str) -> str:
    """DATABASE_URL as SQLAlchemy should read it: `postgres://` and `postgresql://` become `postgresql+psycopg://`."""
    for shorthand in _SHORTHANDS:
        if url.startswith(shorthand):
            return "postgresql+psycopg://" + url.removeprefix(shorthand)
    return url


def url_problem(url: str) -> str | None:
    """What is wrong with DATABASE_URL for SQLAlchemy (not a URL, an unknown database, a driver not installed)."""
    try:
        parsed = make_url(normalise_url(url))
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError:  # a kind of ArgumentError, so first
        return "SQLAlchemy knows no such database or driver; write e.g. sqlite:///… or postgresql+psycopg://…"
    except ArgumentError:
        return "not a database URL; write e.g. sqlite:///ircbot.db or postgresql+psycopg://user:pass@host/db"
    except ImportError as exc:
        if parsed.get_backend_name() == "postgresql":
            return str(MissingExtra("PostgreSQL", "postgres", exc.name or "its driver"))
        return f"its driver is not installed ({exc}); install it, or pick another driver"
    return None


def describe_url(url: str) -> str:
    """DATABASE_URL for a log line: the password masked, a SQLite file as an absolute path."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        parsed = parsed.set(database=str(Path(parsed.database or "").absolute()))
    return parsed.render_as_string(hide_password=True)


def _place(url: URL) -> str:
    """host:port of a server, or the file of a SQLite database."""
    if url.get_backend_name() == "sqlite":
        return str(Path(url.database or ":memory:").absolute())
    default = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}.get(url.get_backend_name())
    return f"{url.host or 'localhost'}:{url.port or default}"


class Database:
    """One engine per process; `transaction()` hands out a session that commits or rolls back."""

    def __init__(self, url: str):
        problem = url_problem(url)
        if problem is not None:
            raise ConfigError([f"DATABASE_URL: {problem}"])
        self.url = normalise_url(url)
        self.engine = _create_engine(self.url)
        # SQLite has one writer at a time and makes waiters poll with growing sleeps (up to 100 ms), so a
        # busy thread can starve the others; queueing this process's transactions on a lock hands over at once.
        self._sqlite_turn = threading.RLock() if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on any error."""
        with self._sqlite_turn or nullcontext(), Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @classmethod
    def existing(cls, url: str) -> Database:
        """The database at `url` for reading only: never created and never migrated, so it must be at the newest schema.

        A SQLite file that is not there is not made (connecting would make an empty one); a schema older than the
        code points to `ircbot migrate`, which a command that only reads must not run behind the operator's back.
        """
        parsed = make_url(normalise_url(url))
        if parsed.get_backend_name() == "sqlite":
            file = parsed.database
            if not file or file == ":memory:" or parsed.query.get("mode") == "memory":
                raise IrcbotError("DATABASE_URL names an in-memory SQLite database, which is always empty")
            if "uri" not in parsed.query and not Path(file).is_file():
                raise IrcbotError(
                    f"no database at {Path(file).absolute()} (DATABASE_URL={url}): point DATABASE_URL at the "
                    "bot's database; a relative sqlite:/// path counts from the current directory"
                )
        database = cls(url)
        try:
            database.require_newest_schema()
        except BaseException:
            database.dispose()
            raise
        return database

    def require_newest_schema(self) -> None:
        """Raise unless the schema is the one this code writes (after `ircbot migrate`)."""
        script = ScriptDirectory.from_config(self._alembic_config())
        heads = set(script.get_heads())
        with self.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
        where = describe_url(self.url)
        if not current:
            raise IrcbotError(f"the database {where} has no ircbot schema: run `ircbot migrate` to create it")
        if current == heads:
            return
        known = {revision.revision for revision in script.walk_revisions()}
        if current <= known:
            raise IrcbotError(
                f"the database {where} is at schema {', '.join(sorted(current))}, older than this ircbot's "
                f"{', '.join(sorted(heads))}: run `ircbot migrate` first"
            )
        raise IrcbotError(
            f"the database {where} is at schema {', '.join(sorted(current - known))}, which this ircbot does not "
            "know: a newer ircbot migrated it, so use that version"
        )

    def connect(self) -> Connection:
        """A connection; a database that cannot be reached is one IrcbotError naming where, not a driver traceback."""
        try:
            return self.engine.connect()
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
            reason = reason.rsplit(" failed: ", 1)[-1].strip()
            raise IrcbotError(
                f"cannot reach the database at {_place(self.engine.url)}: {reason} "
                f"(DATABASE_URL={describe_url(self.url)})"
            ) from exc

    def _alembic_config(self) -> AlembicConfig:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        return cfg

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema to the newest revision (or to `revision`) in one transaction, so nobody sees it half-way;
        replicas starting together take turns (SQLite's write lock, PostgreSQL's advisory lock, held to the end)."""
        with self.connect() as connection, connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
            cfg = self._alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


def _alive(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Before a pooled psycopg connection is used: a server that dropped it (a restart, an administrator, a proxy's
    idle timeout) has said so on its socket, which an idle connection's otherwise never is. Only then is it pinged, and
    a dead one is replaced (DisconnectionError makes the pool connect anew). Pinging every checkout instead cost a
    round trip per transaction, about a sixth of a `status` command's database work."""
    try:
        if not _readable(dbapi_connection.pgconn.socket):
            return
        dbapi_connection.execute("SELECT 1")
        dbapi_connection.rollback()
    except Exception as exc:  # whatever the driver says, this connection is of no more use
        raise DisconnectionError(f"the server closed this connection: {exc}") from exc


def _readable(fd: int) -> bool:
    """Whether the socket has something to read now (poll has no limit on descriptor numbers, unlike select)."""
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([fd], [], [], 0)[0])
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        psycopg = parsed.get_driver_name() == "psycopg"
        connect_args = {"connect_timeout": CONNECT_TIMEOUT} if psycopg and "connect_timeout" not in parsed.query else {}
        server = create_engine(url, pool_pre_ping=not psycopg, pool_size=10, max_overflow=10, connect_args=connect_args)
        if psycopg:
            event.listen(server, "checkout", _alive)
        return server
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _begin_immediate).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        # A deferred transaction that reads and then writes can fail with SQLITE_BUSY without
        # waiting; taking the write lock up front makes concurrent writers queue instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
