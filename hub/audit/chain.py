"""The audit chain: AuditEvents stored in order, each linked to its predecessor by a hash (AUD-05).

``append`` stores an AuditEvent through the FHIR store, in the caller's transaction, so that the
change it records and its record commit or roll back together, and marks it waiting
(``audit_pending``). ``link_pending`` -- the chainer, run by a background thread of each hub
process (``hub.audit.chainer``) or by ``flask audit chain`` -- then adds the ``audit_chain`` rows of
waiting events in batches::

    format 2:  entry_hash(n) = sha256( entry_hash(n-1) || sha256(canonical(body(n))) )
    format 1:  entry_hash(n) = sha256( entry_hash(n-1) || canonical(body(n)) )
    entry_hash(0) = GENESIS

where every hash is written as its lower-case hex digest, ``||`` is byte concatenation of the
ASCII forms (and of the canonical bytes), and ``canonical`` (defined once, below) is the stored JSON
text re-serialised with sorted keys and no whitespace. Each chain row says its ``format``. Events are
chained in format 2: the store writes a new event's body in canonical form and records its SHA-256
with its waiting mark, so the chainer links what is waiting without reading the bodies back (it
used to fetch, parse and re-serialise every body it linked: most of its cost). Events stored before
digests were recorded are chained in format 1 from their bodies, as they always were; ``verify``
recomputes each row by its format from the body, so a changed body breaks the chain either way.

Chainers are serialised on the one ``audit_head`` row
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's writer lock, taken by ``Database.write``,
already lets one writer in at a time), so the chain is one line whatever the concurrency, and
request transactions never wait on that lock.

Between its commit and its chaining an event is protected as every event is (the append-only
triggers below); what the chain adds -- its place in a signed order -- it gets within a moment.
``verify`` reports how many events are waiting.

``verify`` walks the chain in ``seq`` order, streaming rows in batches, and names the first break:
a changed body (its hash no longer matches), a missing row (a gap in ``seq``, or a chain row whose
AuditEvent is gone), a changed ``prev_hash`` link, rows swapped or reordered, a head that
disagrees with the chain's end, a row that disagrees with a signed checkpoint, and AuditEvents
that are neither in the chain nor waiting for it.

A hash chain shows order and tampering, not wall-clock truth: whoever can rewrite the whole
chain from some row on can recompute every later hash. So a signed daily ``checkpoint`` (the
head's seq and hash as of the end of a UTC day, a compact JWS by the hub key) is kept and
exported; ``verify`` checks the chain against the stored checkpoints and ``verify_checkpoint``
checks a checkpoint's signature.

Append-only on PostgreSQL: migration ``0003`` adds triggers that refuse UPDATE and DELETE on
``audit_chain`` and on ``res_auditevent`` (and on AuditEvent rows of ``resource_history``). They
do not fire on TRUNCATE, which the test fixtures use to empty tables: TRUNCATE (like disabling a
trigger) is a table-owner/superuser act outside the application's role, and the application's
database role must not own the tables (SEC-04: the audit writer has no UPDATE/DELETE grants).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta

import orjson
from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from hub.audit.events import tenant_of
from hub.audit.tables import audit_chain, audit_checkpoint, audit_head, audit_pending
from hub.db import Database
from hub.fhir import dates
from hub.fhir.registry import TYPES
from hub.fhir.store import Store
from hub.models import resource_tables

GENESIS = "0" * 64  # the prev_hash of seq 1
HEAD_ID = 1
BATCH = 5000  # rows per fetch when verifying
LINK_BATCH = 2000  # events chained per transaction
CHECKPOINT_PURPOSE = "xietong-audit-checkpoint"
_FROM_EVENT = object()  # append's default tenant: the one the event names
FROM_EVENT = _FROM_EVENT

AUDIT_EVENT = TYPES["AuditEvent"]
audit_events = resource_tables["AuditEvent"]


class AuditChainError(RuntimeError):
    """The chain cannot be appended to as it stands (its head is missing while rows exist)."""


# --------------------------------------------------------------------------- hashing


def canonical(body: str | bytes) -> bytes:
    """The canonical form of a stored AuditEvent: its JSON with sorted keys and no whitespace."""
    return orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)


def link_hash(prev_hash: str, body: str | bytes) -> str:
    """Format 1: ``sha256(prev_hash || canonical(body))``, hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(body)).hexdigest()


def body_digest(body: str | bytes) -> str:
    """``sha256(canonical(body))``, hex: what format 2 links (and what an append records, from the
    body it writes in canonical form)."""
    return hashlib.sha256(canonical(body)).hexdigest()


def link_digest(prev_hash: str, digest: str) -> str:
    """Format 2: ``sha256(prev_hash || digest)``, hex, ``digest`` being ``body_digest`` of the body."""
    return hashlib.sha256((prev_hash + digest).encode("ascii")).hexdigest()


def entry_hash(prev_hash: str, body: str | bytes, format: int) -> str:
    """A row's ``entry_hash`` recomputed from its body, by its format."""
    return link_digest(prev_hash, body_digest(body)) if format == 2 else link_hash(prev_hash, body)


# --------------------------------------------------------------------------- append


def append(db: Database, conn: Connection, event: dict, tenant=_FROM_EVENT) -> str:
    """Store ``event`` (an AuditEvent dict) in the caller's open write transaction, waiting to be chained.

    ``tenant``: the institution the event is stored under; by default the one the event names
    (``hub.audit.events.tenant_of``). Returns the AuditEvent's id. Nothing is committed here: the
    event and the change it records commit (or roll back) together, and ``link_pending`` chains it
    after the commit, so request transactions never queue on the chain's head.
    """
    return append_many(db, conn, [(event, tenant)])[0]


def append_many(db: Database, conn: Connection, items: list[tuple[dict, object]]) -> list[str]:
    """Several events, ``(event, tenant or _FROM_EVENT)``, in one go (one statement on PostgreSQL)."""
    batch = []
    for event, tenant in items:
        if event.get("resourceType") != "AuditEvent":
            raise ValueError("only AuditEvents go into the audit chain")
        batch.append((event, tenant_of(event) if tenant is _FROM_EVENT else tenant))
    stored = Store(db, conn).append_only(AUDIT_EVENT, batch, mark=audit_pending)
    return [s.id for s in stored]


def link_pending(db: Database, limit: int = LINK_BATCH) -> int:
    """Chain the AuditEvents waiting in ``audit_pending``, oldest first, in one transaction; the number
    chained (0: nothing was waiting). Concurrent chainers take turns on the head's lock.

    The chain's order is the order in which events are chained: an event whose transaction committed
    late is chained after events that were written after it, never skipped.
    """
    with db.read() as conn:
        if conn.execute(select(audit_pending.c.pid).limit(1)).first() is None:
            return 0  # the common case: no write transaction, no lock
    with db.write() as conn:
        head = _lock_head(db, conn, wait=False)
        if head is None:
            return 0  # another process's chainer holds the head: it links what is waiting
        seq, prev_hash, prev_recorded = head
        rows = [r for r in conn.execute(_waiting(limit)).all() if r.digest is not None or r.body is not None]
        if not rows:
            return 0
        # Time never runs backwards along the chain (checkpoints cut it by the time of linking).
        now = dates.now_utc()
        recorded = max(now, prev_recorded) if prev_recorded else now
        links = []
        for pid, digest, body in rows:
            seq += 1
            if digest is not None:
                new_hash, fmt = link_digest(prev_hash, digest), 2
            else:  # stored before appends recorded digests
                new_hash, fmt = link_hash(prev_hash, body), 1
            links.append(
                {
                    "seq": seq,
                    "pid": pid,
                    "recorded": recorded,
                    "prev_hash": prev_hash,
                    "entry_hash": new_hash,
                    "format": fmt,
                }
            )
            prev_hash = new_hash
        if db.is_sqlite:
            conn.execute(insert(audit_chain), links)
            conn.execute(delete(audit_pending).where(audit_pending.c.pid.in_([r.pid for r in rows])))
            conn.execute(
                update(audit_head).where(audit_head.c.id == HEAD_ID).values(seq=seq, entry_hash=prev_hash)
            )
        else:
            # One statement, the links as one JSON document: an executemany would send a prepared
            # INSERT per link, and the IN list a parameter per event.
            conn.exec_driver_sql(
                _LINK_SQL,
                {"links": orjson.dumps(links).decode(), "seq": seq, "hash": prev_hash, "head": HEAD_ID},
            )
        return len(rows)


def _waiting(limit: int):
    """The oldest ``limit`` waiting events: pid, the digest their append recorded, and -- only for
    those without one (stored before there were digests) -- the body, fetched by its key. (A join of
    the two tables let PostgreSQL merge them along ``res_auditevent``'s primary key from its start,
    reading every event ever stored to find the few waiting at its end.) A body that is missing (it
    cannot be deleted) comes back NULL and its event stays waiting, reported by ``verify``."""
    t = audit_events
    w = audit_pending
    oldest = select(w.c.pid, w.c.digest).order_by(w.c.pid).limit(limit).subquery()
    body = select(t.c.body).where(t.c.pid == oldest.c.pid).scalar_subquery()
    body = case((oldest.c.digest.is_(None), body), else_=None)
    return select(oldest.c.pid, oldest.c.digest, body.label("body")).order_by(oldest.c.pid)


_LINK_SQL = """
WITH l AS (SELECT * FROM json_to_recordset(CAST(%(links)s AS json))
                    AS u(seq bigint, pid bigint, recorded timestamptz, prev_hash text, entry_hash text,
                         format smallint)),
c AS (INSERT INTO audit_chain (seq, pid, recorded, prev_hash, entry_hash, format)
      SELECT seq, pid, recorded, prev_hash, entry_hash, format FROM l),
d AS (DELETE FROM audit_pending WHERE pid IN (SELECT pid FROM l))
UPDATE audit_head SET seq = %(seq)s, entry_hash = %(hash)s WHERE id = %(head)s"""


def link_all(db: Database) -> int:
    """Chain everything that is waiting (a flush): the number chained."""
    total = 0
    while n := link_pending(db):
        total += n
    return total


def pending_count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(audit_pending)).scalar() or 0


def _lock_head(db: Database, conn: Connection, wait: bool = True):
    """(seq, entry_hash, recorded of that row) of the locked head; None if ``wait`` is False and
    another transaction holds it (PostgreSQL; SQLite's writer lock already let one writer in)."""
    h, ch = audit_head, audit_chain
    q = (
        select(h.c.seq, h.c.entry_hash, ch.c.recorded)
        .select_from(h.outerjoin(ch, ch.c.seq == h.c.seq))
        .where(h.c.id == HEAD_ID)
    )
    if not db.is_sqlite:
        # One round trip: lock the head, read the last row's time.
        q = q.with_for_update(of=h, skip_locked=not wait)
    row = conn.execute(q).first()
    if row is None:
        if conn.execute(select(h.c.id).where(h.c.id == HEAD_ID)).first() is None:
            _create_head(db, conn)
            row = conn.execute(q).first()
        if row is None:  # not waiting, and another chainer holds the head
            return None
    return row.seq, row.entry_hash, row.recorded


def _create_head(db: Database, conn: Connection) -> None:
    """The head of an empty chain. Concurrent first writers race on the insert: the loser waits for
    the winner's commit and inserts nothing. Only the writer that did insert checks that the chain
    is empty (nobody can add to it while that uncommitted head row is held)."""
    ins = (sqlite.insert if db.is_sqlite else postgresql.insert)(audit_head)
    created = conn.execute(
        ins.values(id=HEAD_ID, seq=0, entry_hash=GENESIS).on_conflict_do_nothing().returning(audit_head.c.id)
    ).first()
    if created is None:
        return
    last = conn.execute(select(func.max(audit_chain.c.seq))).scalar()
    if last is not None:
        raise AuditChainError(
            f"audit_head is missing but audit_chain has {last} rows: the chain was tampered with "
            "(run `flask audit verify`); nothing can be appended until it is restored"
        )


# --------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int  # rows whose hash and links were recomputed and found right
    head_seq: int | None  # what audit_head says (None: no head)
    first_broken_seq: int | None  # the first seq that does not verify (None if ok, or not per-row)
    reason: str | None
    pending: int = 0  # AuditEvents stored and waiting to be chained (not a break)

    def as_dict(self) -> dict:
        return asdict(self)


def head_seq(conn: Connection) -> int:
    """The seq of the chain's head (0: empty)."""
    return conn.execute(select(audit_head.c.seq).where(audit_head.c.id == HEAD_ID)).scalar() or 0


@contextmanager
def snapshot(db: Database) -> Iterator[Connection]:
    """A read transaction that sees one state of the database throughout (REPEATABLE READ on
    PostgreSQL), as ``verify`` needs while writers keep appending."""
    if db.is_sqlite:
        with db.read() as conn:
            yield conn
        return
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        yield conn


def verify(
    conn: Connection,
    start_seq: int = 1,
    *,
    end_seq: int | None = None,
    anchor_hash: str | None = None,
    batch: int = BATCH,
) -> VerifyResult:
    """Recompute the chain from ``start_seq`` and report the first break.

    Give it a consistent snapshot (``snapshot(db)``). Rows are streamed ``batch`` at a time (a
    server-side cursor on PostgreSQL). From ``start_seq`` > 1 the walk starts from the stored hash of
    ``start_seq - 1``, or from ``anchor_hash`` (e.g. a verified checkpoint's). With ``end_seq`` the
    walk stops there (a segment: the head and unchained events are not checked).
    """
    ch, ae = audit_chain, audit_events
    head = conn.execute(
        select(audit_head.c.seq, audit_head.c.entry_hash).where(audit_head.c.id == HEAD_ID)
    ).first()
    head_seq = head.seq if head else None

    waiting = pending_count(conn)

    def broken(seq, reason, checked):
        return VerifyResult(False, checked, head_seq, seq, reason, waiting)

    prev = anchor_hash
    if prev is None:
        if start_seq <= 1:
            prev = GENESIS
        else:
            prev = conn.execute(select(ch.c.entry_hash).where(ch.c.seq == start_seq - 1)).scalar()
            if prev is None:
                return broken(start_seq - 1, f"seq {start_seq - 1} (where the walk starts) is missing", 0)
    cp_rows = select(audit_checkpoint.c.day, audit_checkpoint.c.seq, audit_checkpoint.c.entry_hash).where(
        audit_checkpoint.c.seq >= start_seq
    )
    if end_seq is not None:
        cp_rows = cp_rows.where(audit_checkpoint.c.seq <= end_seq)
    checkpoints = {r.seq: (r.day, r.entry_hash) for r in conn.execute(cp_rows) if r.seq > 0}

    q = (
        select(ch.c.seq, ch.c.prev_hash, ch.c.entry_hash, ch.c.format, ae.c.body, ae.c.version, ae.c.deleted)
        .select_from(ch.outerjoin(ae, ae.c.pid == ch.c.pid))
        .where(ch.c.seq >= start_seq)
        .order_by(ch.c.seq)
    )
    if end_seq is not None:
        q = q.where(ch.c.seq <= end_seq)
    expected, checked = start_seq, 0
    result = conn.execute(q.execution_options(yield_per=batch))  # per statement: not the connection's
    try:
        for rows in result.partitions():
            for seq, prev_hash, stored_hash, fmt, body, version, deleted in rows:
                if seq != expected:
                    gap = f"{expected}" if seq == expected + 1 else f"{expected}..{seq - 1}"
                    return broken(expected, f"chain rows {gap} are missing (gap before seq {seq})", checked)
                if body is None:
                    return broken(seq, f"the AuditEvent of seq {seq} is missing from res_auditevent", checked)
                if version != 1 or deleted:
                    state = "deleted" if deleted else f"at version {version}"
                    return broken(seq, f"the AuditEvent of seq {seq} was changed in place ({state})", checked)
                if prev_hash != prev:
                    return broken(
                        seq,
                        f"seq {seq} does not link to seq {seq - 1} (prev_hash differs: a link was changed, "
                        "or rows were removed or reordered)",
                        checked,
                    )
                digest = entry_hash(prev, body, fmt)
                if digest != stored_hash:
                    return broken(
                        seq,
                        f"the AuditEvent of seq {seq} does not hash to its entry_hash (its body, or the "
                        "recorded hash, was changed)",
                        checked,
                    )
                cp = checkpoints.get(seq)
                if cp is not None and cp[1] != digest:
                    return broken(seq, f"seq {seq} disagrees with the signed checkpoint of {cp[0]}", checked)
                prev = digest
                expected += 1
                checked += 1
    finally:
        result.close()
    last = expected - 1

    if end_seq is not None:
        if last != end_seq:
            return broken(last + 1, f"the chain ends at seq {last}, before seq {end_seq}", checked)
        return VerifyResult(True, checked, head_seq, None, None, waiting)
    beyond = [(s, d) for s, (d, _) in checkpoints.items() if s > last]
    if beyond:
        s, d = min(beyond)
        return broken(
            last + 1, f"the chain ends at seq {last}, but the checkpoint of {d} is at seq {s}", checked
        )
    if head is None:
        if last >= start_seq:
            return broken(None, "audit_head is missing", checked)
    elif head.seq != last:
        if head.seq < last:
            return broken(
                head.seq + 1, f"audit_head says seq {head.seq}, but the chain goes on to {last}", checked
            )
        return broken(last + 1, f"audit_head says seq {head.seq}, but the chain ends at seq {last}", checked)
    elif head.entry_hash != prev:
        return broken(last, f"audit_head's hash disagrees with seq {last}", checked)
    if start_seq <= 1:
        total = conn.execute(select(func.count()).select_from(ae)).scalar()
        if total != checked + waiting:
            orphans = conn.execute(
                select(func.count())
                .select_from(ae)
                .where(~ae.c.pid.in_(select(ch.c.pid)), ~ae.c.pid.in_(select(audit_pending.c.pid)))
            ).scalar()
            return broken(
                None,
                f"{orphans} AuditEvent rows are neither in the audit chain nor waiting to be chained",
                checked,
            )
    return VerifyResult(True, checked, head_seq, None, None, waiting)


# --------------------------------------------------------------------------- checkpoints


def checkpoint(
    db: Database,
    conn: Connection,
    day: date | str,
    sign: Callable[[dict], str],
    now: datetime | None = None,
) -> dict:
    """The signed checkpoint of UTC ``day``: the chain's last seq and hash recorded before the day
    ended, signed with ``sign(claims) -> compact JWS``, stored in ``audit_checkpoint``.

    Idempotent: a day already checkpointed returns the stored checkpoint. The chain up to the new
    checkpoint is verified first (from the previous checkpoint, whose hash anchors the walk); a broken
    chain is not signed (``AuditChainError``). A day that has not ended yet is a ``ValueError``.
    """
    day = day if isinstance(day, date) else date.fromisoformat(day)
    end = datetime.combine(day + timedelta(days=1), time(0), UTC)
    now = now or dates.now_utc()
    if now < end:
        raise ValueError(f"{day.isoformat()} (UTC) has not ended yet")
    cp = audit_checkpoint
    existing = conn.execute(select(cp).where(cp.c.day == day.isoformat())).first()
    if existing is not None:
        return _cp_dict(existing)
    last = conn.execute(
        select(audit_chain.c.seq, audit_chain.c.entry_hash)
        .where(audit_chain.c.recorded < end)
        .order_by(audit_chain.c.seq.desc())
        .limit(1)
    ).first()
    seq, entry_hash = (last.seq, last.entry_hash) if last else (0, GENESIS)
    if seq:
        before = conn.execute(
            select(cp.c.seq, cp.c.entry_hash)
            .where(cp.c.day < day.isoformat(), cp.c.seq <= seq)
            .order_by(cp.c.day.desc())
            .limit(1)
        ).first()
        start, anchor = (before.seq + 1, before.entry_hash) if before and before.seq else (1, GENESIS)
        check = verify(conn, start, end_seq=seq, anchor_hash=anchor)
        if not check.ok:
            raise AuditChainError(f"the audit chain is broken, no checkpoint signed: {check.reason}")
    claims = {
        "iss": "xietong-hub",
        "purpose": CHECKPOINT_PURPOSE,
        "day": day.isoformat(),
        "seq": seq,
        "entry_hash": entry_hash,
        "iat": int(now.timestamp()),
    }
    row = {
        "day": day.isoformat(),
        "seq": seq,
        "entry_hash": entry_hash,
        "signature": sign(claims),
        "created_at": now,
    }
    conn.execute(insert(cp).values(**row))
    return _cp_dict(row)


def list_checkpoints(conn: Connection, since: str | None = None) -> list[dict]:
    """Stored checkpoints, oldest first (each with its JWS), for export."""
    cp = audit_checkpoint
    q = select(cp).order_by(cp.c.day)
    if since:
        q = q.where(cp.c.day >= since)
    return [_cp_dict(r) for r in conn.execute(q)]


def verify_checkpoint(cp: dict, verify: Callable[[str], dict]) -> bool:
    """The checkpoint's JWS verifies (``verify(jws) -> claims``, raising on a bad signature) and says
    what the checkpoint says: day, seq and hash."""
    try:
        claims = verify(cp["signature"])
    except Exception:  # any failure of the verifier is a checkpoint that does not verify
        return False
    return (
        isinstance(claims, dict)
        and claims.get("purpose") == CHECKPOINT_PURPOSE
        and claims.get("day") == cp.get("day")
        and claims.get("seq") == cp.get("seq")
        and claims.get("entry_hash") == cp.get("entry_hash")
    )


def jws_verifier(public_jwks: dict) -> Callable[[str], dict]:
    """A signature-only verifier for checkpoints: ``verify(compact_jws) -> claims``.

    Checkpoints carry no ``exp`` (they must verify for years); the hub key's token verifier
    (``HubKeys.verify``) requires one, so checkpoints are checked against the public JWKS instead
    (``jws_verifier(keys.public_jwks())``). That missing ``exp`` also means a checkpoint can never
    pass for an access token.
    """
    from joserfc import jws
    from joserfc.jwk import KeySet

    keys = KeySet.import_key_set(public_jwks)

    def _verify(token: str) -> dict:
        obj = jws.deserialize_compact(token, keys, algorithms=["ES384"])
        return orjson.loads(obj.payload)

    return _verify


def _cp_dict(row) -> dict:
    m = row._mapping if hasattr(row, "_mapping") else row
    created = m["created_at"]
    return {
        "day": m["day"],
        "seq": m["seq"],
        "entry_hash": m["entry_hash"],
        "signature": m["signature"],
        "created_at": dates.instant(created) if isinstance(created, datetime) else created,
    }
