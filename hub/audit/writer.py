"""Group commit for the records of reads: the AuditEvents of concurrent requests commit together.

A read or search that returns another institution's records must not answer before its record is
committed (no disclosure without its record), and that record is a write transaction of its own. Under
load those small transactions queue on the commit (WAL flush) one by one. ``GroupWriter`` lets them
share it: a request puts its record in the process's waiting list; if no request is writing, it
becomes the leader and writes everything waiting in one transaction, itself included; requests that
arrive meanwhile wait, and when the leader has committed, one of those still waiting leads the
next batch with all that arrived in between. Nothing is waited for on purpose: alone, a request
writes its record at once, in its own thread (no hand-over to another thread and back); under
load, batches form by themselves.

A request's record may depend on the disclosure ledger (``hub.audit.disclosures``): which of the
record versions it returns cross to its institution for the first time. The leader claims every
waiting request's disclosures in one statement of the batch's transaction, then has each request
build its events from those that were new (a version two requests of one batch disclose goes to
the first of them). A batch with nothing to claim (every version already known to be in the
ledger) is one statement on PostgreSQL, which is atomic by itself: it is sent without BEGIN and
COMMIT. Batches are written on a connection the writer keeps (one leader at a time uses it), so
that a batch costs no pool checkout either.

If a batch fails, each request's events are retried in a transaction of their own, so that one bad
record fails only its own request (which then answers an error, not the records).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from hub.audit import chain, disclosures
from hub.db import Database

log = logging.getLogger(__name__)
MAX_BATCH = 256  # requests per transaction
WAIT_SECONDS = 30.0  # a request gives up (and fails) if its record is not committed by then


class AuditWriteFailed(RuntimeError):
    """The record of a read could not be committed: the read must not be answered."""


class _Job:
    __slots__ = ("items", "done", "error")

    def __init__(self, items):
        self.items = items
        self.done = False
        self.error: BaseException | None = None


class GroupWriter:
    def __init__(self, db: Database):
        self.db = db
        self._cv = threading.Condition()
        self._waiting: deque[_Job] = deque()
        self._leading = False
        self._stopped = False
        self._single = None  # the autocommit connection of one-statement batches (PostgreSQL)
        self.commits = 0  # transactions committed, and the requests they carried (for benchmarks)
        self.requests = 0
        self.known = disclosures.Known()  # ledger keys this process has seen committed

    def write(self, items) -> None:
        """Commit ``items``: ``(event, tenant)`` pairs, as ``chain.append_many`` takes them, or a
        record that depends on the ledger (``keys`` to claim, ``build(new)`` its events; see
        ``recorder.AccessRecord``); returns once they are committed, raises ``AuditWriteFailed`` if
        they could not be."""
        job = _Job(items)
        deadline = time.monotonic() + WAIT_SECONDS
        with self._cv:
            if self._stopped:
                raise AuditWriteFailed("the audit writer is stopped (its database was disposed)")
            self._waiting.append(job)
            while self._leading and not job.done:
                left = deadline - time.monotonic()
                if left <= 0:
                    if job in self._waiting:  # not taken yet: it will not be written
                        self._waiting.remove(job)
                    raise AuditWriteFailed(f"the audit record was not committed within {WAIT_SECONDS:.0f} s")
                self._cv.wait(left)
            lead = not job.done
            if lead:
                self._leading = True
        if lead:
            try:
                self._lead(job)
            finally:
                with self._cv:
                    self._leading = False
                    if self._stopped:
                        self._close_single()
                    self._cv.notify_all()
        if job.error is not None:
            raise AuditWriteFailed(f"the audit record could not be committed: {job.error}") from job.error

    def waiting(self) -> int:
        """Requests waiting for a batch (not yet taken by a leader)."""
        with self._cv:
            return len(self._waiting)

    def stop(self) -> None:
        """Refuse further records (the database is being disposed); those under way finish."""
        with self._cv:
            self._stopped = True
            if not self._leading:
                self._close_single()

    def _lead(self, mine: _Job) -> None:
        """Write what is waiting, a batch at a time, until ``mine`` is done."""
        while not mine.done:
            with self._cv:
                batch = [self._waiting.popleft() for _ in range(min(MAX_BATCH, len(self._waiting)))]
            if not batch:  # cannot happen while ``mine`` waits; never loop on nothing
                raise RuntimeError("the audit writer lost a request it was to write")
            self._commit(batch)
            with self._cv:
                self._cv.notify_all()

    def _commit(self, batch: list[_Job]) -> None:
        records = [job.items for job in batch]
        try:
            self._append(records)
        except Exception:
            if len(batch) == 1:
                self._one(batch[0])
                return
            log.warning("audit group commit of %d requests failed; committing each alone", len(batch))
            for job in batch:
                self._one(job)
            return
        self.commits += 1
        self.requests += len(batch)
        self.known.add(_keys(records))
        for job in batch:
            job.done = True

    def _one(self, job: _Job) -> None:
        try:
            self._append([job.items])
            self.commits += 1
            self.requests += 1
            self.known.add(_keys([job.items]))
        except Exception as exc:  # the request that owns it turns this into its error
            job.error = exc
        job.done = True

    def _append(self, records: list) -> None:
        """``records``' events, committed. On PostgreSQL on the writer's own connection: one
        statement, committed by itself, when nothing is to be claimed in the ledger; else the claim
        and the events in a transaction of that connection. On SQLite in a write transaction."""
        if self.db.is_sqlite:
            with self.db.write() as conn:
                chain.append_many(self.db, conn, events_of(records, conn, self.known))
            return
        conn = self._single_connection()
        driver = conn.connection.driver_connection  # psycopg's own, in autocommit
        try:
            # With a claim: a transaction, begun by psycopg before the first statement (no round
            # trip of its own through SQLAlchemy) and committed by ``commit`` below.
            driver.autocommit = all(k in self.known for k in _keys(records))
            chain.append_many(self.db, conn, events_of(records, conn, self.known))
            conn.commit()
            driver.autocommit = True
        except Exception:
            self._close_single()  # whatever state it is in (an open transaction rolls back), afresh
            raise

    def _single_connection(self):
        conn = self._single
        if conn is None or conn.closed or conn.invalidated:
            conn = self._single = self.db.single_connection()
        return conn

    def _close_single(self) -> None:
        conn, self._single = self._single, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # a dead connection: the pool discards it
                log.debug("closing the audit writer's connection failed", exc_info=True)


def _keys(records: list) -> list:
    return [k for r in records if not isinstance(r, list) for k in r.keys]


def events_of(records: list, conn, known: disclosures.Known | None = None) -> list:
    """The events of ``records`` (what ``write`` takes), in order, with the ledger claimed for all
    of them in one statement of ``conn``'s transaction (keys ``known`` to be there left out)."""
    keys = _keys(records)
    new = disclosures.claim(conn, keys, known) if keys else set()
    out = []
    for r in records:
        if isinstance(r, list):
            out += r
            continue
        mine = {k for k in r.keys if k in new}
        new -= mine
        out += r.build(mine)
    return out


_LOCK = threading.Lock()


def writer_for(db: Database) -> GroupWriter:
    """This process's writer for ``db`` (started on first use, stopped when ``db`` is disposed)."""
    w = db.extras.get("audit_writer")
    if w is None:
        with _LOCK:
            w = db.extras.get("audit_writer")
            if w is None:
                w = db.extras["audit_writer"] = GroupWriter(db)
                db.on_dispose(w.stop)
    return w
