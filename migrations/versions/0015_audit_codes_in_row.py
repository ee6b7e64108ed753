"""AuditEvents keep their token codes in their own row (``res_auditevent.codes``), not in ``idx_token``.

Each token's two hashes (with its system, without) are stored pair after pair; searches test the
row's list. Existing events' codes are moved over from ``idx_token`` in the same order, so a
downgrade can put the rows back. The move rewrites rows of an append-only table: the trigger that
refuses it is switched off for the move alone (only the table's owner can), and the bodies, which
the chain's hashes cover, are not touched.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_TRIGGER = "res_auditevent_append_only"
_EVENTS = "SELECT pid FROM res_auditevent"


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.add_column(
        'res_auditevent',
        sa.Column('codes', postgresql.ARRAY(sa.BigInteger()).with_variant(sa.Text(), 'sqlite'), nullable=True),
    )
    if _pg():
        op.execute(f"ALTER TABLE res_auditevent DISABLE TRIGGER {_TRIGGER}")
        op.execute(
            "UPDATE res_auditevent r SET codes = c.codes FROM ("
            " SELECT t.pid, array_agg(h ORDER BY t.hash_sys_value, n) AS codes"
            " FROM idx_token t CROSS JOIN LATERAL unnest(ARRAY[t.hash_sys_value, t.hash_value])"
            "   WITH ORDINALITY AS u(h, n)"
            f" WHERE t.pid IN ({_EVENTS}) GROUP BY t.pid) c WHERE c.pid = r.pid"
        )
        op.execute(f"ALTER TABLE res_auditevent ENABLE TRIGGER {_TRIGGER}")
    else:
        op.execute(
            "UPDATE res_auditevent SET codes = ("
            " SELECT json_group_array(h) FROM ("
            "  SELECT hash_sys_value AS s, 1 AS n, hash_sys_value AS h FROM idx_token t"
            "   WHERE t.pid = res_auditevent.pid"
            "  UNION ALL SELECT hash_sys_value, 2, hash_value FROM idx_token t"
            "   WHERE t.pid = res_auditevent.pid"
            "  ORDER BY s, n))"
            " WHERE pid IN (SELECT pid FROM idx_token)"
        )
    op.execute(f"DELETE FROM idx_token WHERE pid IN ({_EVENTS})")


def downgrade() -> None:
    if _pg():
        op.execute(
            "INSERT INTO idx_token (pid, hash_sys_value, hash_value, sort_date)"
            " SELECT r.pid, r.codes[2 * i - 1], r.codes[2 * i], r.date_low FROM res_auditevent r"
            " CROSS JOIN LATERAL generate_series(1, cardinality(r.codes) / 2) AS i"
            " WHERE r.codes IS NOT NULL"
        )
    else:
        op.execute(
            "INSERT INTO idx_token (pid, hash_sys_value, hash_value, sort_date)"
            " SELECT r.pid, s.value, v.value, r.date_low FROM res_auditevent r"
            " JOIN json_each(r.codes) s ON s.key % 2 = 0"
            " JOIN json_each(r.codes) v ON v.key = s.key + 1"
            " WHERE r.codes IS NOT NULL"
        )
    with op.batch_alter_table('res_auditevent') as batch:
        batch.drop_column('codes')
