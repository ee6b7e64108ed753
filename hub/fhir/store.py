"""The resource store: versioned writes, reads and history on one open transaction.

The store only flushes; the service that opened the transaction commits (one command, one
transaction). Every version is kept in ``resource_history``; the per-type table holds the current
version and the hot search columns; the shared index tables hold rows for live current versions only.
"""

from __future__ import annotations

import decimal
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256

import orjson
from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Connection

from hub.auth.tenancy import (
    LINK_SOURCES,
    SYSTEM_POLICY,
    Policy,
    add_links,
    links_of,
    org_resolver,
    replace_links,
)
from hub.db import Database
from hub.errors import Forbidden, Gone, NotFound, PreconditionFailed
from hub.fhir import dates
from hub.fhir.extract import IndexRows, extract, index_tables
from hub.fhir.registry import TYPES, ResourceType
from hub.models import idx_date, idx_ref, idx_string, idx_token, resource_history, resource_tables

# Writes of these types feed the notification outbox (hub.notify.outbox), in the writing transaction.
NOTIFIED = frozenset({"Task", "Subscription"})

# What else follows every write of a type, in the writing transaction: ``hook(store, subtype, stored,
# pid)``, subtype create | update | delete (``hub.empi.index`` keeps the patient index this way).
WRITE_HOOKS: dict[str, list] = {}


def on_write(rtype: str, hook) -> None:
    """Run ``hook`` after every write of a ``rtype`` record through a Store (any path: REST,
    Bundles, the adapters, the EMPI, the seed)."""
    if hook not in WRITE_HOOKS.setdefault(rtype, []):
        WRITE_HOOKS[rtype].append(hook)


_CREATED = "xietong.patients_created"  # conn.info: (transaction, {Patient id: tenant}) created in it


def _created_patients(conn: Connection) -> dict[str, str | None]:
    tx = conn.get_transaction()
    held = conn.info.get(_CREATED)
    if held is None or held[0] is not tx:
        held = conn.info[_CREATED] = (tx, {})
    return held[1]


def _note_patient(store, subtype: str, stored, pid) -> None:
    """Patients created in this transaction, with their tenant: an institution may see what it has just
    created (``Store._check_patient``) without asking the database. Changed or deleted: forgotten."""
    if subtype == "create":
        _created_patients(store.conn)[stored.id] = stored.tenant
    else:
        _created_patients(store.conn).pop(stored.id, None)


on_write("Patient", _note_patient)


@dataclass
class Stored:
    """A version of a resource as stored: its JSON text is what the caller gets back."""

    type: str
    id: str
    version: int
    last_updated: datetime
    body: str | None  # None for a deletion
    deleted: bool = False
    method: str = "PUT"
    tenant: str | None = None  # the institution that wrote it
    patient: str | None = None  # the patient it is about (its compartment)

    @property
    def etag(self) -> str:
        return f'W/"{self.version}"'

    def resource(self) -> dict:
        return orjson.loads(self.body) if self.body else None


def _decimal(value):
    if isinstance(value, decimal.Decimal):
        return orjson.Fragment(str(value))  # the decimal as it was written
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps(resource: dict) -> str:
    return orjson.dumps(resource, default=_decimal).decode()


def canonical_dumps(resource: dict) -> str:
    """The canonical JSON of a record: keys sorted, no whitespace, and nothing but JSON's own types
    (a ``Decimal`` is a ``TypeError`` here, not a number whose spelling could change when read back),
    so that reading it and writing it again in this form gives the same text."""
    return orjson.dumps(resource, option=orjson.OPT_SORT_KEYS).decode()


def new_id() -> str:
    """A random (version 4) UUID, as ``str(uuid.uuid4())`` spells it, made without the ``UUID`` object
    (a bulk write makes thousands)."""
    b = bytearray(os.urandom(16))
    b[6] = b[6] & 0x0F | 0x40
    b[8] = b[8] & 0x3F | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# A record made ready ahead of its write (``hub.ingest.premade``) carries this instant in
# ``meta.lastUpdated``; ``create_many`` puts the write's own in. ``meta`` follows ``resourceType`` and
# ``id`` in a stamped record's JSON and ``lastUpdated`` comes last in it: the first occurrence of
# ``MADE_AT_JSON`` is that element.
MADE_AT = datetime(1970, 1, 1, tzinfo=UTC)
MADE_AT_JSON = '"lastUpdated":"1970-01-01T00:00:00.000Z"}'


def stamp(resource: dict, fid: str, version: int, when: datetime) -> dict:
    """The resource with its id and meta set by the server, ``resourceType`` and ``id`` first."""
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = dates.instant(when)
    out = {"resourceType": resource["resourceType"], "id": fid, "meta": meta}
    for k, v in resource.items():
        if k not in out:
            out[k] = v
    return out


class Store:
    """The repository a caller is given: every read and write goes through its access ``policy``
    (scopes and tenancy), so that no endpoint can forget them. Jobs use ``SYSTEM_POLICY``."""

    def __init__(self, db: Database, conn: Connection, policy: Policy = SYSTEM_POLICY):
        self.db = db
        self.conn = conn
        self.policy = policy

    # ----- writes -----

    def create(
        self,
        rt: ResourceType,
        resource: dict,
        fid: str | None = None,
        tenant: str | None = None,
        pid: int | None = None,
    ) -> Stored:
        self.policy.require(rt.name, "create")
        if rt.name in UNVERSIONED:
            raise ValueError(f"{rt.name} records are unversioned; use append_only")
        tenant = tenant or self.policy.tenant_for_write()
        fid = fid or new_id()
        when = dates.now_utc()
        body = stamp(resource, fid, 1, when)
        text = dumps(body)
        rows = extract(rt, body)
        self._check_patient(rt, rows.patient)
        if not self.db.is_sqlite:
            links = links_of(rt.name, body, org_resolver(self.conn)) if rt.name in LINK_SOURCES else None
            pid = _create_in_one_statement(self.conn, rt, pid, fid, when, tenant, rows, text, links)
            return self._recorded(
                "create",
                Stored(rt.name, fid, 1, when, text, method="POST", tenant=tenant, patient=rows.patient),
                pid,
            )
        if pid is None:
            pid = self.db.allocate_pids(self.conn, 1)[0]
        table = resource_tables[rt.name]
        self.conn.execute(
            insert(table).values(
                pid=pid,
                fhir_id=fid,
                version=1,
                last_updated=when,
                deleted=False,
                tenant=tenant,
                patient=rows.patient,
                date_low=rows.date_low,
                date_high=rows.date_high,
                body=text,
            )
        )
        self._history(pid, 1, rt.name, fid, when, "POST", text)
        self._index(pid, rows)
        self._links(rt, fid, body, new=True)
        return self._recorded(
            "create",
            Stored(rt.name, fid, 1, when, text, method="POST", tenant=tenant, patient=rows.patient),
            pid,
        )

    def create_many(self, items: list[tuple], tenant: str | None = None) -> list[Stored]:
        """Create several records at once: ``items`` are ``(type, resource, id or None)``, or ``(type,
        None, id, JSON, index rows)`` for a record made ready ahead (stamped at ``MADE_AT``; not of a
        type that derives access links). The rows, history rows, index rows and access links are
        what ``create`` writes for each, one by one; on PostgreSQL they are one statement per type.
        Each patient a record is about is checked once, and the audit has one AuditEvent per patient
        (BALP), its entities the records created."""
        if not items:
            return []
        for name in sorted({item[0].name for item in items}):
            if name in UNVERSIONED:
                raise ValueError(f"{name} records are unversioned; use append_only")
            self.policy.require(name, "create")
        tenant = tenant or self.policy.tenant_for_write()
        when = dates.now_utc()
        by_type: dict[str, list] = {}
        out = []
        made_at = f'"lastUpdated":"{dates.instant(when)}"}}'
        for rt, resource, fid, *made in items:
            if made:
                if rt.name in LINK_SOURCES:
                    raise ValueError(f"{rt.name} records derive access links; they are not made ahead")
                body, (text, rows) = None, made
                if not text.startswith(f'{{"resourceType":"{rt.name}","id":"{fid}","meta":{{'):
                    raise ValueError(f"{rt.name}/{fid} was not made by stamp(): its time cannot be put in")
                text = text.replace(MADE_AT_JSON, made_at, 1)
            else:
                fid = fid or new_id()
                body = stamp(resource, fid, 1, when)
                rows = extract(rt, body)
                text = dumps(body)
            by_type.setdefault(rt.name, []).append((fid, tenant, text, rows))
            out.append((rt, fid, body, text, rows))
        patients = {rows.patient: (rt, rows) for rt, _, _, _, rows in out if rows.patient}
        self._check_patients({p: rt for p, (rt, _) in patients.items()})
        # By type and id: ids are unique within a type only (an Observation and a Task may share one).
        bodies = {(rt.name, fid): body for rt, fid, body, _, _ in out}
        pids: dict[tuple[str, str], int] = {}
        org_of = None
        # The types that derive access links go last: their links name institutions through the
        # directory records (PractitionerRole, CareTeam, ...) this call may be creating.
        for name in sorted(by_type, key=lambda n: n in LINK_SOURCES):
            rt, prepared = TYPES[name], by_type[name]
            links = None
            if name in LINK_SOURCES:  # new records: no links to replace
                org_of = org_of or org_resolver(self.conn)
                links = [links_of(name, bodies[name, x[0]], org_of) for x in prepared]
            if self.db.is_sqlite:
                new = self._insert_many(rt, when, prepared)
                if links is not None:
                    add_links(self.conn, [(name, x[0], ls) for x, ls in zip(prepared, links, strict=True)])
            else:  # the links in the records' own statement
                new = _append_in_one_statement(self.conn, rt, when, prepared, None, history=True, links=links)
            pids.update(zip(((name, x[0]) for x in prepared), new, strict=True))
        stored = []
        for rt, fid, _, text, rows in out:
            stored.append(
                Stored(rt.name, fid, 1, when, text, method="POST", tenant=tenant, patient=rows.patient)
            )
        return self._recorded_many("create", stored, [pids[s.type, s.id] for s in stored])

    def _insert_many(self, rt: ResourceType, when, prepared, history: bool = True) -> list[int]:
        """SQLite: the rows of ``create_many`` (and of ``append_only``: ``history=False``)."""
        pids = self.db.allocate_pids(self.conn, len(prepared))
        self.conn.execute(
            insert(resource_tables[rt.name]),
            [
                {
                    "pid": pid,
                    "fhir_id": fid,
                    "version": 1,
                    "last_updated": when,
                    "deleted": False,
                    "tenant": tenant,
                    "patient": rows.patient,
                    "date_low": rows.date_low,
                    "date_high": rows.date_high,
                    "body": text,
                }
                | ({"codes": rows.codes, "refs": rows.ref_keys} if rt.codes_in_row else {})
                for pid, (fid, tenant, text, rows) in zip(pids, prepared, strict=True)
            ],
        )
        if history:
            self.conn.execute(
                insert(resource_history),
                [
                    {
                        "pid": pid,
                        "version": 1,
                        "res_type": rt.name,
                        "fhir_id": fid,
                        "last_updated": when,
                        "method": "POST",
                        "deleted": False,
                        "body": text,
                    }
                    for pid, (fid, _, text, _) in zip(pids, prepared, strict=True)
                ],
            )
        self._index_many(list(zip(pids, (x[3] for x in prepared), strict=True)))
        return pids

    def append_only(self, rt: ResourceType, items: list[tuple[dict, str | None]], mark=None) -> list[Stored]:
        """Create records that are never changed (``UNVERSIONED`` types: the audit trail), several at
        once: ``items`` are ``(resource, tenant)``. Their one version lives in the type's table (no
        ``resource_history`` row: vread and history read it there). Their bodies are written in
        canonical form (``canonical_dumps``: sorted keys, no whitespace, JSON types only). ``mark``: a
        table with ``pid`` and ``digest`` columns that gets each new record's pid and the SHA-256 of
        its body (hex) in the same statement (the chain's waiting list, which then need not read the
        bodies back to link them).

        On PostgreSQL everything -- rows, index rows, marks -- is one statement."""
        if rt.name not in UNVERSIONED:
            raise ValueError(f"{rt.name} records are versioned; use create")
        self.policy.require(rt.name, "create")
        when = dates.now_utc()
        prepared = []
        for resource, tenant in items:
            fid = new_id()
            body = stamp(resource, fid, 1, when)
            prepared.append((fid, tenant, canonical_dumps(body), extract(rt, body)))
        if not prepared:
            return []
        digests = [sha256(x[2].encode()).hexdigest() for x in prepared] if mark is not None else None
        if self.db.is_sqlite:
            pids = self._insert_many(rt, when, prepared, history=False)
            if mark is not None:
                self.conn.execute(
                    insert(mark), [{"pid": pid, "digest": d} for pid, d in zip(pids, digests, strict=True)]
                )
        else:
            _append_in_one_statement(self.conn, rt, when, prepared, mark, digests=digests)
        return [
            Stored(rt.name, fid, 1, when, text, method="POST", tenant=tenant, patient=rows.patient)
            for fid, tenant, text, rows in prepared
        ]

    def update(
        self,
        rt: ResourceType,
        fid: str,
        resource: dict,
        if_match: int | None = None,
        tenant: str | None = None,
    ) -> tuple[Stored, bool]:
        """Replace the current version; ``(stored, created)``. A missing id is created (PUT-as-create)."""
        current = self.current(rt, fid, for_update=True)
        if current is not None:
            self._visible_or_404(rt, current.pid, fid)
        self.policy.require(rt.name, "update" if current is not None else "create")
        if rt.name in UNVERSIONED and current is not None:
            raise ValueError(f"{rt.name} records are never changed")
        self.policy.check_write(rt, current.tenant if current else None, current is not None)
        if current is None:
            if if_match is not None:
                raise PreconditionFailed(f"{rt.name}/{fid} does not exist, so If-Match cannot hold")
            return self.create(rt, resource, fid=fid, tenant=tenant), True
        pid, version, deleted = current.pid, current.version, current.deleted
        if if_match is not None and if_match != version:
            raise PreconditionFailed(
                f"{rt.name}/{fid} is at version {version}, not {if_match} (If-Match)", expression=["If-Match"]
            )
        version += 1
        when = max(dates.now_utc(), current.last_updated)
        body = stamp(resource, fid, version, when)
        text = dumps(body)
        rows = extract(rt, body)
        self._check_patient(rt, rows.patient)
        if not self.db.is_sqlite and not rt.codes_in_row:
            _update_in_one_statement(self.conn, rt, pid, fid, version, when, tenant, rows, text)
            self._links(rt, fid, body)
            stored = Stored(
                rt.name, fid, version, when, text, method="PUT", tenant=current.tenant, patient=rows.patient
            )
            return self._recorded("update", stored, pid), deleted
        table = resource_tables[rt.name]
        self.conn.execute(
            update(table)
            .where(table.c.pid == pid)
            .values(
                version=version,
                last_updated=when,
                deleted=False,
                tenant=tenant if tenant else table.c.tenant,
                patient=rows.patient,
                date_low=rows.date_low,
                date_high=rows.date_high,
                body=text,
            )
        )
        self._history(pid, version, rt.name, fid, when, "PUT", text)
        if not deleted:
            self._unindex(pid)
        self._index(pid, rows)
        self._links(rt, fid, body)
        stored = Stored(
            rt.name, fid, version, when, text, method="PUT", tenant=current.tenant, patient=rows.patient
        )
        return self._recorded("update", stored, pid), deleted

    def delete(self, rt: ResourceType, fid: str) -> Stored:
        """Tombstone: the current row is marked deleted, its index rows go, its history stays."""
        current = self.current(rt, fid, for_update=True)
        if current is None:
            raise NotFound(f"{rt.name}/{fid} is not known")
        self._visible_or_404(rt, current.pid, fid)
        self.policy.require(rt.name, "delete")
        self.policy.check_write(rt, current.tenant, True)
        if current.deleted:
            raise Gone(f"{rt.name}/{fid} was deleted")
        version = current.version + 1
        when = max(dates.now_utc(), current.last_updated)
        table = resource_tables[rt.name]
        self.conn.execute(
            update(table)
            .where(table.c.pid == current.pid)
            .values(version=version, last_updated=when, deleted=True)
        )
        self._history(current.pid, version, rt.name, fid, when, "DELETE", None, deleted=True)
        self._unindex(current.pid)
        return self._recorded(
            "delete",
            Stored(rt.name, fid, version, when, None, deleted=True, method="DELETE", tenant=current.tenant),
            current.pid,
        )

    def _history(self, pid, version, rtype, fid, when, method, text, deleted=False):
        self.conn.execute(
            insert(resource_history).values(
                pid=pid,
                version=version,
                res_type=rtype,
                fhir_id=fid,
                last_updated=when,
                method=method,
                deleted=deleted,
                body=text,
            )
        )

    def _index(self, pid: int, rows: IndexRows) -> None:
        self._index_many([(pid, rows)])

    def _index_many(self, items: list[tuple[int, IndexRows]]) -> None:
        """The index rows of several records, one statement per index table."""
        c = self.conn
        tokens = [
            {"pid": pid, "hash_sys_value": a, "hash_value": b, "sort_date": rows.date_low}
            for pid, rows in items
            for a, b in _dedupe_tokens(rows.tokens)
        ]
        strings = [
            {"pid": pid, "hash_identity": h, "value_norm": n[:512], "value_exact": e[:512]}
            for pid, rows in items
            for h, n, e in rows.strings
        ]
        dates_ = [
            {"pid": pid, "hash_identity": h, "low": lo, "high": hi}
            for pid, rows in items
            for h, lo, hi in rows.dates
        ]
        refs = [
            {"pid": pid, "hash_identity": h, "target_type": t, "target_id": i}
            for pid, rows in items
            for h, t, i in rows.refs
        ]
        for table, rows_ in ((idx_token, tokens), (idx_string, strings), (idx_date, dates_), (idx_ref, refs)):
            if rows_:
                c.execute(insert(table), rows_)

    def _recorded_many(self, subtype: str, stored: list[Stored], pids: list[int]) -> list[Stored]:
        """The audit of several changes made at once: one AuditEvent per patient (BALP), in this
        transaction, naming every record of that patient; write hooks and notifications as
        ``_recorded``."""
        from hub.audit.recorder import Touched, record_write  # the recorder stores through a Store

        for s, pid in zip(stored, pids, strict=True):
            for hook in WRITE_HOOKS.get(s.type, ()):
                hook(self, subtype, s, pid)

        record_write(
            self.db,
            self.conn,
            self.policy.principal,
            subtype,
            [Touched(s.type, s.id, s.tenant, s.patient, s.version) for s in stored],
        )
        if any(s.type in NOTIFIED for s in stored):
            from hub.notify.outbox import on_write

            for s in stored:
                if s.type in NOTIFIED:
                    on_write(self, subtype, s)
        return stored

    def _recorded(self, subtype: str, stored: Stored, pid: int | None = None) -> Stored:
        """Every change is audited in its own transaction (the audit trail's own events excepted).
        The type's write hooks (``WRITE_HOOKS``) run first, with the record's ``pid``."""
        for hook in WRITE_HOOKS.get(stored.type, ()):
            hook(self, subtype, stored, pid)
        if stored.type != "AuditEvent":
            from hub.audit.recorder import Touched, record_write  # the recorder stores through a Store

            record_write(
                self.db,
                self.conn,
                self.policy.principal,
                subtype,
                Touched(stored.type, stored.id, stored.tenant, stored.patient, stored.version),
            )
        if stored.type in NOTIFIED:
            from hub.notify.outbox import on_write  # the outbox event goes in this same transaction

            on_write(self, subtype, stored)
        return stored

    def _links(self, rt: ResourceType, fid: str, body: dict, new: bool = False) -> None:
        """The record's access links; ``new``: a record just created (its id is new to its table, so
        it has no links to replace)."""
        if rt.name not in LINK_SOURCES:
            return
        links = links_of(rt.name, body, org_resolver(self.conn))
        if new:
            add_links(self.conn, [(rt.name, fid, links)])
        else:
            replace_links(self.conn, rt.name, fid, links)

    def _check_patient(self, rt: ResourceType, patient: str | None) -> None:
        """A record about a patient may be written only by an institution that may see the patient."""
        if patient is None or self.policy.reads_everything or self._own_new(patient):
            return
        patients = resource_tables["Patient"]
        cond = self.policy.read_filter(TYPES["Patient"])
        q = select(patients.c.pid).where(patients.c.fhir_id == patient, patients.c.deleted.is_(False))
        if self.conn.execute(q.where(cond) if cond is not None else q).first() is None:
            raise NotFound(
                f"Patient/{patient} is not known to your institution (no record of its own, "
                "no referral, contract or consent links it)",
                [f"{rt.name}.{rt.patient_param}"],
            )

    def _own_new(self, patient: str) -> bool:
        """A Patient this transaction created as this institution's own: visible to it (its tenant)."""
        org = self.policy.organization
        return org is not None and _created_patients(self.conn).get(patient, "") == org

    def _check_patients(self, patients: dict[str, ResourceType]) -> None:
        """``_check_patient`` for several patients (``{patient id: type of a record about them}``),
        in one query."""
        if self.policy.reads_everything:
            return
        patients = {p: rt for p, rt in patients.items() if not self._own_new(p)}
        if not patients:
            return
        if len(patients) == 1:
            ((patient, rt),) = patients.items()
            return self._check_patient(rt, patient)
        t = resource_tables["Patient"]
        cond = self.policy.read_filter(TYPES["Patient"])
        q = select(t.c.fhir_id).where(t.c.fhir_id.in_(sorted(patients)), t.c.deleted.is_(False))
        seen = set(self.conn.execute(q.where(cond) if cond is not None else q).scalars())
        for patient, rt in patients.items():
            if patient not in seen:
                self._check_patient(rt, patient)  # raises, with the message of a single write

    def _visible_or_404(self, rt: ResourceType, pid: int, fid: str) -> None:
        cond = self.policy.read_filter(rt)
        if cond is None:
            return
        t = resource_tables[rt.name]
        if self.conn.execute(select(t.c.pid).where(t.c.pid == pid, cond)).first() is None:
            raise self.policy.hidden(rt.name, fid)

    def _unindex(self, pid: int) -> None:
        for table in (idx_token, idx_string, idx_date, idx_ref):
            self.conn.execute(delete(table).where(table.c.pid == pid))

    # ----- reads -----

    def current(self, rt: ResourceType, fid: str, for_update: bool = False):
        table = resource_tables[rt.name]
        q = select(table.c.pid, table.c.version, table.c.deleted, table.c.last_updated, table.c.tenant).where(
            table.c.fhir_id == fid
        )
        if for_update and not self.db.is_sqlite:
            q = q.with_for_update()
        return self.conn.execute(q).first()

    def read(self, rt: ResourceType, fid: str) -> Stored:
        self.policy.require(rt.name, "read")
        table = resource_tables[rt.name]
        q = select(
            table.c.version,
            table.c.last_updated,
            table.c.deleted,
            table.c.body,
            table.c.tenant,
            table.c.patient,
        ).where(table.c.fhir_id == fid)
        cond = self.policy.read_filter(rt)
        row = self.conn.execute(q.where(cond) if cond is not None else q).first()
        if row is None:
            raise NotFound(f"{rt.name}/{fid} is not known")
        if row.deleted:
            raise Gone(f"{rt.name}/{fid} was deleted (version {row.version})")
        return Stored(
            rt.name, fid, row.version, row.last_updated, row.body, tenant=row.tenant, patient=row.patient
        )

    def vread(self, rt: ResourceType, fid: str, version: int) -> Stored:
        self.policy.require(rt.name, "vread")
        table = resource_tables[rt.name]
        if rt.name in UNVERSIONED:
            current = self.read(rt, fid)  # policy, 404
            if version != current.version:
                raise NotFound(f"{rt.name}/{fid} has no version {version}")
            return current
        h = resource_history
        q = (
            select(
                h.c.version,
                h.c.last_updated,
                h.c.deleted,
                h.c.body,
                h.c.method,
                table.c.tenant,
                table.c.patient,
            )
            .select_from(h.join(table, table.c.pid == h.c.pid))
            .where(table.c.fhir_id == fid, h.c.version == version)
        )
        cond = self.policy.read_filter(rt)
        row = self.conn.execute(q.where(cond) if cond is not None else q).first()
        if row is None:
            current = self.current(rt, fid)
            if (
                current is None
                or cond is not None
                and self.conn.execute(select(table.c.pid).where(table.c.pid == current.pid, cond)).first()
                is None
            ):
                raise NotFound(f"{rt.name}/{fid} is not known")
            raise NotFound(f"{rt.name}/{fid} has no version {version}")
        if row.deleted:
            raise Gone(f"{rt.name}/{fid} version {version} is a deletion")
        return Stored(
            rt.name,
            fid,
            row.version,
            row.last_updated,
            row.body,
            method=row.method,
            tenant=row.tenant,
            patient=row.patient,
        )

    def history(
        self,
        rt: ResourceType | None,
        fid: str | None,
        count: int,
        offset: int = 0,
        since: datetime | None = None,
    ) -> tuple[list[Stored], bool]:
        """Versions, newest first; ``(page, has_more)``. Instance, type or whole-system history."""
        h = resource_history
        q = select(
            h.c.res_type, h.c.fhir_id, h.c.version, h.c.last_updated, h.c.deleted, h.c.body, h.c.method
        )
        conds = []
        if rt is None and not self.policy.reads_everything:
            raise Forbidden("the whole-system history is for regulators; ask for a type's history")
        if rt is not None:
            self.policy.require(rt.name, "history")
            if rt.name in UNVERSIONED:
                return self._unversioned_history(rt, fid, count, offset, since)
        if fid is not None:
            cur = self.current(rt, fid)
            if cur is None:
                raise NotFound(f"{rt.name}/{fid} is not known")
            self._visible_or_404(rt, cur.pid, fid)
            conds.append(h.c.pid == cur.pid)
        elif rt is not None:
            conds.append(h.c.res_type == rt.name)
            cond = self.policy.read_filter(rt, per_row=False)  # a set the planner may hash
            if cond is not None:
                t = resource_tables[rt.name]
                conds.append(h.c.pid.in_(select(t.c.pid).where(cond)))
        if since is not None:
            conds.append(h.c.last_updated >= since)
        if conds:
            q = q.where(and_(*conds))
        q = (
            q.order_by(h.c.last_updated.desc(), h.c.pid.desc(), h.c.version.desc())
            .limit(count + 1)
            .offset(offset)
        )
        rows = self.conn.execute(q).all()
        page = [
            Stored(r.res_type, r.fhir_id, r.version, r.last_updated, r.body, r.deleted, r.method)
            for r in rows[:count]
        ]
        return page, len(rows) > count

    def _unversioned_history(self, rt, fid, count, offset, since) -> tuple[list[Stored], bool]:
        """History of a type whose records have one version each: the records themselves."""
        t = resource_tables[rt.name]
        q = select(t.c.fhir_id, t.c.version, t.c.last_updated, t.c.deleted, t.c.body)
        if fid is not None:
            cur = self.current(rt, fid)
            if cur is None:
                raise NotFound(f"{rt.name}/{fid} is not known")
            self._visible_or_404(rt, cur.pid, fid)
            q = q.where(t.c.pid == cur.pid)
        else:
            cond = self.policy.read_filter(rt)
            if cond is not None:
                q = q.where(cond)
        if since is not None:
            q = q.where(t.c.last_updated >= since)
        q = q.order_by(t.c.last_updated.desc(), t.c.pid.desc()).limit(count + 1).offset(offset)
        rows = self.conn.execute(q).all()
        page = [
            Stored(rt.name, r.fhir_id, r.version, r.last_updated, r.body, r.deleted, "POST")
            for r in rows[:count]
        ]
        return page, len(rows) > count


def _dedupe_tokens(tokens):
    seen = set()
    for a, b in tokens:
        if a not in seen:
            seen.add(a)
            yield a, b


# The access links of new records (``hub.auth.tenancy.add_links``) as a CTE of their create.
_LINKS_CTE = """l AS (INSERT INTO access_link
                     (organization_id, patient_id, purposes, source_type, source_id, valid_from, valid_to)
      SELECT u.org, u.pat, u.pur, :rtype, {source}, u.vf, u.vt
      FROM jsonb_to_recordset({rows})
           AS u(org text, pat text, pur text, i text, vf timestamptz, vt timestamptz))"""


# One record's index rows, from the array parameters of ``_row_params``: ``{pid}`` is its pid, and
# ``{source}`` a one-row relation the insert reads first (what must have run before it).
_ONE_RECORD_INDEX = {
    "token": """t AS (INSERT INTO idx_token (pid, hash_sys_value, hash_value, sort_date)
      SELECT {pid}, u.a, u.b, :dlo FROM {source},
             unnest(CAST(:t1 AS bigint[]), CAST(:t2 AS bigint[])) AS u(a, b))""",
    "string": """s AS (INSERT INTO idx_string (pid, hash_identity, value_norm, value_exact)
      SELECT {pid}, u.a, u.b, u.c FROM {source},
             unnest(CAST(:s1 AS bigint[]), CAST(:s2 AS text[]), CAST(:s3 AS text[])) AS u(a, b, c))""",
    "date": """d AS (INSERT INTO idx_date (pid, hash_identity, low, high)
      SELECT {pid}, u.a, u.b, u.c FROM {source},
             unnest(CAST(:d1 AS bigint[]), CAST(:d2 AS timestamptz[]),
                    CAST(:d3 AS timestamptz[])) AS u(a, b, c))""",
    "ref": """f AS (INSERT INTO idx_ref (pid, hash_identity, target_type, target_id)
      SELECT {pid}, u.a, u.b, u.c FROM {source},
             unnest(CAST(:f1 AS bigint[]), CAST(:f2 AS text[]), CAST(:f3 AS text[])) AS u(a, b, c))""",
}


def _one_record_index(kinds, pid: str, source: str) -> str:
    return ",\n".join(_ONE_RECORD_INDEX[k].format(pid=pid, source=source) for k in kinds)


def _create_sql(table: str, links: bool = False) -> str:
    """One PostgreSQL statement for a create: current row, history row, every index row and
    (``links``) the record's access links.

    Round trips dominate the cost of a create on PostgreSQL (storage design §2.2: four statements
    1414/s, one statement 2215/s at saturation). On SQLite, in-process, separate statements cost nothing.
    """
    extra = ",\n" + _LINKS_CTE.format(rows="CAST(:links AS jsonb)", source=":fid") if links else ""
    index = _one_record_index(INDEX_KINDS, pid="p.pid", source="p")
    return f"""
WITH p AS (SELECT COALESCE(CAST(:pid AS bigint), nextval('pid_seq')) AS pid),
r AS (INSERT INTO {table} (pid, fhir_id, version, last_updated, deleted, tenant, patient, date_low,
                           date_high, body)
      SELECT pid, :fid, 1, :lu, false, :tenant, :patient, :dlo, :dhi, :body FROM p
      RETURNING pid, body),
h AS (INSERT INTO resource_history (pid, version, res_type, fhir_id, last_updated, method, deleted, body)
      SELECT pid, 1, :rtype, :fid, :lu, 'POST', false, body FROM r),
{index}{extra}
SELECT pid FROM r"""


_CREATE_SQL: dict[str, object] = {}


def _update_sql(table: str, tables: frozenset[str]) -> str:
    """One PostgreSQL statement for an update (``Store.update``, once the current version is read):
    the row, its history row, the old index rows deleted and the new ones inserted. The inserts
    read the deletes' count (``gone``), so the deletes have run before the first new row is checked
    against the unique index (a row this transaction deleted is no conflict). ``tables``: the index
    tables the type's records can have rows in; the others hold none of its rows."""
    kinds = [k for k in INDEX_KINDS if k in tables]
    ctes = [
        f"""r AS (UPDATE {table} SET version = :version, last_updated = :lu, deleted = false,
                     tenant = COALESCE(CAST(:tenant AS varchar), tenant), patient = :patient,
                     date_low = :dlo, date_high = :dhi, body = :body
      WHERE pid = :pid RETURNING pid)""",
        """h AS (INSERT INTO resource_history
                     (pid, version, res_type, fhir_id, last_updated, method, deleted, body)
      VALUES (:pid, :version, :rtype, :fid, :lu, 'PUT', false, :body))""",
    ]
    ctes += [f"x{k[0]} AS (DELETE FROM idx_{k} WHERE pid = :pid RETURNING 1)" for k in kinds]
    counted = " + ".join(f"(SELECT count(*) FROM x{k[0]})" for k in kinds) or "0"
    ctes.append(f"gone AS (SELECT {counted} AS n)")
    if kinds:
        ctes.append(_one_record_index(kinds, pid=":pid", source="gone"))
    return "WITH " + ",\n".join(ctes) + "\nSELECT (SELECT count(*) FROM r) AS updated, n FROM gone"


# Types whose records are written once and never changed: no history rows (``Store.append_only``).
UNVERSIONED = frozenset({"AuditEvent"})


_INDEX_CTES = {
    "token": """
t AS (INSERT INTO idx_token (pid, hash_sys_value, hash_value, sort_date)
      SELECT p.pid, u.a, u.b, u.c FROM p JOIN jsonb_to_recordset((SELECT j->'t' FROM x))
             AS u(k int, a bigint, b bigint, c timestamptz) ON u.k = p.k)""",
    "string": """
s AS (INSERT INTO idx_string (pid, hash_identity, value_norm, value_exact)
      SELECT p.pid, u.a, u.b, u.c FROM p JOIN jsonb_to_recordset((SELECT j->'s' FROM x))
             AS u(k int, a bigint, b text, c text) ON u.k = p.k)""",
    "date": """
d AS (INSERT INTO idx_date (pid, hash_identity, low, high)
      SELECT p.pid, u.a, u.b, u.c FROM p JOIN jsonb_to_recordset((SELECT j->'d' FROM x))
             AS u(k int, a bigint, b timestamptz, c timestamptz) ON u.k = p.k)""",
    "ref": """
f AS (INSERT INTO idx_ref (pid, hash_identity, target_type, target_id)
      SELECT p.pid, u.a, u.b, u.c FROM p JOIN jsonb_to_recordset((SELECT j->'f' FROM x))
             AS u(k int, a bigint, b text, c text) ON u.k = p.k)""",
}
INDEX_KINDS = tuple(_INDEX_CTES)


def _append_sql(
    table: str,
    mark: str | None,
    history: bool = False,
    codes: bool = False,
    tables=frozenset(INDEX_KINDS),
    links: bool = False,
) -> str:
    """One PostgreSQL statement for ``Store.append_only``: n rows of one type, their index rows, and
    their marks. The index rows travel as one JSON document (``:ix``, each entry carrying the 1-based
    number ``k`` of its record) that the server unpacks with ``jsonb_to_recordset``: psycopg dumps a
    Python list into an array parameter element by element, in Python, and a dozen of them cost more
    client CPU than the rest of the request's audit; orjson writes the document in microseconds.
    The document is ``jsonb``, parsed once: as ``json`` each part's ``j->'x'`` parsed the whole text
    again (a create of 500 Observations: 24.7-26.2 ms of execution as ``json``, 19.8 as ``jsonb``).
    ``history``: with their first ``resource_history`` rows too (``Store.create_many``). ``codes``: the
    type keeps its tokens and references in its rows (``ResourceType.codes_in_row``). ``tables``: the
    index tables the type's records can have rows in (``extract.index_tables``); the others are left
    out.
    ``links``: with the new records' access links too (``:ix``'s ``l``; a type in ``LINK_SOURCES``).

    The number of records and the bodies are read through sub-selects, so that the planner cannot
    see how many there are: a plan made for the values at hand (``generate_series`` and ``unnest``
    count a constant's rows) looked cheaper than the generic plan every time, so PostgreSQL kept
    planning the statement afresh on every execution instead of using its prepared generic plan
    (half a millisecond of server CPU per statement)."""
    code_col, code_val, code_type = (
        (", codes, refs", ", u.codes, u.refs", ", codes bigint[], refs bigint[]") if codes else ("", "", "")
    )
    after = []  # the CTEs after the records' own insert
    if mark:
        after.append(f"""m AS (INSERT INTO {mark} (pid, digest)
      SELECT p.pid, u.dg FROM p JOIN jsonb_to_recordset((SELECT j->'r' FROM x))
                                AS u(k int, dg text) ON u.k = p.k)""")
    if history:
        after.append("""h AS (INSERT INTO resource_history
                     (pid, version, res_type, fhir_id, last_updated, method, deleted, body)
      SELECT p.pid, 1, :rtype, u.fid, :lu, 'POST', false, b.body
      FROM p JOIN jsonb_to_recordset((SELECT j->'r' FROM x)) AS u(k int, fid text) ON u.k = p.k
             JOIN unnest((SELECT CAST(:body AS text[]))) WITH ORDINALITY AS b(body, k) ON b.k = p.k)""")
    after += [_INDEX_CTES[k].strip("\n") for k in INDEX_KINDS if k in tables]
    if links:
        after.append(_LINKS_CTE.format(rows="(SELECT j->'l' FROM x)", source="u.i"))
    tail = "".join(",\n" + cte for cte in after)
    return f"""
WITH p AS MATERIALIZED (SELECT k, nextval('pid_seq') AS pid
                       FROM generate_series(1, (SELECT CAST(:n AS int))) AS k),
x AS MATERIALIZED (SELECT CAST(:ix AS jsonb) AS j),
r AS (INSERT INTO {table} (pid, fhir_id, version, last_updated, deleted, tenant, patient, date_low,
                           date_high, body{code_col})
      SELECT p.pid, u.fid, 1, :lu, false, u.tenant, u.patient, u.dlo, u.dhi, b.body{code_val}
      FROM p JOIN jsonb_to_recordset((SELECT j->'r' FROM x))
                  AS u(k int, fid text, tenant text, patient text, dlo timestamptz,
                       dhi timestamptz{code_type})
             ON u.k = p.k
             JOIN unnest((SELECT CAST(:body AS text[]))) WITH ORDINALITY AS b(body, k) ON b.k = p.k
      RETURNING pid){tail}
SELECT {"pid FROM p ORDER BY k" if history else "count(*) FROM r"}"""


def _append_in_one_statement(
    conn, rt: ResourceType, when, prepared, mark, history: bool = False, links=None, digests=None
):
    """``Store.append_only`` (and ``create_many``, ``history``: then the new pids, in order).
    ``links``: each record's access links (a list per record, in order), inserted by the same statement.
    ``digests``: each record's digest, for its ``mark`` row."""
    key = (rt.name, mark.name if mark is not None else None, history, links is not None)
    stmt = _CREATE_SQL.get(key)
    if stmt is None:
        # psycopg's own placeholders, the bodies in binary: as text, every quote of every JSON body
        # would be escaped for the array literal, one regex substitution each (a millisecond a record).
        sql = _append_sql(rt.table, key[1], history, rt.codes_in_row, index_tables(rt), key[3])
        sql = re.sub(r"(?<![:\w]):([a-z][a-z0-9]*)", r"%(\1)s", sql)
        stmt = _CREATE_SQL[key] = sql.replace("%(body)s", "%(body)b")
    recs, toks, strs, dts, refs = [], [], [], [], []
    for k, (fid, tenant, _, rows) in enumerate(prepared, start=1):
        recs.append(
            {
                "k": k,
                "fid": fid,
                "tenant": tenant,
                "patient": rows.patient,
                "dlo": rows.date_low,
                "dhi": rows.date_high,
            }
            | ({"codes": rows.codes, "refs": rows.ref_keys} if rt.codes_in_row else {})
            | ({"dg": digests[k - 1]} if digests is not None else {})
        )
        toks += [{"k": k, "a": a, "b": b, "c": rows.date_low} for a, b in _dedupe_tokens(rows.tokens)]
        strs += [{"k": k, "a": h, "b": n[:512], "c": e[:512]} for h, n, e in rows.strings]
        dts += [{"k": k, "a": h, "b": lo, "c": hi} for h, lo, hi in rows.dates]
        refs += [{"k": k, "a": h, "b": t, "c": i} for h, t, i in rows.refs]
    result = conn.exec_driver_sql(
        stmt,
        {
            "n": len(prepared),
            "lu": when,
            "ix": orjson.dumps(
                {"r": recs, "t": toks, "s": strs, "d": dts, "f": refs}
                | ({"l": _link_rows(prepared, links)} if links is not None else {})
            ).decode(),
            "body": [x[2] for x in prepared],
            **({"rtype": rt.name} if history or links is not None else {}),
        },
    )
    return [r[0] for r in result] if history else None


def _row_params(rows: IndexRows) -> dict:
    """A record's hot columns and index rows as the parameters of ``_create_sql`` and ``_update_sql``."""
    tokens = list(_dedupe_tokens(rows.tokens))
    strings = [(h, n[:512], e[:512]) for h, n, e in rows.strings]
    return {
        "patient": rows.patient,
        "dlo": rows.date_low,
        "dhi": rows.date_high,
        "t1": [a for a, _ in tokens],
        "t2": [b for _, b in tokens],
        "s1": [x[0] for x in strings],
        "s2": [x[1] for x in strings],
        "s3": [x[2] for x in strings],
        "d1": [x[0] for x in rows.dates],
        "d2": [x[1] for x in rows.dates],
        "d3": [x[2] for x in rows.dates],
        "f1": [x[0] for x in rows.refs],
        "f2": [x[1] for x in rows.refs],
        "f3": [x[2] for x in rows.refs],
    }


def _update_in_one_statement(conn, rt: ResourceType, pid, fid, version, when, tenant, rows: IndexRows, text):
    key = ("update", rt.name)
    stmt = _CREATE_SQL.get(key)
    if stmt is None:
        stmt = _CREATE_SQL[key] = sql_text(_update_sql(rt.table, index_tables(rt)))
    updated = conn.execute(
        stmt,
        {
            "pid": pid,
            "fid": fid,
            "version": version,
            "lu": when,
            "tenant": tenant or None,
            "body": text,
            "rtype": rt.name,
            **_row_params(rows),
        },
    ).first()[0]
    if updated != 1:  # read FOR UPDATE a moment ago in this transaction: cannot happen
        raise RuntimeError(f"{rt.name}/{fid}: the update found {updated} rows")


def _link_row(link, source: str | None = None) -> dict:
    row = {"org": link.organization, "pat": link.patient, "pur": " ".join(link.purposes)}
    return row | {"vf": link.valid_from, "vt": link.valid_to} | ({"i": source} if source else {})


def _link_rows(prepared, links) -> list[dict]:
    return [_link_row(link, x[0]) for x, ls in zip(prepared, links, strict=True) for link in ls]


def _create_in_one_statement(
    conn, rt: ResourceType, pid, fid, when, tenant, rows: IndexRows, text, links=None
) -> int:
    """``Store.create`` on PostgreSQL; ``links``: the record's access links, in the same statement."""
    key = (rt.name, links is not None)
    stmt = _CREATE_SQL.get(key)
    if stmt is None:
        stmt = _CREATE_SQL[key] = sql_text(_create_sql(rt.table, links is not None))
    return conn.execute(
        stmt,
        {
            "pid": pid,
            "fid": fid,
            "lu": when,
            "tenant": tenant,
            "body": text,
            "rtype": rt.name,
            **_row_params(rows),
            **({"links": orjson.dumps([_link_row(x) for x in links]).decode()} if links is not None else {}),
        },
    ).scalar_one()
