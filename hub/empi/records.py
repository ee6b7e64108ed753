"""The FHIR records the EMPI writes, as pure functions: the merged Patient, the Provenance of a link,
the review Task. No database here.
"""

from __future__ import annotations

from adapters.normalise import name_forms, normalise_phone
from hub.fhir import dates
from hub.fhir.validation import canonical

EMPI_ACTIVITY = "empi-activity"  # hub CodeSystem: link | merge | unlink
EMPI_TASK = "empi-task"  # hub CodeSystem: review-match
SCORE_EXT = "empi-match-score"
METHOD_EXT = "empi-match-method"
MATCH_GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
PROVENANCE_AGENT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
INCOMING = "incoming"  # the id of the contained snapshot of the record that was linked


def activity_system() -> str:
    return canonical("CodeSystem", EMPI_ACTIVITY)


def task_system() -> str:
    return canonical("CodeSystem", EMPI_TASK)


def ext_url(name: str) -> str:
    return canonical("StructureDefinition", name)


# --------------------------------------------------------------------------- merging demographics


def _name_key(name: dict) -> tuple:
    return tuple(sorted((f.tokens, f.han) for f in name_forms(name)))


def _ident_key(ident: dict) -> tuple[str | None, str | None]:
    return ident.get("system"), ident.get("value")


def _telecom_key(t: dict) -> tuple[str | None, str | None]:
    value = t.get("value") or ""
    return t.get("system"), normalise_phone(value) if t.get("system") in ("phone", "sms") else value


def absorb(target: dict, incoming: dict) -> tuple[dict, bool]:
    """``target`` with what ``incoming`` adds to it: identifiers, names and telecoms it lacks,
    birth date and gender if it has none. Nothing of ``target`` is overwritten. ``(result, changed)``."""
    out = {k: v for k, v in target.items() if k not in ("meta", "text")}
    changed = False
    for field, keyf in (("identifier", _ident_key), ("name", _name_key), ("telecom", _telecom_key)):
        have = list(out.get(field) or [])
        keys = {keyf(x) for x in have}
        for item in incoming.get(field) or []:
            k = keyf(item)
            if k not in keys:
                have.append(item)
                keys.add(k)
                changed = True
        if have:
            out[field] = have
    for field in ("birthDate", "gender"):
        if not out.get(field) and incoming.get(field):
            out[field] = incoming[field]
            changed = True
    return out, changed


def strip_added(current: dict, before: dict, after: dict) -> dict:
    """``current`` without the identifiers, names and telecoms that a link added (present in
    ``after``, the version the link wrote, and absent from ``before``, the version it started from)."""
    out = dict(current)
    for field, keyf in (("identifier", _ident_key), ("name", _name_key), ("telecom", _telecom_key)):
        had = {keyf(x) for x in before.get(field) or []}
        added = {keyf(x) for x in after.get(field) or []} - had
        kept = [x for x in current.get(field) or [] if keyf(x) not in added]
        if kept:
            out[field] = kept
        else:
            out.pop(field, None)
    for field in ("birthDate", "gender"):
        if not before.get(field) and after.get(field) and current.get(field) == after.get(field):
            out.pop(field, None)
    return out


def without_links_to(patient: dict, other_id: str) -> dict:
    out = dict(patient)
    links = [
        link
        for link in patient.get("link") or []
        if (link.get("other") or {}).get("reference") != f"Patient/{other_id}"
    ]
    if links:
        out["link"] = links
    else:
        out.pop("link", None)
    return out


def with_link(patient: dict, other_id: str, kind: str) -> dict:
    out = without_links_to(patient, other_id)
    out["link"] = [*(out.get("link") or []), {"other": {"reference": f"Patient/{other_id}"}, "type": kind}]
    return out


def snapshot(incoming: dict) -> dict:
    """The incoming record as it was linked, to be kept in the Provenance (for an undo)."""
    body = {k: v for k, v in incoming.items() if k not in ("id", "meta", "text", "contained")}
    return {
        "resourceType": "Patient",
        "id": INCOMING,
        **{k: v for k, v in body.items() if k != "resourceType"},
    }


# --------------------------------------------------------------------------- Provenance and Task


def provenance(
    activity: str,
    targets: list[str],
    source_org: str | None,
    *,
    score: float | None = None,
    method: str | None = None,
    incoming: dict | None = None,
    entities: list[tuple[str, str]] = (),
    reason: str | None = None,
) -> dict:
    """The record of a link, merge or unlink. ``targets``: versioned Patient references."""
    res: dict = {"resourceType": "Provenance"}
    if incoming is not None:
        res["contained"] = [snapshot(incoming)]
    ext = []
    if score is not None:
        ext.append({"url": ext_url(SCORE_EXT), "valueDecimal": round(float(score), 4)})
    if method:
        ext.append({"url": ext_url(METHOD_EXT), "valueCode": method})
    if ext:
        res["extension"] = ext
    res["target"] = [{"reference": t} for t in targets]
    res["recorded"] = dates.instant(dates.now_utc())
    res["activity"] = {"coding": [{"system": activity_system(), "code": activity}]}
    if reason:
        res["reason"] = [{"text": reason}]
    agents = [
        {
            "type": {"coding": [{"system": PROVENANCE_AGENT, "code": "assembler"}]},
            "who": {"display": "Xietong EMPI 主索引"},
        }
    ]
    if source_org:
        agents.append(
            {
                "type": {"coding": [{"system": PROVENANCE_AGENT, "code": "author"}]},
                "who": {"reference": f"Organization/{source_org}"},
            }
        )
    res["agent"] = agents
    ents = [{"role": role, "what": {"reference": ref}} for role, ref in entities]
    if incoming is not None:
        ents.insert(0, {"role": "source", "what": {"reference": f"#{INCOMING}"}})
    if ents:
        res["entity"] = ents
    return res


def review_task(new_id: str, candidate_id: str, score: float, source_org: str | None) -> dict:
    """A Task for a person at the alliance office: are these two records one person?"""
    return {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "priority": "routine",
        "code": {
            "coding": [
                {"system": task_system(), "code": "review-match", "display": "Review a possible match"}
            ],
            "text": "核对是否为同一患者 / review a possible duplicate patient",
        },
        "description": (
            f"Patient/{new_id} (from Organization/{source_org}) may be the same person as "
            f"Patient/{candidate_id} (score {score:.2f}). Merge them with Patient/$merge, "
            "or complete this Task if they are different people."
        ),
        "focus": {"reference": f"Patient/{new_id}"},
        "for": {"reference": f"Patient/{new_id}"},
        "authoredOn": dates.instant(dates.now_utc()),
        "input": [
            {"type": {"text": "candidate"}, "valueReference": {"reference": f"Patient/{candidate_id}"}},
            {"type": {"text": "score"}, "valueDecimal": round(float(score), 4)},
        ],
    }
