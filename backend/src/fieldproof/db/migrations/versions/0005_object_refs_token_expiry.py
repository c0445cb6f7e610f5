"""stored objects and pins (safe garbage collection), token expiry, device revocation

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fieldproof.db.models

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stored_objects',
    sa.Column('key', sa.String(length=512), nullable=False),
    sa.Column('touched_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('object_pins',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=512), nullable=False),
    sa.Column('expires_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('object_pins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_object_pins_key'), ['key'], unique=False)
    with op.batch_alter_table('captures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_captures_object_key'), ['object_key'],
                              unique=False)
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at',
                                      fieldproof.db.models.UTCDateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at',
                                      fieldproof.db.models.UTCDateTime(timezone=True),
                                      nullable=True))
    # Every object a capture already refers to is known from now on.
    op.execute("INSERT INTO stored_objects (key, touched_at) "
               "SELECT DISTINCT object_key, CURRENT_TIMESTAMP FROM captures")


def downgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('captures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_captures_object_key'))
    with op.batch_alter_table('object_pins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_object_pins_key'))
    op.drop_table('object_pins')
    op.drop_table('stored_objects')
