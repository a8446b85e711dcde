"""regulatory notification clocks, their reminder and deadline timers; page steps for overdue reports

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ircbot.store.types

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'regulatoryclock',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('regime', sa.String(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('report', sa.String(), nullable=False),
        sa.Column('recipient', sa.String(), nullable=False),
        sa.Column('starts_at', ircbot.store.types.UTCDateTime(), nullable=True),
        sa.Column('starts_offset', sa.String(), nullable=False),
        sa.Column('due_at', ircbot.store.types.UTCDateTime(), nullable=True),
        sa.Column('status', sa.String(), nullable=False),
        sa.Column('started_by', sa.String(), nullable=False),
        sa.Column('submitted_at', ircbot.store.types.UTCDateTime(), nullable=True),
        sa.Column('submitted_by', sa.String(), nullable=True),
        sa.Column('reference', sa.String(), nullable=True),
        sa.Column('stopped_by', sa.String(), nullable=True),
        sa.Column('stopped_at', ircbot.store.types.UTCDateTime(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_regulatoryclock_incident_id', 'regulatoryclock', ['incident_id'], unique=False)
    op.create_table(
        'clocktimer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clock_id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(), nullable=False),
        sa.Column('share', sa.Float(), nullable=False),
        sa.Column('due_at', ircbot.store.types.UTCDateTime(), nullable=False),
        sa.Column('status', sa.String(), nullable=False),
        sa.Column('fired_at', ircbot.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['clock_id'], ['regulatoryclock.id']),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_clocktimer_clock_id', 'clocktimer', ['clock_id'], unique=False)
    op.create_index('ix_clocktimer_incident_id', 'clocktimer', ['incident_id'], unique=False)
    op.create_index('ix_clocktimer_due_at', 'clocktimer', ['due_at'], unique=False)
    op.create_index('ix_clocktimer_status', 'clocktimer', ['status'], unique=False)
    with op.batch_alter_table('pagestep') as steps:
        steps.add_column(sa.Column('clock_id', sa.Integer(), nullable=True))
        steps.add_column(sa.Column('reason', sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('pagestep') as steps:
        steps.drop_column('reason')
        steps.drop_column('clock_id')
    op.drop_table('clocktimer')
    op.drop_table('regulatoryclock')
