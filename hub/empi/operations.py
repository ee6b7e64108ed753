"""The EMPI's FHIR operations: ``Patient/$match`` (FHIR R4), ``Patient/$merge`` (after the R5
operation of that name) and ``Patient/{id}/$unlink`` (undo a link or merge).

``$match`` takes ``resource`` (a Patient, required), ``count`` and ``onlyCertainMatches`` and
answers a searchset Bundle, best first, each entry with ``search.mode = match``, ``search.score``
and the ``match-grade`` extension (certain | probable | possible).
"""

from __future__ import annotations

from hub.empi import records as rec
from hub.empi import service
from hub.errors import BadRequest
from hub.fhir import bundles
from hub.fhir.operations import Call, operation


def _one(params: dict, name: str, kind: str, required: bool = False):
    entries = params.get(name) or []
    if len(entries) > 1:
        raise BadRequest(f"parameter '{name}' may be given once", [f"Parameters.parameter:{name}"])
    if not entries:
        if required:
            raise BadRequest(f"parameter '{name}' is required", [f"Parameters.parameter:{name}"])
        return None
    p = entries[0]
    if kind == "resource":
        value = p.get("resource")
    elif "valueString" in p and kind != "valueString":  # from the query string
        value = _from_text(p["valueString"], kind, name)
    else:
        value = p.get(kind)
    if value is None:
        raise BadRequest(f"parameter '{name}' must carry {kind}", [f"Parameters.parameter:{name}"])
    return value


def _from_text(text: str, kind: str, name: str):
    if kind == "valueInteger":
        if not text.isdigit():
            raise BadRequest(f"parameter '{name}' must be a positive integer", [name])
        return int(text)
    if kind == "valueBoolean":
        if text not in ("true", "false"):
            raise BadRequest(f"parameter '{name}' must be true or false", [name])
        return text == "true"
    if kind == "valueReference":
        return {"reference": text}
    return text


@operation("Patient", "match", instance=False, interaction="search")
def patient_match(call: Call) -> dict:
    params = call.params()
    patient = _one(params, "resource", "resource", required=True)
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise BadRequest("parameter 'resource' must be a Patient", ["Parameters.parameter:resource"])
    count = _one(params, "count", "valueInteger")
    count = 10 if count is None else count
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise BadRequest("parameter 'count' must be a positive integer", ["Parameters.parameter:count"])
    only_certain = bool(_one(params, "onlyCertainMatches", "valueBoolean"))
    found = service.match(call.hub.db, call.principal, patient, min(count, service.MAX_COUNT), only_certain)
    from hub.api.auth import fhir_base_url

    base = fhir_base_url()
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "link": [{"relation": "self", "url": f"{base}/Patient/$match"}],
    }
    if found:
        bundle["entry"] = [
            {
                "fullUrl": f"{base}/Patient/{f.candidate.patient_id}",
                "resource": bundles.fragment(f.body),
                "search": {
                    "extension": [{"url": rec.MATCH_GRADE, "valueCode": f.candidate.grade}],
                    "mode": "match",
                    "score": f.candidate.score,
                },
            }
            for f in found
        ]
    return bundle


@operation("Patient", "merge", instance=False, interaction="update")
def patient_merge(call: Call) -> dict:
    params = call.params()
    source = _one(params, "source-patient", "valueReference", required=True)
    target = _one(params, "target-patient", "valueReference", required=True)
    task = _one(params, "task", "valueReference")
    return service.merge(
        call.hub,
        call.principal,
        service._patient_ref(source.get("reference", ""), "source-patient"),
        service._patient_ref(target.get("reference", ""), "target-patient"),
        _task_id(task),
    )


def _task_id(ref: dict | None) -> str | None:
    if ref is None:
        return None
    value = ref.get("reference", "")
    if not value.startswith("Task/") or "/" in value[5:] or not value[5:]:
        raise BadRequest("parameter 'task' must reference a Task (Task/<id>)", ["Parameters.parameter:task"])
    return value[5:]


@operation("Patient", "unlink", instance=True, interaction="update")
def patient_unlink(call: Call) -> dict:
    params = call.params()
    prov = _one(params, "provenance", "valueReference", required=True)
    value = prov.get("reference", "")
    if not value.startswith("Provenance/") or not value[11:] or "/" in value[11:]:
        raise BadRequest(
            "parameter 'provenance' must reference the Provenance of the link (Provenance/<id>)",
            ["Parameters.parameter:provenance"],
        )
    return service.unlink(call.hub, call.principal, call.fid, value[11:])
