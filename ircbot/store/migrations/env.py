"""Alembic environment: runs on the connection handed in by Database.migrate."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import ircbot.store.models
import ircbot.store.oob
import ircbot.store.records  # noqa: F401

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
