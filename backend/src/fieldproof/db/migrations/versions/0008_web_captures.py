"""web captures: tasks, their files, server-held recorder devices

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fieldproof.db.models

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN (SQLite has it; a batch copy would drop a referenced table)
    op.add_column('devices', sa.Column('server_held', sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.create_table('web_captures',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('applicant', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('duration_s', sa.Integer(), nullable=False),
    sa.Column('start_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('end_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('heartbeat_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recorded_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('confirm_by', fieldproof.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=16), nullable=True),
    sa.Column('capture_id', sa.String(length=36), nullable=True),
    sa.Column('frame', sa.LargeBinary(), nullable=True),
    sa.Column('frame_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['capture_id'], ['captures.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('capture_id')
    )
    op.create_index(op.f('ix_web_captures_user_id'), 'web_captures', ['user_id'], unique=False)
    op.create_index(op.f('ix_web_captures_status'), 'web_captures', ['status'], unique=False)
    op.create_table('web_capture_files',
    sa.Column('capture_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('object_key', sa.String(length=512), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('mime', sa.String(length=127), nullable=False),
    sa.ForeignKeyConstraint(['capture_id'], ['captures.id'], ),
    sa.PrimaryKeyConstraint('capture_id', 'name')
    )
    op.create_index(op.f('ix_web_capture_files_object_key'), 'web_capture_files',
                    ['object_key'], unique=False)


def downgrade() -> None:
    op.drop_table('web_capture_files')
    op.drop_table('web_captures')
    with op.batch_alter_table('devices') as batch:
        batch.drop_column('server_held')
