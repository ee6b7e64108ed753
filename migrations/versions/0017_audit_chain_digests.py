"""The chain links digests: ``audit_pending.digest`` (the SHA-256 of an event's canonical body,
recorded by its append) and ``audit_chain.format`` (1: the entry hash over the canonical body, as
every row so far; 2: over its digest). Existing rows keep format 1 and verify as before.

A downgrade is refused once rows of format 2 exist: the code before this revision would recompute
them the old way and report the chain broken.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('audit_pending', sa.Column('digest', sa.String(length=64), nullable=True))
    op.add_column('audit_chain', sa.Column('format', sa.SmallInteger(), nullable=False, server_default='1'))


def downgrade() -> None:
    linked = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_chain WHERE format <> 1")).scalar()
    if linked:
        raise RuntimeError(
            f"{linked} audit chain rows link digests (format 2): before revision 0017 they would not "
            "verify, so the chain cannot be taken back below it"
        )
    with op.batch_alter_table('audit_chain') as batch:
        batch.drop_column('format')
    with op.batch_alter_table('audit_pending') as batch:
        batch.drop_column('digest')
