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
from hub.errors import HubError, Issue, Unprocessable
from hub.fhir.extract import h64
from hub.fhir.parse import check_resource
from hub.fhir.registry import TYPES
from hub.fhir.store import on_write

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
    key = None
    if incoming.get("identifier"):
        key = (source_org, orjson.dumps(incoming, option=orjson.OPT_SORT_KEYS, default=str))
        seen = _resolved(conn).get(key)
        if seen is not None:
            pid, warnings = seen
            same = Candidate(pid, 1.0, "certain", "identifier", {"identifier": 1.0})
            return Resolution(pid, "matched", 1.0, [same], warnings=list(warnings))
    r = _resolve(conn, hub, incoming, source_org, thresholds)
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


def _resolve(conn, hub, incoming: dict, source_org: str | None, thresholds: Thresholds) -> Resolution:
    store = hub.fhir.store(conn, PRINCIPAL)
    d = demographics(incoming)
    warnings = cross_check(incoming)
    _serialise(hub.db, conn, d)
    found = matching.candidates(conn, d, thresholds)
    top = found[0] if found else None
    if top is not None and top.grade == "certain" and top.method != "scored":
        others = [c.patient_id for c in found[1:] if c.grade == "certain" and c.method != "scored"]
        if others:  # the hub already holds this person twice: a person must merge them
            warnings.append(
                f"Patient/{top.patient_id} and {', '.join(f'Patient/{o}' for o in others)} hold identifiers "
                "of this record: they may be one person (Patient/$merge)"
            )
        prov = _absorb(store, top, incoming, source_org, always_record=False)
        return Resolution(top.patient_id, "matched", 1.0, found, prov, warnings=warnings)
    if top is not None and top.score >= thresholds.upper:
        prov = _absorb(store, top, incoming, source_org, always_record=True)
        return Resolution(top.patient_id, "linked", top.score, found, prov, warnings=warnings)
    created = write(store, "Patient", incoming, tenant=source_org)
    if top is not None and top.score >= thresholds.lower:
        task = write(store, "Task", rec.review_task(created.id, top.patient_id, top.score, source_org))
        return Resolution(created.id, "review", top.score, found, task_id=task.id, warnings=warnings)
    return Resolution(created.id, "new", top.score if top else None, found, warnings=warnings)


def _serialise(db, conn, d) -> None:
    """Two records of one person resolved at once must not both become new Patients: on PostgreSQL
    resolutions of people with the same birth date (else the same first blocking key) take turns.
    SQLite's single writer already serialises them."""
    if db.is_sqlite:
        return
    key = _turn(d)
    if key not in _held(conn):
        _take(conn, [key])


def serialise_all(db, conn, patients: list[dict], source_org: str | None) -> None:
    """Take the turns of several patients about to be resolved in this transaction at once, in one
    statement and in a fixed order: two transactions that resolve several people each then never
    wait for one another in a cycle. ``resolve`` does not take a turn the transaction holds."""
    if db.is_sqlite or not patients:
        return
    keys = set()
    for patient in patients:
        try:
            keys.add(_turn(demographics(prepare(patient, source_org))))
        except HubError:  # refused when it is resolved
            continue
    _take(conn, sorted(keys - _held(conn)))


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
    store, cand: Candidate, incoming: dict, source_org: str | None, always_record: bool
) -> str | None:
    """Add what ``incoming`` brings to the candidate; record the link (a Provenance) if anything
    changed, or always for a scored link (so that it can be undone)."""
    current = store.read(PATIENT, cand.patient_id)
    merged, changed = rec.absorb(current.resource(), incoming)
    version = current.version
    if changed:
        version = write(store, "Patient", merged, cand.patient_id).version
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


def write(store, rtype: str, resource: dict, fid: str | None = None, tenant: str | None = None):
    """Validate (as the API does) and store: a create, or an update of ``fid``."""
    if fid is not None:
        resource = {**resource, "id": fid}
    check_resource(resource, rtype)
    if fid is None:
        return store.create(TYPES[rtype], resource, tenant=tenant)
    return store.update(TYPES[rtype], fid, resource)[0]
