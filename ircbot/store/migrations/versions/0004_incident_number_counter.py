"""a counter row for incident numbers

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'counter',
        sa.Column('name', sa.String(), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.execute("INSERT INTO counter (name, value) SELECT 'incident', COALESCE(MAX(number), 0) FROM incident")


def downgrade() -> None:
    op.drop_table('counter')
