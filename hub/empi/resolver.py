"""Resolve an institution's patient record to the one hub Patient of that person.

Called by the adapters inside their write transaction, before the record's clinical data are
stored against the Patient it returns:

    with hub.db.write() as conn:
        r = resolve(conn, hub, patient_dict, source_org="org-county-1")
        observation["subject"] = {"reference": f"Patient/{r.patient_id}"}

Outcomes:
- ``matched``: the same resident ID number or the same identifier (the institution's MRN sent
  again) is held by a hub Patient; what the record adds (identifiers, names, telecoms) is added.
- ``linked``: no identifier in common, but the demographics score at or above the upper
  threshold; absorbed like ``matched``, with a Provenance keeping the record as it came (undo:
  ``Patient/{id}/$unlink``).
- ``review``: a score between the thresholds; a new Patient is made AND a review Task for a
  person at the alliance office names both (``Patient/$merge`` if they are one person).
- ``new``: no one scores above the lower threshold; a new Patient (tenant: the source institution).

The hub Patient is written as the system principal ``empi`` (the source institution rarely owns
it; only the owner may change a record through the API).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
from sqlalchemy import text

from adapters.identifiers import normalise_identifiers
from adapters.normalise import cross_check, demographics
from hub.auth.principal import system
from hub.empi import index, matching
from hub.empi import records as rec
from hub.empi.matching import Candidate
from hub.empi.score import DEFAULT, Thresholds
from hub.errors import Conflict, HubError, Issue, PreconditionFailed, Unprocessable
from hub.fhir.extract import h64
from hub.fhir.parse import check_resource
from hub.fhir.registry import TYPES
from hub.fhir.store import new_id, on_write

PRINCIPAL = system("empi")
PATIENT = TYPES["Patient"]


@dataclass(frozen=True)
class Resolution:
    patient_id: str
    outcome: str  # matched | linked | new | review
    score: float | None
    candidates: list[Candidate] = field(default_factory=list)
    provenance_id: str | None = None
    task_id: str | None = None
    warnings: list[str] = field(default_factory=list)  # e.g. birth date and resident ID disagree


def prepare(incoming: dict, source_org: str | None) -> dict:
    """The incoming Patient with its identifiers normalised (resident ID, MRN assigner); an invalid
    resident ID number is refused, naming the element (the adapters quarantine the record)."""
    if not isinstance(incoming, dict) or incoming.get("resourceType") != "Patient":
        raise Unprocessable("the record to resolve must be a Patient resource", ["Patient"])
    norm = normalise_identifiers(incoming.get("identifier"), source_org)
    if norm.problems:
        element, problem = norm.problems[0]
        raise Unprocessable(problem, [element], [Issue(p, "value", "error", (e,)) for e, p in norm.problems])
    out = {k: v for k, v in incoming.items() if k not in ("id", "meta", "text")}
    if norm.identifiers:
        out["identifier"] = norm.identifiers
    else:
        out.pop("identifier", None)
    return out


def resolve(
    conn, hub, incoming_patient: dict, source_org: str | None, thresholds: Thresholds = DEFAULT
) -> Resolution:
    """Find or make the hub Patient that is this person (see the module's docstring).

    The same record (with an identifier) resolved again in one transaction, with no Patient written
    since, is the Patient it was resolved to: that Patient now holds its identifiers and everything
    it adds, so it is ``matched`` with nothing to add -- without asking the index again (a CSV file
    has a row per result, each naming its patient)."""
    incoming = prepare(incoming_patient, source_org)  # validated where it is written (``write``)
    return _remembered(
        conn, incoming, source_org, lambda: _resolve(conn, hub, incoming, source_org, thresholds)
    )


def _remembered(conn, incoming: dict, source_org: str | None, resolve_it) -> Resolution:
    """``resolve_it()``, unless the same record was resolved in this transaction with no Patient
    written since (then ``matched``, the same Patient)."""
    key = None
    if incoming.get("identifier"):
        key = (source_org, orjson.dumps(incoming, option=orjson.OPT_SORT_KEYS, default=str))
        seen = _resolved(conn).get(key)
        if seen is not None:
            pid, warnings = seen
            same = Candidate(pid, 1.0, "certain", "identifier", {"identifier": 1.0})
            return Resolution(pid, "matched", 1.0, [same], warnings=list(warnings))
    r = resolve_it()
    if key is not None:
        _resolved(conn)[key] = (r.patient_id, tuple(r.warnings))
    return r


_RESOLVED = "xietong.empi_resolved"  # conn.info: (transaction, {record: (patient id, warnings)})


def _resolved(conn) -> dict:
    tx = conn.get_transaction()
    if tx is None:
        return {}
    held = conn.info.get(_RESOLVED)
    if held is None or held[0] is not tx:
        held = conn.info[_RESOLVED] = (tx, {})
    return held[1]


def _forget(store, subtype, stored, pid) -> None:
    """Any Patient written: what this transaction resolved may resolve otherwise now."""
    held = store.conn.info.get(_RESOLVED)
    if held is not None:
        held[1].clear()


on_write("Patient", _forget)


def _resolve(
    conn,
    hub,
    incoming: dict,
    source_org: str | None,
    thresholds: Thresholds,
    batch: Batch | None = None,
    d=None,
) -> Resolution:
    store = hub.fhir.store(conn, PRINCIPAL) if batch is None else batch.store
    d = d if d is not None else demographics(incoming)
    warnings = cross_check(incoming)
    _serialise(hub.db, conn, d)
    found = matching.candidates(conn, d, thresholds) if batch is None else batch.candidates(d)
    top = found[0] if found else None
    if top is not None and top.grade == "certain" and top.method != "scored":
        others = [c.patient_id for c in found[1:] if c.grade == "certain" and c.method != "scored"]
        if others:  # the hub already holds this person twice: a person must merge them
            warnings.append(
                f"Patient/{top.patient_id} and {', '.join(f'Patient/{o}' for o in others)} hold identifiers "
                "of this record: they may be one person (Patient/$merge)"
            )
        prov = _absorb(store, top, incoming, source_org, always_record=False, batch=batch)
        return Resolution(top.patient_id, "matched", 1.0, found, prov, warnings=warnings)
    if top is not None and top.score >= thresholds.upper:
        prov = _absorb(store, top, incoming, source_org, always_record=True, batch=batch)
        return Resolution(top.patient_id, "linked", top.score, found, prov, warnings=warnings)
    if batch is None:
        created = write(store, "Patient", incoming, tenant=source_org).id
    else:
        created = batch.create(incoming)
    if top is not None and top.score >= thresholds.lower:
        if batch is not None:  # the review Task names the new Patient: it is written first
            batch.flush()
        task = write(store, "Task", rec.review_task(created, top.patient_id, top.score, source_org))
        return Resolution(created, "review", top.score, found, task_id=task.id, warnings=warnings)
    return Resolution(created, "new", top.score if top else None, found, warnings=warnings)


@dataclass
class _Local:
    """A Patient this batch wrote or will write: what the index will say of it."""

    order: tuple  # its place among patients sharing as many keys: (0, pid) stored, (1, n) new
    demographics: object
    keys: frozenset
    candidate: bool


class Batch:
    """Several records resolved in one transaction, in order, with the outcomes ``resolve`` gives
    them one after the other -- but with one candidate query for all of them (``prefetch``) and the
    new Patients written together (``Store.create_many``, at ``flush``).

    Each record is matched against the query's answer for its blocking keys, corrected by what the
    batch itself did: a Patient it made or changed is compared as it is now (two records of one
    person in a batch are one Patient). A record whose keys were not prefetched, or whose block was
    cut by the limit, is resolved as ``resolve`` does, after ``flush``. New Patients are written at
    ``flush``, which the caller runs before anything it writes may name them (and at the end); a
    Patient made in the batch that another record links to is written before it changes."""

    def __init__(self, conn, hub, source_org: str | None, thresholds: Thresholds = DEFAULT):
        self.conn, self.hub, self.source_org, self.thresholds = conn, hub, source_org, thresholds
        self.store = hub.fhir.store(conn, PRINCIPAL)
        self._found: dict[tuple, tuple[list, bool]] = {}  # blocking keys -> (indexed, cut by the limit)
        self._local: dict[str, _Local] = {}  # fhir id -> as the batch left it
        self._pids: dict[str, int] = {}  # fhir id -> pid, of the stored patients seen
        self._pending: list[tuple[str, dict]] = []  # new Patients not written yet
        self._checked: dict | None = None  # the record being resolved, if validated by the caller
        # id(record) -> (record, prepared, demographics): a record's turn, its candidates, its
        # resolution and the Patient made of it read the same demographics, worked out once.
        self._prepared: dict[int, tuple[dict, dict, object]] = {}

    def _prepare(self, patient: dict) -> tuple[dict, object]:
        """``prepare(patient)`` and its demographics, once per record object of the batch."""
        seen = self._prepared.get(id(patient))
        if seen is not None and seen[0] is patient:
            return seen[1], seen[2]
        incoming = prepare(patient, self.source_org)
        d = demographics(incoming)
        self._prepared[id(patient)] = (patient, incoming, d)
        self._prepared[id(incoming)] = (incoming, incoming, d)
        return incoming, d

    def take_turns(self, patients: list[dict]) -> None:
        """Take the turns of several records about to be resolved in this transaction at once, in one
        statement and in a fixed order: two transactions that resolve several people each then never
        wait for one another in a cycle. ``resolve`` does not take a turn the transaction holds."""
        if self.hub.db.is_sqlite or not patients:
            return
        keys = set()
        for patient in patients:
            try:
                keys.add(_turn(self._prepare(patient)[1]))
            except HubError:  # refused when it is resolved
                continue
        _take(self.conn, sorted(keys - _held(self.conn)))

    def prefetch(self, patients: list[dict]) -> None:
        """Take the turns of these records (if not yet taken) and fetch their candidates, in one query
        for all."""
        ds = []
        for patient in patients:
            try:
                ds.append(self._prepare(patient)[1])
            except HubError:  # refused when it is resolved
                continue
        if not ds:
            return
        if not self.hub.db.is_sqlite:
            _take(self.conn, sorted({_turn(d) for d in ds} - _held(self.conn)))
        wanted = {}
        for d in ds:
            keys = tuple(index.keys_of(d))
            if keys and keys not in self._found:
                wanted[keys] = d
        if not wanted:
            return
        index.flush(self.conn, {k for keys in wanted for k in keys})
        for keys, got in zip(wanted, index.block_many(self.conn, list(wanted.values())), strict=True):
            self._found[keys] = got
            self._pids.update((i.fhir_id, i.pid) for i in got[0])

    def resolve(self, incoming_patient: dict, checked: bool = False) -> Resolution:
        """The hub Patient that is this person (``resolve``). ``checked``: the caller has validated
        ``incoming_patient`` as the API does (``check_resource``); if preparing it changes nothing,
        a new Patient made of it is not validated a second time."""
        incoming, d = self._prepare(incoming_patient)
        self._checked = incoming if checked and incoming == incoming_patient else None
        return _remembered(
            self.conn,
            incoming,
            self.source_org,
            lambda: _resolve(self.conn, self.hub, incoming, self.source_org, self.thresholds, self, d),
        )

    def candidates(self, d) -> list[Candidate]:
        keys = index.keys_of(d)
        got = self._found.get(tuple(keys))
        if got is not None and not got[1]:
            found = [i for i in got[0] if i.fhir_id not in self._local]
            for fid, loc in self._local.items():
                n = index.shared_weight(keys, loc.keys) if loc.candidate else 0
                if n:
                    found.append(
                        index.Indexed(loc.order[1] if loc.order[0] == 0 else 0, fid, loc.demographics, n)
                    )
            if len(found) <= index.BLOCK_LIMIT:
                order = {fid: loc.order for fid, loc in self._local.items()}
                found.sort(key=lambda i: (-i.shared_keys, order.get(i.fhir_id, (0, i.pid))))
                return matching.rank(d, found, self.thresholds)
        # Not prefetched, or more candidates than the limit: asked of the index as ``resolve`` does.
        self.flush()
        return matching.candidates(self.conn, d, self.thresholds)

    def create(self, incoming: dict) -> str:
        """A new Patient, validated now (unless the caller did) and written at ``flush``: its id."""
        if incoming is not self._checked:
            check_resource(incoming, "Patient")
        fid = new_id()
        self._pending.append((fid, incoming))
        self._note(fid, incoming, (1, len(self._local)))
        return fid

    def changed(self, fid: str, patient: dict) -> None:
        """A stored Patient the batch has just changed to ``patient``."""
        order = self._local[fid].order if fid in self._local else (0, self._pids.get(fid, 0))
        self._note(fid, patient, order)

    def pending(self, fid: str) -> bool:
        return any(f == fid for f, _ in self._pending)

    def flush(self) -> None:
        """Write the new Patients not written yet, in one ``Store.create_many``."""
        if not self._pending:
            return
        items = [(PATIENT, body, fid) for fid, body in self._pending]
        self._pending = []
        self.store.create_many(items, tenant=self.source_org)

    def _note(self, fid: str, patient: dict, order: tuple) -> None:
        seen = self._prepared.get(id(patient))
        d = seen[2] if seen is not None and seen[0] is patient else demographics(patient)
        self._local[fid] = _Local(order, d, frozenset(index.keys_of(d)), index.is_candidate(patient))


def _serialise(db, conn, d) -> None:
    """Two records of one person resolved at once must not both become new Patients: on PostgreSQL
    resolutions of people with the same birth date (else the same first blocking key) take turns.
    SQLite's single writer already serialises them."""
    if db.is_sqlite:
        return
    key = _turn(d)
    if key not in _held(conn):
        _take(conn, [key])


_HELD = "xietong.empi_turns"  # conn.info: (transaction, the turns it holds)


def _turn(d) -> int:
    keys = index.keys_of(d)
    return h64("empi", next((k for k in keys if k.startswith("b:")), keys[0] if keys else "none"))


def _held(conn) -> set[int]:
    held = conn.info.get(_HELD)
    return held[1] if held is not None and held[0] is conn.get_transaction() else set()


def _take(conn, keys: list[int]) -> None:
    if not keys:
        return
    # unnest yields the keys in the array's order, and the locks are taken in that order.
    conn.execute(
        text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:ks AS bigint[])) AS k"), {"ks": keys}
    )
    held = conn.info.get(_HELD)
    if held is None or held[0] is not conn.get_transaction():
        held = conn.info[_HELD] = (conn.get_transaction(), set())
    held[1].update(keys)


def _absorb(
    store,
    cand: Candidate,
    incoming: dict,
    source_org: str | None,
    always_record: bool,
    batch: Batch | None = None,
) -> str | None:
    """Add what ``incoming`` brings to the candidate; record the link (a Provenance) if anything
    changed, or always for a scored link (so that it can be undone)."""
    if batch is not None and batch.pending(cand.patient_id):
        batch.flush()  # made earlier in the batch: stored as made, then changed (as one by one)
    current = store.read(PATIENT, cand.patient_id)
    merged, changed = rec.absorb(current.resource(), incoming)
    version = current.version
    if changed:
        try:  # merged into the version read: a transaction that changed it meanwhile goes first
            version = write(store, "Patient", merged, cand.patient_id, if_match=version).version
        except PreconditionFailed:
            raise Conflict(
                f"Patient/{cand.patient_id} was changed by a concurrent transaction while this record "
                "was being linked to it; nothing was stored, send it again",
                ["Patient"],
            ) from None
        if batch is not None:
            batch.changed(cand.patient_id, merged)
    if not changed and not always_record:
        return None
    prov = rec.provenance(
        "link",
        [f"Patient/{cand.patient_id}/_history/{version}"],
        source_org,
        score=cand.score,
        method=cand.method,
        incoming=incoming,
        entities=[("revision", f"Patient/{cand.patient_id}/_history/{current.version}")] if changed else [],
    )
    return write(store, "Provenance", prov, tenant=source_org).id


def write(
    store,
    rtype: str,
    resource: dict,
    fid: str | None = None,
    tenant: str | None = None,
    if_match: int | None = None,
):
    """Validate (as the API does) and store: a create, or an update of ``fid`` (of its version
    ``if_match``, if given)."""
    if fid is not None:
        resource = {**resource, "id": fid}
    check_resource(resource, rtype)
    if fid is None:
        return store.create(TYPES[rtype], resource, tenant=tenant)
    return store.update(TYPES[rtype], fid, resource, if_match=if_match)[0]
