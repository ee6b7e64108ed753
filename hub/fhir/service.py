"""The FHIR service layer: each public method is one command in one transaction.

Views call these and shape the response; the store below only flushes.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import text

from hub.audit.recorder import Touched, record_access
from hub.auth.principal import Principal
from hub.auth.tenancy import Policy
from hub.db import Database
from hub.errors import BadRequest, MethodNotAllowed, NotFound, PreconditionFailed
from hub.fhir import dates, search
from hub.fhir.extract import h64
from hub.fhir.parse import check_id, check_resource
from hub.fhir.registry import TYPES, ResourceType
from hub.fhir.store import Store, Stored

# Medical records are never deleted (corrections use entered-in-error); a Subscription is not a
# medical record, and a client must be able to end one.
DELETABLE = frozenset({"Subscription"})


@dataclass(frozen=True)
class SearchSettings:
    default_count: int = 20
    max_count: int = 1000


def resource_type(name: str) -> ResourceType:
    rt = TYPES.get(name)
    if rt is None:
        raise NotFound(f"'{name}' is not a resource type this server stores", [name])
    return rt


def lock_criteria(db: Database, conn, rtype: str, criteria: str) -> None:
    """Serialise conditional writes with the same criteria (two may otherwise both see 'no match')."""
    if not db.is_sqlite:  # SQLite's single writer already serialises them
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": h64("conditional", rtype, criteria)})


def conditional_create(
    db: Database,
    store: Store,
    rt: ResourceType,
    resource: dict,
    if_none_exist: str | None,
    fid: str | None = None,
) -> tuple[Stored, bool]:
    """Create unless ``if_none_exist`` matches; ``(stored, created)``."""
    if if_none_exist:
        lock_criteria(db, store.conn, rt.name, if_none_exist)
        found = search.resolve_conditional(store.conn, rt, if_none_exist, store.policy)
        if len(found) > 1:
            raise PreconditionFailed(
                f"If-None-Exist '{if_none_exist}' matches more than one {rt.name}", ["If-None-Exist"]
            )
        if found:
            return store.read(rt, found[0].id), False
    return store.create(rt, resource, fid=fid), True


def conditional_target(db: Database, store: Store, rt: ResourceType, criteria: str) -> str | None:
    """The id a conditional update addresses: the one match, or None to create."""
    lock_criteria(db, store.conn, rt.name, criteria)
    found = search.resolve_conditional(store.conn, rt, criteria, store.policy)
    if len(found) > 1:
        raise PreconditionFailed(f"conditional update '{criteria}' matches more than one {rt.name}")
    return found[0].id if found else None


def _touched(stored: Stored) -> Touched:
    return Touched(stored.type, stored.id, stored.tenant, stored.patient, stored.version)


class FhirService:
    """Every command names its caller: the store it runs on applies that principal's policy."""

    def __init__(self, db: Database, settings: SearchSettings | None = None):
        self.db = db
        self.settings = settings or SearchSettings()

    def store(self, conn, principal: Principal) -> Store:
        return Store(self.db, conn, Policy(principal))

    def create(
        self, principal: Principal, tname: str, resource: dict, if_none_exist: str | None = None
    ) -> tuple[Stored, bool]:
        rt = resource_type(tname)
        check_resource(resource, tname)
        if "id" in resource:
            resource = {k: v for k, v in resource.items() if k != "id"}  # the server assigns ids
        with self.db.write() as conn:
            return conditional_create(self.db, self.store(conn, principal), rt, resource, if_none_exist)

    def update(
        self, principal: Principal, tname: str, fid: str, resource: dict, if_match: int | None = None
    ) -> tuple[Stored, bool]:
        rt = resource_type(tname)
        check_id(fid)
        check_resource(resource, tname)
        if resource.get("id") != fid:
            raise BadRequest(
                f"the body's id ({resource.get('id')!r}) must equal the id in the URL ({fid})",
                [f"{tname}.id"],
            )
        with self.db.write() as conn:
            return self.store(conn, principal).update(rt, fid, resource, if_match)

    def conditional_update(
        self, principal: Principal, tname: str, criteria: str, resource: dict
    ) -> tuple[Stored, bool]:
        rt = resource_type(tname)
        check_resource(resource, tname)
        with self.db.write() as conn:
            store = self.store(conn, principal)
            fid = conditional_target(self.db, store, rt, criteria)
            if fid and resource.get("id") not in (None, fid):
                raise BadRequest(
                    f"the body's id ({resource['id']}) is not the matched {tname}/{fid}", [f"{tname}.id"]
                )
            if fid is None:
                return store.create(rt, {k: v for k, v in resource.items() if k != "id"}), True
            return store.update(rt, fid, {**resource, "id": fid})

    def delete(self, principal: Principal, tname: str, fid: str) -> Stored:
        rt = resource_type(tname)
        if tname not in DELETABLE:
            raise MethodNotAllowed(
                f"{tname} records are not deleted; correct them with status 'entered-in-error' "
                f"(DELETE is allowed for: {', '.join(sorted(DELETABLE))})"
            )
        with self.db.write() as conn:
            return self.store(conn, principal).delete(rt, check_id(fid))

    def read(self, principal: Principal, tname: str, fid: str) -> Stored:
        rt = resource_type(tname)
        with self.db.read() as conn:
            stored = self.store(conn, principal).read(rt, check_id(fid))
        record_access(self.db, principal, "read", [_touched(stored)])
        return stored

    def vread(self, principal: Principal, tname: str, fid: str, vid: str) -> Stored:
        rt = resource_type(tname)
        if not vid.isdigit():
            raise NotFound(f"'{vid}' is not a version of {tname}/{fid}")
        with self.db.read() as conn:
            stored = self.store(conn, principal).vread(rt, check_id(fid), int(vid))
        record_access(self.db, principal, "vread", [_touched(stored)])
        return stored

    def history(
        self, principal: Principal, tname: str | None, fid: str | None, params: dict
    ) -> tuple[list[Stored], bool, int, int]:
        rt = resource_type(tname) if tname else None
        count = search.whole_number(
            "_count", params.get("_count", str(self.settings.default_count)), 1, self.settings.max_count
        )
        offset = search.whole_number("_offset", params.get("_offset", "0"), 0, 10_000_000)
        since = None
        if "_since" in params:
            try:
                since = dates.parse_range(params["_since"])[0]
            except dates.BadDate as exc:
                raise BadRequest(f"_since: {exc}", ["_since"]) from None
        with self.db.read() as conn:
            page, more = self.store(conn, principal).history(
                rt, check_id(fid) if fid else None, count, offset, since
            )
        return page, more, count, offset

    def search(
        self, principal: Principal, tname: str, params: list[tuple[str, str]], lenient: bool = False
    ) -> search.Result:
        rt = resource_type(tname)
        with self.db.read(transaction=False) as conn:
            result = search.search(
                conn,
                rt,
                params,
                lenient,
                self.settings.default_count,
                self.settings.max_count,
                Policy(principal),
            )
        touched = [
            Touched(m.type, m.id, m.tenant, m.patient, m.version) for m in result.matches + result.includes
        ]
        record_access(self.db, principal, "search-type", touched, query=f"{tname}?{urlencode(params)}")
        return result
