"""people's words and hands: annotations, cases and their evidence lists, shares,
invites and password resets, disabled accounts, place names

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 11:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fieldproof.db.models

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('invites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_invites_email'), 'invites', ['email'], unique=False)
    op.create_table('cases',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('parties', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_cases_user_id'), 'cases', ['user_id'], unique=False)
    op.create_table('password_resets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_password_resets_user_id'), 'password_resets', ['user_id'],
                    unique=False)
    op.create_table('capture_annotations',
    sa.Column('capture_id', sa.String(length=36), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('updated_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['capture_id'], ['captures.id'], ),
    sa.PrimaryKeyConstraint('capture_id')
    )
    op.create_table('case_items',
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('capture_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('added_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['capture_id'], ['captures.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('case_id', 'capture_id')
    )
    op.create_index('ux_case_items_position', 'case_items', ['case_id', 'position'], unique=True)
    op.create_table('shares',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=True),
    sa.Column('capture_id', sa.String(length=36), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('allow_download', sa.Boolean(), nullable=False),
    sa.Column('created_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', fieldproof.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['capture_id'], ['captures.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_shares_user_id'), 'shares', ['user_id'], unique=False)
    with op.batch_alter_table('captures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place', sa.JSON(), nullable=True))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at',
                                      fieldproof.db.models.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('disabled_at')
    with op.batch_alter_table('captures', schema=None) as batch_op:
        batch_op.drop_column('place')
    op.drop_index(op.f('ix_shares_user_id'), table_name='shares')
    op.drop_table('shares')
    op.drop_index('ux_case_items_position', table_name='case_items')
    op.drop_table('case_items')
    op.drop_table('capture_annotations')
    op.drop_index(op.f('ix_password_resets_user_id'), table_name='password_resets')
    op.drop_table('password_resets')
    op.drop_index(op.f('ix_cases_user_id'), table_name='cases')
    op.drop_table('cases')
    op.drop_index(op.f('ix_invites_email'), table_name='invites')
    op.drop_table('invites')
