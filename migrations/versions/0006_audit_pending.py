"""Audit events waiting to be chained: requests store their AuditEvents and a pending row; the
chainer links them in batches, off the request path.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_pending',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False,
              nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_audit_pending'))
    )


def downgrade() -> None:
    # Events still waiting are chained by the code that knows the pending table, before it goes.
    bind = op.get_bind()
    waiting = bind.execute(sa.text("SELECT count(*) FROM audit_pending")).scalar()
    if waiting:
        raise RuntimeError(
            f"{waiting} AuditEvents are not chained yet: run `flask audit chain` before downgrading"
        )
    op.drop_table('audit_pending')
