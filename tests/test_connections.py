"""A PostgreSQL server that drops the bot's connections (a restart, an administrator, a proxy) costs no command."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests import scenario
from tests.conftest import Harness


def _drop_connections(database_url: str) -> int:
    """Terminate every server process connected to the bot's database, as a restart would; how many there were."""
    url = make_url(database_url)
    with psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, dbname="postgres") as admin:
        admin.autocommit = True
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (url.database,),
        ).fetchall()
    return len(rows)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no server to drop anything
def test_commands_work_after_the_server_dropped_every_pooled_connection(harness: Harness, database_url: str) -> None:
    _, channel = harness.declare("Server drops us sev3")
    for _ in range(3):  # fill the pool with several idle connections
        assert harness.slash("status", channel=channel).status == 200
    assert _drop_connections(database_url) > 0, "the bot held no connection to drop"

    for text in ("status", "note after the drop", "check 1", "status"):
        result = harness.slash(text, channel=channel)
        assert result.status == 200
        assert "internal error" not in result.text, f"{text!r} after the drop: {result.text}"
    assert any("after the drop" in e.text for e in scenario.events(harness, kind="note"))
    _, second = harness.declare("And another sev3")
    assert second != channel
