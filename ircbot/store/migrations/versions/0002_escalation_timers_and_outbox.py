"""escalation timers and outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ircbot.store.types


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pagestep',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('due_at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('fired_at', ircbot.store.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pagestep', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pagestep_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pagestep_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pagestep_status'), ['status'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('recipient', sa.String(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(), nullable=True),
    sa.Column('created_at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.Column('next_attempt_at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.Column('sent_at', ircbot.store.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.ForeignKeyConstraint(['step_id'], ['pagestep.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_status'), ['status'], unique=False)

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acknowledged_by', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('policy', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('policy')
        batch_op.drop_column('acknowledged_by')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_status'))
        batch_op.drop_index(batch_op.f('ix_outbox_incident_id'))

    op.drop_table('outbox')
    with op.batch_alter_table('pagestep', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pagestep_status'))
        batch_op.drop_index(batch_op.f('ix_pagestep_incident_id'))
        batch_op.drop_index(batch_op.f('ix_pagestep_due_at'))

    op.drop_table('pagestep')
