"""typed declares acknowledged but not yet recorded

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ircbot.store.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'pending_declare',
        sa.Column('request_key', sa.String(), nullable=False),
        sa.Column('declaration', sa.JSON(), nullable=False),
        sa.Column('received_at', ircbot.store.types.UTCDateTime(), nullable=False),
        sa.Column('lease_until', ircbot.store.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('request_key'),
    )


def downgrade() -> None:
    op.drop_table('pending_declare')
