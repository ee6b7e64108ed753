"""Plain writes of a referral Task go through the state machine too.

``PUT /fhir/Task/{id}`` that changes a referral Task's status is the transition to that status,
with what the transition takes from the body (``statusReason`` as the reason, ``output`` as the
return package, the new ``note``); the same rules, the same 409s. A PUT that leaves the status
alone may not change the workflow's own elements (owner, requester, patient, focus, links,
businessStatus); a POST of a referral Task outside a submission is refused. PATCH stays 405.
"""

from __future__ import annotations

import orjson
from sqlalchemy import select

from hub.errors import Conflict, Unprocessable
from hub.models import resource_tables
from hub.referrals import codes, service

BY_TARGET = {
    "received": "receive",
    "accepted": "accept",
    "rejected": "decline",
    "cancelled": "cancel",
    "in-progress": "start",
    "completed": "complete",
}
WORKFLOW_ELEMENTS = (
    "status",
    "businessStatus",
    "owner",
    "requester",
    "for",
    "focus",
    "basedOn",
    "partOf",
    "restriction",
    "intent",
)
OUTPUT_PARAM = {
    "summary": "summary",
    "care-plan": "carePlan",
    "medication": "medication",
    "appointment": "appointment",
}


def current(db, task_id: str) -> dict | None:
    t = resource_tables["Task"]
    with db.read() as conn:
        body = conn.execute(select(t.c.body).where(t.c.fhir_id == task_id, t.c.deleted.is_(False))).scalar()
    return orjson.loads(body) if body else None


def put(hub, principal, task_id: str, body: dict) -> dict | None:
    """The answer of a status-changing PUT (the transition's Task), or None for an ordinary PUT."""
    task = current(hub.db, task_id)
    if task is None or not codes.claims(task, codes.TASK_PROFILE):
        return None
    new_status = body.get("status")
    if new_status == task.get("status"):
        changed = [k for k in WORKFLOW_ELEMENTS if body.get(k) != task.get(k)]
        if changed:
            raise Conflict(
                f"{', '.join('Task.' + c for c in changed)} of a referral Task change only through the "
                "referral operations ($accept, $redirect, ...)",
                [f"Task.{c}" for c in changed],
            )
        return None
    action = BY_TARGET.get(new_status)
    if action is None:
        raise Conflict(
            f"the referral Task is '{task.get('status')}'; it cannot be set to '{new_status}'",
            ["Task.status"],
        )
    answer = service.transition(hub, principal, task_id, action, _params(task, body))
    return answer["parameter"][0]["resource"]


def _params(old: dict, new: dict) -> dict[str, list[dict]]:
    params: dict[str, list[dict]] = {}
    if new.get("statusReason"):
        params["reason"] = [{"name": "reason", "valueCodeableConcept": new["statusReason"]}]
    known = {orjson.dumps(o) for o in old.get("output") or ()}
    for o in new.get("output") or ():
        if orjson.dumps(o) in known:
            continue
        name = OUTPUT_PARAM.get(codes.code_in(o.get("type"), codes.OUTPUT_TYPE) or "")
        if name is None or "valueReference" not in o:
            raise Unprocessable(
                "a Task.output of a referral is typed with the referral-output code system "
                f"({', '.join(OUTPUT_PARAM)}) and references its record",
                ["Task.output"],
            )
        params.setdefault(name, []).append({"name": name, "valueReference": o["valueReference"]})
    old_notes = len(old.get("note") or ())
    added = (new.get("note") or [])[old_notes:]
    if added and added[-1].get("text"):
        params["note"] = [{"name": "note", "valueString": added[-1]["text"]}]
    return params


def refuse_plain_create(resource: dict) -> None:
    if (
        isinstance(resource, dict)
        and resource.get("resourceType") == "Task"
        and codes.claims(resource, codes.TASK_PROFILE)
    ):
        raise Unprocessable(
            "a referral Task is created by submitting it with its ServiceRequest in one transaction "
            "Bundle (POST /fhir), or by $redirect",
            ["Task.meta.profile"],
        )


def check_bundle_put(hub, url: str, resource) -> None:
    """Inside a Bundle a referral Task's workflow elements do not change (use the operations)."""
    parts = url.lstrip("/").partition("?")[0].split("/")
    if len(parts) != 2 or parts[0] != "Task" or not isinstance(resource, dict):
        return
    task = current(hub.db, parts[1])
    if task is None or not codes.claims(task, codes.TASK_PROFILE):
        return
    changed = [k for k in WORKFLOW_ELEMENTS if resource.get(k) != task.get(k)]
    if changed:
        raise Conflict(
            f"Bundle entry for Task/{parts[1]}: {', '.join('Task.' + c for c in changed)} of a referral Task "
            "change only through the referral operations or PUT /fhir/Task/{id}",
            [f"Task.{c}" for c in changed],
        )
