"""EMPI commands behind the API: ``$match`` (a read), ``$merge`` and ``$unlink`` (one write
transaction each). The views in ``hub.empi.operations`` only parse and shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import select

from adapters.normalise import demographics
from hub.audit.recorder import Touched, record_access
from hub.auth.principal import Principal
from hub.auth.tenancy import Policy
from hub.empi import matching
from hub.empi import records as rec
from hub.empi.resolver import PRINCIPAL, prepare, write
from hub.empi.score import DEFAULT, Thresholds
from hub.errors import BadRequest, Conflict, Forbidden, NotFound
from hub.fhir import dates, search
from hub.fhir.extract import parse_reference
from hub.fhir.parse import check_structure
from hub.fhir.registry import TYPES
from hub.models import resource_tables

PATIENT = TYPES["Patient"]
PROVENANCE = TYPES["Provenance"]
MATCH_FLOOR = 0.5  # below this a candidate is not worth showing
MAX_COUNT = 100


@dataclass(frozen=True)
class Found:
    candidate: matching.Candidate
    body: str
    tenant: str | None


def match(
    db,
    principal: Principal,
    patient: dict,
    count: int = 10,
    only_certain: bool = False,
    thresholds: Thresholds = DEFAULT,
) -> list[Found]:
    """The hub Patients the caller may see that ``patient`` may be, best first (FHIR ``$match``)."""
    check_structure(patient, "Patient")
    d = demographics(prepare(patient, principal.organization))
    policy = Policy(principal)
    cond = policy.read_filter(PATIENT)
    with db.read() as conn:
        found = [
            c
            for c in matching.candidates(conn, d, thresholds, cond, with_body=True)
            if c.grade == "certain" or (not only_certain and c.score >= MATCH_FLOOR)
        ][:count]
    out = [Found(c, c.body, c.tenant) for c in found]
    record_access(
        db,
        principal,
        "search-type",
        [Touched("Patient", f.candidate.patient_id, f.tenant, f.candidate.patient_id) for f in out],
        query="Patient/$match",
    )
    return out


# --------------------------------------------------------------------------- merge and unlink


def _office_only(principal: Principal, what: str) -> None:
    if not (principal.kind == "system" or principal.is_admin):
        raise Forbidden(f"{what} is done by the alliance office (an admin of the hub)")


def _patient_ref(value: str, element: str) -> str:
    parsed = parse_reference(value or "")
    if not parsed or parsed[0] != "Patient":
        raise BadRequest(f"{element} must reference a Patient (Patient/<id>)", [element])
    return parsed[1]


def merge(hub, principal: Principal, source_id: str, target_id: str, task_id: str | None = None) -> dict:
    """One person: ``source`` is replaced by ``target`` (Patient.link replaced-by / replaces,
    ``source`` inactive), ``target`` gains ``source``'s identifiers, names and telecoms; a
    Provenance records it; the review Task, if named, is completed. Undo: ``$unlink``."""
    _office_only(principal, "merging patients")
    if source_id == target_id:
        raise BadRequest("a Patient cannot be merged into itself", ["source-patient"])
    with hub.db.write() as conn:
        store = hub.fhir.store(conn, PRINCIPAL)
        source = store.read(PATIENT, source_id)
        target = store.read(PATIENT, target_id)
        src, tgt = source.resource(), target.resource()
        for res, name in ((src, "source-patient"), (tgt, "target-patient")):
            if any(link.get("type") == "replaced-by" for link in res.get("link") or []):
                raise Conflict(f"Patient/{res['id']} was already merged into another record", [name])
        incoming = {k: v for k, v in src.items() if k not in ("link", "active")}
        merged, _ = rec.absorb(tgt, incoming)
        merged = rec.with_link(merged, source_id, "replaces")
        new_target = write(store, "Patient", merged, target_id)
        retired = rec.with_link(
            {k: v for k, v in src.items() if k not in ("meta", "text")}, target_id, "replaced-by"
        )
        retired["active"] = False
        new_source = write(store, "Patient", retired, source_id)
        prov = rec.provenance(
            "merge",
            [
                f"Patient/{target_id}/_history/{new_target.version}",
                f"Patient/{source_id}/_history/{new_source.version}",
            ],
            None,
            entities=[
                ("revision", f"Patient/{target_id}/_history/{target.version}"),
                ("revision", f"Patient/{source_id}/_history/{source.version}"),
            ],
            reason=f"merged by {principal.id}",
        )
        stored_prov = write(store, "Provenance", prov, tenant=source.tenant)
        if task_id:
            _close_task(store, task_id, "merged", stored_prov.id)
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "outcome", "valueCode": "merged"},
            {"name": "result", "valueReference": {"reference": f"Patient/{target_id}"}},
            {"name": "provenance", "valueReference": {"reference": f"Provenance/{stored_prov.id}"}},
        ],
    }


def _close_task(store, task_id: str, outcome: str, provenance_id: str) -> None:
    task = store.read(TYPES["Task"], task_id).resource()
    task = {k: v for k, v in task.items() if k not in ("meta", "text")}
    task["status"] = "completed"
    task["businessStatus"] = {"text": outcome}
    task["output"] = [
        {"type": {"text": "provenance"}, "valueReference": {"reference": f"Provenance/{provenance_id}"}}
    ]
    write(store, "Task", task, task_id)


def unlink(hub, principal: Principal, patient_id: str, provenance_id: str) -> dict:
    """Undo a link (``resolve``'s ``linked``/``matched``) or a merge recorded by ``provenance_id``:
    what it added to the hub Patient is taken away again, and the other record stands on its own
    (made again from the snapshot the link kept, or the merged record re-activated)."""
    with hub.db.write() as conn:
        store = hub.fhir.store(conn, PRINCIPAL)
        prov = store.read(PROVENANCE, provenance_id).resource()
        activity = {
            c.get("code")
            for c in (prov.get("activity") or {}).get("coding") or []
            if c.get("system") == rec.activity_system()
        }
        author = next(
            (
                parse_reference((a.get("who") or {}).get("reference", ""))
                for a in prov.get("agent") or []
                if any(c.get("code") == "author" for c in (a.get("type") or {}).get("coding") or [])
            ),
            None,
        )
        if not (
            principal.kind == "system"
            or principal.is_admin
            or (author and author[1] == principal.organization)
        ):
            raise Forbidden(
                "a link is undone by the alliance office or by the institution whose record it linked"
            )
        if not activity & {"link", "merge"}:
            raise BadRequest(
                f"Provenance/{provenance_id} does not record an EMPI link or merge", ["provenance"]
            )
        targets = [t.get("reference", "") for t in prov.get("target") or []]
        if not targets or _patient_ref(targets[0], "provenance") != patient_id:
            raise BadRequest(
                f"Provenance/{provenance_id} does not record a link of Patient/{patient_id}", ["provenance"]
            )
        undone = search.resolve_conditional(conn, PROVENANCE, f"entity=Provenance/{provenance_id}")
        if undone:
            raise Conflict(
                f"the link recorded by Provenance/{provenance_id} was already undone", ["provenance"]
            )
        after_version = int(targets[0].rsplit("/", 1)[1])
        revisions = [
            (e.get("what") or {}).get("reference", "")
            for e in prov.get("entity") or []
            if e.get("role") == "revision"
        ]
        after = store.vread(PATIENT, patient_id, after_version).resource()
        before_ref = next((r for r in revisions if _patient_ref(r, "provenance") == patient_id), None)
        before = (
            store.vread(PATIENT, patient_id, int(before_ref.rsplit("/", 1)[1])).resource()
            if before_ref
            else after
        )
        if "merge" in activity:
            other_id = _patient_ref(targets[1], "provenance")
            current = store.read(PATIENT, patient_id).resource()
            restored = rec.without_links_to(rec.strip_added(current, before, after), other_id)
            new_hub = write(store, "Patient", _body(restored), patient_id)
            other_before_ref = next(r for r in revisions if _patient_ref(r, "provenance") == other_id)
            other = store.vread(PATIENT, other_id, int(other_before_ref.rsplit("/", 1)[1])).resource()
            new_other = write(store, "Patient", _body(other), other_id)
            tenant = store.read(PATIENT, other_id).tenant
        else:
            source_org = author[1] if author else None
            contained = next((c for c in prov.get("contained") or [] if c.get("id") == rec.INCOMING), None)
            if contained is None:
                raise Conflict(
                    f"Provenance/{provenance_id} kept no copy of the linked record", ["provenance"]
                )
            current = store.read(PATIENT, patient_id).resource()
            new_hub = write(store, "Patient", _body(rec.strip_added(current, before, after)), patient_id)
            new_other = write(store, "Patient", _body(contained), tenant=source_org)
            other_id, tenant = new_other.id, source_org
        # What the other record's institution filed against the hub Patient since the link goes
        # with the record it belongs to.
        since = dates.parse_range(prov["recorded"])[0] if prov.get("recorded") else None
        moved = move_records(conn, store, patient_id, other_id, tenant, since)
        undo = rec.provenance(
            "unlink",
            [
                f"Patient/{patient_id}/_history/{new_hub.version}",
                f"Patient/{other_id}/_history/{new_other.version}",
            ],
            author[1] if author else None,
            entities=[("removal", f"Provenance/{provenance_id}"), *(("derivation", m) for m in moved)],
            reason=f"undone by {principal.id}",
        )
        stored = write(store, "Provenance", undo, tenant=tenant)
    if not stored:
        raise NotFound("nothing was undone")
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "outcome", "valueCode": "unlinked"},
            {"name": "patient", "valueReference": {"reference": f"Patient/{patient_id}"}},
            {"name": "other", "valueReference": {"reference": f"Patient/{other_id}"}},
            {"name": "provenance", "valueReference": {"reference": f"Provenance/{stored.id}"}},
            *({"name": "moved", "valueReference": {"reference": m}} for m in moved),
        ],
    }


def move_records(conn, store, from_id: str, to_id: str, tenant: str | None, since) -> list[str]:
    """Re-point to ``to_id`` the records ``tenant`` wrote about ``from_id`` since ``since`` (the
    AuditEvents, which are never changed, and the EMPI's own Provenances excepted)."""
    if tenant is None:
        return []
    moved = []
    for rt in TYPES.values():
        if not rt.patient_param or rt.name in ("Patient", "AuditEvent"):
            continue
        t = resource_tables[rt.name]
        q = select(t.c.fhir_id, t.c.body).where(
            t.c.patient == from_id, t.c.tenant == tenant, t.c.deleted.is_(False)
        )
        if since is not None:
            q = q.where(t.c.last_updated >= since)
        for row in conn.execute(q).all():
            body = orjson.loads(row.body)
            if rt.name == "Provenance" and _is_empi(body):
                continue
            write(store, rt.name, _body(_repoint(body, from_id, to_id)), row.fhir_id)
            moved.append(f"{rt.name}/{row.fhir_id}")
    return moved


def _is_empi(provenance: dict) -> bool:
    codings = (provenance.get("activity") or {}).get("coding") or []
    return any(c.get("system") == rec.activity_system() for c in codings)


def _repoint(node, from_id: str, to_id: str):
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "reference" and isinstance(v, str) and parse_reference(v) == ("Patient", from_id):
                out[k] = f"Patient/{to_id}"
            else:
                out[k] = _repoint(v, from_id, to_id)
        return out
    if isinstance(node, list):
        return [_repoint(v, from_id, to_id) for v in node]
    return node


def _body(resource: dict) -> dict:
    return {k: v for k, v in resource.items() if k not in ("id", "meta", "text")}
