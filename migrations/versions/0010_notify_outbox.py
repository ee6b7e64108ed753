"""Notification outbox: subscriptions' delivery state, Task change events, per-subscription event numbers,
and full-resource disclosures waiting for the audit trail.

Revision ID: 0010
Revises: 0005
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

import hub.models

revision = '0010'
down_revision = '0005'
branch_labels = None
depends_on = None

PID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('notify_subscription',
    sa.Column('subscription_id', sa.String(length=64), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('topic', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('endpoint', sa.String(length=2048), nullable=False),
    sa.Column('content', sa.String(length=16), nullable=False),
    sa.Column('headers', sa.Text(), nullable=False),
    sa.Column('filters', sa.Text(), nullable=False),
    sa.Column('heartbeat_seconds', sa.Integer(), nullable=True),
    sa.Column('timeout_seconds', sa.Integer(), nullable=True),
    sa.Column('max_count', sa.Integer(), nullable=True),
    sa.Column('events_since_start', sa.BigInteger(), nullable=False),
    sa.Column('delivered_through', sa.BigInteger(), nullable=False),
    sa.Column('handshake_at', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('leased_until', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_sent_at', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('subscription_id', name=op.f('pk_notify_subscription'))
    )
    op.create_index(op.f('ix_notify_subscription_topic_tenant'), 'notify_subscription',
                    ['topic', 'tenant'], unique=False)
    op.create_table('notify_event',
    sa.Column('id', PID, autoincrement=True, nullable=False),
    sa.Column('topic', sa.String(length=255), nullable=False),
    sa.Column('task_id', sa.String(length=64), nullable=False),
    sa.Column('task_seq', sa.Integer(), nullable=False),
    sa.Column('task_version', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('previous_status', sa.String(length=32), nullable=True),
    sa.Column('business_status', sa.String(length=64), nullable=True),
    sa.Column('previous_business_status', sa.String(length=64), nullable=True),
    sa.Column('owner_org', sa.String(length=64), nullable=True),
    sa.Column('requester_org', sa.String(length=64), nullable=True),
    sa.Column('occurred_at', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_event')),
    sa.UniqueConstraint('task_id', 'task_seq', name=op.f('uq_notify_event_task_id_task_seq'))
    )
    op.create_table('notify_delivery',
    sa.Column('subscription_id', sa.String(length=64), nullable=False),
    sa.Column('event_number', sa.BigInteger(), nullable=False),
    sa.Column('event_id', PID, nullable=False),
    sa.PrimaryKeyConstraint('subscription_id', 'event_number', name=op.f('pk_notify_delivery'))
    )
    op.create_table('notify_disclosure',
    sa.Column('id', PID, autoincrement=True, nullable=False),
    sa.Column('subscription_id', sa.String(length=64), nullable=False),
    sa.Column('organization', sa.String(length=64), nullable=True),
    sa.Column('sent_at', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('touched', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_disclosure'))
    )


def downgrade() -> None:
    op.drop_table('notify_disclosure')
    op.drop_table('notify_delivery')
    op.drop_table('notify_event')
    op.drop_index(op.f('ix_notify_subscription_topic_tenant'), table_name='notify_subscription')
    op.drop_table('notify_subscription')
