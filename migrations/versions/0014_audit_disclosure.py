"""The disclosure ledger: which record versions have crossed to which institution for which purpose,
so that the BALP export/import pair is written once per disclosure, not again at every re-read.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'audit_disclosure',
        sa.Column('recipient', sa.String(length=64), nullable=False),
        sa.Column('purpose', sa.String(length=64), nullable=False),
        sa.Column('reference', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('recipient', 'purpose', 'reference', name=op.f('pk_audit_disclosure')),
    )


def downgrade() -> None:
    op.drop_table('audit_disclosure')
