"""EMPI index: normalised demographics and blocking keys of the hub Patients.

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "empi_person",
        sa.Column(
            "pid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False
        ),
        sa.Column("fhir_id", sa.String(length=64), nullable=False),
        sa.Column("candidate", sa.Boolean(), nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("pid", name=op.f("pk_empi_person")),
        sa.UniqueConstraint("fhir_id", name=op.f("uq_empi_person_fhir_id")),
    )
    op.create_table(
        "empi_key",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("key", "pid", name=op.f("pk_empi_key")),
    )
    op.create_index(op.f("ix_empi_key_pid"), "empi_key", ["pid"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_empi_key_pid"), table_name="empi_key")
    op.drop_table("empi_key")
    op.drop_table("empi_person")
