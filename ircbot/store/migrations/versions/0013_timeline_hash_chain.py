"""the timeline as a hash chain: sequence, recording time, previous and own hash per event; the head per incident

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ircbot.store.types
from ircbot.domain import chain

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

_events = sa.table(
    'timelineevent',
    sa.column('id', sa.Integer()),
    sa.column('incident_id', sa.Integer()),
    sa.column('at', ircbot.store.types.UTCDateTime()),
    sa.column('kind', sa.String()),
    sa.column('actor', sa.String()),
    sa.column('text', sa.Text()),
    sa.column('data', sa.JSON()),
    sa.column('seq', sa.Integer()),
    sa.column('recorded_at', ircbot.store.types.UTCDateTime()),
    sa.column('prev_hash', sa.String()),
    sa.column('hash', sa.String()),
)
_incidents = sa.table(
    'incident',
    sa.column('id', sa.Integer()),
    sa.column('number', sa.Integer()),
    sa.column('chain_seq', sa.Integer()),
    sa.column('chain_head', sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table('timelineevent') as events:
        events.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        events.add_column(sa.Column('recorded_at', ircbot.store.types.UTCDateTime(), nullable=True))
        events.add_column(sa.Column('prev_hash', sa.String(), nullable=True))
        events.add_column(sa.Column('hash', sa.String(), nullable=True))
        events.create_unique_constraint('uq_timelineevent_incident_seq', ['incident_id', 'seq'])
    with op.batch_alter_table('incident') as incident:
        incident.add_column(sa.Column('chain_seq', sa.Integer(), nullable=False, server_default='0'))
        incident.add_column(sa.Column('chain_head', sa.String(), nullable=True))
    _chain_existing_events()


def _chain_existing_events() -> None:
    """Chain the events recorded so far in the order they were written (their ids).

    Their recording time was not kept: it is taken as the latest `at` so far (a captured message keeps
    its own, earlier time), so recording times never go backwards along the chain.
    """
    bind = op.get_bind()
    numbers = dict(bind.execute(sa.select(_incidents.c.id, _incidents.c.number)).all())
    for incident_id, number in numbers.items():
        rows = bind.execute(
            sa.select(_events).where(_events.c.incident_id == incident_id).order_by(_events.c.id)
        ).mappings().all()
        prev_hash, seq, recorded = chain.GENESIS, 0, None
        for row in rows:
            seq += 1
            recorded = row['at'] if recorded is None else max(recorded, row['at'])
            body = chain.body(
                key=f"INC-{number}", seq=seq, at=row['at'], recorded_at=recorded, kind=row['kind'],
                actor=row['actor'], text=row['text'], data=row['data'],
            )
            digest = chain.link_hash(body, prev_hash)
            bind.execute(
                _events.update().where(_events.c.id == row['id']).values(
                    seq=seq, recorded_at=recorded, prev_hash=prev_hash, hash=digest
                )
            )
            prev_hash = digest
        if seq:
            bind.execute(
                _incidents.update().where(_incidents.c.id == incident_id).values(chain_seq=seq, chain_head=prev_hash)
            )


def downgrade() -> None:
    with op.batch_alter_table('incident') as incident:
        incident.drop_column('chain_head')
        incident.drop_column('chain_seq')
    with op.batch_alter_table('timelineevent') as events:
        events.drop_constraint('uq_timelineevent_incident_seq', type_='unique')
        events.drop_column('hash')
        events.drop_column('prev_hash')
        events.drop_column('recorded_at')
        events.drop_column('seq')
