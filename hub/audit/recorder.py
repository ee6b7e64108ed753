"""When the hub writes AuditEvents, and in which transaction.

- Every write (create, update, delete) is recorded in the transaction of the change itself: no
  change without its record.
- A read or search that returns another institution's records is recorded per patient (BALP: one
  event per patient, the query but never the results), with the PrivacyDisclosure pair (export at
  the custodian, import at the recipient); regulators' reads are always recorded.
- Refused attempts (401, 403) and token issues and refusals are recorded in their own transaction.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from hub.audit import chain, disclosures, events
from hub.audit import codes as c
from hub.audit.events import RequestMeta
from hub.audit.writer import writer_for
from hub.auth.principal import REGULATOR, Principal
from hub.db import BEFORE_COMMIT, Database

META_KEY = "request_meta"  # where the request's network details travel with its principal


def meta_of(principal: Principal) -> RequestMeta:
    return principal.extra.get(META_KEY) or events.NO_REQUEST


@dataclass(frozen=True)
class Touched:
    """A resource a request returned or changed: what the audit needs to know of it."""

    type: str
    id: str
    tenant: str | None
    patient: str | None
    version: int | None = None

    @property
    def reference(self) -> str:
        base = f"{self.type}/{self.id}"
        return f"{base}/_history/{self.version}" if self.version else base

    @property
    def patient_id(self) -> str | None:
        return self.id if self.type == "Patient" else self.patient


def record_write(
    db: Database, conn, principal: Principal, subtype: str, touched: Touched | list[Touched]
) -> None:
    """In the caller's transaction: the change and its record commit together. Several records
    changed at once get one event per patient (BALP), naming every record of that patient."""
    if principal.kind == "system" and principal.id == "audit":
        return
    by_patient: dict[str | None, list[str]] = defaultdict(list)
    for t in touched if isinstance(touched, list) else [touched]:
        by_patient[t.patient_id].append(t.reference)
    meta = meta_of(principal)
    items = [
        (
            events.rest_event(principal, subtype, patient_id=p, entities=refs, request_meta=meta),
            chain.FROM_EVENT,
        )
        for p, refs in by_patient.items()
    ]
    if BEFORE_COMMIT not in conn.info:  # a transaction not opened by Database.write: store them now
        chain.append_many(db, conn, items)
        return
    Database.before_commit(conn, _WriteEvents).add(db, conn, items)


class _WriteEvents:
    """The AuditEvents of a write transaction's changes, stored together as its last writes (one
    statement on PostgreSQL, where each change's record was one): an intake transaction records the
    EMPI's Patient and the institution's records, a transaction Bundle each of its entries."""

    def __init__(self):
        self.db: Database | None = None
        self.items: list[tuple[dict, object]] = []
        self.ran = False

    def add(self, db: Database, conn, items: list[tuple[dict, object]]) -> None:
        if self.ran:  # asked by a hook that runs after this one: now
            chain.append_many(db, conn, items)
            return
        self.db = db
        self.items += items

    def __call__(self, conn) -> None:
        self.ran = True
        if self.items:
            items, self.items = self.items, []
            chain.append_many(self.db, conn, items)


def record_access(
    db: Database,
    principal: Principal,
    subtype: str,
    touched: list[Touched],
    query: str | None = None,
    conn=None,
) -> None:
    """After a read or search: one event per patient whose records came from another institution,
    and the disclosure pair for the record versions that cross to the caller's institution for the
    first time (for this purpose); in ``conn``'s transaction when the read was part of one (a
    transaction Bundle), else committed by the process's group writer (``hub.audit.writer``) before
    this returns."""
    if principal.kind == "system":
        return
    foreign = [t for t in touched if t.tenant != principal.organization or principal.role == REGULATOR]
    if not foreign:
        return
    by_patient: dict[str | None, list[Touched]] = defaultdict(list)
    for t in foreign:
        by_patient[t.patient_id].append(t)
    record = access_record(principal, subtype, by_patient, query)
    if conn is not None:
        chain.append_many(db, conn, record.build(disclosures.claim(conn, record.keys)))
        return
    # Committed together with other requests' records; the read answers only once it is committed.
    writer_for(db).write(record)


@dataclass(frozen=True)
class AccessRecord:
    """A read's record, which depends on the ledger: ``keys`` are the disclosures it would make
    (claimed in the transaction that writes it), ``build(new)`` its events once the keys ``new``
    to the ledger are known -- the access per patient, and the export/import pair per patient and
    source institution of the versions that cross now."""

    keys: list[disclosures.Key]
    build: Callable[[set[disclosures.Key]], list[tuple[dict, object]]]


def access_record(principal: Principal, subtype: str, by_patient: dict, query=None) -> AccessRecord:
    meta = meta_of(principal)
    accesses: list[tuple[dict, object]] = []
    crossing = []  # (patient, source institution, the references it would disclose)
    for patient, items in by_patient.items():
        refs = [t.reference for t in items]
        event = events.rest_event(
            principal, subtype, patient_id=patient, entities=refs, query=query, request_meta=meta
        )
        accesses.append((event, chain.FROM_EVENT))
        if patient is None or principal.organization is None:
            continue
        for source in sorted({t.tenant for t in items if t.tenant and t.tenant != principal.organization}):
            crossing.append((patient, source, [t.reference for t in items if t.tenant == source]))
    recipient, purpose = principal.organization, principal.purpose

    def build(new: set[disclosures.Key]) -> list[tuple[dict, object]]:
        batch = list(accesses)
        for patient, source, refs in crossing:
            disclosed = [r for r in refs if (recipient, purpose, r) in new]
            if not disclosed:
                continue
            export, imported = events.disclosure_pair(
                source,
                recipient,
                patient,
                disclosed,
                purpose,
                principal=principal,
                request_meta=meta,
                disclosure_id=str(uuid.uuid4()),
            )
            batch += [(export, source), (imported, recipient)]
        return batch

    keys = [(recipient, purpose, r) for _, _, refs in crossing for r in refs]
    return AccessRecord(keys, build)


def record_denied(
    db: Database,
    principal: Principal | None,
    subtype: str,
    outcome_oo: dict,
    meta: RequestMeta,
    query: str | None = None,
) -> None:
    """A refused attempt, in its own transaction (the request's own changes were rolled back)."""
    who = principal or Principal("client", "anonymous", None, "anonymous", name="unauthenticated caller")
    event = events.rest_event(
        who,
        subtype,
        outcome=c.OUTCOME_MINOR,
        query=query,
        request_meta=meta,
        outcome_desc=(outcome_oo.get("issue") or [{}])[0].get("diagnostics"),
        operation_outcome=outcome_oo,
    )
    with db.write() as conn:
        chain.append(db, conn, event, tenant=who.organization)


class TokenAudit:
    """The ``xietong_auth`` hook: token issues and refusals become chained AuditEvents."""

    def __init__(self, db: Database, server_url: str | None = None):
        self.db = db
        self.server_url = server_url

    def on_event(self, kind: str, detail: dict) -> None:
        issued = kind == "token-issued"
        meta = RequestMeta(remote_addr=detail.get("remote_addr"), server_url=self.server_url)
        event = events.token_event(
            detail.get("client_id") or "unknown",
            c.OUTCOME_SUCCESS if issued else c.OUTCOME_MINOR,
            meta,
            jti=detail.get("jti"),
            scope=detail.get("scope"),
            organization=detail.get("organization"),
            client_name=detail.get("client_name"),
            outcome_desc=None if issued else f"{detail.get('error')}: {detail.get('description')}",
        )
        with self.db.write() as conn:
            chain.append(self.db, conn, event, tenant=detail.get("organization"))
