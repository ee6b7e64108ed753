"""What every adapter produces, and the steps they share: parse -> map -> validate.

An adapter splits a payload into pieces (an HL7 message, a CSV row, a FHIR resource or Bundle) and
translates one piece into a ``Unit``: the local Patient(s) it is about and the hub-profile FHIR
records that belong to them. Adapters only translate: no database, no network. Linking the patient
and storing the records is the intake service's (``hub.ingest.service``): a unit is stored whole or
not at all.

A piece that cannot be parsed, mapped or validated raises ``Rejected`` with the stage, the reason
and the element at fault (``PID-3``, ``OBX-5``, ``Observation.code``, ``column 性别``); the intake
keeps it raw in the quarantine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from hub.errors import HubError
from hub.fhir.parse import Validated, check_resource

from .mapping import Mapping

PATIENT_REF = "urn:xt:patient:"  # a record's reference to the unit's n-th patient, until it is linked
RECORD_REF = "urn:xt:record:"  # a reference to another record of the unit, until it is stored


class Rejected(Exception):
    """A piece that cannot become hub records; it goes to the quarantine as it arrived."""

    def __init__(self, stage: str, reason: str, element: str | None = None):
        super().__init__(reason)
        self.stage = stage
        self.reason = reason
        self.element = element

    def __reduce__(self):  # as it was raised, from a translating process (``hub.ingest.translators``)
        return (Rejected, (self.stage, self.reason, self.element))


@dataclass
class Piece:
    """One unit of intake as it arrived: the bytes the ledger hashes and the quarantine keeps."""

    raw: bytes
    source: str  # file and position, or the request

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()


@dataclass
class Record:
    resource: dict
    source_key: str | None = None  # the record's identity at its source: resent, it updates, not twins
    local_ref: str | None = None  # how other records of the unit refer to it (RECORD_REF + this)
    shared: bool = False  # a directory record (Organization, Practitioner): reuse one with its identifier


@dataclass
class Unmapped:
    element: str
    system: str
    code: str
    display: str | None = None


@dataclass
class Unit:
    """What one piece becomes: patients (local, before linking) and the records about them."""

    message_id: str | None = None
    patients: list[dict] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was odd but not fatal (Z-segments, ...)
    ack_context: object = None  # what the adapter needs to acknowledge the piece (HL7 v2: the MSH)
    # its records made ready to store by a translating process (``hub.ingest.premade``); its records
    # then carry only their type and keys (``premade.travelling``)
    premade: object = None


class Adapter(Protocol):
    name: str

    def split(self, payload: bytes, source: str, mapping: Mapping) -> Iterator[Piece]: ...

    def translate(self, piece: Piece, mapping: Mapping) -> Unit: ...


# The elements the adapters' records have validated (``Validated``): a feed's records repeat their
# codes, units, reference ranges and patients, which are then validated once.
VALIDATED = Validated()


def validate(unit: Unit) -> None:
    """Every resource of the unit passes the same checks as a write through the API."""
    for n, patient in enumerate(unit.patients):
        _check(patient, f"patient {n + 1}")
    for record in unit.records:
        _check(record.resource, record.source_key or record.resource.get("resourceType", "record"))


# What a translation gives back: the unit and nothing wrong with it, or the unit as far as it got
# (None if it did not parse) and why it was rejected.
Translation = tuple[Unit | None, Rejected | None]


def translate(adapter, piece: Piece, mapping: Mapping) -> Translation:
    """Parse, map and validate one piece: what the intake stores, or why it cannot (in the intake's
    process or a translating one, ``hub.ingest.translators``)."""
    unit = None
    try:
        unit = adapter.translate(piece, mapping)
        validate(unit)
    except Rejected as exc:
        return unit, exc
    return unit, None


def _check(resource: dict, what: str) -> None:
    try:
        check_resource(resource, validated=VALIDATED)
    except HubError as exc:
        issues = exc.all_issues()
        element = next((e for i in issues for e in i.expression), None)
        raise Rejected("validate", f"{what}: {exc}", element) from None


def coding(mapping: Mapping, system: str, code: str, display: str | None, element: str, unit: Unit) -> list:
    """The codings for one local code (standard first, local kept); an unmapped code is reported."""
    t = mapping.translate(system, code, display)
    if t.unmapped:
        unit.unmapped.append(Unmapped(element, system, code, display))
    return t.codings


def map_codings(resource: dict, mapping: Mapping, unit: Unit, path: str = "") -> None:
    """Translate, in place, every Coding of a resource whose system has a map (FHIR input)."""
    if isinstance(resource, dict):
        codings = resource.get("coding")
        if isinstance(codings, list):
            out = []
            for c in codings:
                if (
                    isinstance(c, dict)
                    and c.get("system")
                    and c.get("code")
                    and mapping.code_map_for(c["system"])
                ):
                    mapped = coding(mapping, c["system"], c["code"], c.get("display"), path or "coding", unit)
                    out.extend(m for m in mapped if m not in out)
                else:
                    out.append(c)
            resource["coding"] = out
        for k, v in resource.items():  # into elements only: a value holds no Coding
            if k != "coding" and isinstance(v, dict | list):
                map_codings(v, mapping, unit, f"{path}.{k}" if path else k)
    elif isinstance(resource, list):
        for v in resource:
            if isinstance(v, dict | list):
                map_codings(v, mapping, unit, path)
