"""The tenancy probe: an access-link index that answers "is this institution linked to this patient,
now, for this purpose" from the index alone, replacing the (organization, patient) one; and, on
PostgreSQL, statistics on how reference index rows' parameter and target go together, without which
the planner takes "owner = the tertiary hospital" for 8,000 rows instead of 68,000.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23
"""
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        'ix_access_link_probe',
        'access_link',
        ['organization_id', 'patient_id', 'valid_from', 'valid_to', 'purposes'],
        unique=False,
    )
    op.drop_index('ix_access_link_organization_id_patient_id', table_name='access_link')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE STATISTICS st_idx_ref_identity_target (mcv, dependencies) ON hash_identity, target_id FROM idx_ref")
        op.execute("ANALYZE idx_ref")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_idx_ref_identity_target")
    op.create_index(
        'ix_access_link_organization_id_patient_id',
        'access_link',
        ['organization_id', 'patient_id'],
        unique=False,
    )
    op.drop_index('ix_access_link_probe', table_name='access_link')
