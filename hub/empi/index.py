"""The EMPI index kept in step with the Patients, and the candidate search on it.

Every write of a Patient (REST create/update, transaction Bundles, the adapters, the seed) goes
through the store, which runs this module's write hook (``hub.fhir.store.on_write``): the Patients
written are noted on the connection, and their index rows are written as the last step of the same
transaction (``Database.before_commit``), or earlier when a search on the same connection needs them
(``flush``) -- a new Patient's from the body it was stored with, a changed one's from its stored
version. So the index never disagrees with a Patient committed through the store, whatever the
path; rows written around the store (a restore, a bulk load) are indexed by ``reindex_all``
(``flask empi reindex``).

Candidate search is blocking: the keys of the incoming record (birth date, name syllables in each
order and reading, phone, resident ID, identifiers) are looked up in ``empi_key``; the patients
sharing the most keys are fetched (at most ``BLOCK_LIMIT``) and scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
from sqlalchemy import Integer, String, bindparam, case, column, delete, func, literal, or_, select, text
from sqlalchemy.engine import Connection

from adapters.normalise import Demographics, demographics
from hub.db import BEFORE_COMMIT, Database, insert_later, insert_rows
from hub.empi.tables import empi_key, empi_person
from hub.fhir.extract import h64
from hub.fhir.store import on_write
from hub.models import resource_tables

PATIENT = resource_tables["Patient"]
BLOCK_LIMIT = 200


# --------------------------------------------------------------------------- rows of one patient


def keys_of(d: Demographics) -> list[str]:
    """The blocking keys of a patient's demographics (each at most 200 characters)."""
    keys: list[str] = []
    if d.birth_date:
        keys.append("b:" + d.birth_date.replace("-", ""))
    for form in d.names:
        tokens = form.tokens
        for rotated in {tokens, tokens[1:] + tokens[:1], tokens[-1:] + tokens[:-1]}:
            keys.append("n:" + "".join(rotated))
    keys += ["p:" + p for p in d.phones]
    if d.resident_id:
        keys.append("r:" + d.resident_id)
    keys += [f"i:{h64(s, v) & 0xFFFFFFFFFFFFFFFF:016x}" for s, v in d.identifiers]
    return list(dict.fromkeys(k[:200] for k in keys))


def is_candidate(patient: dict) -> bool:
    """A record another replaced, or marked inactive, is no one's match any more."""
    if patient.get("active") is False:
        return False
    return not any((link or {}).get("type") == "replaced-by" for link in patient.get("link") or [])


@dataclass
class Rows:
    person: dict
    keys: list[dict]


def rows_of(pid: int, fid: str, patient: dict) -> Rows:
    """The index rows of one stored Patient (also what a bulk load writes)."""
    d = demographics(patient)
    return Rows(
        {
            "pid": pid,
            "fhir_id": fid,
            "candidate": is_candidate(patient),
            "features": orjson.dumps(d.to_json()).decode(),
        },
        [{"key": k, "pid": pid} for k in keys_of(d)],
    )


def write_rows(conn: Connection, rows: list[Rows]) -> None:
    insert_rows(conn, _batches(rows))


def _batches(rows: list[Rows]) -> list:
    return [(empi_person, [r.person for r in rows]), (empi_key, [k for r in rows for k in r.keys])]


def reindex(conn: Connection, pids: set[int] = frozenset(), fids: set[str] = frozenset()) -> int:
    """Rewrite the index rows of these patients from their current stored versions."""
    if not pids and not fids:
        return 0
    conds = []
    if pids:
        conds.append(PATIENT.c.pid.in_(sorted(pids)))
    if fids:
        conds.append(PATIENT.c.fhir_id.in_(sorted(fids)))
    found = conn.execute(
        select(PATIENT.c.pid, PATIENT.c.fhir_id, PATIENT.c.deleted, PATIENT.c.body).where(or_(*conds))
    ).all()
    all_pids = sorted({r.pid for r in found} | set(pids))
    conn.execute(delete(empi_key).where(empi_key.c.pid.in_(all_pids)))
    conn.execute(delete(empi_person).where(empi_person.c.pid.in_(all_pids)))
    write_rows(conn, [rows_of(r.pid, r.fhir_id, orjson.loads(r.body)) for r in found if not r.deleted])
    return len(found)


def reindex_all(conn: Connection, batch: int = 2000) -> int:
    """Rebuild the whole index (after a restore, or to adopt a change of normalisation)."""
    conn.execute(delete(empi_key))
    conn.execute(delete(empi_person))
    n, last = 0, None
    while True:
        q = select(PATIENT.c.pid, PATIENT.c.fhir_id, PATIENT.c.body).where(PATIENT.c.deleted.is_(False))
        if last is not None:
            q = q.where(PATIENT.c.pid > last)
        found = conn.execute(q.order_by(PATIENT.c.pid).limit(batch)).all()
        if not found:
            return n
        write_rows(conn, [rows_of(r.pid, r.fhir_id, orjson.loads(r.body)) for r in found])
        n += len(found)
        last = found[-1].pid


# --------------------------------------------------------------------------- keeping it in step


@dataclass(eq=False)
class _Pending:
    """The Patients written in one transaction and not yet indexed; run before the commit."""

    pids: set[int] = field(default_factory=set)  # changed: rewritten from their stored versions
    fresh: dict[int, Rows] = field(default_factory=dict)  # created: their rows, from their bodies

    def __call__(self, conn: Connection) -> None:
        flush(conn, at_commit=True)


def flush(conn: Connection, keys: set[str] | None = None, at_commit: bool = False) -> None:
    """Bring the index up to date with the Patients this transaction wrote so far. ``keys``: only if
    a search on these blocking keys could find one of them (new Patients sharing none of the keys
    wait for the commit, and are written together)."""
    pending = next((h for h in conn.info.get(BEFORE_COMMIT) or () if type(h) is _Pending), None)
    if pending is None or (not pending.pids and not pending.fresh):
        return
    shared = keys is None or pending.pids
    if not shared and not any(k["key"] in keys for rows in pending.fresh.values() for k in rows.keys):
        return
    pids, fresh = set(pending.pids), dict(pending.fresh)
    pending.pids.clear()
    pending.fresh.clear()
    # A Patient created in this transaction has no index rows yet: its rows come from the body it was
    # stored with, without reading it back (unless it changed again since).
    rows = [rows for pid, rows in fresh.items() if pid not in pids]
    if at_commit:  # nothing reads them in this transaction: with its other last inserts
        insert_later(conn, _batches(rows))
    else:
        write_rows(conn, rows)
    reindex(conn, pids)


def _written(store, subtype: str, stored, pid: int | None) -> None:
    """The store's write hook for Patients (``hub.fhir.store.on_write``)."""
    conn = store.conn
    if BEFORE_COMMIT not in conn.info:  # not a hub write transaction (a script's own): index now
        reindex(conn, {pid} if pid is not None else set(), {stored.id})
        return
    pending = Database.before_commit(conn, _Pending)
    if subtype == "create" and pid is not None and stored.body is not None:
        pending.fresh[pid] = rows_of(pid, stored.id, orjson.loads(stored.body))
    elif pid is not None:
        pending.pids.add(pid)
    else:
        reindex(conn, set(), {stored.id})


on_write("Patient", _written)


# --------------------------------------------------------------------------- candidate search


@dataclass(frozen=True)
class Indexed:
    pid: int
    fhir_id: str
    demographics: Demographics
    shared_keys: int
    body: str | None = None  # the stored Patient and its tenant, when asked for
    tenant: str | None = None


def block(
    conn: Connection, d: Demographics, patient_filter=None, limit: int = BLOCK_LIMIT, with_body: bool = False
) -> list[Indexed]:
    """The indexed patients sharing at least one blocking key with ``d``, most shared first.

    ``patient_filter``: a condition on ``res_patient`` (the caller's tenancy), or None for all.
    ``with_body``: fetch the stored Patients in the same query (what ``$match`` answers with).
    """
    keys = keys_of(d)
    if not keys:
        return []
    identifier_keys = [k for k in keys if k.startswith(("r:", "i:"))]
    # An identifier in common outweighs any number of demographic keys: such a patient is never
    # cut off by the limit.
    weight = case((empi_key.c.key.in_(identifier_keys), 1000), else_=1) if identifier_keys else literal(1)
    shared = (
        select(empi_key.c.pid, func.sum(weight).label("n"))
        .where(empi_key.c.key.in_(keys))
        .group_by(empi_key.c.pid)
        .order_by(func.sum(weight).desc(), empi_key.c.pid)
        .limit(limit * 2 if patient_filter is not None else limit)
        .subquery()
    )
    cols = [empi_person.c.pid, empi_person.c.fhir_id, empi_person.c.features, shared.c.n]
    if with_body:
        cols += [PATIENT.c.body, PATIENT.c.tenant]
    q = (
        select(*cols)
        .select_from(shared.join(empi_person, empi_person.c.pid == shared.c.pid))
        .where(empi_person.c.candidate.is_(True))
    )
    if patient_filter is not None or with_body:
        q = q.join(PATIENT, PATIENT.c.pid == empi_person.c.pid)
    if patient_filter is not None:
        q = q.where(patient_filter)
    rows = conn.execute(q.order_by(shared.c.n.desc(), empi_person.c.pid).limit(limit)).all()
    return [
        Indexed(
            r.pid,
            r.fhir_id,
            Demographics.from_json(orjson.loads(r.features)),
            r.n,
            r.body if with_body else None,
            r.tenant if with_body else None,
        )
        for r in rows
    ]


def shared_weight(keys: list[str], other_keys) -> int:
    """How much a patient with ``other_keys`` shares with a query of ``keys`` (``block``'s order):
    an identifier key (resident ID, identifier hash) in common weighs 1000, any other key 1."""
    other = set(other_keys)
    return sum(1000 if k.startswith(("r:", "i:")) else 1 for k in keys if k in other)


_BLOCK_MANY: dict[str, object] = {}


def _block_many_sql(dialect: str):
    """``block_many``'s statement: the queries' keys arrive as one JSON array of ``{q, key, w}``
    (one statement for any number of keys, built once)."""
    stmt = _BLOCK_MANY.get(dialect)
    if stmt is not None:
        return stmt
    if dialect == "postgresql":
        wanted = text(
            "SELECT q, key, w FROM json_to_recordset(CAST(:wanted AS json)) AS t(q int, key text, w int)"
        )
    else:
        wanted = text(
            "SELECT json_extract(value, '$.q') AS q, json_extract(value, '$.key') AS key, "
            "json_extract(value, '$.w') AS w FROM json_each(:wanted)"
        )
    wanted = wanted.columns(column("q", Integer), column("key", String), column("w", Integer)).subquery(
        "wanted"
    )
    shared = (
        select(wanted.c.q, empi_key.c.pid, func.sum(wanted.c.w).label("n"))
        .select_from(wanted.join(empi_key, empi_key.c.key == wanted.c.key))
        .group_by(wanted.c.q, empi_key.c.pid)
        .subquery()
    )
    ranked = select(
        shared,
        func.row_number()
        .over(partition_by=shared.c.q, order_by=(shared.c.n.desc(), shared.c.pid))
        .label("rn"),
    ).subquery()
    person = select(empi_person.c.pid, empi_person.c.fhir_id, empi_person.c.features, empi_person.c.candidate)
    if dialect == "postgresql":
        # Each patient fetched by its key: whatever the number of rows the planner expects of the
        # JSON (it cannot know), never a scan of every indexed patient.
        person = person.where(empi_person.c.pid == ranked.c.pid).limit(1).lateral("person")
        joined = ranked.join(person, literal(True))
    else:
        person = person.subquery("person")
        joined = ranked.join(person, person.c.pid == ranked.c.pid)
    stmt = (
        select(ranked.c.q, ranked.c.n, person.c.pid, person.c.fhir_id, person.c.features, person.c.candidate)
        .select_from(joined)
        .where(ranked.c.rn <= bindparam("limit"))
        .order_by(ranked.c.q, ranked.c.n.desc(), person.c.pid)
    )
    _BLOCK_MANY[dialect] = stmt
    return stmt


def block_many(
    conn: Connection, ds: list[Demographics], limit: int = BLOCK_LIMIT
) -> list[tuple[list[Indexed], bool]]:
    """``block`` for several queries in one statement: per query, its patients (most shared keys
    first) and whether the limit cut the list (then more patients share keys with it)."""
    data = []
    for q, d in enumerate(ds):
        data += [{"q": q, "key": k, "w": 1000 if k.startswith(("r:", "i:")) else 1} for k in keys_of(d)]
    found: list[list[Indexed]] = [[] for _ in ds]
    if not data:
        return [(f, False) for f in found]
    rows = conn.execute(
        _block_many_sql(conn.dialect.name), {"wanted": orjson.dumps(data).decode(), "limit": limit}
    ).all()
    cut = [0] * len(ds)
    for r in rows:
        cut[r.q] += 1
        if r.candidate:
            found[r.q].append(
                Indexed(r.pid, r.fhir_id, Demographics.from_json(orjson.loads(r.features)), r.n)
            )
    return [(f, n >= limit) for f, n in zip(found, cut, strict=True)]
