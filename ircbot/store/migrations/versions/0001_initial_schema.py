"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ircbot.store.types


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('handledrequest',
    sa.Column('key', sa.String(), nullable=False),
    sa.Column('received_at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(), nullable=False),
    sa.Column('severity', sa.String(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('stage', sa.String(), nullable=False),
    sa.Column('playbook', sa.String(), nullable=False),
    sa.Column('is_private', sa.Boolean(), nullable=False),
    sa.Column('is_drill', sa.Boolean(), nullable=False),
    sa.Column('false_positive', sa.Boolean(), nullable=False),
    sa.Column('channel_id', sa.String(), nullable=True),
    sa.Column('channel_name', sa.String(), nullable=True),
    sa.Column('declared_by', sa.String(), nullable=False),
    sa.Column('request_key', sa.String(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('started_at', ircbot.store.types.UTCDateTime(), nullable=True),
    sa.Column('detected_at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.Column('declared_at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.Column('acknowledged_at', ircbot.store.types.UTCDateTime(), nullable=True),
    sa.Column('contained_at', ircbot.store.types.UTCDateTime(), nullable=True),
    sa.Column('resolved_at', ircbot.store.types.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_key')
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_channel_id'), ['channel_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_incident_number'), ['number'], unique=True)
        batch_op.create_index(batch_op.f('ix_incident_status'), ['status'], unique=False)

    op.create_table('checklistitem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('checked_by', sa.String(), nullable=True),
    sa.Column('checked_at', ircbot.store.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('incident_id', 'stage', 'position')
    )
    with op.batch_alter_table('checklistitem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checklistitem_incident_id'), ['incident_id'], unique=False)

    op.create_table('participant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('added_at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('incident_id', 'user_id')
    )
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_participant_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_participant_user_id'), ['user_id'], unique=False)

    op.create_table('postmortem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('compiled_at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.Column('compiled_by', sa.String(), nullable=False),
    sa.Column('markdown', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('postmortem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postmortem_incident_id'), ['incident_id'], unique=False)

    op.create_table('roleassignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(), nullable=False),
    sa.Column('user_id', sa.String(), nullable=False),
    sa.Column('assigned_by', sa.String(), nullable=False),
    sa.Column('assigned_at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.Column('released_at', ircbot.store.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('roleassignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roleassignment_incident_id'), ['incident_id'], unique=False)

    op.create_table('stageentry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(), nullable=False),
    sa.Column('entered_by', sa.String(), nullable=False),
    sa.Column('entered_at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.Column('left_at', ircbot.store.types.UTCDateTime(), nullable=True),
    sa.Column('left_forced', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stageentry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stageentry_incident_id'), ['incident_id'], unique=False)

    op.create_table('timelineevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('at', ircbot.store.types.UTCDateTime(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('actor', sa.String(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('timelineevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timelineevent_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_timelineevent_incident_id'), ['incident_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('timelineevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timelineevent_incident_id'))
        batch_op.drop_index(batch_op.f('ix_timelineevent_at'))

    op.drop_table('timelineevent')
    with op.batch_alter_table('stageentry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stageentry_incident_id'))

    op.drop_table('stageentry')
    with op.batch_alter_table('roleassignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roleassignment_incident_id'))

    op.drop_table('roleassignment')
    with op.batch_alter_table('postmortem', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postmortem_incident_id'))

    op.drop_table('postmortem')
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participant_user_id'))
        batch_op.drop_index(batch_op.f('ix_participant_incident_id'))

    op.drop_table('participant')
    with op.batch_alter_table('checklistitem', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checklistitem_incident_id'))

    op.drop_table('checklistitem')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_status'))
        batch_op.drop_index(batch_op.f('ix_incident_number'))
        batch_op.drop_index(batch_op.f('ix_incident_channel_id'))

    op.drop_table('incident')
    op.drop_table('handledrequest')
