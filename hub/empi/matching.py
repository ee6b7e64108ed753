"""Finding the hub Patients an incoming record may be: deterministic first, then scored.

1. Identifiers: a hub Patient holding the same resident ID card number, or the same identifier
   (system and value: the institution's own MRN sent again), is that person ("certain"). A hub
   Patient with a different resident ID number is never the person.
2. Otherwise the blocked candidates (``hub.empi.index.block``) are scored (``hub.empi.score``).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import select
from sqlalchemy.engine import Connection

from adapters.normalise import Demographics
from hub.empi import index
from hub.empi.score import DEFAULT, Score, Thresholds, score
from hub.empi.tables import empi_key, empi_person


@dataclass(frozen=True)
class Candidate:
    patient_id: str
    score: float
    grade: str  # FHIR match-grade: certain | probable | possible | certainly-not
    method: str  # resident-id | identifier | scored
    parts: dict

    def to_json(self) -> dict:
        return {"patient": f"Patient/{self.patient_id}", "score": self.score, "grade": self.grade}


def _identifier_keys(d: Demographics) -> list[str]:
    return [k for k in index.keys_of(d) if k.startswith(("r:", "i:"))]


def deterministic(conn: Connection, d: Demographics, patient_filter=None) -> list[Candidate]:
    """Hub Patients that share a resident ID number or an identifier with ``d``."""
    keys = _identifier_keys(d)
    if not keys:
        return []
    q = (
        select(empi_person.c.pid, empi_person.c.fhir_id, empi_person.c.features)
        .where(
            empi_person.c.candidate.is_(True),
            empi_person.c.pid.in_(select(empi_key.c.pid).where(empi_key.c.key.in_(keys))),
        )
        .order_by(empi_person.c.pid)
    )
    if patient_filter is not None:
        q = q.join(index.PATIENT, index.PATIENT.c.pid == empi_person.c.pid).where(patient_filter)
    out = []
    wanted = set(d.identifiers)
    for row in conn.execute(q).all():
        other = Demographics.from_json(orjson.loads(row.features))
        if d.resident_id and other.resident_id:
            if d.resident_id != other.resident_id:
                continue  # the same MRN on another person's record: not this person
            out.append(Candidate(row.fhir_id, 1.0, "certain", "resident-id", {"residentId": 1.0}))
        elif wanted & set(other.identifiers):
            out.append(Candidate(row.fhir_id, 1.0, "certain", "identifier", {"identifier": 1.0}))
    # A resident ID match outranks a match on another identifier.
    out.sort(key=lambda c: c.method != "resident-id")
    return out


def scored(
    conn: Connection, d: Demographics, thresholds: Thresholds = DEFAULT, patient_filter=None
) -> list[Candidate]:
    """The blocked candidates with their scores, best first (ties: the older record first)."""
    out = []
    for other in index.block(conn, d, patient_filter):
        s: Score = score(d, other.demographics)
        out.append(
            Candidate(
                other.fhir_id,
                s.total,
                thresholds.grade(s.total, s.certain),
                "resident-id" if s.certain else "scored",
                s.parts,
            )
        )
    out.sort(key=lambda c: -c.score)
    return out


def candidates(
    conn: Connection, d: Demographics, thresholds: Thresholds = DEFAULT, patient_filter=None
) -> list[Candidate]:
    """Everyone ``d`` may be: the certain matches first, then the scored ones (each patient once)."""
    index.flush(conn)
    certain = deterministic(conn, d, patient_filter)
    seen = {c.patient_id for c in certain}
    rest = [c for c in scored(conn, d, thresholds, patient_filter) if c.patient_id not in seen]
    return certain + rest
