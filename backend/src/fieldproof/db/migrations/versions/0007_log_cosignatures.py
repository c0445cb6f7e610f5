"""witness cosignatures on checkpoints (C2SP tlog-cosignature)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 20:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fieldproof.db.models

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('log_cosignatures',
    sa.Column('checkpoint_size', sa.BigInteger(), nullable=False),
    sa.Column('witness', sa.String(length=256), nullable=False),
    sa.Column('line', sa.Text(), nullable=False),
    sa.Column('cosigned_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checkpoint_size'], ['log_checkpoints.size'], ),
    sa.PrimaryKeyConstraint('checkpoint_size', 'witness')
    )


def downgrade() -> None:
    op.drop_table('log_cosignatures')
