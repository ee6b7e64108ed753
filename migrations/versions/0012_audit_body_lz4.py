"""AuditEvent bodies compressed with lz4 rather than pglz (PostgreSQL): every audited request writes
one or more 3 KB bodies, and the chainer reads each back; lz4 costs a fraction of pglz's CPU.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE res_auditevent ALTER COLUMN body SET COMPRESSION lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE res_auditevent ALTER COLUMN body SET COMPRESSION default")
