"""AuditEvents keep their references in their own row (``res_auditevent.refs``), not in ``idx_ref``.

Each reference (agent, entity, source) is kept as two hashes, with the target's type and without
(``hub.fhir.extract.ref_keys``), pair after pair in order, and the column has a GIN index on
PostgreSQL. The hashes are xxh3 digests, computed here in Python from the existing ``idx_ref`` rows,
which are then deleted. As in 0015, the append-only trigger is switched off for the move alone and
the bodies, which the chain's hashes cover, are not touched. The downgrade reads the references
back out of the bodies.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23
"""
import orjson
import sqlalchemy as sa
import xxhash
from alembic import op
from sqlalchemy.dialects import postgresql

from hub.fhir.extract import parse_reference

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

_TRIGGER = "res_auditevent_append_only"
_EVENTS = "SELECT pid FROM res_auditevent"
_PATHS = {"agent": ("agent", "who"), "entity": ("entity", "what"), "source": ("source", "observer")}
_BATCH = 1000


def _h64(*parts: str) -> int:
    """As ``hub.fhir.extract.h64``: a signed 64-bit xxh3 of the parts joined by U+001F."""
    v = xxhash.xxh3_64_intdigest("\x1f".join(parts).encode())
    return v - (1 << 64) if v >= 1 << 63 else v


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _keys(refs: set[tuple[str, str, str]]) -> list[int]:
    """The row's ``refs``: (with type, without) per reference, pairs sorted, as the store writes them."""
    pairs = sorted({(_h64("AuditEvent", p, t, i), _h64("AuditEvent", p, i)) for p, t, i in refs})
    return [h for pair in pairs for h in pair]


def upgrade() -> None:
    op.add_column(
        'res_auditevent',
        sa.Column('refs', postgresql.ARRAY(sa.BigInteger()).with_variant(sa.Text(), 'sqlite'), nullable=True),
    )
    conn = op.get_bind()
    names = {_h64("AuditEvent", name): name for name in _PATHS}
    update = sa.text("UPDATE res_auditevent SET refs = :refs WHERE pid = :pid")
    items: list[dict] = []

    def add(pid: int, refs: set) -> None:
        keys = _keys(refs)
        items.append({"pid": pid, "refs": keys if _pg() else orjson.dumps(keys).decode()})
        if len(items) >= _BATCH:
            conn.execute(update, items)
            items.clear()

    if _pg():
        op.execute(f"ALTER TABLE res_auditevent DISABLE TRIGGER {_TRIGGER}")
    # Streamed in pid order (a server-side cursor on PostgreSQL): a trail of millions of events has
    # tens of millions of these rows.
    rows = conn.execute(
        sa.text(
            "SELECT pid, hash_identity, target_type, target_id FROM idx_ref"
            f" WHERE pid IN ({_EVENTS}) ORDER BY pid"
        ).execution_options(yield_per=_BATCH)
    )
    current, refs = None, set()
    for pid, hid, ttype, tid in rows:
        if hid not in names:
            raise RuntimeError(f"AuditEvent row {pid} has a reference of an unknown parameter (hash {hid})")
        if pid != current:
            if current is not None:
                add(current, refs)
            current, refs = pid, set()
        refs.add((names[hid], ttype, tid))
    if current is not None:
        add(current, refs)
    if items:
        conn.execute(update, items)
    if _pg():
        op.execute(f"ALTER TABLE res_auditevent ENABLE TRIGGER {_TRIGGER}")
    op.execute(f"DELETE FROM idx_ref WHERE pid IN ({_EVENTS})")
    op.create_index('ix_res_auditevent_refs', 'res_auditevent', ['refs'], postgresql_using='gin')


def _references(body: str) -> set[tuple[str, str, str]]:
    """(parameter, target type, target id) of an AuditEvent's references, as the store indexed them."""
    event = orjson.loads(body)
    out = set()
    for name, (outer, inner) in _PATHS.items():
        items = event.get(outer) or []
        for item in items if isinstance(items, list) else [items]:
            ref = (item.get(inner) or {}).get("reference") if isinstance(item, dict) else None
            target = parse_reference(ref or "")
            if target:
                out.add((name, *target))
    return out


def downgrade() -> None:
    conn = op.get_bind()
    op.drop_index('ix_res_auditevent_refs', table_name='res_auditevent')
    insert = sa.text(
        "INSERT INTO idx_ref (pid, hash_identity, target_type, target_id) VALUES (:pid, :h, :t, :i)"
    )
    rows = []
    bodies = sa.text("SELECT pid, body FROM res_auditevent WHERE refs IS NOT NULL ORDER BY pid")
    for pid, body in conn.execute(bodies.execution_options(yield_per=_BATCH)):  # streamed, as above
        rows += [
            {"pid": pid, "h": _h64("AuditEvent", name), "t": ttype, "i": tid}
            for name, ttype, tid in sorted(_references(body))
        ]
        if len(rows) >= _BATCH:
            conn.execute(insert, rows)
            rows = []
    if rows:
        conn.execute(insert, rows)
    with op.batch_alter_table('res_auditevent') as batch:
        batch.drop_column('refs')
