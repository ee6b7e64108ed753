"""Access links: which institution may read other institutions' records about which patient, and why.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

import hub.models

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('access_link',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('organization_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('purposes', sa.String(length=300), nullable=False),
    sa.Column('source_type', sa.String(length=64), nullable=False),
    sa.Column('source_id', sa.String(length=64), nullable=False),
    sa.Column('valid_from', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_to', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_link'))
    )
    op.create_index(op.f('ix_access_link_organization_id_patient_id'), 'access_link',
                    ['organization_id', 'patient_id'], unique=False)
    op.create_index(op.f('ix_access_link_source_type_source_id'), 'access_link',
                    ['source_type', 'source_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_access_link_source_type_source_id'), table_name='access_link')
    op.drop_index(op.f('ix_access_link_organization_id_patient_id'), table_name='access_link')
    op.drop_table('access_link')
