"""Several processes append and chain at once (PostgreSQL): one unbroken chain, every seq once."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import text

from hub.audit import chain
from hub.db import Database
from tests.audit import concurrent_writer

PROCESSES, EACH = 4, 50


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_parallel_writers_make_one_linear_chain(database_url):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    procs = [
        ctx.Process(target=concurrent_writer, args=(database_url, EACH, w, barrier), daemon=True)
        for w in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
    assert [p.exitcode for p in procs] == [0] * PROCESSES

    db = Database(database_url)
    try:
        chain.link_all(db)  # what the last chainer left waiting (a writer's last event may be)
        with chain.snapshot(db) as conn:
            result = chain.verify(conn, batch=64)
            seqs = [r[0] for r in conn.execute(text("SELECT seq FROM audit_chain ORDER BY seq"))]
            # Each writer's events are in its own order along the chain, and the writers interleaved.
            order = conn.execute(
                text(
                    "SELECT c.seq, a.patient FROM audit_chain c JOIN res_auditevent a ON a.pid = c.pid "
                    "ORDER BY c.seq"
                )
            ).all()
        assert result == chain.VerifyResult(True, PROCESSES * EACH, PROCESSES * EACH, None, None)
        assert seqs == list(range(1, PROCESSES * EACH + 1))
        by_writer: dict[str, list[int]] = {}
        for _seq, patient in order:
            writer, _, i = patient.partition("-p")
            by_writer.setdefault(writer, []).append(int(i))
        assert sorted(by_writer) == [f"w{w}" for w in range(PROCESSES)]
        assert all(v == list(range(EACH)) for v in by_writer.values())
        runs = sum(1 for a, b in zip(order, order[1:]) if a[1].split("-")[0] != b[1].split("-")[0])
        assert runs >= PROCESSES - 1
    finally:
        db.dispose()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_concurrent_first_reads_disclose_a_version_once(database_url):
    """Eight transactions record B's read of the same record version at once: eight access events,
    and exactly one export/import pair (the disclosure ledger's key decides, not timing)."""
    import threading

    from hub.audit import recorder
    from hub.audit.recorder import Touched
    from hub.auth.principal import INSTITUTION, Principal

    db = Database(database_url)
    b = Principal("client", "client-b", "org-b", INSTITUTION, ("system/*.rs",), jti="j")
    seen = [Touched("Observation", "obs-1", "org-a", "pat-1", 3)]
    barrier = threading.Barrier(8)
    errors = []

    def read():
        try:
            with db.write() as conn:
                barrier.wait(10)
                recorder.record_access(db, b, "read", seen, conn=conn)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
        with db.read() as conn:
            types = (
                conn.execute(text("SELECT body::json->'type'->>'code' FROM res_auditevent")).scalars().all()
            )
        assert sorted(types).count("rest") == 8
        assert types.count("110106") == 1 and types.count("110107") == 1
    finally:
        db.dispose()
