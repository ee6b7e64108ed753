"""Referral transitions: one command, one transaction, every write through the Store.

A transition locks the Task row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's single writer
serialises on its own), decides with ``machine.decide`` on what it then reads, and writes the
Task with ``If-Match`` on the version it locked: of two concurrent transitions one wins, the other
sees the new state and gets its 409. Every record it writes is validated, audited and seen by the
notification outbox in that same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from sqlalchemy import select

from hub.auth.principal import ADMIN, Principal
from hub.auth.tenancy import Policy, org_resolver
from hub.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from hub.fhir import dates
from hub.fhir.extract import parse_reference
from hub.fhir.parse import check_resource, check_rules
from hub.fhir.registry import TYPES
from hub.fhir.store import Store, new_id
from hub.models import resource_tables
from hub.referrals import clock, codes, machine
from hub.referrals.machine import HUB, OWNER, REQUESTER, Caller, Refused, State

TASK, SR = TYPES["Task"], TYPES["ServiceRequest"]
SUMMARY_TYPES = ("DocumentReference", "Composition", "DiagnosticReport")
MEDICATION_TYPES = ("MedicationRequest", "MedicationStatement", "List")
OWNER_TYPES = ("Organization", "HealthcareService", "PractitionerRole", "CareTeam")


class WorkflowPolicy(Policy):
    """The caller's own policy (scopes, what it may see), except that the workflow, having checked
    the caller's side of the referral, writes records the other institution holds (the Task)."""

    def check_write(self, rt, current_tenant, exists) -> None:
        return None


@dataclass
class Referral:
    """A referral Task as locked for a transition, with its ServiceRequest."""

    task: dict
    version: int
    tenant: str | None
    request: dict | None
    requester_org: str | None
    owner_org: str | None

    @property
    def id(self) -> str:
        return self.task["id"]

    @property
    def state(self) -> State:
        return State(
            self.task["status"],
            codes.has_code(self.task.get("businessStatus"), "task-business-status", machine.AWAITING),
        )

    @property
    def direction(self) -> str:
        return codes.ext_code(self.request or {}, codes.DIRECTION) or "up"


@dataclass
class Step:
    """What one transition does besides moving the status: set by the action's handler."""

    store: Store
    ref: Referral
    transition: machine.Transition
    params: dict[str, list[dict]]
    principal: Principal
    now: datetime
    config: object
    out: list[dict] = field(default_factory=list)  # Parameters.parameter of the answer
    outcome: str | None = None  # decline/cancel reason for the statistics
    returned: bool = False


# ----- parameters -----


def one(params: dict, name: str, required: bool = False) -> dict | None:
    found = params.get(name) or []
    if len(found) > 1:
        raise BadRequest(f"parameter '{name}' is given {len(found)} times; once is expected", [name])
    if not found:
        if required:
            raise BadRequest(f"parameter '{name}' is required", [f"Parameters.parameter[{name}]"])
        return None
    return found[0]


def text_of(p: dict | None) -> str | None:
    if p is None:
        return None
    for k in ("valueString", "valueMarkdown"):
        if isinstance(p.get(k), str) and p[k].strip():
            return p[k].strip()
    return None


def concept_of(p: dict | None) -> dict | None:
    if p is None:
        return None
    if "valueCodeableConcept" in p:
        return p["valueCodeableConcept"]
    if "valueCoding" in p:
        return {"coding": [p["valueCoding"]]}
    if "valueCode" in p:
        return {"coding": [codes.coding(codes.DECLINE_REASON, p["valueCode"])]}
    if text_of(p):
        return {"text": text_of(p)}
    raise BadRequest(
        f"parameter '{p.get('name')}' needs a code, Coding, CodeableConcept or text", [p.get("name")]
    )


# ----- loading -----


def lock(store: Store, task_id: str) -> Referral:
    """The referral Task, locked for this transaction; 404 if the caller may not see it."""
    t = resource_tables["Task"]
    q = select(t.c.body, t.c.version, t.c.deleted, t.c.tenant).where(t.c.fhir_id == task_id)
    cond = store.policy.read_filter(TASK)
    if cond is not None:
        q = q.where(cond)
    if not store.db.is_sqlite:
        q = q.with_for_update(of=t)
    row = store.conn.execute(q).first()
    if row is None or row.deleted:
        raise NotFound(f"Task/{task_id} is not known")
    return load(store, orjson.loads(row.body), row.version, row.tenant)


def load(store: Store, task: dict, version: int, tenant: str | None) -> Referral:
    if not codes.claims(task, codes.TASK_PROFILE):
        raise Conflict(
            f"Task/{task['id']} is not a hub referral Task (it does not claim the "
            f"{codes.TASK_PROFILE} profile); the referral operations do not apply to it"
        )
    org_of = org_resolver(store.conn)
    request = None
    focus = parse_reference((task.get("focus") or {}).get("reference", ""))
    if focus and focus[0] == "ServiceRequest":
        t = resource_tables["ServiceRequest"]
        body = store.conn.execute(select(t.c.body).where(t.c.fhir_id == focus[1])).scalar()
        request = orjson.loads(body) if body else None
    return Referral(
        task,
        version,
        tenant,
        request,
        org_of((task.get("requester") or {}).get("reference", "")),
        org_of((task.get("owner") or {}).get("reference", "")),
    )


def caller_of(principal: Principal, ref: Referral) -> Caller:
    if principal.kind == "system" or principal.role == ADMIN:
        return Caller(frozenset({HUB}), principal.role)
    sides = set()
    if principal.organization and principal.organization == ref.requester_org:
        sides.add(REQUESTER)
    if principal.organization and principal.organization == ref.owner_org:
        sides.add(OWNER)
    return Caller(frozenset(sides), principal.role)


def decide(principal: Principal, ref: Referral, action: str) -> machine.Transition:
    try:
        return machine.decide(ref.state, action, caller_of(principal, ref))
    except Refused as r:
        if r.kind == "state":
            raise Conflict(r.message, ["Task.status"]) from None
        raise Forbidden(r.message) from None


# ----- the command -----


def transition(hub, principal: Principal, task_id: str, action: str, params: dict | None = None) -> dict:
    """Run ``action`` on the referral Task; the answer is a ``Parameters`` resource."""
    params = params or {}
    with hub.db.write() as conn:
        store = Store(hub.db, conn, WorkflowPolicy(principal))
        ref = lock(store, task_id)
        t = decide(principal, ref, action)
        step = Step(store, ref, t, params, principal, dates.now_utc(), hub.config)
        return apply(step)


def apply(step: Step) -> dict:
    ref, t = step.ref, step.transition
    task = dict(ref.task)
    HANDLERS[t.action](step, task)
    if t.target is not None:
        task["status"] = t.target
    task["lastModified"] = dates.instant(step.now)
    stored = write(step.store, task, ref.version, ref.tenant)
    new_sr = machine.request_status(task["status"], t.action) if ref.request else None
    if new_sr and ref.request.get("status") != new_sr:
        _update_request(step.store, {**ref.request, "status": new_sr})
    clock.on_transition(
        step.store.conn, ref.id, t.action, task["status"], step.now, step.outcome, step.returned
    )
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": "task", "resource": stored}, *step.out],
    }


def write(store: Store, task: dict, version: int | None, tenant: str | None) -> dict:
    check_rules(task, prefix="Task.")
    stored, _ = store.update(TASK, task["id"], task, if_match=version, tenant=tenant)
    return stored.resource()


def _update_request(store: Store, sr: dict) -> None:
    check_rules(sr)
    store.update(SR, sr["id"], sr)


def create(store: Store, resource: dict, where: str, tenant: str | None = None) -> dict:
    """A new record of the transition (Communication, Appointment, document): validated first."""
    rtype = resource.get("resourceType")
    if rtype not in TYPES:
        raise BadRequest(f"{where}: '{rtype}' is not a resource type this server stores", [where])
    resource = {k: v for k, v in resource.items() if k != "id"}
    try:
        check_resource(resource)
    except (BadRequest, Unprocessable) as err:
        err.issues = [
            type(i)(f"{where}: {i.diagnostics}", i.code, i.severity, i.expression) for i in err.all_issues()
        ]
        raise
    return store.create(TYPES[rtype], resource, tenant=tenant).resource()


def referenced(store: Store, p: dict, types: tuple[str, ...], where: str) -> str:
    """A parameter's record as ``Type/id``: created now (``resource``) or one the caller may read."""
    if p.get("resource") is not None:
        if p["resource"].get("resourceType") not in types:
            raise Unprocessable(f"{where}: must be one of {', '.join(types)}", [where])
        made = create(store, p["resource"], where)
        return f"{made['resourceType']}/{made['id']}"
    ref = parse_reference((p.get("valueReference") or {}).get("reference", ""))
    if not ref or ref[0] not in types:
        raise BadRequest(
            f"{where}: a reference to {' or '.join(types)} (or the resource itself) is expected", [where]
        )
    store.read(TYPES[ref[0]], ref[1])  # 404 if the caller may not see it
    return f"{ref[0]}/{ref[1]}"


def output(code: str, **value) -> dict:
    return {"type": {"coding": [codes.coding(codes.OUTPUT_TYPE, code)]}, **value}


def communication(step: Step, sender: str | None, recipient: str, text: str, **extra) -> dict:
    """A message of the referral, kept by the institution that sent it (the hub's own notices: by
    the institution they are for)."""
    ref = step.ref
    comm = {
        "resourceType": "Communication",
        "status": "completed",
        "partOf": [{"reference": f"Task/{ref.id}"}],
        "subject": ref.task.get("for"),
        "sent": dates.instant(step.now),
        "recipient": [{"reference": f"Organization/{recipient}"}],
        "payload": [{"contentString": text}],
        **extra,
    }
    if sender:
        comm["sender"] = {"reference": f"Organization/{sender}"}
    if ref.request:
        comm["basedOn"] = [{"reference": f"ServiceRequest/{ref.request['id']}"}]
    made = create(step.store, comm, "Communication", tenant=sender or recipient)
    step.out.append({"name": "communication", "resource": made})
    return made


def set_business(task: dict, code: str | None, display: str | None = None) -> None:
    if code is None:
        task.pop("businessStatus", None)
    else:
        task["businessStatus"] = {"coding": [codes.coding(codes.BUSINESS_STATUS, code, display)]}


# ----- what each action does -----


def _receive(step: Step, task: dict) -> None:
    if codes.code_in(task.get("businessStatus"), codes.BUSINESS_STATUS) == "overdue-acknowledge":
        set_business(task, None)


def _accept(step: Step, task: dict) -> None:
    set_business(task, None)
    outputs = list(task.get("output") or [])
    appt = one(step.params, "appointment")
    if appt is not None:
        target = referenced(step.store, appt, ("Appointment",), "Parameters.parameter[appointment]")
        outputs.append(output("appointment", valueReference={"reference": target}))
    proposed = one(step.params, "proposedDate")
    if proposed is not None:
        value = proposed.get("valueDateTime") or proposed.get("valueDate")
        if not value:
            raise BadRequest("proposedDate needs a valueDateTime", ["Parameters.parameter[proposedDate]"])
        outputs.append(output("proposed-date", valueDateTime=value))
    _note(step, task)
    if outputs:
        task["output"] = outputs


def _decline(step: Step, task: dict) -> None:
    reason = concept_of(one(step.params, "reason", required=True))
    code = codes.code_in(reason, codes.DECLINE_REASON)
    if code is None:
        raise Unprocessable(
            f"reason must be a code of the decline-reason code system ({codes.cs(codes.DECLINE_REASON)})",
            ["Parameters.parameter[reason]"],
        )
    if code == "redirected":
        raise Unprocessable("a redirect is $redirect, not $decline with reason 'redirected'", ["reason"])
    note = text_of(one(step.params, "note"))
    if code in ("other", "advice-given") and not note:
        raise BadRequest(f"reason '{code}' needs a note (free text)", ["Parameters.parameter[note]"])
    task["statusReason"] = {**reason, **({"text": note} if note else {})}
    set_business(task, None)
    step.outcome = code
    if code == "advice-given":  # the patient stays at the primary level with the specialist's advice
        comm = communication(step, step.ref.owner_org, step.ref.requester_org, note)
        task["output"] = [
            *(task.get("output") or []),
            output("advice", valueReference={"reference": f"Communication/{comm['id']}"}),
        ]


def _cancel(step: Step, task: dict) -> None:
    p = one(step.params, "reason", required=step.transition.needs_reason)
    if p is not None:
        task["statusReason"] = concept_of(p)
    step.outcome = "cancelled"


def _expire(step: Step, task: dict) -> None:
    days = step.config.REFERRAL_VALIDITY_DAYS
    task["statusReason"] = {
        "coding": [codes.coding(codes.BUSINESS_STATUS, "expired", "已过期")],
        "text": f"转诊单超过有效期（{days} 天）未处理，已自动取消 (not acted on within {days} days)",
    }
    set_business(task, "expired", "已过期")
    step.outcome = "expired"


def _redirect(step: Step, task: dict) -> None:
    ref = step.ref
    p = one(step.params, "owner", required=True)
    target = parse_reference((p.get("valueReference") or {}).get("reference", ""))
    if not target or target[0] not in OWNER_TYPES:
        raise BadRequest(
            f"owner must reference one of {', '.join(OWNER_TYPES)}", ["Parameters.parameter[owner]"]
        )
    step.store.read(TYPES[target[0]], target[1])
    new_org = org_resolver(step.store.conn)(f"{target[0]}/{target[1]}")
    if new_org is None:
        raise Unprocessable(f"{target[0]}/{target[1]} belongs to no Organization", ["owner"])
    if new_org == ref.owner_org:
        raise Unprocessable("the new owner is the current owner's own institution", ["owner"])
    note = text_of(one(step.params, "note"))
    fresh = {
        k: v
        for k, v in ref.task.items()
        if k not in ("id", "meta", "statusReason", "businessStatus", "output", "lastModified")
    }
    fresh["meta"] = {"profile": [codes.profile(codes.TASK_PROFILE)]}
    fresh.update(
        status="requested",
        owner={"reference": f"Organization/{new_org}"},
        partOf=[{"reference": f"Task/{ref.id}"}],
        authoredOn=dates.instant(step.now),
        lastModified=dates.instant(step.now),
    )
    if note:
        fresh["note"] = [*(ref.task.get("note") or []), {"text": note, "time": dates.instant(step.now)}]
    check_rules(fresh, prefix="Task.")
    new_task = step.store.create(TASK, fresh, fid=new_id(), tenant=ref.tenant).resource()
    clock.start(step.store.conn, new_task, ref.request, ref.requester_org, new_org, step.now, step.config)
    task["statusReason"] = {
        "coding": [codes.coding(codes.DECLINE_REASON, "redirected", "已转介")],
        **({"text": note} if note else {}),
    }
    task["output"] = [
        *(task.get("output") or []),
        output("redirected-to", valueReference={"reference": f"Task/{new_task['id']}"}),
    ]
    set_business(task, None)
    step.outcome = "redirected"
    step.out.append({"name": "newTask", "resource": new_task})


def _request_info(step: Step, task: dict) -> None:
    question = text_of(one(step.params, "question", required=True))
    if not question:
        raise BadRequest("question needs text (valueString)", ["Parameters.parameter[question]"])
    communication(step, step.ref.owner_org, step.ref.requester_org, question)
    set_business(task, machine.AWAITING, "待补充资料")


def _provide_info(step: Step, task: dict) -> None:
    answer = text_of(one(step.params, "answer"))
    attachments = [
        {
            "contentReference": {
                "reference": referenced(
                    step.store,
                    p,
                    ("DocumentReference", "DiagnosticReport", "Observation", "ImagingStudy", "Binary"),
                    "Parameters.parameter[attachment]",
                )
            }
        }
        for p in step.params.get("attachment") or []
    ]
    if not answer and not attachments:
        raise BadRequest("provide an answer (valueString) or attachments", ["Parameters.parameter[answer]"])
    comm = communication(
        step, step.ref.requester_org, step.ref.owner_org, answer or "补充资料见附件 (see attachments)"
    )
    if attachments:
        comm_body = {**comm, "payload": [*comm["payload"], *attachments]}
        check_rules(comm_body)
        step.store.update(TYPES["Communication"], comm["id"], comm_body)
    set_business(task, None)


def _start(step: Step, task: dict) -> None:
    _note(step, task)
    task["executionPeriod"] = {"start": dates.instant(step.now)}


def _complete(step: Step, task: dict) -> None:
    ref = step.ref
    outputs = list(task.get("output") or [])
    summary = one(step.params, "summary", required=True)
    outputs.append(
        output(
            "summary",
            valueReference={
                "reference": referenced(step.store, summary, SUMMARY_TYPES, "Parameters.parameter[summary]")
            },
        )
    )
    plan = one(step.params, "carePlan")
    if plan is not None:
        outputs.append(
            output(
                "care-plan",
                valueReference={
                    "reference": referenced(step.store, plan, ("CarePlan",), "Parameters.parameter[carePlan]")
                },
            )
        )
    meds = [
        output(
            "medication",
            valueReference={
                "reference": referenced(
                    step.store, p, MEDICATION_TYPES, f"Parameters.parameter[medication][{i}]"
                )
            },
        )
        for i, p in enumerate(step.params.get("medication") or [])
    ]
    outputs.extend(meds)
    if ref.direction == "up" and _is_tertiary(step.store, ref.owner_org):
        missing = [
            name
            for name, ok in (("carePlan (follow-up plan)", plan is not None), ("medication", bool(meds)))
            if not ok
        ]
        if missing:
            raise Unprocessable(
                "an upward referral at a tertiary hospital is completed with its return package: "
                f"summary, medications and follow-up plan; missing: {', '.join(missing)}",
                [f"Parameters.parameter[{m.split(' ')[0]}]" for m in missing],
            )
    step.returned = plan is not None and bool(meds)
    step.outcome = "completed"
    _note(step, task)
    period = dict(task.get("executionPeriod") or {})
    period["end"] = dates.instant(step.now)
    task["executionPeriod"] = period
    task["output"] = outputs
    set_business(task, None)


def _note(step: Step, task: dict) -> None:
    note = text_of(one(step.params, "note"))
    if note:
        task["note"] = [*(task.get("note") or []), {"text": note, "time": dates.instant(step.now)}]


def _is_tertiary(store: Store, org_id: str | None) -> bool:
    if not org_id:
        return False
    t = resource_tables["Organization"]
    body = store.conn.execute(select(t.c.body).where(t.c.fhir_id == org_id)).scalar()
    org = orjson.loads(body) if body else {}
    return any(codes.has_code(cc, codes.INSTITUTION_LEVEL, "tertiary") for cc in org.get("type") or ())


HANDLERS: dict[str, Callable[[Step, dict], None]] = {
    "receive": _receive,
    "accept": _accept,
    "decline": _decline,
    "cancel": _cancel,
    "expire": _expire,
    "redirect": _redirect,
    "request-info": _request_info,
    "provide-info": _provide_info,
    "start": _start,
    "complete": _complete,
}
if set(HANDLERS) != set(machine.ACTIONS):  # a row added to the table needs its handler
    raise RuntimeError(
        "referral actions without a handler: " + ", ".join(set(machine.ACTIONS) - set(HANDLERS))
    )


# ----- reads that act -----


def available_actions(hub, principal: Principal, task_id: str) -> dict:
    with hub.db.read() as conn:
        store = Store(hub.db, conn, WorkflowPolicy(principal))
        ref = _read(store, task_id)
        caller = caller_of(principal, ref)
        allowed = machine.available(ref.state, caller)
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "status", "valueCode": ref.task["status"]},
            *(
                {
                    "name": "action",
                    "part": [
                        {"name": "name", "valueCode": t.action},
                        {"name": "operation", "valueString": f"Task/{task_id}/${t.action}"},
                        *([{"name": "target", "valueCode": t.target}] if t.target else []),
                        {"name": "reasonRequired", "valueBoolean": t.needs_reason},
                    ],
                }
                for t in allowed
            ),
        ],
    }


def _read(store: Store, task_id: str) -> Referral:
    stored = store.read(TASK, task_id)
    return load(store, stored.resource(), stored.version, stored.tenant)


def opened(hub, principal: Principal, task_id: str) -> None:
    """The owner opened a ``requested`` referral: it becomes ``received`` (once)."""
    if principal.kind == "system" or not principal.organization:
        return
    t = resource_tables["Task"]
    with hub.db.read() as conn:
        body = conn.execute(select(t.c.body).where(t.c.fhir_id == task_id, t.c.deleted.is_(False))).scalar()
        if body is None:
            return
        task = orjson.loads(body)
        if task.get("status") != "requested" or not codes.claims(task, codes.TASK_PROFILE):
            return
        if org_resolver(conn)((task.get("owner") or {}).get("reference", "")) != principal.organization:
            return
    try:
        transition(hub, principal, task_id, "receive")
    except (Conflict, Forbidden, NotFound):
        return  # received meanwhile, or not this caller's to receive
