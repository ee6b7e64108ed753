"""``POST /fhir`` with a Bundle: ``transaction`` (all or nothing, one database transaction) and
``batch`` (each entry on its own).

Transaction order follows the spec: DELETE, POST, PUT, GET. Before anything is written every POST
gets its id, conditional entries are resolved, and every ``urn:uuid:`` (or other fullUrl) reference
is rewritten to ``Type/id``; the hub rules then run on the rewritten resources, so a failure of any
entry leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from hub.audit.recorder import Touched, record_access
from hub.auth.principal import ADMIN, Principal
from hub.db import Database
from hub.errors import (
    BadRequest,
    Forbidden,
    HubError,
    Issue,
    MethodNotAllowed,
    NotFound,
    PreconditionFailed,
    operation_outcome,
)
from hub.fhir import bundles, dates, search
from hub.fhir.extract import parse_reference
from hub.fhir.parse import check_id, check_rules, check_structure
from hub.fhir.registry import TYPES
from hub.fhir.service import DELETABLE, FhirService, conditional_target, lock_criteria, resource_type
from hub.fhir.store import Store, Stored, new_id

# An entry extension naming the institution a record belongs to; honoured for the alliance office
# (system jobs such as the demo seed, and admin clients) only: an institution writes as itself.
OWNER_EXTENSION_PATH = "/StructureDefinition/entry-owner"

METHODS = ("DELETE", "POST", "PUT", "GET", "HEAD")
ORDER = {m: i for i, m in enumerate(("DELETE", "POST", "PUT", "PATCH", "GET", "HEAD"))}


@dataclass
class Entry:
    index: int
    method: str
    url: str
    full_url: str | None
    resource: dict | None
    if_none_exist: str | None = None
    if_match: str | None = None
    owner: str | None = None  # the entry-owner extension: the institution to store the record under
    # filled in by planning:
    rtype: str | None = None
    fid: str | None = None
    criteria: str | None = None
    response: dict = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"Bundle.entry[{self.index}]"


def _entries(bundle: dict) -> list[Entry]:
    out = []
    for i, e in enumerate(bundle.get("entry") or []):
        req = e.get("request")
        if not req:
            raise BadRequest(
                f"Bundle.entry[{i}] has no request (method and url)", [f"Bundle.entry[{i}].request"]
            )
        method = req.get("method")
        if method not in METHODS:
            raise BadRequest(
                f"Bundle.entry[{i}].request.method '{method}' is not supported ({', '.join(METHODS)} are)",
                [f"Bundle.entry[{i}].request.method"],
            )
        url = req.get("url", "")
        if url.startswith("/"):
            url = url[1:]
        if method in ("POST", "PUT") and not e.get("resource"):
            raise BadRequest(f"Bundle.entry[{i}] ({method}) has no resource", [f"Bundle.entry[{i}].resource"])
        owner = next(
            (
                x.get("valueReference", {}).get("reference")
                for x in e.get("extension") or []
                if x.get("url", "").endswith(OWNER_EXTENSION_PATH)
            ),
            None,
        )
        out.append(
            Entry(
                i,
                method,
                url,
                e.get("fullUrl"),
                e.get("resource"),
                req.get("ifNoneExist"),
                req.get("ifMatch"),
                owner,
            )
        )
    return out


def process(service: FhirService, principal: Principal, bundle: dict, base: str) -> dict:
    check_structure(bundle, "Bundle")
    btype = bundle.get("type")
    if btype not in ("transaction", "batch"):
        raise BadRequest(
            f"POST /fhir takes a Bundle of type transaction or batch, not '{btype}'", ["Bundle.type"]
        )
    entries = _entries(bundle)
    if btype == "transaction":
        return _transaction(service, principal, entries, base)
    return _batch(service, principal, entries, base)


# ----- transaction -----


def _transaction(service: FhirService, principal: Principal, entries: list[Entry], base: str) -> dict:
    db = service.db
    _check_full_urls(entries)
    with db.write() as conn:
        store = service.store(conn, principal)
        mapping = _plan(db, store, entries)
        _resolve_owners(store, entries, mapping)
        for e in entries:
            if e.resource is not None:
                e.resource = _rewrite(e.resource, mapping, store, e.where + ".resource")
        for e in entries:
            if e.method in ("POST", "PUT") and not e.response:
                check_rules(e.resource, prefix=e.where + ".resource.")
        pids = db.allocate_pids(conn, sum(1 for e in entries if e.method == "POST" and not e.response))
        for e in sorted(entries, key=lambda x: (ORDER[x.method], x.index)):
            try:
                _execute(service, store, e, pids, base)
            except HubError as err:
                raise _at_entry(err, e) from None
    out = bundles._bundle("transaction-response")
    out["entry"] = [e.response for e in entries]
    return out


def _check_full_urls(entries: list[Entry]) -> None:
    seen = set()
    for e in entries:
        if e.full_url and e.method in ("POST", "PUT"):
            if e.full_url in seen:
                raise BadRequest(f"{e.where}.fullUrl '{e.full_url}' appears twice", [f"{e.where}.fullUrl"])
            seen.add(e.full_url)


def _split(url: str, where: str) -> tuple[str, str | None, str | None]:
    """``Type``, ``Type/id``, ``Type?criteria`` -> (type, id, criteria)."""
    if "://" in url.partition("?")[0]:
        raise BadRequest(
            f"{where}.request.url '{url[:80]}' must be relative to the FHIR base (Type, Type/id "
            "or Type?criteria)",
            [f"{where}.request.url"],
        )
    path, _, query = url.partition("?")
    parts = [p for p in path.split("/") if p]
    if not parts:
        raise BadRequest(f"{where}.request.url '{url}' names no resource type", [f"{where}.request.url"])
    if parts[0] not in TYPES:
        raise NotFound(
            f"{where}.request.url: '{parts[0]}' is not a resource type this server stores",
            [f"{where}.request.url"],
        )
    fid = parts[1] if len(parts) > 1 else None
    return parts[0], fid, query or None


def _plan(db: Database, store: Store, entries: list[Entry]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for e in entries:
        if e.method not in ("POST", "PUT"):
            continue
        try:
            _plan_entry(db, store, e, mapping)
        except HubError as err:
            raise _at_entry(err, e) from None
    return mapping


def _plan_entry(db: Database, store: Store, e: Entry, mapping: dict[str, str]) -> None:
    rtype, fid, criteria = _split(e.url, e.where)
    if e.resource.get("resourceType") != rtype:
        raise BadRequest(
            f"{e.where}: the resource is a {e.resource.get('resourceType')} but the request "
            f"url names {rtype}",
            [f"{e.where}.resource.resourceType"],
        )
    rt = resource_type(rtype)
    e.rtype = rtype
    if e.method == "POST":
        if fid:
            raise BadRequest(
                f"{e.where}: POST goes to the type ('{rtype}'), not to an id", [f"{e.where}.request.url"]
            )
        if e.if_none_exist:
            lock_criteria(db, store.conn, rtype, e.if_none_exist)
            found = search.resolve_conditional(store.conn, rt, e.if_none_exist, store.policy)
            if len(found) > 1:
                raise PreconditionFailed(
                    f"{e.where}: ifNoneExist '{e.if_none_exist}' matches more than one {rtype}",
                    [f"{e.where}.request.ifNoneExist"],
                )
            if found:
                stored = store.read(rt, found[0].id)
                e.fid = stored.id
                e.response = bundles.write_response(stored, 200)
        if e.fid is None:
            e.fid = new_id()
    else:
        if criteria:
            e.criteria = criteria
            e.fid = conditional_target(db, store, rt, criteria) or new_id()
        elif fid:
            e.fid = check_id(fid, f"{e.where}.request.url")
            if e.resource.get("id") != fid:
                raise BadRequest(
                    f"{e.where}: the resource id ({e.resource.get('id')!r}) must equal the "
                    f"id in the request url ({fid})",
                    [f"{e.where}.resource.id"],
                )
        else:
            raise BadRequest(f"{e.where}: PUT needs Type/id or Type?criteria", [f"{e.where}.request.url"])
    target = f"{rtype}/{e.fid}"
    if e.full_url:
        mapping[e.full_url] = target
        tail = _tail(e.full_url)
        if tail and tail != target:
            mapping.setdefault(tail, target)


def _resolve_owners(store: Store, entries: list[Entry], mapping: dict[str, str]) -> None:
    """The entry-owner extension, as an Organization id; only the alliance office may name another
    institution than its own."""
    principal = store.policy.principal
    for e in entries:
        if not e.owner:
            continue
        parsed = parse_reference(mapping.get(e.owner, e.owner))
        if not parsed or parsed[0] != "Organization":
            raise BadRequest(
                f"{e.where}.extension: the entry owner must reference an Organization",
                [f"{e.where}.extension"],
            )
        if principal.kind != "system" and principal.role != ADMIN and parsed[1] != principal.organization:
            raise Forbidden(
                f"{e.where}: an institution writes its records as itself, not as Organization/{parsed[1]}"
            )
        e.owner = parsed[1]


def _tail(full_url: str) -> str | None:
    if full_url.startswith("urn:"):
        return None
    parts = urlsplit(full_url).path.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else None


def _rewrite(node, mapping: dict[str, str], store: Store, where: str):
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "reference" and isinstance(v, str):
                out[k] = _resolve_reference(v, mapping, store, f"{where}.reference")
            else:
                out[k] = _rewrite(v, mapping, store, f"{where}.{k}")
        return out
    if isinstance(node, list):
        return [_rewrite(v, mapping, store, f"{where}[{i}]") for i, v in enumerate(node)]
    return node


def _resolve_reference(ref: str, mapping: dict[str, str], store: Store, where: str) -> str:
    if ref in mapping:
        return mapping[ref]
    if ref.startswith("urn:uuid:") or ref.startswith("urn:oid:"):
        raise BadRequest(f"{where}: '{ref}' is not the fullUrl of any entry in this transaction", [where])
    if "?" in ref and not ref.startswith("#"):
        rtype, _, criteria = ref.partition("?")
        rt = TYPES.get(rtype)
        if rt is None:
            raise BadRequest(f"{where}: conditional reference '{ref}' names an unknown type", [where])
        found = search.resolve_conditional(store.conn, rt, criteria, store.policy)
        if len(found) != 1:
            raise PreconditionFailed(
                f"{where}: conditional reference '{ref}' matches {len(found)} resources; "
                "it must match exactly one",
                [where],
            )
        return f"{rtype}/{found[0].id}"
    return ref


def _execute(service: FhirService, store: Store, e: Entry, pids: list[int], base: str) -> None:
    if e.method == "POST":
        if e.response:
            return  # an existing match of ifNoneExist
        rt = TYPES[e.rtype]
        resource = {k: v for k, v in e.resource.items() if k != "id"}
        stored = store.create(rt, resource, fid=e.fid, pid=pids.pop(), tenant=e.owner)
        e.response = bundles.write_response(stored, 201)
    elif e.method == "PUT":
        rt = TYPES[e.rtype]
        if_match = _if_match(e.if_match, e.where) if e.if_match else None
        stored, created = store.update(rt, e.fid, {**e.resource, "id": e.fid}, if_match, tenant=e.owner)
        e.response = bundles.write_response(stored, 201 if created else 200)
    elif e.method == "DELETE":
        rtype, fid, _ = _split(e.url, e.where)
        if rtype not in DELETABLE or not fid:
            raise MethodNotAllowed(
                f"{e.where}: {rtype} records are not deleted; correct them with status 'entered-in-error'"
            )
        stored = store.delete(TYPES[rtype], fid)
        e.response = {"response": {"status": "204 No Content", "etag": stored.etag}}
    else:
        e.response = _read_entry(store, e, base, audit_conn=store.conn)


def _if_match(value: str, where: str) -> int:
    v = value.strip()
    if v.startswith("W/"):
        v = v[2:]
    v = v.strip('"')
    if not v.isdigit():
        raise BadRequest(f"{where}: ifMatch '{value}' is not an ETag (W/\"n\")", [f"{where}.request.ifMatch"])
    return int(v)


def _read_entry(store: Store, e: Entry, base: str, audit_conn=None) -> dict:
    """A GET entry; what it returns of other institutions is audited like any read (in the bundle's
    own transaction when there is one: ``audit_conn``)."""
    rtype, fid, query = _split(e.url, e.where)
    rt = resource_type(rtype)
    principal = store.policy.principal
    if fid is None:
        params = parse_qsl(query or "", keep_blank_values=True)
        result = search.run(store.conn, search.parse(rt, params, policy=store.policy))
        touched = [
            Touched(m.type, m.id, m.tenant, m.patient, m.version) for m in result.matches + result.includes
        ]
        record_access(
            store.db, principal, "search-type", touched, query=f"{rtype}?{query or ''}", conn=audit_conn
        )
        return {"resource": bundles.searchset(result, base, rtype), "response": {"status": "200 OK"}}
    parts = e.url.partition("?")[0].split("/")
    if len(parts) == 4 and parts[2] == "_history":
        stored = store.vread(rt, fid, int(parts[3]) if parts[3].isdigit() else -1)
    else:
        stored = store.read(rt, fid)
    record_access(
        store.db,
        principal,
        "read",
        [Touched(stored.type, stored.id, stored.tenant, stored.patient, stored.version)],
        conn=audit_conn,
    )
    return _read_response(stored)


def _read_response(stored: Stored) -> dict:
    return {
        "resource": bundles.fragment(stored.body),
        "response": {
            "status": "200 OK",
            "etag": stored.etag,
            "lastModified": dates.instant(stored.last_updated),
        },
    }


def _at_entry(err: HubError, e: Entry) -> HubError:
    """The same error, its messages saying which entry failed."""
    issues = [
        Issue(
            i.diagnostics if i.diagnostics.startswith("Bundle.entry") else f"{e.where}: {i.diagnostics}",
            i.code,
            i.severity,
            i.expression,
        )
        for i in err.all_issues()
    ]
    err.issues = issues
    return err


# ----- batch -----


def _batch(service: FhirService, principal: Principal, entries: list[Entry], base: str) -> dict:
    out = bundles._bundle("batch-response")
    responses = []
    for e in entries:
        try:
            responses.append(_batch_entry(service, principal, e, base))
        except HubError as err:
            responses.append(
                {
                    "response": {
                        "status": bundles.STATUS_TEXT.get(err.status, str(err.status)),
                        "outcome": operation_outcome(_at_entry(err, e).all_issues()),
                    }
                }
            )
    out["entry"] = responses
    return out


def _batch_entry(service: FhirService, principal: Principal, e: Entry, base: str) -> dict:
    rtype, fid, criteria = _split(e.url, e.where)
    if e.method == "POST":
        stored, created = service.create(principal, rtype, e.resource, e.if_none_exist)
        return bundles.write_response(stored, 201 if created else 200)
    if e.method == "PUT":
        if criteria:
            stored, created = service.conditional_update(principal, rtype, criteria, e.resource)
        else:
            if not fid:
                raise BadRequest(f"{e.where}: PUT needs Type/id or Type?criteria", [f"{e.where}.request.url"])
            stored, created = service.update(
                principal, rtype, fid, e.resource, _if_match(e.if_match, e.where) if e.if_match else None
            )
        return bundles.write_response(stored, 201 if created else 200)
    if e.method == "DELETE":
        stored = service.delete(principal, rtype, fid or "")
        return {"response": {"status": "204 No Content", "etag": stored.etag}}
    with service.db.read() as conn:
        return _read_entry(service.store(conn, principal), e, base)
