"""out-of-band rooms of incidents, the bot's direct rooms and its sync position there

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ircbot.store.types

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'outofband',
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('room_id', sa.String(), nullable=True),
        sa.Column('status', sa.String(), nullable=False),
        sa.Column('moved_by', sa.String(), nullable=False),
        sa.Column('moved_at', ircbot.store.types.UTCDateTime(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('returned_by', sa.String(), nullable=True),
        sa.Column('returned_at', ircbot.store.types.UTCDateTime(), nullable=True),
        sa.Column('moves', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('incident_id'),
    )
    op.create_table(
        'outofbanddirect',
        sa.Column('person', sa.String(), nullable=False),
        sa.Column('room_id', sa.String(), nullable=False),
        sa.PrimaryKeyConstraint('person'),
    )
    op.create_table(
        'outofbandsync',
        sa.Column('account', sa.String(), nullable=False),
        sa.Column('since', sa.String(), nullable=False),
        sa.Column('updated_at', ircbot.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('account'),
    )


def downgrade() -> None:
    op.drop_table('outofbandsync')
    op.drop_table('outofbanddirect')
    op.drop_table('outofband')
