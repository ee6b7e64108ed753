"""Finding the hub Patients an incoming record may be: deterministic first, then scored.

1. Identifiers: a hub Patient holding the same resident ID card number, or the same identifier
   (system and value: the institution's own MRN sent again), is that person ("certain"). A hub
   Patient with a different resident ID number is never the person.
2. Otherwise the blocked candidates (``hub.empi.index.block``) are scored (``hub.empi.score``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from adapters.normalise import Demographics
from hub.empi import index
from hub.empi.score import DEFAULT, Score, Thresholds, score


@dataclass(frozen=True)
class Candidate:
    patient_id: str
    score: float
    grade: str  # FHIR match-grade: certain | probable | possible | certainly-not
    method: str  # resident-id | identifier | scored
    parts: dict
    body: str | None = None  # the stored Patient and its tenant (``candidates(..., with_body=True)``)
    tenant: str | None = None

    def to_json(self) -> dict:
        return {"patient": f"Patient/{self.patient_id}", "score": self.score, "grade": self.grade}


def _same_identifier(d: Demographics, other: Demographics) -> bool:
    """An identifier in common decides, unless both hold resident ID numbers (then those decide)."""
    if d.resident_id and other.resident_id:
        return False
    return bool(set(d.identifiers) & set(other.identifiers))


def candidates(
    conn: Connection,
    d: Demographics,
    thresholds: Thresholds = DEFAULT,
    patient_filter=None,
    with_body: bool = False,
) -> list[Candidate]:
    """Everyone ``d`` may be, best first: the ones an identifier decides (the same resident ID
    number, or the same identifier: the institution's own MRN sent again), then the scored ones.
    One indexed query (``hub.empi.index.block``), whose order puts identifier hits first."""
    index.flush(conn, set(index.keys_of(d)))
    return rank(d, index.block(conn, d, patient_filter, with_body=with_body), thresholds)


def rank(d: Demographics, found: list[index.Indexed], thresholds: Thresholds = DEFAULT) -> list[Candidate]:
    """``found`` (blocked patients, most shared keys first) as candidates, best first."""
    certain, rest = [], []
    for other in found:
        s: Score = score(d, other.demographics)
        if s.certain:
            certain.append(
                Candidate(other.fhir_id, 1.0, "certain", "resident-id", s.parts, other.body, other.tenant)
            )
            continue
        if _same_identifier(d, other.demographics):
            certain.append(
                Candidate(
                    other.fhir_id, 1.0, "certain", "identifier", {"identifier": 1.0}, other.body, other.tenant
                )
            )
            continue
        rest.append(
            Candidate(
                other.fhir_id, s.total, thresholds.grade(s.total), "scored", s.parts, other.body, other.tenant
            )
        )
    # A resident ID match outranks a match on another identifier; ties: the older record first.
    certain.sort(key=lambda c: c.method != "resident-id")
    rest.sort(key=lambda c: -c.score)
    return certain + rest
