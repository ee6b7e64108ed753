"""The audit chain, its head and signed daily checkpoints.

On PostgreSQL, triggers make the audit trail append-only: UPDATE and DELETE are refused on
audit_chain, audit_checkpoint, res_auditevent and the AuditEvent rows of resource_history, and
DELETE on audit_head (which every append updates). TRUNCATE is not blocked (the test fixtures use
it); it, like disabling a trigger, needs the table owner or a superuser, which the application's
database role must not be.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

import hub.models

revision = '0003'
down_revision = '0001'
branch_labels = ('audit',)
depends_on = None


_APPEND_ONLY_FUNCTION = """
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING HINT = 'AuditEvents and their audit_chain rows are never changed or deleted (AUD-05)';
END
$$"""

# (trigger, table, events, WHEN clause)
_TRIGGERS = (
    ("audit_chain_append_only", "audit_chain", "UPDATE OR DELETE", ""),
    ("audit_checkpoint_append_only", "audit_checkpoint", "UPDATE OR DELETE", ""),
    ("audit_head_no_delete", "audit_head", "DELETE", ""),
    ("res_auditevent_append_only", "res_auditevent", "UPDATE OR DELETE", ""),
    (
        "resource_history_auditevent_append_only",
        "resource_history",
        "UPDATE OR DELETE",
        "WHEN (OLD.res_type = 'AuditEvent')",
    ),
)


def upgrade() -> None:
    op.create_table('audit_chain',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False,
              nullable=False),
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recorded', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_chain')),
    sa.UniqueConstraint('pid', name=op.f('uq_audit_chain_pid'))
    )
    op.create_table('audit_checkpoint',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.Text(), nullable=False),
    sa.Column('created_at', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_audit_checkpoint'))
    )
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_APPEND_ONLY_FUNCTION)
        for name, table, events, when in _TRIGGERS:
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {events} ON {table} FOR EACH ROW {when} "
                "EXECUTE FUNCTION audit_append_only()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table, _events, _when in _TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
    op.drop_table('audit_head')
    op.drop_table('audit_checkpoint')
    op.drop_table('audit_chain')
