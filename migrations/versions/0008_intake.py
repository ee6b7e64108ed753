"""Adapter intake: the ledger of what arrived, the records it became, and the quarantine.

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

import hub.models

revision = '0008'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('intake_ledger',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution', sa.String(length=64), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=512), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=True),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('received_at', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_ledger')),
    sa.UniqueConstraint('institution', 'format', 'content_hash',
                        name=op.f('uq_intake_ledger_institution_format_content_hash'))
    )
    op.create_table('intake_record',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution', sa.String(length=64), nullable=False),
    sa.Column('source_key', sa.String(length=300), nullable=False),
    sa.Column('resource_type', sa.String(length=64), nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_record')),
    sa.UniqueConstraint('institution', 'source_key', name=op.f('uq_intake_record_institution_source_key'))
    )
    op.create_table('quarantine',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution', sa.String(length=64), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=512), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=True),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('element', sa.String(length=300), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('received_at', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantine')),
    sa.UniqueConstraint('institution', 'format', 'content_hash',
                        name=op.f('uq_quarantine_institution_format_content_hash'))
    )
    op.create_index(op.f('ix_quarantine_institution_status'), 'quarantine', ['institution', 'status'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_quarantine_institution_status'), table_name='quarantine')
    op.drop_table('quarantine')
    op.drop_table('intake_record')
    op.drop_table('intake_ledger')
