"""the pinned card's version and redraw time, and requests to join private incidents

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ircbot.store.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incident') as incident:
        incident.add_column(sa.Column('card_version', sa.Integer(), nullable=False, server_default='0'))
        incident.add_column(sa.Column('card_shown', sa.Integer(), nullable=False, server_default='0'))
        incident.add_column(sa.Column('card_due_at', ircbot.store.types.UTCDateTime(), nullable=True))
        incident.create_index('ix_incident_card_due_at', ['card_due_at'], unique=False)
    op.create_table(
        'access_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.String(), nullable=False),
        sa.Column('status', sa.String(), nullable=False),
        sa.Column('requested_at', ircbot.store.types.UTCDateTime(), nullable=False),
        sa.Column('prompt_ts', sa.String(), nullable=True),
        sa.Column('decided_by', sa.String(), nullable=True),
        sa.Column('decided_at', ircbot.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_access_request_incident_id', 'access_request', ['incident_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_access_request_incident_id', table_name='access_request')
    op.drop_table('access_request')
    with op.batch_alter_table('incident') as incident:
        incident.drop_index('ix_incident_card_due_at')
        incident.drop_column('card_due_at')
        incident.drop_column('card_shown')
        incident.drop_column('card_version')
