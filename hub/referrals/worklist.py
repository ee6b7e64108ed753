"""``GET /fhir/Task/$worklist``: a desk's referral worklist in one round trip, from the referral clocks.

The same answer as the equivalent Task search with ``_include`` of patient, ServiceRequest and
requester, found through the clock's (party, status, submitted_at) index instead of the generic
token and reference indexes: with 100,000 referrals the generic search reads the whole Task table
under the tenancy filter, this reads 20 rows. What is returned still passes the caller's read
filter (tenancy) and is audited like any search.
"""

from __future__ import annotations

from urllib.parse import urlencode

import orjson
from sqlalchemy import or_, select, true

from hub.audit.recorder import Touched, record_access
from hub.auth.tenancy import Policy
from hub.errors import BadRequest
from hub.fhir import bundles, search
from hub.fhir.extract import parse_reference
from hub.fhir.registry import TYPES
from hub.models import resource_tables
from hub.referrals import machine
from hub.referrals.tables import referral_clock as rc

SIDES = {"owner": rc.c.owner_org, "requester": rc.c.requester_org}
PRIORITIES = ("stat", "asap", "urgent", "routine")


def _one(query: list[tuple[str, str]], name: str, default: str | None = None) -> str | None:
    values = [v for k, v in query if k == name]
    if len(values) > 1:
        raise BadRequest(f"{name} is given {len(values)} times", [name])
    return values[0] if values else default


def _codes(raw: str | None, allowed, name: str) -> list[str] | None:
    if raw is None:
        return None
    out = [v for v in raw.split(",") if v]
    bad = [v for v in out if v not in allowed]
    if bad:
        raise BadRequest(f"{name}: {', '.join(bad)} not one of {', '.join(allowed)}", [name])
    return out


def worklist(hub, principal, query: list[tuple[str, str]], base: str) -> dict:
    known = {"side", "status", "priority", "overdue", "organization", "_sort", "_count", "_offset"}
    unknown = sorted({k for k, _ in query} - known)
    if unknown:
        raise BadRequest(f"$worklist takes {', '.join(sorted(known))}; not {', '.join(unknown)}", unknown)
    side = _one(query, "side", "owner")
    if side not in SIDES:
        raise BadRequest("side must be owner or requester", ["side"])
    org = principal.organization
    if org is None:  # the alliance office and regulators name the institution
        org = _one(query, "organization")
        if org is None:
            raise BadRequest("organization is required for a caller of no institution", ["organization"])
    elif _one(query, "organization") not in (None, org):
        raise BadRequest("an institution's worklist is its own (leave out organization)", ["organization"])
    statuses = _codes(_one(query, "status", "requested,received"), machine.STATUSES, "status")
    priorities = _codes(_one(query, "priority"), PRIORITIES, "priority")
    overdue = _one(query, "overdue")
    if overdue not in (None, "true", "false"):
        raise BadRequest("overdue is true or false", ["overdue"])
    sort = _one(query, "_sort", "authored-on")
    if sort not in ("authored-on", "-authored-on"):
        raise BadRequest("_sort is authored-on or -authored-on", ["_sort"])
    count = search.whole_number("_count", _one(query, "_count", "20"), 1, hub.fhir.settings.max_count)
    offset = search.whole_number("_offset", _one(query, "_offset", "0"), 0, 10_000_000)
    conds = [SIDES[side] == org, rc.c.status.in_(statuses)]
    if priorities:
        conds.append(rc.c.priority.in_(priorities))
    if overdue == "true":
        conds.append(or_(rc.c.ack_overdue_at.is_not(None), rc.c.accept_overdue_at.is_not(None)))
    order = (
        (rc.c.submitted_at.desc(), rc.c.task_id.desc())
        if sort[0] == "-"
        else (rc.c.submitted_at, rc.c.task_id)
    )
    q = search.Query(TYPES["Task"], count=count, offset=offset, policy=Policy(principal))
    q.policy.require("Task", "search")
    q.used = [(k, v) for k, v in query if k != "_offset"]
    task_rt = TYPES["Task"]
    t = resource_tables["Task"]
    with hub.db.read(transaction=False) as conn:
        matches: list[search.Match] = []
        more = False
        if q.policy.permits("Task", "read"):
            # The page straight from the clock's index, joined to the Tasks under the caller's read
            # filter: one statement, and a page holds only what the caller may see.
            visible = q.policy.read_filter(task_rt)
            rows = conn.execute(
                select(t.c.pid, t.c.fhir_id, t.c.body, t.c.tenant, t.c.patient, t.c.version)
                .select_from(rc.join(t, t.c.fhir_id == rc.c.task_id))
                .where(*conds, t.c.deleted.is_(False), true() if visible is None else visible)
                .order_by(*order)
                .limit(count + 1)
                .offset(offset)
            ).all()
            more = len(rows) > count
            matches = [
                search.Match(r.pid, "Task", r.fhir_id, r.body, "match", r.tenant, r.patient, r.version)
                for r in rows[:count]
            ]
        wanted: dict[str, set[str]] = {"Patient": set(), "ServiceRequest": set(), "Organization": set()}
        for m in matches:
            task = orjson.loads(m.body)
            for ref in (task.get("for"), task.get("focus"), task.get("requester")):
                parsed = parse_reference((ref or {}).get("reference", ""))
                if parsed and parsed[0] in wanted:
                    wanted[parsed[0]].add(parsed[1])
        includes = search.fetch_by_ids(conn, q.policy, wanted)
    result = search.Result(matches, includes, more, None if more else offset + len(matches), q)
    touched = [Touched(m.type, m.id, m.tenant, m.patient, m.version) for m in matches + includes]
    record_access(hub.db, principal, "search-type", touched, query=f"Task/$worklist?{urlencode(query)}")
    return bundles.searchset(result, base, "Task/$worklist")
