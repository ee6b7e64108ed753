"""Referral workflow: idempotency keys of submissions and each referral Task's clock.

Revision ID: 0009
Revises: 0005
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

import hub.models

revision = '0009'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('referral_idempotency',
    sa.Column('organization_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('task_id', sa.String(length=64), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('response', sa.Text(), nullable=False),
    sa.Column('created_at', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('organization_id', 'key', name=op.f('pk_referral_idempotency'))
    )
    op.create_table('referral_clock',
    sa.Column('task_id', sa.String(length=64), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('requester_org', sa.String(length=64), nullable=False),
    sa.Column('owner_org', sa.String(length=64), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('submitted_at', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ack_due_at', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('accept_due_at', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paused_at', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ack_overdue_at', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('accept_overdue_at', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('returned', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('task_id', name=op.f('pk_referral_clock'))
    )
    op.create_index(op.f('ix_referral_clock_status_accept_due_at'), 'referral_clock',
                    ['status', 'accept_due_at'], unique=False)
    op.create_index(op.f('ix_referral_clock_status_expires_at'), 'referral_clock',
                    ['status', 'expires_at'], unique=False)
    op.create_index(op.f('ix_referral_clock_submitted_at'), 'referral_clock', ['submitted_at'], unique=False)
    op.create_index(op.f('ix_referral_clock_owner_org_status_submitted_at'), 'referral_clock',
                    ['owner_org', 'status', 'submitted_at'], unique=False)
    op.create_index(op.f('ix_referral_clock_requester_org_status_submitted_at'), 'referral_clock',
                    ['requester_org', 'status', 'submitted_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_referral_clock_requester_org_status_submitted_at'), table_name='referral_clock')
    op.drop_index(op.f('ix_referral_clock_owner_org_status_submitted_at'), table_name='referral_clock')
    op.drop_index(op.f('ix_referral_clock_submitted_at'), table_name='referral_clock')
    op.drop_index(op.f('ix_referral_clock_status_expires_at'), table_name='referral_clock')
    op.drop_index(op.f('ix_referral_clock_status_accept_due_at'), table_name='referral_clock')
    op.drop_table('referral_clock')
    op.drop_table('referral_idempotency')
