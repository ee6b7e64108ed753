"""Group commit for the records of reads: the AuditEvents of concurrent requests commit together.

A read or search that returns another institution's records must not answer before its record is
committed (no disclosure without its record), and that record is a write transaction of its own. Under
load those small transactions queue on the commit (WAL flush) one by one. ``GroupWriter`` has one thread
per process take every request's events that are waiting, write them in one transaction and wake
the requests when it has committed -- so a commit is shared by every read that arrived while the
previous one was being written. Nothing is waited for on purpose: alone, a request's events commit
at once; under load, batches form by themselves.

A request's record may depend on the disclosure ledger (``hub.audit.disclosures``): which of the
record versions it returns cross to its institution for the first time. The writer claims every
waiting request's disclosures in one statement of the batch's transaction, then has each request
build its events from those that were new (a version two requests of one batch disclose goes to
the first of them).

If a batch fails, each request's events are retried in a transaction of their own, so that one bad
record fails only its own request (which then answers an error, not the records).
"""

from __future__ import annotations

import logging
import queue
import threading

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
        self.done = threading.Event()
        self.error: BaseException | None = None


class GroupWriter:
    def __init__(self, db: Database):
        self.db = db
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.commits = 0  # transactions committed, and the requests they carried (for benchmarks)
        self.requests = 0
        self.known = disclosures.Known()  # ledger keys this process has seen committed
        self._thread = threading.Thread(target=self._loop, name="audit-group-writer", daemon=True)
        self._thread.start()

    def write(self, items) -> None:
        """Commit ``items``: ``(event, tenant)`` pairs, as ``chain.append_many`` takes them, or a
        record that depends on the ledger (``keys`` to claim, ``build(new)`` its events; see
        ``recorder.AccessRecord``); returns once they are committed, raises ``AuditWriteFailed`` if
        they could not be."""
        job = _Job(items)
        self._queue.put(job)
        if not job.done.wait(WAIT_SECONDS):
            raise AuditWriteFailed(f"the audit record was not committed within {WAIT_SECONDS:.0f} s")
        if job.error is not None:
            raise AuditWriteFailed(f"the audit record could not be committed: {job.error}") from job.error

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(5)

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            batch = [job]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Job]) -> None:
        try:
            with self.db.write() as conn:
                chain.append_many(self.db, conn, events_of([job.items for job in batch], conn, self.known))
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
        self.known.add(_keys([job.items for job in batch]))
        for job in batch:
            job.done.set()

    def _one(self, job: _Job) -> None:
        try:
            with self.db.write() as conn:
                chain.append_many(self.db, conn, events_of([job.items], conn, self.known))
            self.commits += 1
            self.requests += 1
            self.known.add(_keys([job.items]))
        except Exception as exc:  # the request that owns it turns this into its error
            job.error = exc
        job.done.set()


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
