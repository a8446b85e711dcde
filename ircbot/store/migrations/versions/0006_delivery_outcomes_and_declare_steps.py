"""what a delivery's last try may have done, and how far each declare got

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ircbot.store.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as outbox:
        outbox.add_column(sa.Column('first_tried_at', ircbot.store.types.UTCDateTime(), nullable=True))
        outbox.add_column(sa.Column('outcome_unknown', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('incident') as incident:
        incident.add_column(sa.Column('card_ts', sa.String(), nullable=True))
        incident.add_column(sa.Column('ready_at', ircbot.store.types.UTCDateTime(), nullable=True))
        incident.add_column(sa.Column('declare_lease_until', ircbot.store.types.UTCDateTime(), nullable=True))
    # Incidents declared before declares were resumable finished (or were discarded) long ago.
    op.execute("UPDATE incident SET ready_at = declared_at WHERE channel_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('incident') as incident:
        incident.drop_column('declare_lease_until')
        incident.drop_column('ready_at')
        incident.drop_column('card_ts')
    with op.batch_alter_table('outbox') as outbox:
        outbox.drop_column('outcome_unknown')
        outbox.drop_column('first_tried_at')
