"""impacts, status updates, reminders, notices

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ircbot.store.types


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('impact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('system', sa.String(), nullable=False),
    sa.Column('started_at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.Column('ended_at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.Column('recorded_by', sa.String(), nullable=False),
    sa.Column('recorded_at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('impact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_impact_incident_id'), ['incident_id'], unique=False)

    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('audience', sa.String(), nullable=False),
    sa.Column('subject', sa.String(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('drafted_by', sa.String(), nullable=False),
    sa.Column('drafted_at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.Column('approved_by', sa.String(), nullable=True),
    sa.Column('sent_at', ircbot.store.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_incident_id'), ['incident_id'], unique=False)

    op.create_table('reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('due_at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('fired_at', ircbot.store.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminder_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminder_status'), ['status'], unique=False)

    op.create_table('statusupdate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('sent_by', sa.String(), nullable=False),
    sa.Column('sent_at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('impact', sa.Text(), nullable=True),
    sa.Column('next_steps', sa.Text(), nullable=True),
    sa.Column('next_update_at', ircbot.store.types.UTCDateTime(), nullable=True),
    sa.Column('delivered', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('statusupdate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statusupdate_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statusupdate_sent_at'), ['sent_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('statusupdate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statusupdate_sent_at'))
        batch_op.drop_index(batch_op.f('ix_statusupdate_incident_id'))

    op.drop_table('statusupdate')
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_status'))
        batch_op.drop_index(batch_op.f('ix_reminder_incident_id'))
        batch_op.drop_index(batch_op.f('ix_reminder_due_at'))

    op.drop_table('reminder')
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_incident_id'))

    op.drop_table('notice')
    with op.batch_alter_table('impact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_impact_incident_id'))

    op.drop_table('impact')
