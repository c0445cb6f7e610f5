"""chain-of-custody events, each its own log leaf

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 09:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fieldproof.db.models

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# 0002 made log_entries.capture_id UNIQUE without a name; SQLite's batch mode
# can only drop a constraint it can name, hence this convention (Alembic docs,
# "Dropping Unnamed or Named Foreign Key Constraints").
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table("log_entries", naming_convention=_NAMING) as batch_op:
            batch_op.drop_constraint("uq_log_entries_capture_id", type_="unique")
    else:
        op.drop_constraint("log_entries_capture_id_key", "log_entries", type_="unique")
    op.create_index("ux_log_entries_capture", "log_entries", ["capture_id"], unique=True,
                    sqlite_where=sa.text("kind = 'capture'"),
                    postgresql_where=sa.text("kind = 'capture'"))
    op.create_table('custody_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('capture_id', sa.String(length=36), nullable=False),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('record', sa.Text(), nullable=False),
    sa.Column('at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('entry_seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['capture_id'], ['captures.id'], ),
    sa.ForeignKeyConstraint(['entry_seq'], ['log_entries.seq'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('entry_seq')
    )
    with op.batch_alter_table('custody_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_custody_events_capture_id'), ['capture_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('custody_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_custody_events_capture_id'))
    op.drop_table('custody_events')
    # Custody leaves share capture ids, and the log is append-only: a log that
    # holds any cannot go back to one leaf per capture.
    if op.get_bind().execute(sa.text(
            "SELECT count(*) FROM log_entries WHERE kind = 'custody'")).scalar():
        raise RuntimeError("the log holds custody leaves; 0004 cannot be downgraded")
    op.drop_index("ux_log_entries_capture", table_name="log_entries")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("log_entries", naming_convention=_NAMING) as batch_op:
            batch_op.create_unique_constraint("uq_log_entries_capture_id", ["capture_id"])
    else:  # the name PostgreSQL gave 0002's constraint, so 0004 can drop it again
        op.create_unique_constraint("log_entries_capture_id_key", "log_entries",
                                    ["capture_id"])
