"""remembered Slack identities of on-call e-mail addresses

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ircbot.store.types

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'identity',
        sa.Column('email', sa.String(), nullable=False),
        sa.Column('user_id', sa.String(), nullable=False),
        sa.Column('resolved_at', ircbot.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('email'),
    )


def downgrade() -> None:
    op.drop_table('identity')
