"""The group writer: the records of concurrent reads commit together, each read waits for its own."""

from __future__ import annotations

import threading
import time

import orjson
import psycopg
import pytest
from sqlalchemy import text

from hub.audit import chain
from hub.audit.writer import AuditWriteFailed, GroupWriter, writer_for
from tests.audit import sample_event
from tests.conftest import scalar

N = 12


def _until(condition, what: str) -> None:
    """Wait for the writer's queue to reach a state (a bound on the wait, not a speed requirement)."""
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"the writer's queue never reached: {what}")
        time.sleep(0.01)


def _blocker(db, holding: threading.Event, release: threading.Event):
    """Hold what the writer's next transaction needs: SQLite's write lock, or on PostgreSQL a lock on
    the waiting list that its inserts wait for."""
    with db.write() as conn:
        if not db.is_sqlite:
            conn.execute(text("LOCK TABLE audit_pending IN EXCLUSIVE MODE"))
        holding.set()
        release.wait(30)


def test_requests_that_arrive_while_a_commit_is_under_way_share_the_next_one(db):
    writer = GroupWriter(db)
    holding, release = threading.Event(), threading.Event()
    blocker = threading.Thread(target=_blocker, args=(db, holding, release))
    blocker.start()
    assert holding.wait(30)
    errors = []

    def read(i):
        try:
            writer.write([(sample_event(i), chain.FROM_EVENT)])
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    first = threading.Thread(target=read, args=(0,))
    first.start()
    # The first request's transaction waits on the lock; every later one queues behind it.
    _until(lambda: writer.requests == 0 and writer.waiting() == 0 and first.is_alive(), "taken")
    rest = [threading.Thread(target=read, args=(i,)) for i in range(1, N)]
    for t in rest:
        t.start()
    _until(lambda: writer.waiting() == N - 1, f"{N - 1} waiting")
    release.set()
    blocker.join(30)
    for t in [first, *rest]:
        t.join(30)
    writer.stop()
    assert errors == []
    assert scalar(db, "SELECT count(*) FROM res_auditevent") == N
    assert (writer.commits, writer.requests) == (2, N)  # the first alone, then all the others at once
    assert chain.link_all(db) == N
    with chain.snapshot(db) as conn:
        assert chain.verify(conn).ok


def test_a_bad_record_fails_its_own_request_only(db):
    writer = GroupWriter(db)
    holding, release = threading.Event(), threading.Event()
    blocker = threading.Thread(target=_blocker, args=(db, holding, release))
    blocker.start()
    assert holding.wait(30)
    outcome = {}

    def read(name, items):
        try:
            writer.write(items)
            outcome[name] = "committed"
        except AuditWriteFailed as exc:
            outcome[name] = str(exc)

    good = [(sample_event(i), chain.FROM_EVENT) for i in range(3)]
    bad = [({"resourceType": "Observation"}, None)]
    threads = [threading.Thread(target=read, args=(f"good-{i}", [g])) for i, g in enumerate(good)]
    threads.insert(1, threading.Thread(target=read, args=("bad", bad)))
    threads[0].start()  # taken alone, and held by the lock ...
    _until(lambda: writer.waiting() == 0 and threads[0].is_alive(), "the first taken")
    for t in threads[1:]:  # ... while the bad one and two good ones wait to share the next commit
        t.start()
    _until(lambda: writer.waiting() == len(threads) - 1, "three waiting")
    release.set()
    blocker.join(30)
    for t in threads:
        t.join(30)
    writer.stop()
    assert outcome.pop("bad").startswith("the audit record could not be committed: only AuditEvents")
    assert outcome == {f"good-{i}": "committed" for i in range(3)}
    assert scalar(db, "SELECT count(*) FROM res_auditevent") == 3


def test_one_writer_per_database_stopped_when_it_is_disposed(database_url):
    from hub.db import Database

    db = Database(database_url)
    w = writer_for(db)
    assert writer_for(db) is w
    db.dispose()
    with pytest.raises(AuditWriteFailed, match="stopped"):
        w.write([(sample_event(0), chain.FROM_EVENT)])


def test_a_request_alone_writes_its_record_in_its_own_thread(db):
    """No hand-over: with nobody else writing, the request's own thread runs the statements."""
    from sqlalchemy import event

    threads = set()

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "res_auditevent" in statement:
            threads.add(threading.get_ident())

    event.listen(db.engine, "before_cursor_execute", seen)
    writer = GroupWriter(db)
    try:
        for i in range(3):
            writer.write([(sample_event(i), chain.FROM_EVENT)])
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert threads == {threading.get_ident()}
    assert (writer.commits, writer.requests) == (3, 3)
    assert scalar(db, "SELECT count(*) FROM res_auditevent") == 3


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_lost_connection_is_retried_on_a_new_one(db, database_url):
    """The batch's connection dies under it: each request's record is retried alone, and commits."""
    writer = GroupWriter(db)
    writer.write([(sample_event(0), chain.FROM_EVENT)])  # the pool now holds a connection
    # End every connection of the database from outside, as a failover would.
    plain_url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain_url, autocommit=True) as c:
        ended = c.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    assert ended >= 1
    writer.write([(sample_event(1), chain.FROM_EVENT)])
    writer.stop()
    assert scalar(db, "SELECT count(*) FROM res_auditevent") == 2


def _first_read(org: str, version: int):
    """A read by ``org`` of version ``version`` of a county hospital's Observation about one patient."""
    from hub.audit.recorder import Touched, access_record
    from hub.auth.principal import Principal

    reader = Principal("client", f"client-{org}", org, "institution", ("system/*.rs",))
    seen = Touched("Observation", "obs-1", "org-county-1", "pat-1", version)
    return access_record(reader, "read", {"pat-1": [seen]})


def _kinds(items) -> list[str]:
    return [e["type"]["code"] for e, _ in items]


def test_a_batch_claims_its_disclosures_together_and_the_first_request_gets_the_pair(db):
    from hub.audit.writer import events_of

    with db.write() as conn:
        first, same, other_org, new_version = (
            _first_read("org-tertiary", 1),
            _first_read("org-tertiary", 1),
            _first_read("org-township-1", 1),
            _first_read("org-tertiary", 2),
        )
        items = events_of([first, same, [(sample_event(0), chain.FROM_EVENT)], other_org, new_version], conn)
    # Per request: its access event; the pair (export + import) where a version crosses first.
    assert _kinds(items) == [
        "rest", "110106", "110107",  # first: access + the pair
        "rest",  # same version, same recipient, same batch: an access only
        "rest",  # a plain list of events passes through as it is
        "rest", "110106", "110107",  # another institution: its own disclosure
        "rest", "110106", "110107",  # a new version: a new disclosure
    ]  # fmt: skip
    with db.write() as conn:
        again = events_of([_first_read("org-tertiary", 1), _first_read("org-township-1", 2)], conn)
    assert _kinds(again) == ["rest", "rest", "110106", "110107"]
    assert scalar(db, "SELECT count(*) FROM audit_disclosure") == 4


def test_versions_seen_disclosed_are_not_claimed_again(db):
    from sqlalchemy import event

    claims = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "audit_disclosure" in statement:
            claims.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    writer = GroupWriter(db)
    try:
        writer.write(_first_read("org-tertiary", 1))
        assert ("org-tertiary", "treatment", "Observation/obs-1/_history/1") in writer.known
        writer.write(_first_read("org-tertiary", 1))  # read again: known to be in the ledger
        writer.write(_first_read("org-tertiary", 2))  # a new version: claimed
    finally:
        writer.stop()
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(claims) == 2
    assert scalar(db, "SELECT count(*) FROM audit_disclosure") == 2
    with db.read() as conn:
        bodies = [r[0] for r in conn.exec_driver_sql("SELECT body FROM res_auditevent ORDER BY pid")]
    kinds = [orjson.loads(b)["type"]["code"] for b in bodies]
    assert kinds == ["rest", "110106", "110107", "rest", "rest", "110106", "110107"]


def test_a_claim_whose_events_fail_is_rolled_back_with_them(db):
    """The ledger key and the events that record the disclosure commit together or not at all: a
    record whose events cannot be stored leaves no claim, and a later read discloses it again."""
    from hub.audit.recorder import AccessRecord

    good = _first_read("org-tertiary", 1)
    broken = AccessRecord(good.keys, lambda new: [({"resourceType": "Observation"}, None)])
    writer = GroupWriter(db)
    try:
        with pytest.raises(AuditWriteFailed, match="only AuditEvents"):
            writer.write(broken)
        assert scalar(db, "SELECT count(*) FROM audit_disclosure") == 0
        assert not any(k in writer.known for k in good.keys)
        writer.write(good)  # the same version read again: now the disclosure is recorded
    finally:
        writer.stop()
    assert scalar(db, "SELECT count(*) FROM audit_disclosure") == 1
    with db.read() as conn:
        bodies = [r[0] for r in conn.exec_driver_sql("SELECT body FROM res_auditevent ORDER BY pid")]
    assert [orjson.loads(b)["type"]["code"] for b in bodies] == ["rest", "110106", "110107"]
