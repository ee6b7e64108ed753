"""A unit's records made ready to store in the translating process (``hub.ingest.translators``).

Storing a new record is mostly work that does not need the database: its references linked, its
server fields stamped, its JSON written and its search-index rows extracted. Only two things are
not known before the intake's transaction: the hub Patient each of the unit's patients becomes (the
EMPI decides) and the time of the write. So a translating process makes each record with a
placeholder for both -- a random token per unit in the place of each patient's id, and the instant
``Store.create_many`` replaces (``MADE_AT``) in ``meta.lastUpdated`` -- and the intake puts the
patients' ids in (``Premade.for_patients``): a replacement in the JSON text and in the reference
index rows, where nothing else can hold the token.

Only a unit whose records are all new creates of ordinary clinical types is made ahead: no
directory record (found by identifier), no record that derives access links or feeds notifications,
no two records under one source key. If the intake finds that one of them was stored before (its
source key), it translates the piece again and stores it as if nothing had been made.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace

from adapters.pipeline import PATIENT_REF, RECORD_REF, Unit
from hub.auth.tenancy import DIRECTORY, LINK_SOURCES
from hub.errors import HubError
from hub.fhir.extract import IndexRows, extract
from hub.fhir.registry import TYPES
from hub.fhir.store import MADE_AT, MADE_AT_JSON, NOTIFIED, UNVERSIONED, WRITE_HOOKS, dumps, new_id, stamp


def link_references(node, patient_ids: list[str], ids: dict[str, str]) -> None:
    """The unit's own references (``PATIENT_REF`` n, ``RECORD_REF`` key) to hub ids, in place."""
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str):
            if ref.startswith(PATIENT_REF):
                node["reference"] = f"Patient/{patient_ids[int(ref[len(PATIENT_REF) :])]}"
            elif ref.startswith(RECORD_REF):
                node["reference"] = ids[ref[len(RECORD_REF) :]]
        for v in node.values():
            if isinstance(v, dict | list):
                link_references(v, patient_ids, ids)
    elif isinstance(node, list):
        for v in node:
            if isinstance(v, dict | list):
                link_references(v, patient_ids, ids)


def digest_of(resource: dict) -> str:
    """What the intake keeps of a record as it came (its content hash, before linking)."""
    return hashlib.sha256(dumps(resource).encode()).hexdigest()


@dataclass(frozen=True)
class Made:
    """One record made ahead: its hub id, its content hash, its JSON and index rows with placeholders."""

    fid: str
    digest: str
    text: str
    rows: IndexRows


@dataclass(frozen=True)
class Premade:
    token: str  # the placeholder of patient n is f"{token}-{n}-"
    records: tuple[Made, ...]

    def for_patients(self, patient_ids: list[str]) -> list[tuple[str, str, IndexRows]]:
        """``(fid, JSON, index rows)`` per record, with the hub ids of the unit's patients (the
        time of the write is put in by ``Store.create_many``)."""
        real = {f"{self.token}-{n}-": pid for n, pid in enumerate(patient_ids)}
        out = []
        for made in self.records:
            text = made.text
            if self.token in text:
                for placeholder, pid in real.items():
                    text = text.replace(placeholder, pid)
            rows = made.rows
            if rows.patient in real or any(t in real for _, _, t in rows.refs):
                rows = replace(
                    rows,
                    patient=real.get(rows.patient, rows.patient),
                    refs={(h, tt, real.get(t, t)) for h, tt, t in rows.refs},
                )
            out.append((made.fid, text, rows))
        return out


_NOT_MADE = DIRECTORY | LINK_SOURCES | NOTIFIED | UNVERSIONED


class Spoiled(Exception):
    """Making the records failed after their references were changed: translate the piece again."""


def travelling(unit: Unit) -> Unit:
    """What a translating process sends the intake of a unit it made ahead: each record as its type
    and its keys only, since its content is in the made record (JSON and index rows). A third less to
    pickle, and in the intake less to unpickle (dicts are most of the cost). The intake reads nothing
    else of a made unit's records: one it cannot store as made, it translates again from the piece."""
    if unit.premade is None:
        return unit
    slim = [replace(r, resource={"resourceType": r.resource["resourceType"]}) for r in unit.records]
    return replace(unit, records=slim)


def make(unit: Unit) -> Premade | None:
    """The unit's records made ready to store, in a translating process; ``None`` if the unit is not
    one that can be (see the module's docstring), its records untouched. Changes the records' references;
    raises ``Spoiled`` if it fails after that (the intake's own path then answers for the piece)."""
    records = unit.records
    if not records:
        return None
    keys = [r.source_key[:300] for r in records if r.source_key]
    if len(set(keys)) != len(keys):
        return None
    types = []
    for r in records:
        rt = TYPES.get(r.resource.get("resourceType"))
        if rt is None or rt.name in _NOT_MADE or rt.name in WRITE_HOOKS or r.shared:
            return None
        types.append(rt)
    token = "xt" + os.urandom(12).hex()
    patient_ids = [f"{token}-{n}-" for n in range(len(unit.patients))]
    fids = [new_id() for _ in records]
    ids = {r.local_ref: f"{rt.name}/{fid}" for r, rt, fid in zip(records, types, fids, strict=True)}
    # Every record's content hash before any is linked: records of a unit may share an element (a
    # CSV row's result and diagnosis share their ``subject``), which linking one changes for both.
    digests = [digest_of(r.resource) for r in records]
    made = []
    try:
        for r, rt, fid, digest in zip(records, types, fids, digests, strict=True):
            link_references(r.resource, patient_ids, ids)
            body = stamp(r.resource, fid, 1, MADE_AT)
            text = dumps(body)
            if text.count(MADE_AT_JSON) != 1:  # the one the store replaces must be the stamped one
                raise ValueError("meta.lastUpdated is not where the store puts the time of the write")
            made.append(Made(fid, digest, text, extract(rt, body)))
    except (HubError, KeyError, IndexError, TypeError, ValueError) as exc:
        raise Spoiled(str(exc)) from None
    return Premade(token, tuple(made))
