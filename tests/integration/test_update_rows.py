"""``Store.update``: the row, the history and the index rows a new version leaves are those of its
body alone (the old version's index rows gone, none lost), on both databases; on PostgreSQL the
row, history and index rows are one statement."""

from __future__ import annotations

from sqlalchemy import select

from hub.fhir.extract import extract
from hub.fhir.registry import TYPES
from hub.fhir.store import Store, _dedupe_tokens
from hub.models import idx_date, idx_ref, idx_string, idx_token, resource_history, resource_tables
from tests.factories import observation, patient

OBS = TYPES["Observation"]


def _index(conn, pid: int) -> dict[str, set]:
    return {
        "token": {
            tuple(r)
            for r in conn.execute(
                select(idx_token.c.hash_sys_value, idx_token.c.hash_value).where(idx_token.c.pid == pid)
            )
        },
        "string": {
            tuple(r)
            for r in conn.execute(
                select(idx_string.c.hash_identity, idx_string.c.value_exact).where(idx_string.c.pid == pid)
            )
        },
        "date": {
            tuple(r)
            for r in conn.execute(
                select(idx_date.c.hash_identity, idx_date.c.low, idx_date.c.high).where(idx_date.c.pid == pid)
            )
        },
        "ref": {
            tuple(r)
            for r in conn.execute(
                select(idx_ref.c.hash_identity, idx_ref.c.target_type, idx_ref.c.target_id).where(
                    idx_ref.c.pid == pid
                )
            )
        },
    }


def _expected(body: dict) -> dict[str, set]:
    rows = extract(OBS, body)
    return {
        "token": set(_dedupe_tokens(rows.tokens)),
        "string": {(h, e) for h, _, e in rows.strings},
        "date": set(rows.dates),
        "ref": set(rows.refs),
    }


def test_an_updates_index_rows_are_those_of_the_new_version(db, statements):
    with db.write() as conn:
        store = Store(db, conn)
        p1 = store.create(TYPES["Patient"], patient(mrn="U-1"), tenant="org-u").id
        p2 = store.create(TYPES["Patient"], patient(mrn="U-2", family="王"), tenant="org-u").id
        made = store.create(OBS, observation(p1, code="8480-6", effective="2024-03-05T09:30:00+08:00"))
    changed = observation(
        p2,
        code="2339-0",
        display="Glucose",
        effective="2025-07-01T08:00:00+08:00",
        note=[{"text": "复查"}],
        performer=[{"reference": "Organization/org-u"}],
    )
    statements.clear()
    with db.write() as conn:
        store = Store(db, conn)
        stored, _ = store.update(OBS, made.id, changed)
    assert stored.version == 2
    with db.read() as conn:
        t = resource_tables["Observation"]
        row = conn.execute(
            select(t.c.pid, t.c.version, t.c.patient, t.c.date_low, t.c.body).where(t.c.fhir_id == made.id)
        ).one()
        assert (row.version, row.patient) == (2, p2)
        body = Store(db, conn).read(OBS, made.id).resource()
        assert body["code"]["coding"][0]["code"] == "2339-0" and row.body == stored.body
        assert _index(conn, row.pid) == _expected(body)
        versions = conn.execute(
            select(resource_history.c.version, resource_history.c.method).where(
                resource_history.c.pid == row.pid
            )
        ).all()
        assert sorted(versions) == [(1, "POST"), (2, "PUT")]
    if not db.is_sqlite:
        index_writes = [
            s for s in statements if s.lstrip().startswith(("INSERT INTO idx_", "DELETE FROM idx_"))
        ]
        assert index_writes == [], "index rows written by a statement of their own"


def test_a_deleted_record_updated_again_is_indexed_once(db):
    with db.write() as conn:
        store = Store(db, conn)
        p1 = store.create(TYPES["Patient"], patient(mrn="U-3"), tenant="org-u").id
        made = store.create(OBS, observation(p1))
        store.delete(OBS, made.id)
    with db.write() as conn:
        stored, revived = Store(db, conn).update(OBS, made.id, observation(p1, code="2339-0"))
    assert (stored.version, revived) == (3, True)
    with db.read() as conn:
        t = resource_tables["Observation"]
        pid = conn.execute(select(t.c.pid).where(t.c.fhir_id == made.id)).scalar_one()
        assert _index(conn, pid) == _expected(Store(db, conn).read(OBS, made.id).resource())
