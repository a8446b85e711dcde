"""the incident channel's messages as the last postmortem compile read them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'channel_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('ts', sa.String(), nullable=False),
        sa.Column('thread_ts', sa.String(), nullable=True),
        sa.Column('user', sa.String(), nullable=True),
        sa.Column('bot_id', sa.String(), nullable=True),
        sa.Column('subtype', sa.String(), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('files', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('incident_id', 'ts'),
    )


def downgrade() -> None:
    op.drop_table('channel_message')
