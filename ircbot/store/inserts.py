"""Inserting a row unless its key is taken, in one statement on either database (no savepoint, no round trip to
undo)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session


def insert_or_skip(session: Session, model: Any, rows: Sequence[dict[str, Any]], *, key: Sequence[str]) -> int:
    """Insert `rows` into `model`'s table, skipping each whose `key` columns match a row already there (a unique
    constraint or primary key); how many were inserted."""
    dialect, table = session.get_bind().dialect.name, model.__table__
    if len(rows) == 1:  # the common case, on every command and page: a statement built once
        statement, parameters = _one_row(dialect, table, tuple(rows[0]), tuple(key)), rows[0]
    else:
        statement, parameters = _skipping(_insert(dialect)(table).values(list(rows)), key), None
    # An INSERT's row count is kept only when asked for (psycopg's cursor is closed by then).
    result = session.execute(statement, parameters, execution_options={"preserve_rowcount": True})
    return int(result.rowcount)  # type: ignore[attr-defined]


def _insert(dialect: str) -> Any:
    return postgres_insert if dialect == "postgresql" else sqlite_insert


@cache
def _one_row(dialect: str, table: Any, columns: tuple[str, ...], key: tuple[str, ...]) -> Any:
    values: dict[str, Any] = {column: bindparam(column) for column in columns}
    return _skipping(_insert(dialect)(table).values(values), key)


def _skipping(statement: Any, key: Sequence[str]) -> Any:
    return statement.on_conflict_do_nothing(index_elements=list(key))
