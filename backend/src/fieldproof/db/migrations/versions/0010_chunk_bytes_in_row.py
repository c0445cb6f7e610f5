"""stream chunks: their bytes in the row, committed with it (no staged object)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 18:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('stream_chunks') as batch:
        batch.add_column(sa.Column('data', sa.LargeBinary(), nullable=True))
        # chunks staged as objects by an older version keep their key
        batch.alter_column('object_key', existing_type=sa.String(length=512), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('stream_chunks') as batch:
        batch.drop_column('data')
        batch.alter_column('object_key', existing_type=sa.String(length=512), nullable=False)
