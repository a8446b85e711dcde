"""alerts received from monitoring, SIEM and EDR, and the groups that map them to incidents

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ircbot.store.types

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'alert',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(), nullable=False),
        sa.Column('fingerprint', sa.String(), nullable=False),
        sa.Column('group_key', sa.String(), nullable=False),
        sa.Column('status', sa.String(), nullable=False),
        sa.Column('severity', sa.String(), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('started_at', ircbot.store.types.UTCDateTime(), nullable=True),
        sa.Column('received_at', ircbot.store.types.UTCDateTime(), nullable=False),
        sa.Column('labels', sa.JSON(), nullable=False),
        sa.Column('raw', sa.JSON(), nullable=False),
        sa.Column('done', sa.Boolean(), nullable=False),
        sa.Column('lease_until', ircbot.store.types.UTCDateTime(), nullable=True),
        sa.Column('outcome', sa.String(), nullable=True),
        sa.Column('processed_at', ircbot.store.types.UTCDateTime(), nullable=True),
        sa.Column('incident_id', sa.Integer(), nullable=True),
        sa.Column('triage_ts', sa.String(), nullable=True),
        sa.Column('decided_by', sa.String(), nullable=True),
        sa.Column('reason', sa.String(), nullable=True),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_alert_done', 'alert', ['done'], unique=False)
    op.create_index('ix_alert_incident_id', 'alert', ['incident_id'], unique=False)
    op.create_index('ix_alert_fingerprint', 'alert', ['source', 'fingerprint', 'received_at'], unique=False)
    op.create_table(
        'alert_group',
        sa.Column('key', sa.String(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=True),
        sa.Column('first_seen_at', ircbot.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('key'),
    )


def downgrade() -> None:
    op.drop_table('alert_group')
    op.drop_index('ix_alert_fingerprint', table_name='alert')
    op.drop_index('ix_alert_incident_id', table_name='alert')
    op.drop_index('ix_alert_done', table_name='alert')
    op.drop_table('alert')
