"""The ``fhir`` adapter: FHIR R4/R4B JSON with local codes and local identifiers (a modern HIS).

A payload is one resource or one Bundle (any type), or NDJSON with one of those a line. A Bundle is
one unit: its Patients are linked by the EMPI, its references are kept inside the unit, and its
records are stored together or not at all. Local codings whose system has a code map get the
standard coding added in front; the local coding stays.
"""

from __future__ import annotations

from collections.abc import Iterator

from hub.auth.tenancy import DIRECTORY
from hub.errors import HubError
from hub.fhir.parse import parse_json

from .mapping import Mapping
from .patient import identifier
from .pipeline import PATIENT_REF, RECORD_REF, Piece, Record, Rejected, Unit, map_codings, validate

name = "fhir"
SERVER_META = ("versionId", "lastUpdated", "source")


def split(payload: bytes, source: str, mapping: Mapping) -> Iterator[Piece]:
    text = payload.lstrip(b"\xef\xbb\xbf").strip()
    lines = text.split(b"\n")
    if len(lines) > 1 and all(
        ln.strip().startswith(b"{") and ln.strip().endswith(b"}") for ln in lines if ln.strip()
    ):
        n = 0
        for ln in lines:
            if ln.strip():
                n += 1
                yield Piece(ln.strip(), f"{source}#{n}")
        return
    yield Piece(payload, source)


def translate(piece: Piece, mapping: Mapping) -> Unit:
    try:
        doc = parse_json(piece.raw.lstrip(b"\xef\xbb\xbf"))
    except HubError as exc:
        raise Rejected("parse", str(exc), "$") from None
    rtype = doc.get("resourceType")
    if not isinstance(rtype, str):
        raise Rejected("parse", "the JSON object has no resourceType", "resourceType")
    unit = Unit(message_id=f"{rtype}/{doc['id']}" if isinstance(doc.get("id"), str) else None)
    if rtype == "Bundle":
        entries = []
        for i, e in enumerate(doc.get("entry") or []):
            res = (e or {}).get("resource")
            if not isinstance(res, dict) or not isinstance(res.get("resourceType"), str):
                raise Rejected("parse", f"Bundle.entry[{i}] holds no resource", f"Bundle.entry[{i}].resource")
            entries.append((e.get("fullUrl"), res, f"Bundle.entry[{i}].resource"))
    else:
        entries = [(None, doc, rtype)]

    # Every way the unit's records may name one another: fullUrl and Type/id.
    patient_refs: dict[str, str] = {}
    record_refs: dict[str, str] = {}
    patients = 0
    for full_url, res, _ in entries:
        names = [n for n in (full_url, _type_id(res)) if n]
        if res["resourceType"] == "Patient":
            ref = f"{PATIENT_REF}{patients}"
            patients += 1
            for n in names:
                patient_refs[n] = ref
        else:
            key = full_url or _type_id(res) or f"{res['resourceType']}#{len(record_refs)}"
            for n in names:
                record_refs[n] = f"{RECORD_REF}{key}"

    for full_url, res, where in entries:  # the parsed document is the unit's own: changed in place
        res.pop("id", None)
        meta = {k: v for k, v in (res.get("meta") or {}).items() if k not in SERVER_META}
        if meta:
            res["meta"] = meta
        else:
            res.pop("meta", None)
        _rewrite(res, patient_refs, record_refs, mapping)
        if res["resourceType"] == "Patient":
            unit.patients.append(_patient(res, mapping, where))
            continue
        map_codings(res, mapping, unit, res["resourceType"])
        key = full_url or _type_id(res) or _identifier_key(res)
        local = record_refs.get(full_url) or record_refs.get(_type_id(res) or "")
        unit.records.append(
            Record(
                res,
                source_key=f"fhir|{key}" if key else None,
                local_ref=local[len(RECORD_REF) :] if local else None,
                shared=res["resourceType"] in DIRECTORY,
            )
        )
    if not unit.patients:
        stub = _subject_stub(unit, mapping)
        if stub is None:
            validate(unit)  # what is wrong with the records themselves is the more useful answer
            raise Rejected(
                "map",
                "no Patient in the payload and no record names its patient by identifier "
                "(subject.identifier); the hub cannot tell whose record this is",
                "subject",
            )
        unit.patients.append(stub)
    return unit


def _type_id(res: dict) -> str | None:
    fid = res.get("id")
    return f"{res['resourceType']}/{fid}" if isinstance(fid, str) else None


def _identifier_key(res: dict) -> str | None:
    idents = res.get("identifier")
    if isinstance(idents, dict):
        idents = [idents]
    for i in idents or []:
        if isinstance(i, dict) and i.get("system") and i.get("value"):
            return f"{res['resourceType']}|{i['system']}|{i['value']}"
    return None


def _rewrite(node, patient_refs: dict, record_refs: dict, mapping: Mapping) -> None:
    """References inside the unit point at its patients and records; others are kept as identifiers."""
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str) and not ref.startswith("#"):
            if ref in patient_refs:
                node["reference"] = patient_refs[ref]
            elif ref in record_refs:
                node["reference"] = record_refs[ref]
            else:
                # A source cannot know the hub's ids: a reference to something the unit does not hold
                # keeps what it said as an identifier, not a dangling link.
                del node["reference"]
                node.setdefault(
                    "identifier", {"system": mapping.local_system("reference"), "value": ref[:200]}
                )
        for k, v in node.items():  # into elements only: a value holds no reference
            if k != "contained" and isinstance(v, dict | list):
                _rewrite(v, patient_refs, record_refs, mapping)
    elif isinstance(node, list):
        for v in node:
            if isinstance(v, dict | list):
                _rewrite(v, patient_refs, record_refs, mapping)


def _patient(res: dict, mapping: Mapping, where: str) -> dict:
    idents = []
    for n, i in enumerate(res.get("identifier") or []):
        type_code = next((c.get("code") for c in (i.get("type") or {}).get("coding") or []), None)
        kind = mapping.identifier_kind(v2_type=type_code, system=i.get("system"))
        if kind and i.get("value"):
            idents.append(identifier(mapping, kind, i["value"], f"{where}.identifier[{n}]"))
        elif i.get("value"):
            idents.append(i)
    res["identifier"] = idents
    return res


def _subject_stub(unit: Unit, mapping: Mapping) -> dict | None:
    """A record sent alone names its patient by a logical reference (an MRN or ID card number)."""
    for record in unit.records:
        for field in ("subject", "patient", "for"):
            ref = record.resource.get(field)
            ident = (ref or {}).get("identifier") if isinstance(ref, dict) else None
            if ident and ident.get("value") and ident.get("system") != mapping.local_system("reference"):
                type_code = next((c.get("code") for c in (ident.get("type") or {}).get("coding") or []), None)
                kind = mapping.identifier_kind(v2_type=type_code, system=ident.get("system")) or "mrn"
                hub_ident = identifier(
                    mapping, kind, ident["value"], f"{record.resource['resourceType']}.{field}"
                )
                for r in unit.records:
                    for f in ("subject", "patient", "for"):
                        other = r.resource.get(f)
                        if isinstance(other, dict) and other.get("identifier") == ident:
                            r.resource[f] = {"reference": f"{PATIENT_REF}0"}
                return {"resourceType": "Patient", "identifier": [hub_ident]}
    return None
