"""The hash chain on both databases: append, verify, tampering found, atomicity, triggers, checkpoints."""

from __future__ import annotations

import decimal
import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hub.audit import chain
from hub.errors import NotFound
from hub.fhir.registry import TYPES
from hub.fhir.store import Store
from tests.audit import LocalSigner, append_events, sample_event
from tests.conftest import fetch, scalar
from tests.factories import patient

TOMORROW = datetime.now(UTC) + timedelta(days=1)


def verify(db) -> chain.VerifyResult:
    with chain.snapshot(db) as conn:
        return chain.verify(conn, batch=4)  # small batches: the walk crosses batch boundaries


def tamper(db, table: str, sql: str, **params) -> None:
    """Change audit rows behind the application's back. On PostgreSQL the append-only triggers must
    be disabled first, which only the table owner or a superuser can do (the tests run as one)."""
    with db.write() as conn:
        if not db.is_sqlite:
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        conn.execute(text(sql), params)
        if not db.is_sqlite:
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def pid_at(db, seq: int) -> int:
    return scalar(db, "SELECT pid FROM audit_chain WHERE seq = :s", s=seq)


def test_append_then_verify(db):
    ids = append_events(db, 23)
    with db.write() as conn:  # several events in one transaction: one per patient
        ids += [chain.append(db, conn, sample_event(i)) for i in range(100, 105)]
    # Stored, and waiting: verify says so, and it is not a break.
    assert verify(db) == chain.VerifyResult(True, 23, 23, None, None, pending=5)
    assert chain.link_all(db) == 5
    result = verify(db)
    assert result == chain.VerifyResult(True, 28, 28, None, None)
    assert scalar(db, "SELECT count(*) FROM audit_chain") == 28
    assert scalar(db, "SELECT count(DISTINCT pid) FROM audit_chain") == 28
    assert scalar(db, "SELECT seq FROM audit_head WHERE id = 1") == 28
    # The first link starts from the genesis hash; each row links to its predecessor.
    assert scalar(db, "SELECT prev_hash FROM audit_chain WHERE seq = 1") == chain.GENESIS
    assert scalar(db, "SELECT count(*) FROM audit_chain a JOIN audit_chain b ON b.seq = a.seq + 1 "
                      "WHERE b.prev_hash <> a.entry_hash") == 0  # fmt: skip
    # Written once, never changed: no history rows (vread and history read the record itself).
    assert scalar(db, "SELECT count(*) FROM resource_history WHERE res_type = 'AuditEvent'") == 0
    # Stored as ordinary AuditEvents: under the principal's institution, with the patient column set.
    with db.read() as conn:
        stored = Store(db, conn).read(TYPES["AuditEvent"], ids[0])
    body = stored.resource()
    assert body["agent"][0]["who"]["identifier"]["value"] == "county-1-his"
    row = scalar(db, "SELECT tenant || ' ' || patient FROM res_auditevent WHERE fhir_id = :f", f=ids[0])
    assert row == "org-county-1 pat-0"
    # The hash covers the body exactly as stored: its digest, recorded when it was appended (format 2).
    first = scalar(db, "SELECT body FROM res_auditevent WHERE pid = :p", p=pid_at(db, 1))
    assert scalar(db, "SELECT entry_hash FROM audit_chain WHERE seq = 1") == chain.link_digest(
        chain.GENESIS, hashlib.sha256(chain.canonical(first)).hexdigest()
    )
    assert scalar(db, "SELECT count(*) FROM audit_chain WHERE format <> 2") == 0
    # A later start verifies from the stored hash before it.
    with chain.snapshot(db) as conn:
        assert chain.verify(conn, 20).checked == 9


def test_canonical_form_ignores_layout_not_content():
    a = '{"b":1,"a":{"y":[1,2],"x":"中"}}'
    b = json.dumps(json.loads(a), indent=2, ensure_ascii=True)
    assert chain.canonical(a) == chain.canonical(b) == '{"a":{"x":"中","y":[1,2]},"b":1}'.encode()
    assert chain.link_hash(chain.GENESIS, a) == chain.link_hash(chain.GENESIS, b)
    assert chain.link_hash(chain.GENESIS, a) != chain.link_hash(chain.GENESIS, a.replace("1", "2"))


def test_empty_chain_verifies(db):
    assert verify(db) == chain.VerifyResult(True, 0, None, None, None)


def test_a_changed_body_is_named_by_its_seq(db):
    append_events(db, 10)
    pid = pid_at(db, 4)
    # Re-serialising the same content is not a change (the hash is over the canonical form) ...
    body = scalar(db, "SELECT body FROM res_auditevent WHERE pid = :p", p=pid)
    pretty = json.dumps(json.loads(body), indent=1, ensure_ascii=False)
    tamper(db, "res_auditevent", "UPDATE res_auditevent SET body = :b WHERE pid = :p", b=pretty, p=pid)
    assert verify(db).ok
    # ... changing one field of one event is.
    changed = {**json.loads(body), "outcome": "4"}
    tamper(
        db,
        "res_auditevent",
        "UPDATE res_auditevent SET body = :b WHERE pid = :p",
        b=json.dumps(changed),
        p=pid,
    )
    result = verify(db)
    assert not result.ok
    assert result.first_broken_seq == 4 and result.checked == 3 and result.head_seq == 10
    assert "seq 4" in result.reason and "hash" in result.reason


def test_a_deleted_chain_row_is_a_gap(db):
    append_events(db, 8)
    tamper(db, "audit_chain", "DELETE FROM audit_chain WHERE seq = 5")
    result = verify(db)
    assert (result.ok, result.first_broken_seq, result.checked) == (False, 5, 4)
    assert "missing" in result.reason


def test_a_deleted_audit_event_is_found(db):
    append_events(db, 6)
    pid = pid_at(db, 3)
    tamper(db, "res_auditevent", "DELETE FROM res_auditevent WHERE pid = :p", p=pid)
    result = verify(db)
    assert (result.ok, result.first_broken_seq) == (False, 3)
    assert "missing from res_auditevent" in result.reason


def test_a_truncated_tail_disagrees_with_the_head(db):
    append_events(db, 6)
    tamper(db, "audit_chain", "DELETE FROM audit_chain WHERE seq > 4")
    result = verify(db)
    assert (result.ok, result.first_broken_seq, result.head_seq) == (False, 5, 6)
    assert "audit_head says seq 6" in result.reason


def test_a_changed_prev_hash_is_found(db):
    append_events(db, 6)
    tamper(db, "audit_chain", "UPDATE audit_chain SET prev_hash = :h WHERE seq = 3", h="f" * 64)
    result = verify(db)
    assert (result.ok, result.first_broken_seq) == (False, 3)
    assert "does not link" in result.reason


def test_reordered_rows_are_found(db):
    append_events(db, 6)
    swap = [
        "UPDATE audit_chain SET seq = 1000 WHERE seq = 3",
        "UPDATE audit_chain SET seq = 3 WHERE seq = 4",
        "UPDATE audit_chain SET seq = 4 WHERE seq = 1000",
    ]
    for sql in swap:
        tamper(db, "audit_chain", sql)
    result = verify(db)
    assert (result.ok, result.first_broken_seq) == (False, 3)


def test_a_head_that_disagrees_is_found(db):
    append_events(db, 5)
    with db.write() as conn:  # the head is updated by every append, so no trigger guards its columns
        conn.execute(text("UPDATE audit_head SET entry_hash = :h WHERE id = 1"), {"h": "a" * 64})
    result = verify(db)
    assert not result.ok and "hash disagrees" in result.reason
    with db.write() as conn:
        conn.execute(text("UPDATE audit_head SET seq = 3 WHERE id = 1"))
    result = verify(db)
    assert (result.ok, result.first_broken_seq) == (False, 4)


def test_an_audit_event_outside_the_chain_is_found(db):
    append_events(db, 3)
    with db.write() as conn:
        # Stored without its waiting mark: an event that bypassed chain.append.
        Store(db, conn).append_only(TYPES["AuditEvent"], [(sample_event(99), "org-county-1")])
    result = verify(db)
    assert not result.ok and result.first_broken_seq is None
    assert result.reason == "1 AuditEvent rows are neither in the audit chain nor waiting to be chained"


def test_the_change_and_its_record_commit_or_roll_back_together(db):
    rt = TYPES["Patient"]
    with pytest.raises(RuntimeError), db.write() as conn:
        Store(db, conn).create(rt, patient(), tenant="org-county-1")  # the store records the write itself
        raise RuntimeError("the request fails after the audit record was written")
    for table in ("res_patient", "res_auditevent", "audit_pending", "audit_chain"):
        assert scalar(db, f"SELECT count(*) FROM {table}") == 0, table
    assert (scalar(db, "SELECT seq FROM audit_head") or 0) == 0
    with db.write() as conn:
        Store(db, conn).create(rt, patient(), tenant="org-county-1")  # the store records the write itself
    assert scalar(db, "SELECT count(*) FROM res_patient") == 1
    assert scalar(db, "SELECT count(*) FROM audit_pending") == 1
    assert chain.link_all(db) == 1
    assert scalar(db, "SELECT count(*) FROM audit_chain") == 1
    assert verify(db).ok


def test_a_missing_head_with_rows_refuses_appends(db):
    append_events(db, 2)
    tamper(db, "audit_head", "DELETE FROM audit_head")
    with db.write() as conn:
        chain.append(db, conn, sample_event(1))  # stored, and kept waiting ...
    with pytest.raises(chain.AuditChainError, match="audit_head is missing"):
        chain.link_pending(db)  # ... because nothing is chained onto a tampered chain
    assert scalar(db, "SELECT count(*) FROM audit_pending") == 1
    assert not verify(db).ok


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_chain SET prev_hash = entry_hash",
        "DELETE FROM audit_chain WHERE seq = 1",
        "UPDATE res_auditevent SET body = body",
        "DELETE FROM res_auditevent",
        "DELETE FROM audit_head",
        "UPDATE audit_checkpoint SET seq = seq + 1",
        "DELETE FROM audit_checkpoint",
    ],
)
def test_postgresql_refuses_updates_and_deletes_of_the_audit_trail(db, sql):
    append_events(db, 2)
    with db.write() as conn:
        chain.checkpoint(db, conn, datetime.now(UTC).date(), LocalSigner().sign, now=TOMORROW)
    with pytest.raises(DBAPIError, match="append-only"), db.write() as conn:
        conn.execute(text(sql))
    assert verify(db).ok
    # Other resources' history is not affected by the trigger.
    with db.write() as conn:
        conn.execute(text("UPDATE resource_history SET body = body WHERE res_type <> 'AuditEvent'"))


def test_checkpoint_signs_the_head_of_the_day(db):
    signer = LocalSigner()
    check = chain.jws_verifier(signer.public_jwks())
    today = datetime.now(UTC).date()
    append_events(db, 5)
    with db.write() as conn:
        with pytest.raises(ValueError, match="has not ended"):
            chain.checkpoint(db, conn, today, signer.sign)
        cp = chain.checkpoint(db, conn, today, signer.sign, now=TOMORROW)
        before = chain.checkpoint(db, conn, today - timedelta(days=1), signer.sign, now=TOMORROW)
    assert (cp["day"], cp["seq"]) == (today.isoformat(), 5)
    assert cp["entry_hash"] == scalar(db, "SELECT entry_hash FROM audit_chain WHERE seq = 5")
    assert (before["seq"], before["entry_hash"]) == (0, chain.GENESIS)
    assert chain.verify_checkpoint(cp, check)
    # The claims say what the row says; any change, or another key, fails.
    claims = check(cp["signature"])
    assert {k: claims[k] for k in ("day", "seq", "entry_hash")} == {
        k: cp[k] for k in ("day", "seq", "entry_hash")
    }
    assert "exp" not in claims  # never usable as an access token
    assert not chain.verify_checkpoint({**cp, "seq": 6}, check)
    assert not chain.verify_checkpoint({**cp, "entry_hash": "0" * 64}, check)
    assert not chain.verify_checkpoint({**cp, "day": "2020-01-01"}, check)
    assert not chain.verify_checkpoint({**cp, "signature": cp["signature"][:-4] + "AAAA"}, check)
    assert not chain.verify_checkpoint(cp, chain.jws_verifier(LocalSigner().public_jwks()))
    # Idempotent, and listed for export.
    with db.write() as conn:
        assert chain.checkpoint(db, conn, today, LocalSigner().sign, now=TOMORROW) == cp
    with db.read() as conn:
        assert [c["day"] for c in chain.list_checkpoints(conn)] == [before["day"], cp["day"]]
    assert verify(db).ok


def test_a_rewritten_chain_is_caught_by_the_checkpoint(db):
    """Someone with full write access changes event 3 and recomputes every later hash and the head:
    the chain is consistent again, but no longer what the signed checkpoint said."""
    append_events(db, 6)
    with db.write() as conn:
        chain.checkpoint(db, conn, datetime.now(UTC).date(), LocalSigner().sign, now=TOMORROW)
    pid = pid_at(db, 3)
    body = json.loads(scalar(db, "SELECT body FROM res_auditevent WHERE pid = :p", p=pid))
    body["outcome"] = "8"
    tamper(
        db, "res_auditevent", "UPDATE res_auditevent SET body = :b WHERE pid = :p", b=json.dumps(body), p=pid
    )
    rows = fetch(
        db,
        "SELECT c.seq, a.body, c.format FROM audit_chain c JOIN res_auditevent a USING (pid) ORDER BY c.seq",
    )
    prev = chain.GENESIS
    for seq, stored, fmt in rows:
        h = chain.entry_hash(prev, stored, fmt)
        tamper(
            db,
            "audit_chain",
            "UPDATE audit_chain SET prev_hash = :p, entry_hash = :h WHERE seq = :s",
            p=prev,
            h=h,
            s=seq,
        )
        prev = h
    with db.write() as conn:
        conn.execute(text("UPDATE audit_head SET entry_hash = :h"), {"h": prev})
    result = verify(db)
    assert (result.ok, result.first_broken_seq) == (False, 6)
    assert "checkpoint" in result.reason


def test_no_checkpoint_is_signed_over_a_broken_chain(db):
    append_events(db, 4)
    pid = pid_at(db, 2)
    tamper(db, "res_auditevent", "UPDATE res_auditevent SET body = :b WHERE pid = :p", b='{"x":1}', p=pid)
    with pytest.raises(chain.AuditChainError, match="seq 2"), db.write() as conn:
        chain.checkpoint(db, conn, datetime.now(UTC).date(), LocalSigner().sign, now=TOMORROW)
    assert scalar(db, "SELECT count(*) FROM audit_checkpoint") == 0


def test_only_audit_events_are_chained(db):
    with pytest.raises(ValueError), db.write() as conn:
        chain.append(db, conn, patient())


def test_bodies_are_stored_compact_and_hash_stably(db):
    (fid,) = append_events(db, 1)
    body = scalar(db, "SELECT body FROM res_auditevent WHERE fhir_id = :f", f=fid)
    assert orjson.loads(body)["id"] == fid
    assert chain.canonical(body) == orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)


def test_bodies_are_stored_canonical_and_their_appends_record_their_digests(db):
    """The chainer links the digest an event's append recorded, without reading the body: that is
    only sound if the stored body is its own canonical form and the digest is its SHA-256."""
    ids = append_events(db, 12, link=False)
    rows = fetch(
        db, "SELECT a.fhir_id, a.body, w.digest FROM res_auditevent a JOIN audit_pending w USING (pid)"
    )
    assert sorted(r.fhir_id for r in rows) == sorted(ids)
    for _, body, digest in rows:
        assert chain.canonical(body) == body.encode()
        assert digest == chain.body_digest(body) == hashlib.sha256(body.encode()).hexdigest()
    assert chain.link_all(db) == 12
    assert verify(db).ok
    # A body that is not JSON's own types is refused, not stored under a digest it would not keep.
    event = sample_event(0)
    event["extension"] = [{"url": "http://example.org/x", "valueDecimal": decimal.Decimal("1.50")}]
    with pytest.raises(TypeError), db.write() as conn:
        chain.append(db, conn, event)


def test_events_stored_before_digests_are_chained_from_their_bodies(db):
    """A waiting event without a digest (appended before revision 0017) is linked in format 1, from
    its body, and the chain of both formats verifies; a changed body of either format breaks it."""
    append_events(db, 3, link=False)
    first = scalar(db, "SELECT min(pid) FROM audit_pending")
    with db.write() as conn:
        conn.execute(text("UPDATE audit_pending SET digest = NULL WHERE pid = :p"), {"p": first})
    assert chain.link_all(db) == 3
    assert scalar(db, "SELECT format FROM audit_chain WHERE pid = :p", p=first) == 1
    assert scalar(db, "SELECT count(*) FROM audit_chain WHERE format = 2") == 2
    assert verify(db).ok
    body = scalar(db, "SELECT body FROM res_auditevent WHERE pid = :p", p=first)
    assert scalar(db, "SELECT entry_hash FROM audit_chain WHERE pid = :p", p=first) == chain.link_hash(
        chain.GENESIS, body
    )
    for seq in (3, 1):  # format 2, then format 1: each is the first break once changed
        pid = pid_at(db, seq)
        changed = orjson.loads(scalar(db, "SELECT body FROM res_auditevent WHERE pid = :p", p=pid))
        changed["outcome"] = "8"
        tamper(
            db,
            "res_auditevent",
            "UPDATE res_auditevent SET body = :b WHERE pid = :p",
            b=orjson.dumps(changed).decode(),
            p=pid,
        )
        result = verify(db)
        assert (result.ok, result.first_broken_seq) == (False, seq), result
        assert "does not hash" in result.reason


def test_an_open_transaction_holds_nobody_up_and_its_late_event_is_chained_not_skipped(db):
    """Writers never wait on the chain's head: an event is chained after its transaction commits. An
    event written early but committed late is chained after later ones, and never skipped."""
    append_events(db, 1)
    second_id = []

    def second():
        with db.write() as conn:
            second_id.append(chain.append(db, conn, sample_event(2)))

    with db.write() as conn:
        first_id = chain.append(db, conn, sample_event(1))
        writer = threading.Thread(target=second)
        writer.start()
        writer.join(5 if not db.is_sqlite else 0.5)
        # PostgreSQL: the second writer commits while the first is still open. SQLite: it waits for
        # the database's single write lock.
        assert writer.is_alive() == db.is_sqlite
        if not db.is_sqlite:
            assert chain.link_all(db) == 1  # the chainer sees the committed event only
    writer.join(30)
    assert not writer.is_alive() and second_id
    chain.link_all(db)
    seqs = {
        fid: scalar(
            db,
            "SELECT c.seq FROM audit_chain c JOIN res_auditevent a ON a.pid = c.pid WHERE a.fhir_id = :f",
            f=fid,
        )
        for fid in (first_id, second_id[0])
    }
    committed_first, committed_last = (first_id, second_id[0]) if db.is_sqlite else (second_id[0], first_id)
    assert seqs == {committed_first: 2, committed_last: 3}
    assert scalar(db, "SELECT count(*) FROM audit_pending") == 0
    assert verify(db).checked == 3 and verify(db).ok


def test_audit_events_have_one_version_that_vread_and_history_find(db):
    ids = append_events(db, 3)
    rt = TYPES["AuditEvent"]
    with db.read() as conn:
        store = Store(db, conn)
        first = store.vread(rt, ids[0], 1)
        assert first.version == 1 and first.resource()["id"] == ids[0]
        with pytest.raises(NotFound, match="has no version 2"):
            store.vread(rt, ids[0], 2)
        page, more = store.history(rt, ids[1], 10)
        assert [(s.id, s.version) for s in page] == [(ids[1], 1)] and not more
        page, more = store.history(rt, None, 2)
        assert len(page) == 2 and more
        assert {s.id for s in store.history(rt, None, 10)[0]} == set(ids)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_chainer_that_finds_the_head_taken_leaves_the_events_to_the_one_holding_it(db):
    append_events(db, 1)
    append_events(db, 2, start=1, link=False)
    with db.write() as conn:
        conn.execute(text("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE"))  # another chainer
        assert chain.link_pending(db) == 0  # it does not wait for the head
    assert chain.link_pending(db) == 2
    assert verify(db) == chain.VerifyResult(True, 3, 3, None, None)
