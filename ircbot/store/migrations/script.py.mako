"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Every migration runs inside the one transaction of Database.migrate: nothing that PostgreSQL refuses in a
transaction (CREATE INDEX CONCURRENTLY, ALTER TYPE ... ADD VALUE before 12) and no autocommit_block.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ircbot.store.types
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
