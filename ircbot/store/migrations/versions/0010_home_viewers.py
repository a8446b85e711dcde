"""who has opened the App Home tab, and when their tab is due to be redrawn

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ircbot.store.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'home_viewer',
        sa.Column('user_id', sa.String(), nullable=False),
        sa.Column('opened_at', ircbot.store.types.UTCDateTime(), nullable=False),
        sa.Column('due_at', ircbot.store.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('user_id'),
    )
    op.create_index('ix_home_viewer_due_at', 'home_viewer', ['due_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_home_viewer_due_at', table_name='home_viewer')
    op.drop_table('home_viewer')
