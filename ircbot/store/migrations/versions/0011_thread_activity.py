"""threads Slack told us moved since the channel copy was read; whether each declarer heard the outcome

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ircbot.store.types

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'thread_activity',
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('thread_ts', sa.String(), nullable=False),
        sa.Column('seen_at', ircbot.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('incident_id', 'thread_ts'),
    )
    with op.batch_alter_table('incident') as incident:
        incident.add_column(sa.Column('channel_read_at', ircbot.store.types.UTCDateTime(), nullable=True))
        incident.add_column(sa.Column('answered_at', ircbot.store.types.UTCDateTime(), nullable=True))
    op.execute("UPDATE incident SET answered_at = ready_at")  # declared before answers were tracked


def downgrade() -> None:
    with op.batch_alter_table('incident') as incident:
        incident.drop_column('answered_at')
        incident.drop_column('channel_read_at')
    op.drop_table('thread_activity')
