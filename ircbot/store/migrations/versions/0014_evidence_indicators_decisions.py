"""the evidence register with custody transfers, indicators of compromise, decisions and their votes;
when an alert waiting in triage was cleared at its source

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ircbot.store.types

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'evidence',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('hash_algorithm', sa.String(), nullable=True),
        sa.Column('hash_value', sa.String(), nullable=True),
        sa.Column('source', sa.String(), nullable=True),
        sa.Column('location', sa.String(), nullable=True),
        sa.Column('collected_by', sa.String(), nullable=False),
        sa.Column('collected_at', ircbot.store.types.UTCDateTime(), nullable=False),
        sa.Column('collector_timezone', sa.String(), nullable=False),
        sa.Column('corrects', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('incident_id', 'number'),
    )
    op.create_index('ix_evidence_incident_id', 'evidence', ['incident_id'], unique=False)
    op.create_table(
        'custodytransfer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('evidence_id', sa.Integer(), nullable=False),
        sa.Column('from_user', sa.String(), nullable=False),
        sa.Column('to_user', sa.String(), nullable=False),
        sa.Column('purpose', sa.Text(), nullable=False),
        sa.Column('at', ircbot.store.types.UTCDateTime(), nullable=False),
        sa.Column('recorded_by', sa.String(), nullable=False),
        sa.ForeignKeyConstraint(['evidence_id'], ['evidence.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_custodytransfer_evidence_id', 'custodytransfer', ['evidence_id'], unique=False)
    op.create_table(
        'indicator',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('type', sa.String(), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('tlp', sa.String(), nullable=False),
        sa.Column('first_seen_at', ircbot.store.types.UTCDateTime(), nullable=False),
        sa.Column('seen_in', sa.JSON(), nullable=False),
        sa.Column('added_by', sa.String(), nullable=True),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('incident_id', 'type', 'value'),
    )
    op.create_index('ix_indicator_incident_id', 'indicator', ['incident_id'], unique=False)
    op.create_table(
        'decision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('approvers', sa.Integer(), nullable=False),
        sa.Column('proposed_by', sa.String(), nullable=False),
        sa.Column('proposed_at', ircbot.store.types.UTCDateTime(), nullable=False),
        sa.Column('status', sa.String(), nullable=False),
        sa.Column('decided_at', ircbot.store.types.UTCDateTime(), nullable=True),
        sa.Column('card_channel', sa.String(), nullable=True),
        sa.Column('card_ts', sa.String(), nullable=True),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('incident_id', 'number'),
    )
    op.create_index('ix_decision_incident_id', 'decision', ['incident_id'], unique=False)
    op.create_table(
        'decisionvote',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('decision_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.String(), nullable=False),
        sa.Column('approve', sa.Boolean(), nullable=False),
        sa.Column('reason', sa.String(), nullable=True),
        sa.Column('at', ircbot.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['decision_id'], ['decision.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('decision_id', 'user_id'),
    )
    op.create_index('ix_decisionvote_decision_id', 'decisionvote', ['decision_id'], unique=False)
    with op.batch_alter_table('alert') as alert:
        alert.add_column(sa.Column('cleared_at', ircbot.store.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alert') as alert:
        alert.drop_column('cleared_at')
    op.drop_table('decisionvote')
    op.drop_table('decision')
    op.drop_table('indicator')
    op.drop_table('custodytransfer')
    op.drop_table('evidence')
