"""Migrations: upgrade and downgrade on both databases, and the models agree with the migrations."""

from __future__ import annotations

import os

import orjson
import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from hub import migrate
from hub.models import metadata
from tests.conftest import IN_CI, PG_ADMIN_URL, _pg_reachable


@pytest.fixture
def empty_url(backend, tmp_path, worker_id):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.sqlite'}"
        return
    problem = _pg_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI: {problem}")
        pytest.skip(problem)
    name = f"xietong_migrate_{worker_id}_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_upgrade_downgrade_upgrade(empty_url):
    migrate.upgrade(empty_url)
    engine = create_engine(empty_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(metadata.tables) <= tables
        migrate.downgrade(empty_url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(empty_url)
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diffs == [], f"the models and the migrations disagree: {diffs}"
    finally:
        engine.dispose()


def test_audit_codes_move_into_their_rows_and_back(empty_url):
    """0015 moves AuditEvents' token rows into ``res_auditevent.codes`` (the pairs in order) and
    leaves other types' token rows alone; its downgrade puts them back as they were."""
    migrate.upgrade(empty_url, "0014")
    engine = create_engine(empty_url)
    tokens = [(1, 11, 12), (1, 5, 6), (2, 21, 22), (3, 31, 32)]  # (pid, hash_sys_value, hash_value)
    try:
        with engine.begin() as conn:
            for pid, table in ((1, "res_auditevent"), (2, "res_auditevent"), (3, "res_observation")):
                conn.exec_driver_sql(
                    f"INSERT INTO {table} (pid, fhir_id, version, last_updated, deleted, body)"
                    f" VALUES ({pid}, 'r{pid}', 1, '2026-11-23T00:00:00+00:00', false, '{{}}')"
                )
            for pid, s, v in tokens:
                conn.exec_driver_sql(
                    f"INSERT INTO idx_token (pid, hash_sys_value, hash_value) VALUES ({pid}, {s}, {v})"
                )
        migrate.upgrade(empty_url, "0015")
        with engine.connect() as conn:
            codes = dict(conn.exec_driver_sql("SELECT pid, codes FROM res_auditevent ORDER BY pid").all())
            left = conn.exec_driver_sql("SELECT pid, hash_sys_value, hash_value FROM idx_token").all()
        codes = {k: orjson.loads(v) if isinstance(v, str) else list(v) for k, v in codes.items()}
        assert codes == {1: [5, 6, 11, 12], 2: [21, 22]}
        assert [tuple(r) for r in left] == [(3, 31, 32)]
        migrate.downgrade(empty_url, "0014")
        with engine.connect() as conn:
            back = conn.exec_driver_sql("SELECT pid, hash_sys_value, hash_value FROM idx_token").all()
        assert sorted(tuple(r) for r in back) == sorted(tokens)
    finally:
        engine.dispose()


_REF_ROWS = "SELECT pid, hash_identity, target_type, target_id FROM idx_ref"


def _audit_event(n: int, patient: str) -> dict:
    """A BALP-shaped event: the client and its institution as agents, the patient and a record as
    entities (one versioned), the hub as source."""
    return {
        "resourceType": "AuditEvent",
        "id": f"e{n}",
        "agent": [
            {"who": {"reference": f"Device/client-{n}"}, "requestor": True},
            {"who": {"reference": "Organization/org-b"}, "requestor": False},
        ],
        "entity": [
            {"what": {"reference": f"Patient/{patient}"}},
            {"what": {"reference": f"Observation/obs-{n}/_history/2"}},
            {"what": {"identifier": {"value": "no reference"}}},
        ],
        "source": {"observer": {"reference": "Device/xietong-hub"}},
    }


def test_audit_references_move_into_their_rows_and_back(empty_url):
    """0016 moves AuditEvents' reference rows into ``res_auditevent.refs`` (the hashes the store now
    writes for the same bodies) and leaves other types' rows alone; its downgrade puts them back."""
    from hub.fhir.extract import extract, h64
    from hub.fhir.registry import TYPES

    migrate.upgrade(empty_url, "0015")
    engine = create_engine(empty_url)
    ae = TYPES["AuditEvent"]
    bodies = {1: _audit_event(1, "p1"), 2: _audit_event(2, "p2")}
    refs = [  # as 0015's store wrote them: (pid, h64(type, param), target type, target id)
        (pid, h64("AuditEvent", param), t, i)
        for pid, b in bodies.items()
        for param, t, i in (
            ("agent", "Device", f"client-{pid}"),
            ("agent", "Organization", "org-b"),
            ("entity", "Patient", b["entity"][0]["what"]["reference"].split("/")[1]),
            ("entity", "Observation", f"obs-{pid}"),
            ("source", "Device", "xietong-hub"),
        )
    ] + [(3, h64("Observation", "performer"), "Practitioner", "pr1")]
    try:
        with engine.begin() as conn:
            for pid, table, body in (
                (1, "res_auditevent", bodies[1]),
                (2, "res_auditevent", bodies[2]),
                (3, "res_observation", {"resourceType": "Observation"}),
            ):
                conn.execute(
                    text(
                        f"INSERT INTO {table} (pid, fhir_id, version, last_updated, deleted, body)"
                        f" VALUES ({pid}, 'r{pid}', 1, '2026-11-23T00:00:00+00:00', false, :body)"
                    ),
                    {"body": orjson.dumps(body).decode()},
                )
            for row in refs:
                conn.exec_driver_sql(
                    "INSERT INTO idx_ref (pid, hash_identity, target_type, target_id)"
                    f" VALUES ({row[0]}, {row[1]}, '{row[2]}', '{row[3]}')"
                )
        migrate.upgrade(empty_url, "0016")
        with engine.connect() as conn:
            moved = dict(conn.exec_driver_sql("SELECT pid, refs FROM res_auditevent ORDER BY pid").all())
            left = conn.exec_driver_sql(_REF_ROWS).all()
        moved = {k: orjson.loads(v) if isinstance(v, str) else list(v) for k, v in moved.items()}
        assert moved == {pid: extract(ae, b).ref_keys for pid, b in bodies.items()}
        assert all(len(v) == 10 for v in moved.values())
        assert [tuple(r) for r in left] == [refs[-1]]
        migrate.downgrade(empty_url, "0015")
        with engine.connect() as conn:
            back = conn.exec_driver_sql(_REF_ROWS).all()
        assert sorted(tuple(r) for r in back) == sorted(refs)
    finally:
        engine.dispose()


def test_the_chain_cannot_be_taken_below_digests_once_it_links_them(empty_url):
    """0017: existing chain rows are format 1; once a row links a digest (format 2) the downgrade is
    refused, since the code before it would report that row broken."""
    migrate.upgrade(empty_url, "0016")
    engine = create_engine(empty_url)
    insert = (
        "INSERT INTO audit_chain (seq, pid, recorded, prev_hash, entry_hash{})"
        " VALUES ({}, {}, '2026-11-23T00:00:00+00:00', 'prev', 'entry'{})"
    )
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(insert.format("", 1, 1, ""))
        migrate.upgrade(empty_url, "0017")
        with engine.begin() as conn:
            assert conn.exec_driver_sql("SELECT format FROM audit_chain").scalar() == 1
            conn.exec_driver_sql(insert.format(", format", 2, 2, ", 2"))
        with pytest.raises(RuntimeError, match="1 audit chain rows link digests"):
            migrate.downgrade(empty_url, "0016")
    finally:
        engine.dispose()
