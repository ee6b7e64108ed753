"""The audit chain, its head and signed daily checkpoints.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

import hub.models

revision = '0003'
down_revision = '0001'
branch_labels = ('audit',)
depends_on = None


def upgrade() -> None:
    op.create_table('audit_chain',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recorded', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_chain')),
    sa.UniqueConstraint('pid', name=op.f('uq_audit_chain_pid'))
    )
    op.create_table('audit_checkpoint',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.Text(), nullable=False),
    sa.Column('created_at', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_audit_checkpoint'))
    )
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )


def downgrade() -> None:
    op.drop_table('audit_head')
    op.drop_table('audit_checkpoint')
    op.drop_table('audit_chain')
