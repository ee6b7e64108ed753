"""Submitting a referral: one transaction Bundle with the hub referral ServiceRequest and its Task.

The Bundle is the requester's: the ServiceRequest (claiming ``xt-referral-servicerequest``), the Task
(``xt-referral-task``; made here from the request when the Bundle has none), the referral letter
(DocumentReference + Binary) and whatever else it attaches. Before anything is written the hub
routes it (a downward referral without a performer goes to the patient's family-doctor contract;
a contracted resident's family doctor refers on the priority channel), fills in the Task's
workflow elements, and looks for the same referral already open (Idempotency-Key, then the
business key: patient + target institution + open + same reason). Then everything is written in
one transaction with the referral's clock; a failure anywhere leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import uuid

import orjson
from sqlalchemy import and_, insert, select, text

from hub.auth.principal import ADMIN, Principal
from hub.auth.tenancy import org_resolver
from hub.errors import BadRequest, Conflict, Forbidden, Gone, HubError, NotFound, Unprocessable
from hub.fhir import bundles, dates, transaction
from hub.fhir.extract import h64, parse_reference
from hub.fhir.parse import check_rules, check_structure
from hub.fhir.store import Store
from hub.models import resource_tables
from hub.referrals import clock, codes
from hub.referrals.tables import referral_clock as rc
from hub.referrals.tables import referral_idempotency as ik

OPEN = ("requested", "received", "accepted", "in-progress")


def is_submission(bundle: dict) -> bool:
    """A transaction Bundle that POSTs a hub referral ServiceRequest."""
    if (
        not isinstance(bundle, dict)
        or bundle.get("resourceType") != "Bundle"
        or bundle.get("type") != "transaction"
    ):
        return False
    return any(
        isinstance(e, dict)
        and (e.get("request") or {}).get("method") == "POST"
        and isinstance(e.get("resource"), dict)
        and e["resource"].get("resourceType") == "ServiceRequest"
        and codes.claims(e["resource"], codes.SR_PROFILE)
        for e in bundle.get("entry") or ()
    )


def _hash(bundle: dict) -> str:
    return hashlib.sha256(orjson.dumps(bundle, option=orjson.OPT_SORT_KEYS)).hexdigest()


def submit(hub, principal: Principal, bundle: dict, idempotency_key: str | None) -> tuple[dict, int]:
    check_structure(bundle, "Bundle")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise BadRequest("Idempotency-Key must be 1 to 200 characters", ["Idempotency-Key"])
    entries = transaction._entries(bundle)
    transaction._check_full_urls(entries)
    digest = _hash(bundle)
    db = hub.db
    with db.write() as conn:
        store = hub.fhir.store(conn, principal)
        org_of = org_resolver(conn)
        sr_entry, task_entry = _referral_entries(entries)
        sr = sr_entry.resource
        requester_org = _requester_org(principal, sr, org_of)
        if idempotency_key is not None:
            _lock(db, conn, "idempotency", requester_org, idempotency_key)
            replay = _replay(conn, requester_org, idempotency_key, digest)
            if replay is not None:
                return replay, 200
        patient = _local(sr.get("subject"), "Patient")
        direction = codes.ext_code(sr, codes.DIRECTION)
        if direction is None:
            raise Unprocessable(
                "ServiceRequest.extension: the referral direction is required", ["ServiceRequest.extension"]
            )
        _route(conn, sr, patient, direction, requester_org, org_of)
        owner_org = _owner_org(sr, org_of)
        _check_based_on(store, sr, patient)
        if patient:
            _lock(db, conn, "referral", patient, owner_org)
            existing = _open_duplicate(conn, patient, owner_org, sr)
            if existing is not None:
                answer = _existing_answer(store, *existing)
                if idempotency_key is not None:
                    _remember(conn, requester_org, idempotency_key, digest, existing[0], existing[1], answer)
                return answer, 200
        now = dates.now_utc()
        if sr_entry.full_url is None:
            sr_entry.full_url = f"urn:uuid:{uuid.uuid4()}"
        task = _task(
            sr,
            task_entry.resource if task_entry else None,
            sr_entry.full_url,
            requester_org,
            owner_org,
            now,
            hub.config,
        )
        if task_entry is None:
            task_entry = transaction.Entry(len(entries), "POST", "Task", f"urn:uuid:{uuid.uuid4()}", task)
            entries.append(task_entry)
        else:
            task_entry.resource = task
        answer = _write(db, store, entries)
        sr_id, task_id = sr_entry.fid, task_entry.fid
        stored_sr = _body(conn, "ServiceRequest", sr_id)
        stored_task = _body(conn, "Task", task_id)
        clock.start(conn, stored_task, stored_sr, requester_org, owner_org, now, hub.config)
        if idempotency_key is not None:
            _remember(conn, requester_org, idempotency_key, digest, sr_id, task_id, answer)
    return answer, 200


def _referral_entries(entries: list) -> tuple:
    srs = [
        e
        for e in entries
        if e.method == "POST"
        and (e.resource or {}).get("resourceType") == "ServiceRequest"
        and codes.claims(e.resource, codes.SR_PROFILE)
    ]
    if len(srs) != 1:
        raise BadRequest(
            "a referral submission holds exactly one hub referral ServiceRequest", ["Bundle.entry"]
        )
    sr = srs[0]
    tasks = [e for e in entries if (e.resource or {}).get("resourceType") == "Task"]
    if len(tasks) > 1 or any(e.method != "POST" for e in tasks):
        raise BadRequest(
            "a referral submission holds at most one Task (POST), the referral's own", ["Bundle.entry"]
        )
    task = tasks[0] if tasks else None
    if task is not None:
        focus = (task.resource.get("focus") or {}).get("reference")
        if focus is not None and focus != sr.full_url:
            raise Unprocessable(
                f"{task.where}.resource.focus must be the ServiceRequest's fullUrl ({sr.full_url})",
                [f"{task.where}.resource.focus"],
            )
        if task.resource.get("status", "requested") != "requested":
            raise Conflict(
                f"{task.where}: a referral is submitted as 'requested', not '{task.resource.get('status')}'",
                ["Task.status"],
            )
    return sr, task


def _local(ref: dict | None, rtype: str) -> str | None:
    parsed = parse_reference((ref or {}).get("reference", ""))
    return parsed[1] if parsed and parsed[0] == rtype else None


def _requester_org(principal: Principal, sr: dict, org_of) -> str:
    ref = (sr.get("requester") or {}).get("reference", "")
    org = org_of(ref)
    if org is None:
        raise Unprocessable(
            "ServiceRequest.requester must be a PractitionerRole of the referring institution",
            ["ServiceRequest.requester"],
        )
    if principal.kind != "system" and principal.role != ADMIN and org != principal.organization:
        raise Forbidden(
            f"ServiceRequest.requester belongs to Organization/{org}; an institution refers as itself"
        )
    return org


def _route(conn, sr: dict, patient: str | None, direction: str, requester_org: str, org_of) -> None:
    """Fill the performer of a downward referral, and the channel of a family doctor's one."""
    contract = _family_doctor_contract(conn, patient) if patient else None
    if not sr.get("performer"):
        if direction != "down":
            raise Unprocessable(
                "ServiceRequest.performer: an upward or lateral referral names its target "
                "(Organization, HealthcareService or PractitionerRole)",
                ["ServiceRequest.performer"],
            )
        if contract is None:
            raise Unprocessable(
                "no route for this downward referral: it names no performer and the patient has no "
                "active family-doctor contract (EpisodeOfCare); name the receiving institution",
                ["ServiceRequest.performer"],
            )
        sr["performer"] = [{"reference": f"Organization/{contract}"}]
    if direction == "up" and contract is not None and contract == requester_org:
        codes.set_ext_code(sr, codes.CHANNEL, "priority")  # 签约居民优先转诊


def _family_doctor_contract(conn, patient: str) -> str | None:
    """The organization of the patient's active family-doctor contract, if any."""
    t = resource_tables["EpisodeOfCare"]
    now = dates.now_utc()
    for (body,) in conn.execute(select(t.c.body).where(t.c.patient == patient, t.c.deleted.is_(False))):
        ep = orjson.loads(body)
        if ep.get("status") != "active":
            continue
        if not any(
            codes.has_code(cc, codes.EPISODE_TYPE, codes.FAMILY_DOCTOR_CONTRACT)
            for cc in ep.get("type") or ()
        ):
            continue
        period = ep.get("period") or {}
        if period.get("end") and dates.parse_range(period["end"])[1] < now:
            continue
        org = _local(ep.get("managingOrganization"), "Organization")
        if org:
            return org
    return None


def _owner_org(sr: dict, org_of) -> str:
    orgs = {org_of((p or {}).get("reference", "")) for p in sr.get("performer") or ()}
    orgs.discard(None)
    if len(orgs) != 1:
        raise Unprocessable(
            "ServiceRequest.performer must name one receiving institution (an Organization, or a "
            "HealthcareService, PractitionerRole or CareTeam of it) known to the hub",
            ["ServiceRequest.performer"],
        )
    return orgs.pop()


def _check_based_on(store: Store, sr: dict, patient: str | None) -> None:
    """A downward referral may follow the upward one (basedOn): one the requester may see, about
    the same patient."""
    from hub.fhir.registry import TYPES

    for i, ref in enumerate(sr.get("basedOn") or ()):
        sid = _local(ref, "ServiceRequest")
        if sid is None:
            continue
        where = f"ServiceRequest.basedOn[{i}]"
        try:
            body = store.read(TYPES["ServiceRequest"], sid).resource()
        except (NotFound, Gone):
            raise Unprocessable(f"{where}: ServiceRequest/{sid} is not known", [where]) from None
        if patient and _local(body.get("subject"), "Patient") != patient:
            raise Unprocessable(f"{where}: ServiceRequest/{sid} is about another patient", [where])


def _lock(db, conn, *parts: str) -> None:
    if not db.is_sqlite:  # SQLite's single writer already serialises submissions
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": h64("referral-submit", *parts)})


def _reasons(sr: dict) -> frozenset:
    out = set()
    for cc in sr.get("reasonCode") or ():
        codings = [(c.get("system"), c.get("code")) for c in cc.get("coding") or () if c.get("code")]
        out.update(codings or [("text", (cc.get("text") or "").strip())])
    return frozenset(out)


def _open_duplicate(conn, patient: str, owner_org: str, sr: dict) -> tuple[str, str] | None:
    """(ServiceRequest id, Task id) of an open referral of the patient to the same institution for
    the same reason."""
    t = resource_tables["ServiceRequest"]
    rows = conn.execute(
        select(t.c.body, rc.c.task_id)
        .select_from(t.join(rc, rc.c.request_id == t.c.fhir_id))
        .where(and_(t.c.patient == patient, rc.c.owner_org == owner_org, rc.c.status.in_(OPEN)))
    ).all()
    want = _reasons(sr)
    for body, task_id in rows:
        other = orjson.loads(body)
        if _reasons(other) == want:
            return other["id"], task_id
    return None


def _task(sr: dict, given: dict | None, sr_url: str, requester_org: str, owner_org: str, now, config) -> dict:
    task = dict(given or {})
    meta = dict(task.get("meta") or {})
    profiles = [p for p in meta.get("profile") or () if p.split("|")[0] != codes.profile(codes.TASK_PROFILE)]
    meta["profile"] = [*profiles, codes.profile(codes.TASK_PROFILE)]
    _, _, expires = clock.due_times(config, sr.get("priority", "routine"), now)
    task.update(
        resourceType="Task",
        meta=meta,
        status="requested",
        intent="order",
        priority=sr.get("priority", "routine"),
        focus={"reference": sr_url},
        basedOn=[{"reference": sr_url}],
        authoredOn=dates.instant(now),
        lastModified=dates.instant(now),
        requester={"reference": f"Organization/{requester_org}"},
        owner={"reference": f"Organization/{owner_org}"},
        restriction={"period": {"end": dates.instant(expires)}},
    )
    task.setdefault("for", sr.get("subject"))
    task.setdefault("code", {"coding": [{"system": codes.HL7_TASK_CODE, "code": "fulfill"}]})
    task.pop("businessStatus", None)
    return task


def _write(db, store: Store, entries: list) -> dict:
    """The standard transaction pipeline, on this transaction (plan, rewrite, validate, execute)."""
    mapping = transaction._plan(db, store, entries)
    transaction._resolve_owners(store, entries, mapping)
    for e in entries:
        if e.resource is not None:
            e.resource = transaction._rewrite(e.resource, mapping, store, e.where + ".resource")
    for e in entries:
        if e.method in ("POST", "PUT") and not e.response:
            check_rules(e.resource, prefix=e.where + ".resource.")
    pids = db.allocate_pids(store.conn, sum(1 for e in entries if e.method == "POST" and not e.response))
    for e in sorted(entries, key=lambda x: (transaction.ORDER[x.method], x.index)):
        try:
            transaction._execute(None, store, e, pids, "")
        except HubError as err:
            raise transaction._at_entry(err, e) from None
    out = bundles._bundle("transaction-response")
    out["entry"] = [e.response for e in entries]
    return out


def _body(conn, rtype: str, fid: str) -> dict | None:
    t = resource_tables[rtype]
    body = conn.execute(select(t.c.body).where(t.c.fhir_id == fid, t.c.deleted.is_(False))).scalar()
    return orjson.loads(body) if body else None


def _existing_answer(store: Store, sr_id: str, task_id: str) -> dict:
    """A duplicate's answer: the open referral it repeats."""
    from hub.fhir.registry import TYPES

    out = bundles._bundle("transaction-response")
    out["entry"] = []
    for rtype, fid in (("ServiceRequest", sr_id), ("Task", task_id)):
        stored = store.read(TYPES[rtype], fid)
        entry = bundles.write_response(stored, 200)
        entry["response"]["outcome"] = {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "information",
                    "code": "duplicate",
                    "diagnostics": f"the same referral is already open (Task/{task_id}); "
                    "nothing new was created",
                }
            ],
        }
        out["entry"].append(entry)
    return out


def _replay(conn, org: str, key: str, digest: str) -> dict | None:
    row = conn.execute(
        select(ik.c.request_hash, ik.c.response).where(ik.c.organization_id == org, ik.c.key == key)
    ).first()
    if row is None:
        return None
    if row.request_hash != digest:
        raise Unprocessable(
            "this Idempotency-Key was used for a different submission; use a new key for a new referral",
            ["Idempotency-Key"],
        )
    return orjson.loads(row.response)


def _remember(conn, org: str, key: str, digest: str, sr_id: str, task_id: str, answer: dict) -> None:
    conn.execute(
        insert(ik).values(
            organization_id=org,
            key=key,
            request_hash=digest,
            task_id=task_id,
            request_id=sr_id,
            response=bundles.dumps(answer).decode(),
            created_at=dates.now_utc(),
        )
    )
