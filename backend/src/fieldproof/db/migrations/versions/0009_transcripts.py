"""transcripts: signed versions and machine transcription jobs

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 15:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fieldproof.db.models

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('transcript_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('capture_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('origin', sa.String(length=8), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('signer_jwk', sa.Text(), nullable=True),
    sa.Column('signer_cert', sa.Text(), nullable=True),
    sa.Column('entry_seq', sa.Integer(), nullable=False),
    sa.Column('created_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['capture_id'], ['captures.id'], ),
    sa.ForeignKeyConstraint(['entry_seq'], ['log_entries.seq'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('capture_id', 'version'),
    sa.UniqueConstraint('entry_seq'),
    sa.UniqueConstraint('sha256')
    )
    op.create_index(op.f('ix_transcript_versions_capture_id'), 'transcript_versions',
                    ['capture_id'], unique=False)
    op.create_table('transcript_jobs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('capture_id', sa.String(length=36), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('created_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('heartbeat_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
    sa.ForeignKeyConstraint(['capture_id'], ['captures.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_transcript_jobs_capture_id'), 'transcript_jobs', ['capture_id'],
                    unique=False)
    op.create_index(op.f('ix_transcript_jobs_state'), 'transcript_jobs', ['state'],
                    unique=False)


def downgrade() -> None:
    op.drop_table('transcript_jobs')
    op.drop_table('transcript_versions')
