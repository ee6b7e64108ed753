"""Engine and transactions. Services open one transaction per command through ``Database``."""

from __future__ import annotations

import logging
from contextlib import contextmanager

import orjson
from sqlalchemy import Table, create_engine, event, insert, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from hub.errors import Conflict
from hub.models import pid_counter

log = logging.getLogger(__name__)
_RETRYABLE = {"40001", "40P01"}  # serialization_failure, deadlock_detected
BEFORE_COMMIT = "xietong.before_commit"  # conn.info key: callables run last in a write transaction


class Database:
    def __init__(self, url: str, echo: bool = False, pool_size: int = 10):
        self.url = url
        if url.startswith("sqlite"):
            self.engine = self.read_engine = _sqlite_engine(url, echo)
        else:
            # Writes keep psycopg's prepared statements with generic plans: re-planning the
            # one-statement create on every request cost a third of PostgreSQL's CPU per create.
            # Searches get plans for their own values (storage design, pitfall 1), on a pool of
            # their own. JIT compilation has no place in short OLTP queries.
            self.engine = _pg_engine(url, echo, pool_size, "-c jit=off")
            self.read_engine = _pg_engine(
                url, echo, pool_size, "-c jit=off -c plan_cache_mode=force_custom_plan"
            )
        self.dialect = self.engine.dialect.name
        self.extras: dict = {}  # per-database helpers of other modules (e.g. the audit group writer)
        self._on_dispose: list = []

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def write(self):
        """One write transaction; commits on success, rolls back on any exception.

        A write that lost a race to a concurrent one (a unique key taken meanwhile, a serialisation
        failure, a deadlock) is a 409: nothing was written, and the client may retry.
        """
        try:
            with self.engine.connect().execution_options(xt_write=True) as conn, conn.begin():
                hooks = conn.info[BEFORE_COMMIT] = []
                try:
                    yield conn
                    # Work that must be last in the transaction (the audit chain's links: its head
                    # is then locked only while they are written and the transaction commits).
                    for hook in hooks:
                        hook(conn)
                finally:
                    if not conn.invalidated:  # a lost connection takes its info with it
                        conn.info.pop(BEFORE_COMMIT, None)
        except IntegrityError as exc:
            log.warning("write conflict: %s", exc.orig)
            raise Conflict(
                "a concurrent request wrote the same record first; nothing was stored, read it again "
                "and retry"
            ) from None
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) not in _RETRYABLE:
                raise
            log.warning("write conflict: %s", exc.orig)
            raise Conflict(
                "the request conflicted with a concurrent one; nothing was stored, retry it"
            ) from None

    def single_connection(self) -> Connection:
        """A write connection on which each statement commits by itself (PostgreSQL, autocommit):
        for writes that are one statement, which PostgreSQL applies whole or not at all, without the
        round trips of BEGIN and COMMIT. The caller keeps it and closes it (the audit writer, which
        also runs its transactions on it by turning psycopg's autocommit off for them). Not for
        SQLite (use ``write``)."""
        if self.is_sqlite:
            raise RuntimeError("Database.single_connection is for PostgreSQL; use Database.write")
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    @staticmethod
    def before_commit(conn: Connection, kind: type):
        """The ``kind()`` hook run as the last step of ``conn``'s write transaction (made on first
        use): a callable ``hook(conn)`` that lives as long as the transaction."""
        hooks = conn.info.get(BEFORE_COMMIT)
        if hooks is None:
            raise RuntimeError("before_commit needs a transaction opened by Database.write")
        for hook in hooks:
            if type(hook) is kind:
                return hook
        hook = kind()
        hooks.append(hook)
        return hook

    @contextmanager
    def read(self, transaction: bool = True):
        """A read-only connection. ``transaction=False``: on PostgreSQL its statements run without
        BEGIN and COMMIT (two round trips fewer). Under READ COMMITTED every statement takes its
        own snapshot either way, so that changes nothing a read sees; it is for reads that take no
        locks and set nothing for the rest of a transaction (searches)."""
        if transaction or self.is_sqlite:
            with self.read_engine.connect() as conn, conn.begin():
                yield conn
            return
        with self.read_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn

    def allocate_pids(self, conn: Connection, n: int) -> list[int]:
        if n <= 0:
            return []
        if self.is_sqlite:
            top = conn.execute(
                pid_counter.update()
                .where(pid_counter.c.id == 1)
                .values(value=pid_counter.c.value + n)
                .returning(pid_counter.c.value)
            ).scalar_one_or_none()
            if top is None:
                conn.execute(pid_counter.insert().values(id=1, value=n))
                top = n
            return list(range(top - n + 1, top + 1))
        rows = conn.execute(text("SELECT nextval('pid_seq') FROM generate_series(1, :n)"), {"n": n})
        return [r[0] for r in rows]

    def on_dispose(self, fn) -> None:
        """``fn()`` runs when the database is disposed (stopping helper threads that use it)."""
        self._on_dispose.append(fn)

    def dispose(self) -> None:
        while self._on_dispose:
            self._on_dispose.pop()()
        self.extras.clear()
        self.engine.dispose()
        self.read_engine.dispose()


_INSERT_SQL: dict[tuple, object] = {}


def insert_rows(conn: Connection, batches: list[tuple[Table, list[dict]]]) -> None:
    """Insert rows into several tables (``(table, rows)``, every row of a table with the same keys).

    On PostgreSQL in one statement: each table's rows travel as one JSON document that the server
    unpacks into the table's own column types (``json_populate_recordset``); one round trip, one
    execution, where an ``executemany`` runs the insert once per row. Elsewhere an insert per table."""
    batches = [(t, rows) for t, rows in batches if rows]
    if not batches:
        return
    if conn.dialect.name != "postgresql":
        for table, rows in batches:
            conn.execute(insert(table), rows)
        return
    key = tuple((t.name, tuple(rows[0])) for t, rows in batches)
    stmt = _INSERT_SQL.get(key)
    if stmt is None:
        q = conn.dialect.identifier_preparer.quote
        parts = []
        for n, (name, cols) in enumerate(key):
            listed = ", ".join(q(c) for c in cols)
            parts.append(
                f"i{n} AS (INSERT INTO {q(name)} ({listed}) SELECT {listed} "
                f"FROM json_populate_recordset(NULL::{q(name)}, CAST(:j{n} AS json)))"
            )
        stmt = _INSERT_SQL[key] = text("WITH " + ",\n".join(parts) + " SELECT 1")
    conn.execute(stmt, {f"j{n}": orjson.dumps(rows).decode() for n, (_, rows) in enumerate(batches)})


class _Inserts:
    """Rows to insert as the transaction's last writes (``insert_later``), in one statement."""

    def __init__(self):
        self.batches: list[tuple[Table, list[dict]]] = []
        self.ran = False

    def __call__(self, conn: Connection) -> None:
        batches, self.batches = self.batches, []
        self.ran = True
        insert_rows(conn, batches)


def insert_later(conn: Connection, batches: list[tuple[Table, list[dict]]]) -> None:
    """``insert_rows`` at the end of ``conn``'s write transaction, together with every other
    ``insert_later`` of it (one statement on PostgreSQL): for rows nothing in the transaction reads
    back (a ledger, an index kept for later transactions). A failure (a unique key taken) fails the
    transaction as the insert would have where it was asked for."""
    later = Database.before_commit(conn, _Inserts)
    if later.ran:  # asked by a hook that runs after it: now
        insert_rows(conn, batches)
    else:
        later.batches.extend(b for b in batches if b[1])


def _pg_engine(url: str, echo: bool, pool_size: int, options: str) -> Engine:
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it is a round trip on every checkout. A connection found dead is
        # invalidated with the pool, and that request answers 503 (hub.api.errors).
        pool_recycle=3600,
        isolation_level="READ COMMITTED",
        connect_args={"options": options},
    )


def _sqlite_engine(url: str, echo: bool) -> Engine:
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        # Take transaction control from the driver, so that BEGIN IMMEDIATE can be issued.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # Writers take the write lock up front: no "database is locked" half-way through.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("xt_write") else "BEGIN")

    return engine
