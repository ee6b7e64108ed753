"""Intake: a payload from an institution -> pieces -> (parse, map, validate) -> link -> store.

A piece is stored whole or not at all: its patients are resolved by the EMPI, its records are written
through the same ``Store`` the FHIR API uses (validated, versioned, tenant-stamped as the
institution's, audited), and the ledger row that makes a resend a no-op is written with them.
Pieces are stored in groups, one transaction a group, in order (``Intake.process_many``); if any
piece of a group fails, the group is rolled back and each of its pieces is stored in a transaction
of its own. A piece that fails at any step is kept raw in the quarantine with the reason and the
element at fault, and can be replayed once its mapping is fixed. Nothing that arrives is lost and
nothing is stored twice.
"""

from __future__ import annotations

import gc
import itertools
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from urllib.parse import urlencode

import orjson
from sqlalchemy import String, any_, bindparam, insert, literal, null, select, text, union_all, update
from sqlalchemy.dialects.postgresql import ARRAY

from adapters import csv as csv_adapter
from adapters import fhir as fhir_adapter
from adapters import hl7v2 as hl7v2_adapter
from adapters.mapping import CodeMap, Mapping, default_mapping, load_all
from adapters.pipeline import Piece, Rejected, Translation, Unit, translate
from adapters.tables import intake_ledger, intake_record, quarantine
from hub.auth.principal import INSTITUTION, Principal, system
from hub.db import insert_later
from hub.empi import resolver
from hub.errors import Conflict, Forbidden, HubError, NotFound, Unauthorized
from hub.fhir import dates, search
from hub.fhir.parse import check_resource
from hub.fhir.registry import TYPES
from hub.fhir.store import WRITE_HOOKS, new_id

from . import premade
from .link import criteria
from .translators import Translators

log = logging.getLogger(__name__)

ADAPTERS = {"fhir": fhir_adapter, "hl7v2": hl7v2_adapter, "csv": csv_adapter}
GROUP_PIECES = 50  # pieces stored in one transaction, at most (``Intake.process_many``)
GROUP_RECORDS = 1000  # and records
AHEAD = 2  # groups of pieces sent to the translating processes ahead of the one being stored
RESTARTS = 3  # translating processes that broke are replaced this often, then the intake goes alone
AUTH_ERRORS = (Forbidden, Unauthorized)
# A piece whose transaction lost a race (409) is stored again, at most this often; then quarantined.
CONFLICT_ATTEMPTS = 3


@dataclass
class Result:
    source: str
    outcome: str  # stored | duplicate | quarantined
    message_id: str | None = None
    patient_id: str | None = None
    link: str | None = None  # the EMPI's outcome for the (first) patient
    records: int = 0
    reason: str | None = None
    element: str | None = None
    stage: str | None = None
    quarantine_id: int | None = None
    unmapped: list[dict] = field(default_factory=list)
    ack: str | None = None

    def as_json(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if v not in (None, [], 0) or k == "outcome"}
        if self.outcome == "quarantined":
            issue = {"severity": "error", "code": "processing" if self.stage == "link" else "invalid"}
            issue["diagnostics"] = f"[{self.stage}] {self.reason}"
            if self.element:
                issue["expression"] = [self.element]
            out["operationOutcome"] = {"resourceType": "OperationOutcome", "issue": [issue]}
        return out


@dataclass(frozen=True)
class Prior:
    """What the ledger says of a piece received before."""

    outcome: str
    message_id: str | None
    patient_id: str | None


@dataclass
class Summary:
    read: int = 0
    stored: int = 0
    duplicate: int = 0
    linked: int = 0  # pieces whose patient was found in the hub (matched or linked), not new
    new_patients: int = 0
    review: int = 0
    quarantined: int = 0
    records: int = 0
    unmapped: Counter = field(default_factory=Counter)
    results: list[Result] = field(default_factory=list)

    def add(self, r: Result) -> None:
        self.read += 1
        self.results.append(r)
        if r.outcome == "stored":
            self.stored += 1
            self.records += r.records
            if r.link in ("matched", "linked"):
                self.linked += 1
            elif r.link == "new":
                self.new_patients += 1
            elif r.link == "review":
                self.review += 1
        elif r.outcome == "duplicate":
            self.duplicate += 1
        else:
            self.quarantined += 1
        for u in r.unmapped:
            self.unmapped[(u["system"], u["code"])] += 1

    def as_json(self) -> dict:
        return {
            "read": self.read,
            "stored": self.stored,
            "duplicate": self.duplicate,
            "linked": self.linked,
            "newPatients": self.new_patients,
            "review": self.review,
            "quarantined": self.quarantined,
            "records": self.records,
            "unmapped": [{"system": s, "code": c, "count": n} for (s, c), n in sorted(self.unmapped.items())],
            "results": [r.as_json() for r in self.results],
        }


def freeze_startup_heap() -> None:
    """For a process that goes on ingesting once started (``flask ingest run``, the MLLP listener):
    what it has loaded by now -- the app, the FHIR models and their pydantic schemas, about 400,000
    objects -- lives as long as the process. Moved out of the collector's sight (``gc.freeze``), it is
    no longer walked by every full collection: 0.15 s a pass, and the intake's records that outlive
    a group's transaction bring one every 200 or so Bundles (0.7 ms a Bundle)."""
    gc.collect()
    gc.freeze()


def institution_principal(org_id: str, job: str = "ingest") -> Principal:
    """Who writes what an institution sends from the command line: that institution."""
    return Principal("client", job, org_id, INSTITUTION, ("system/*.cruds",), purpose="treatment")


class Intake:
    """Intake for one institution: its Organization id, its mapping, the principal that writes.

    ``translators``: processes that translate the pieces of a large payload (more than one group)
    while this one stores (``hub.ingest.translators``), started when first needed; 0, every piece is
    translated here. ``close()`` stops them."""

    def __init__(self, hub, institution: str, principal: Principal | None = None, translators: int = 0):
        self.hub = hub
        self.org_id, mapping = find_institution(hub, institution)
        self.principal = principal or institution_principal(self.org_id)
        self.mapping = load_code_maps(hub, mapping)
        self.translator_processes = translators
        self._translators: Translators | None = None
        self._restarts = 0

    def close(self) -> None:
        if self._translators is not None:
            self._translators.close()
            self._translators = None

    def __enter__(self) -> Intake:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----- payloads -----

    def run(self, fmt: str, payload: bytes, source: str, progress=None) -> Summary:
        return self.run_files(fmt, [(payload, source)], progress)

    def run_files(self, fmt: str, payloads: Iterable[tuple[bytes, str]], progress=None) -> Summary:
        """Every piece of the payloads (``(bytes, source)``, read as they are reached), in order, in
        groups of ``GROUP_PIECES``; with translators, the groups are translated in the translating
        processes (the first here if they are not running yet), ``AHEAD`` groups ahead of the one
        being stored."""
        adapter = adapter_for(fmt)
        summary = Summary()
        pieces = (p for payload, source in payloads for p in adapter.split(payload, source, self.mapping))
        groups = _groups(pieces, GROUP_PIECES)
        if self.translator_processes < 1:
            for group in groups:
                self._run_some(fmt, group, None, summary, progress)
            return summary
        head = list(itertools.islice(groups, AHEAD + 1))
        if len(head) < 2:  # a small payload: not worth starting processes for
            for group in head:
                self._run_some(fmt, group, None, summary, progress)
            return summary
        # Processes that are not running yet start on the second group while the first is translated
        # here; running ones (an earlier payload's) take the first as well.
        here = [] if self._translators is not None else head[:1]
        seen = {p.content_hash for g in here for p in g}  # met so far: a repeat is decided when stored
        ahead = deque(self._send(fmt, group, seen) for group in head[len(here) :])
        for group in here:
            self._run_some(fmt, group, None, summary, progress)
        for group in groups:
            ahead.append(self._send(fmt, group, seen))
            self._run_some(fmt, *self._received(*ahead.popleft()), summary, progress)
        while ahead:
            self._run_some(fmt, *self._received(*ahead.popleft()), summary, progress)
        return summary

    def translators(self) -> Translators | None:
        """The translating processes, started now if not yet (None: this intake has none)."""
        if self.translator_processes < 1:
            return None
        if self._translators is None:
            self._translators = Translators(self.mapping, self.translator_processes)
        return self._translators

    def _send(self, fmt: str, group: list[Piece], seen: set[str]) -> tuple:
        """The pieces of a group that are new (not in the ledger, not earlier in this run) sent to
        the translating processes: ``(group, future, their positions)``."""
        prior = self._ledgers(fmt, {p.content_hash for p in group})
        new = []
        for n, p in enumerate(group):
            if p.content_hash not in prior and p.content_hash not in seen:
                new.append(n)
            seen.add(p.content_hash)
        future, pool = None, self.translators()
        if new and pool is not None:
            try:
                future = pool.submit(fmt, [group[n] for n in new])
            except Exception as exc:  # the processes cannot take work (one died): translated here
                self._lost_translators(exc)
        return group, future, new

    def _lost_translators(self, exc: Exception) -> None:
        """The translating processes failed (one died: killed, out of memory); the pieces they had
        are translated here. Broken processes are replaced, ``RESTARTS`` times at most."""
        log.warning("translating processes failed (%s); their pieces are translated here", exc)
        if isinstance(exc, BrokenProcessPool) and self._translators is not None:
            self._translators.close()
            self._translators = None
            self._restarts += 1
            if self._restarts > RESTARTS:
                log.warning(
                    "translating processes failed %d times; this intake translates alone", self._restarts
                )
                self.translator_processes = 0

    def _received(self, group: list[Piece], future: Future | None, new: list[int]) -> tuple:
        """``(group, translations by position)``; a translation that did not come back (a process
        that died, an error of its own) is left to this process, which translates the piece again."""
        translated: list[Translation | None] = [None] * len(group)
        if future is not None:
            try:
                for n, t in zip(new, future.result(), strict=True):
                    translated[n] = t
            except Exception as exc:  # translated here instead, with the same outcome or error
                self._lost_translators(exc)
                translated = [None] * len(group)
        return group, translated

    def _run_some(self, fmt: str, pieces: list[Piece], translated, summary: Summary, progress) -> None:
        for result in self.process_many(fmt, pieces, translated=translated):
            summary.add(result)
            if progress is not None:
                progress(summary)

    def process(self, fmt: str, piece: Piece, replaying: int | None = None) -> Result:
        return self.process_many(fmt, [piece], replaying)[0]

    def process_many(
        self,
        fmt: str,
        pieces: list[Piece],
        replaying: int | None = None,
        translated: list[Translation | None] | None = None,
    ) -> list[Result]:
        """Each piece's result, in order. Pieces that translate are stored in groups, a group one
        transaction (``_store_group``), in order: every piece sees what the pieces before it stored,
        as if each were stored alone (a record sent again later in the group updates the one stored
        earlier in it; the same bytes again start the next group, and are a duplicate).
        ``translated``: pieces' translations made elsewhere (``translators``), by position."""
        adapter = adapter_for(fmt)
        results: list[Result | None] = [None] * len(pieces)
        # Pieces received before are not translated again; a lone piece is looked up in its own
        # transaction instead (``_store``), which every piece is, against a resend racing it.
        priors = {}
        if replaying is None and len(pieces) > 1:
            priors = self._ledgers(fmt, {p.content_hash for p in pieces})
        group: list[tuple[int, Piece, Unit]] = []
        digests: set[str] = set()  # of this call's pieces so far
        records = 0

        def flush():
            nonlocal records
            self._store_group(fmt, group, results, replaying)
            group.clear()
            records = 0

        for i, piece in enumerate(pieces):
            digest = piece.content_hash
            if replaying is None:
                if digest in digests:  # the same bytes twice in one payload: the first one decides
                    if any(p.content_hash == digest for _, p, _ in group):
                        flush()
                    prior = self._ledger(fmt, digest)
                else:
                    prior = priors.get(digest)
                if prior is not None:
                    results[i] = self._duplicate(piece, prior, adapter)
                    continue
            made = translated[i] if translated is not None else None
            unit, exc = made if made is not None else translate(adapter, piece, self.mapping)
            if exc is not None:
                prior = self._ledger(fmt, digest) if replaying is None and len(pieces) == 1 else None
                if prior is not None:
                    results[i] = self._duplicate(piece, prior, adapter)
                else:
                    results[i] = self._quarantine(fmt, piece, unit, exc, replaying, adapter)
                digests.add(digest)
                continue
            if records + len(unit.records) > GROUP_RECORDS:
                flush()
            group.append((i, piece, unit))
            digests.add(digest)
            records += len(unit.records)
        flush()
        return results

    def _store_group(self, fmt: str, group: list, results: list, replaying: int | None) -> None:
        """Store translated pieces in one transaction; if any of them fails, each is stored alone, so
        that only the failing one goes to the quarantine."""
        if not group:
            return
        if len(group) > 1:
            try:
                with self.hub.db.write() as conn:
                    stored = self._store(conn, fmt, [(p, u) for _, p, u in group], replaying)
            except AUTH_ERRORS:
                raise
            except (HubError, Rejected):
                pass
            else:
                for (i, piece, unit), result in zip(group, stored, strict=True):
                    results[i] = self._done(fmt, piece, unit, result)
                return
            # Storing links the units' references to hub ids (in place): each is translated afresh.
            adapter = adapter_for(fmt)
            again = []
            for i, piece, _ in group:
                unit, exc = translate(adapter, piece, self.mapping)
                if exc is not None:  # not expected: it translated a moment ago
                    results[i] = self._quarantine(fmt, piece, None, exc, replaying, adapter)
                    continue
                again.append((i, piece, unit))
            group = again
        for i, piece, unit in group:
            results[i] = self._store_one(fmt, piece, unit, replaying)

    def _store_one(
        self, fmt: str, piece: Piece, unit: Unit, replaying: int | None, attempts: int = CONFLICT_ATTEMPTS
    ) -> Result:
        adapter = adapter_for(fmt)
        try:
            with self.hub.db.write() as conn:
                (result,) = self._store(conn, fmt, [(piece, unit)], replaying)
        except AUTH_ERRORS:
            raise
        except Conflict as exc:
            prior = self._ledger(fmt, piece.content_hash)
            if prior is not None and replaying is None:  # the same piece, sent twice at once
                return self._duplicate(piece, prior, adapter)
            if attempts <= 1:  # kept, to be replayed: a bulk load goes on with the next piece
                lost = Rejected("store", f"{exc} (tried {CONFLICT_ATTEMPTS} times)", "Patient")
                return self._quarantine(fmt, piece, unit, lost, replaying, adapter)
            # A concurrent transaction changed what this one read: nothing stored; again, a moment later.
            time.sleep(random.uniform(0.01, 0.05) * (CONFLICT_ATTEMPTS - attempts + 1))
            again, rejected = translate(adapter, piece, self.mapping)  # storing changed the unit
            if rejected is not None:
                return self._quarantine(fmt, piece, again, rejected, replaying, adapter)
            return self._store_one(fmt, piece, again, replaying, attempts - 1)
        except HubError as exc:
            element = next((e for i in exc.all_issues() for e in i.expression), None)
            stage = "link" if isinstance(exc, NotFound) else "store"
            return self._quarantine(fmt, piece, unit, Rejected(stage, str(exc), element), replaying, adapter)
        except Rejected as exc:
            return self._quarantine(fmt, piece, unit, exc, replaying, adapter)
        return self._done(fmt, piece, unit, result)

    def _done(self, fmt: str, piece: Piece, unit: Unit, result: Result) -> Result:
        if result.outcome == "duplicate":
            return result
        result.unmapped = [u.__dict__ for u in unit.unmapped]
        result.ack = _ack(adapter_for(fmt), unit, "AA", None, piece)
        return result

    def _store(self, conn, fmt: str, items: list[tuple[Piece, Unit]], replaying: int | None) -> list[Result]:
        """Link and store pieces in the caller's transaction: per piece, its patients are resolved and
        its records planned in order; the records new to the hub are then written together
        (``Store.create_many``: one AuditEvent per patient), with their intake and ledger rows."""
        people = resolver.Batch(conn, self.hub, self.org_id)
        # The turns of the pieces' patients first: what is read after them (the ledger, the records
        # known, the EMPI's candidates) sees what a transaction about the same people committed.
        people.take_turns([p for _, unit in items for p in unit.patients])
        digests = {p.content_hash for p, _ in items} if replaying is None else set()
        prior, known = self._priors(conn, fmt, digests, [r.source_key for _, u in items for r in u.records])
        done: dict[int, Result] = {}
        for n, (piece, _) in enumerate(items):  # received meanwhile (a resend racing this one)
            if piece.content_hash in prior:
                done[n] = self._duplicate(piece, prior[piece.content_hash], adapter_for(fmt))
        if done:
            items = [item for n, item in enumerate(items) if n not in done]
        stored = iter(self._store_new(conn, fmt, items, replaying, people, known))
        return [done[n] if n in done else next(stored) for n in range(len(items) + len(done))]

    def _store_new(
        self, conn, fmt: str, items: list[tuple[Piece, Unit]], replaying: int | None, people, known: dict
    ) -> list[Result]:
        hub, org = self.hub, self.org_id
        if not items:
            return []
        store = hub.fhir.store(conn, self.principal)
        policy = store.policy
        # The patients of every piece: their candidates fetched at once, resolved in order (each sees
        # the Patients the pieces before it made or changed), new ones written together before the
        # records that name them.
        people.prefetch([p for _, unit in items for p in unit.patients])
        creates: list[tuple] = []
        pending: set[str] = set()  # ids in ``creates``, not written yet
        new_keys: dict[str, dict] = {}  # intake rows of the records created, inserted at the end

        def write_pending():
            people.flush()
            store.create_many(creates)
            creates.clear()
            pending.clear()

        results = []
        for piece, unit in items:
            patient_ids, link = [], None
            for n, patient in enumerate(unit.patients):
                try:
                    r = people.resolve(patient, checked=True)  # ``validate(unit)`` did
                except (*AUTH_ERRORS, Conflict):  # a Conflict: a race lost, not the piece's fault
                    raise
                except HubError as exc:  # the EMPI refuses the patient (an identifier it cannot accept)
                    element = next((e for i in exc.all_issues() for e in i.expression), None)
                    raise Rejected("link", f"patient {n + 1}: {exc}", element) from None
                patient_ids.append(r.patient_id)
                link = link or r.outcome

            made = unit.premade
            if made is not None:
                keys = [r.source_key[:300] for r in unit.records if r.source_key]
                hooked = any(r.resource["resourceType"] in WRITE_HOOKS for r in unit.records)
                if not hooked and not any(k in known for k in keys):  # every record new: stored as made
                    for rec, (fid, text, rows), m in zip(
                        unit.records, made.for_patients(patient_ids), made.records, strict=True
                    ):
                        rt = TYPES[rec.resource["resourceType"]]
                        creates.append((rt, None, fid, text, rows))
                        pending.add(fid)
                        if rec.source_key:
                            key = rec.source_key[:300]
                            known[key] = (fid, m.digest)  # the same key later in the group: an update
                            new_keys[key] = _intake_row(org, key, rt.name, fid, m.digest)
                    patient = patient_ids[0] if patient_ids else None
                    results.append(
                        Result(piece.source, "stored", unit.message_id, patient, link, len(unit.records))
                    )
                    continue
                # One was stored before (or has write hooks here): the records as translated (making
                # them changed them).
                unit, rejected = translate(adapter_for(fmt), piece, self.mapping)
                if rejected is not None:  # not expected: it translated a moment ago
                    raise rejected

            # Which hub id each record has: the one it became before, a shared one, or a new one.
            plan = []
            ids: dict[str, str] = {}
            for rec in unit.records:
                rt = TYPES.get(rec.resource["resourceType"])
                if rt is None:
                    raise Rejected("store", f"{rec.resource['resourceType']} is not a type the hub stores")
                digest = premade.digest_of(rec.resource)
                fid, action = None, "create"
                before = known.get(rec.source_key[:300]) if rec.source_key else None
                if before is not None:
                    fid, action = before[0], ("same" if before[1] == digest else "update")
                if fid is None and rec.shared:
                    fid = _shared(conn, rt, rec.resource, policy)
                    action = "same" if fid else "create"
                fid = fid or new_id()
                if rec.source_key:  # the same key later in the group: an update of this one
                    known[rec.source_key[:300]] = (fid, digest)
                if rec.local_ref:
                    ids[rec.local_ref] = f"{rt.name}/{fid}"
                plan.append((rec, rt, fid, action, digest))

            written = 0
            for rec, rt, fid, action, digest in plan:
                if action == "same":
                    continue
                premade.link_references(rec.resource, patient_ids, ids)
                written += 1
                key = rec.source_key[:300] if rec.source_key else None
                if action == "update":
                    if fid in pending:  # created earlier in the group: written first, then changed
                        write_pending()
                    people.flush()
                    store.update(rt, fid, {**rec.resource, "id": fid})
                    if key in new_keys:  # created earlier in the group: its row is not written yet
                        new_keys[key]["content_hash"] = digest
                    else:
                        conn.execute(
                            update(intake_record)
                            .where(intake_record.c.institution == org, intake_record.c.source_key == key)
                            .values(content_hash=digest)
                        )
                    continue
                if rec.shared:  # written now: a later piece of the group finds it by its identifier
                    people.flush()
                    store.create(rt, rec.resource, fid=fid)
                else:
                    creates.append((rt, rec.resource, fid))
                pending.add(fid)
                if key:
                    new_keys[key] = _intake_row(org, key, rt.name, fid, digest)
            patient = patient_ids[0] if patient_ids else None
            results.append(Result(piece.source, "stored", unit.message_id, patient, link, written))
        write_pending()
        ledger = []
        if replaying is not None:
            for (piece, unit), r in zip(items, results, strict=True):
                self._record_ledger(
                    conn, fmt, piece, unit.message_id, "stored", r.patient_id, r.records, replaying
                )
        else:
            now = dates.now_utc()
            ledger = [
                {
                    "institution": org,
                    "format": fmt,
                    "content_hash": piece.content_hash,
                    **self._ledger_values(piece, unit.message_id, "stored", r.patient_id, r.records, now),
                }
                for (piece, unit), r in zip(items, results, strict=True)
            ]
        # Read by later transactions only: inserted with the transaction's other last rows (the EMPI
        # index's), in one statement.
        insert_later(conn, [(intake_record, list(new_keys.values())), (intake_ledger, ledger)])
        return results

    def _priors(self, conn, fmt: str, digests: set[str], source_keys: list[str | None]) -> tuple[dict, dict]:
        """``({content hash: ledger row}, {source key: (fhir id, content hash)})``: the pieces with
        these hashes received before, and the records these keys named before, in one query."""
        keys = sorted({k[:300] for k in source_keys if k})
        if not self.hub.db.is_sqlite:
            return self._priors_pg(conn, fmt, digests, keys)
        led, rec = intake_ledger.c, intake_record.c
        parts = []
        if digests:
            parts.append(
                select(
                    literal("ledger").label("kind"),
                    led.content_hash.label("k"),
                    led.outcome.label("a"),
                    led.message_id.label("b"),
                    led.patient_id.label("c"),
                ).where(
                    led.institution == self.org_id, led.format == fmt, led.content_hash.in_(sorted(digests))
                )
            )
        if keys:
            parts.append(
                select(
                    literal("record").label("kind"),
                    rec.source_key.label("k"),
                    rec.fhir_id.label("a"),
                    rec.content_hash.label("b"),
                    null().label("c"),
                ).where(rec.institution == self.org_id, rec.source_key.in_(keys[:500]))
            )
        prior, known = {}, {}
        for r in (
            conn.execute(union_all(*parts)) if len(parts) > 1 else conn.execute(parts[0]) if parts else []
        ):
            if r.kind == "ledger":
                prior[r.k] = Prior(r.a, r.b, r.c)
            else:
                known[r.k] = (r.a, r.b)
        known.update(self._known_records(conn, keys[500:]))
        return prior, known

    def _priors_pg(self, conn, fmt: str, digests: set[str], keys: list[str]) -> tuple[dict, dict]:
        """``_priors`` on PostgreSQL: every hash and key one lookup of its unique index, whatever the
        planner believes of the tables' sizes (a hub's first minutes, before they are analysed, it
        scanned every row of the institution's and filtered them: a millisecond per 1,000 records)."""
        prior, known = {}, {}
        if not digests and not keys:
            return prior, known
        rows = conn.execute(
            _PRIORS_PG, {"org": self.org_id, "fmt": fmt, "digests": sorted(digests), "keys": keys}
        )
        for r in rows:
            if r.kind == "ledger":
                prior[r.k] = Prior(r.a, r.b, r.c)
            else:
                known[r.k] = (r.a, r.b)
        return prior, known

    def _known_records(self, conn, source_keys: list[str | None]) -> dict[str, tuple[str, str]]:
        """``{source key: (fhir id, content hash)}`` of the records these keys named before."""
        wanted = sorted({k[:300] for k in source_keys if k})
        known = {}
        for at in range(0, len(wanted), 500):
            rows = conn.execute(
                select(
                    intake_record.c.source_key, intake_record.c.fhir_id, intake_record.c.content_hash
                ).where(
                    intake_record.c.institution == self.org_id,
                    intake_record.c.source_key.in_(wanted[at : at + 500]),
                )
            )
            known.update((r.source_key, (r.fhir_id, r.content_hash)) for r in rows)
        return known

    def _duplicate(self, piece: Piece, prior, adapter) -> Result:
        """A piece received before: nothing is stored again; the sender gets the same answer."""
        if prior.outcome == "stored":
            ack = _ack(adapter, None, "AA", None, piece)
        else:
            ack = _ack(
                adapter, None, "AE", Rejected("map", "received before and held in the quarantine"), piece
            )
        return Result(piece.source, "duplicate", prior.message_id, prior.patient_id, ack=ack)

    # ----- ledger and quarantine -----

    def _ledgers(self, fmt: str, digests: set[str], conn=None) -> dict:
        """The ledger rows of pieces received before, by content hash (in ``conn``'s transaction,
        or a read of its own)."""
        if not digests:
            return {}
        hashes = sorted(digests)
        if self.hub.db.is_sqlite:
            wanted = intake_ledger.c.content_hash.in_(hashes)
        else:  # one array parameter: the same short statement for any number (prepared once)
            wanted = intake_ledger.c.content_hash == any_(bindparam("hashes", hashes, type_=ARRAY(String)))
        q = select(intake_ledger).where(
            intake_ledger.c.institution == self.org_id, intake_ledger.c.format == fmt, wanted
        )
        if conn is not None:
            return {r.content_hash: r for r in conn.execute(q)}
        with self.hub.db.read() as read:
            return {r.content_hash: r for r in read.execute(q)}

    def _ledger(self, fmt: str, digest: str):
        with self.hub.db.read() as conn:
            return conn.execute(
                select(intake_ledger).where(
                    intake_ledger.c.institution == self.org_id,
                    intake_ledger.c.format == fmt,
                    intake_ledger.c.content_hash == digest,
                )
            ).first()

    @staticmethod
    def _ledger_values(piece, message_id, outcome, patient, records, now) -> dict:
        return {
            "source": piece.source[:512],
            "message_id": (message_id or "")[:200] or None,
            "outcome": outcome,
            "patient_id": patient,
            "records": records,
            "received_at": now,
        }

    def _record_ledger(self, conn, fmt, piece, message_id, outcome, patient, records, replaying) -> None:
        values = self._ledger_values(piece, message_id, outcome, patient, records, dates.now_utc())
        where = (
            intake_ledger.c.institution == self.org_id,
            intake_ledger.c.format == fmt,
            intake_ledger.c.content_hash == piece.content_hash,
        )
        exists = conn.execute(select(intake_ledger.c.id).where(*where)).first() if replaying else None
        if exists:
            conn.execute(update(intake_ledger).where(*where).values(**values))
        else:
            conn.execute(
                insert(intake_ledger).values(
                    institution=self.org_id, format=fmt, content_hash=piece.content_hash, **values
                )
            )
        if replaying is not None and outcome == "stored":
            conn.execute(
                update(quarantine)
                .where(quarantine.c.id == replaying)
                .values(status="replayed", resolved_at=dates.now_utc())
            )

    def _quarantine(self, fmt, piece: Piece, unit, exc: Rejected, replaying, adapter) -> Result:
        now = dates.now_utc()
        with self.hub.db.write() as conn:
            row = conn.execute(
                select(quarantine.c.id, quarantine.c.attempts).where(
                    quarantine.c.institution == self.org_id,
                    quarantine.c.format == fmt,
                    quarantine.c.content_hash == piece.content_hash,
                )
            ).first()
            values = {
                "stage": exc.stage,
                "reason": exc.reason[:4000],
                "element": (exc.element or "")[:300] or None,
            }
            if row is not None:
                qid = row.id
                conn.execute(
                    update(quarantine)
                    .where(quarantine.c.id == qid)
                    .values(**values, status="open", attempts=row.attempts + 1, resolved_at=None)
                )
            else:
                qid = conn.execute(
                    insert(quarantine)
                    .values(
                        institution=self.org_id,
                        format=fmt,
                        content_hash=piece.content_hash,
                        source=piece.source[:512],
                        message_id=((unit.message_id if unit else None) or "")[:200] or None,
                        raw=piece.raw,
                        status="open",
                        attempts=1,
                        received_at=now,
                        **values,
                    )
                    .returning(quarantine.c.id)
                ).scalar_one()
            self._record_ledger(
                conn, fmt, piece, unit.message_id if unit else None, "quarantined", None, 0, replaying or qid
            )
        code = "AR" if exc.stage == "parse" else "AE"
        return Result(
            piece.source,
            "quarantined",
            unit.message_id if unit else None,
            reason=exc.reason,
            element=exc.element,
            stage=exc.stage,
            quarantine_id=qid,
            unmapped=[u.__dict__ for u in unit.unmapped] if unit else [],
            ack=_ack(adapter, unit, code, exc, piece),
        )


# ``LIMIT 1`` (the keys are unique) keeps each lookup a lookup: without it the planner may join the
# arrays to all the institution's rows instead.
_PRIORS_PG = text(
    """
SELECT 'ledger' AS kind, l.content_hash AS k, l.outcome AS a, l.message_id AS b, l.patient_id AS c
FROM unnest(CAST(:digests AS text[])) AS d(h)
CROSS JOIN LATERAL (SELECT content_hash, outcome, message_id, patient_id FROM intake_ledger
                    WHERE institution = :org AND format = :fmt AND content_hash = d.h LIMIT 1) AS l
UNION ALL
SELECT 'record', r.source_key, r.fhir_id, r.content_hash, NULL
FROM unnest(CAST(:keys AS text[])) AS s(k)
CROSS JOIN LATERAL (SELECT source_key, fhir_id, content_hash FROM intake_record
                    WHERE institution = :org AND source_key = s.k LIMIT 1) AS r"""
)


def _ack(adapter, unit, code, exc, piece=None) -> str | None:
    make = getattr(adapter, "ack", None)
    if make is None:
        return None
    return make(unit, code, exc, piece)


def _intake_row(org: str, key: str, rtype: str, fid: str, digest: str) -> dict:
    """What the intake keeps of a record it created: its source key, its hub id, its content hash."""
    return {
        "institution": org,
        "source_key": key,
        "resource_type": rtype,
        "fhir_id": fid,
        "content_hash": digest,
    }


def _groups(pieces: Iterator[Piece], size: int) -> Iterator[list[Piece]]:
    while group := list(itertools.islice(pieces, size)):
        yield group


def adapter_for(fmt: str):
    adapter = ADAPTERS.get(fmt)
    if adapter is None:
        raise NotFound(f"'{fmt}' is not an intake format (one of: {', '.join(ADAPTERS)})", ["format"])
    return adapter


def _shared(conn, rt, resource: dict, policy) -> str | None:
    """A directory record the hub already holds under one of the same identifiers."""
    idents = resource.get("identifier")
    for ident in idents if isinstance(idents, list) else [idents] if idents else []:
        if ident.get("system") and ident.get("value"):
            found = search.resolve_conditional(conn, rt, criteria(ident), policy)
            if found:
                return found[0].id
    return None


# ----- institutions and their mappings -----


def find_institution(hub, institution: str) -> tuple[str, Mapping]:
    """``(Organization id, mapping)`` for an Organization id or a mapping key (``tonghai-county``)."""
    mappings = load_all()
    rt = TYPES["Organization"]
    with hub.db.read() as conn:
        if institution in mappings:
            m = mappings[institution]
            found = search.resolve_conditional(
                conn, rt, criteria({"system": m.organization[0], "value": m.organization[1]})
            )
            if not found:
                raise NotFound(
                    f"the Organization of institution '{institution}' "
                    f"({m.organization[0]}|{m.organization[1]}) "
                    "is not in the hub; load the alliance first",
                    ["institution"],
                )
            return found[0].id, m.bound(found[0].id)
        store = hub.fhir.store(conn, system("ingest"))
        try:
            org = store.read(rt, institution)
        except HubError:
            raise NotFound(f"Organization/{institution} is not known", ["institution"]) from None
        body = orjson.loads(org.body)
    have = {(i.get("system"), i.get("value")) for i in body.get("identifier") or []}
    for m in mappings.values():
        if m.organization in have:
            return institution, m.bound(institution)
    return institution, default_mapping(institution, body.get("name")).bound(institution)


def load_code_maps(hub, mapping: Mapping, reload: bool = False) -> Mapping:
    """The mapping with its code maps as stored (a ConceptMap corrected through the API wins); code
    maps not yet stored are stored from the file. ``reload``: the file's version replaces the stored."""
    if not mapping.code_maps:
        return mapping
    if not reload:
        with hub.db.read() as conn:
            stored = _stored_code_maps(hub, conn, mapping)
        if all(cm is not None for cm in stored):
            return mapping.with_code_maps(stored)
    rt = TYPES["ConceptMap"]
    with hub.db.write() as conn:
        store = hub.fhir.store(conn, system("ingest-mappings"))
        stored = _stored_code_maps(hub, conn, mapping)
        for i, cm in enumerate(mapping.code_maps):
            if stored[i] is not None and not reload:
                continue
            resource = cm.concept_map(publisher=mapping.name)
            check_resource(resource)
            found = search.resolve_conditional(conn, rt, urlencode({"url": cm.url}))
            if found:
                store.update(rt, found[0].id, {**resource, "id": found[0].id})
            else:
                store.create(rt, resource, tenant=mapping.organization_id)
            stored[i] = cm
    return mapping.with_code_maps(stored)


def _stored_code_maps(hub, conn, mapping: Mapping) -> list[CodeMap | None]:
    rt = TYPES["ConceptMap"]
    store = hub.fhir.store(conn, system("ingest-mappings"))
    out: list[CodeMap | None] = []
    for cm in mapping.code_maps:
        found = search.resolve_conditional(conn, rt, urlencode({"url": cm.url}))
        out.append(
            CodeMap.from_concept_map(orjson.loads(store.read(rt, found[0].id).body)) if found else None
        )
    return out


# ----- the quarantine, for people -----


def list_quarantine(hub, org_id: str | None, status: str | None = "open", limit: int = 100) -> list[dict]:
    q = select(
        quarantine.c.id,
        quarantine.c.institution,
        quarantine.c.format,
        quarantine.c.source,
        quarantine.c.message_id,
        quarantine.c.stage,
        quarantine.c.reason,
        quarantine.c.element,
        quarantine.c.status,
        quarantine.c.attempts,
        quarantine.c.received_at,
        quarantine.c.resolved_at,
    ).order_by(quarantine.c.id)
    if org_id is not None:
        q = q.where(quarantine.c.institution == org_id)
    if status:
        q = q.where(quarantine.c.status == status)
    with hub.db.read() as conn:
        rows = conn.execute(q.limit(limit)).all()
    return [
        {
            **r._asdict(),
            "received_at": dates.instant(r.received_at),
            "resolved_at": dates.instant(r.resolved_at) if r.resolved_at else None,
        }
        for r in rows
    ]


def quarantined(hub, qid: int, org_id: str | None):
    with hub.db.read() as conn:
        row = conn.execute(select(quarantine).where(quarantine.c.id == qid)).first()
    if row is None or (org_id is not None and row.institution != org_id):
        raise NotFound(f"quarantine entry {qid} is not known", ["id"])
    return row


def replay(hub, qid: int, org_id: str | None = None, principal: Principal | None = None) -> Result:
    """Run a quarantined piece through the pipeline again, with the institution's current mapping."""
    row = quarantined(hub, qid, org_id)
    if row.status != "open":
        raise Conflict(f"quarantine entry {qid} is {row.status}; only open entries are replayed", ["status"])
    intake = Intake(hub, row.institution, principal)
    return intake.process(row.format, Piece(bytes(row.raw), row.source), replaying=qid)


def discard(hub, qid: int, org_id: str | None = None) -> None:
    """A person decided the piece is not to be stored (a test message, a duplicate); it stays on file."""
    row = quarantined(hub, qid, org_id)
    if row.status != "open":
        raise Conflict(f"quarantine entry {qid} is {row.status}", ["status"])
    with hub.db.write() as conn:
        conn.execute(
            update(quarantine)
            .where(quarantine.c.id == qid)
            .values(status="discarded", resolved_at=dates.now_utc())
        )
