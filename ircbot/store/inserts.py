"""Inserting a row unless its key is taken, in one statement on either database (no savepoint, no round trip to
undo)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session


def insert_or_skip(session: Session, model: Any, rows: Sequence[dict[str, Any]], *, key: Sequence[str]) -> int:
    """Insert `rows` into `model`'s table, skipping each whose `key` columns match a row already there (a unique
    constraint or primary key); how many were inserted."""
    insert = postgres_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(model.__table__).values(list(rows)).on_conflict_do_nothing(index_elements=list(key))
    # An INSERT's row count is kept only when asked for (psycopg's cursor is closed by then).
    result = session.execute(statement, execution_options={"preserve_rowcount": True})
    return int(result.rowcount)  # type: ignore[attr-defined]
