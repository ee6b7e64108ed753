"""How alike two patients' demographics are: a weighted similarity in [0, 1], and what it decides.

Pure functions (no Flask, no SQL). String similarity comes from ``rapidfuzz``.

Each field gives a similarity in [0, 1]; a field missing on either side gives 0.5 (it neither
supports nor contradicts the match). The score is the weighted mean. Two different resident ID
card numbers mean two people, whatever else agrees (``certainly-not``).

The weights and thresholds were chosen on the cases in ``tests/empi/test_score.py``: everything
agreeing links; name, birth date and sex agreeing without a phone to confirm goes to a person;
twins (same family name, birth date and phone, different given names) are never linked
automatically; a namesake with another birth date is a new patient.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from adapters.normalise import Demographics, NameForm

WEIGHTS = {"name": 0.40, "birthDate": 0.30, "gender": 0.10, "phone": 0.20}
MISSING = 0.5
HOMOPHONE = 0.9  # same syllables, different characters (张晓明 / 张小明)
BIRTH_TYPO = 0.7  # one digit wrong, or day and month swapped
PHONE_DIFFERENT = 0.2  # people change numbers


@dataclass(frozen=True)
class Thresholds:
    upper: float = 0.92  # at or above: the same person, linked automatically
    lower: float = 0.70  # below: another person; in between: a person decides

    def grade(self, score: float, certain: bool = False) -> str:
        """The FHIR match-grade of a score."""
        if certain or score >= self.upper:
            return "certain"
        if score >= self.lower:
            return "probable"
        if score > 0:
            return "possible"
        return "certainly-not"


DEFAULT = Thresholds()


@dataclass(frozen=True)
class Score:
    total: float
    parts: dict[str, float]
    certain: bool = False  # decided by an identifier, not by the demographics


def _form_similarity(a: NameForm, b: NameForm) -> float:
    if a.han and b.han and a.han == b.han:
        return 1.0
    s = fuzz.ratio(a.key, b.key) / 100.0
    if s == 1.0 and a.han and b.han:
        s = HOMOPHONE
    return s * min(a.weight, b.weight)


def name_similarity(a: tuple[NameForm, ...], b: tuple[NameForm, ...]) -> float | None:
    if not a or not b:
        return None
    return max(_form_similarity(x, y) for x in a for y in b)


def birth_similarity(a: str | None, b: str | None) -> float | None:
    if not a or not b:
        return None
    if a == b:
        return 1.0
    if a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]:
        return BIRTH_TYPO
    if Levenshtein.distance(a, b) == 1 or _one_transposition(a, b):
        return BIRTH_TYPO
    return 0.0


def _one_transposition(a: str, b: str) -> bool:
    if len(a) != len(b):
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def gender_similarity(a: str | None, b: str | None) -> float | None:
    if not a or not b:
        return None
    return 1.0 if a == b else 0.0


def phone_similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float | None:
    if not a or not b:
        return None
    return 1.0 if set(a) & set(b) else PHONE_DIFFERENT


def score(a: Demographics, b: Demographics) -> Score:
    """How likely ``a`` and ``b`` are the same person."""
    if a.resident_id and b.resident_id:
        if a.resident_id == b.resident_id:
            return Score(1.0, {"residentId": 1.0}, certain=True)
        return Score(0.0, {"residentId": 0.0})
    parts = {
        "name": name_similarity(a.names, b.names),
        "birthDate": birth_similarity(a.birth_date, b.birth_date),
        "gender": gender_similarity(a.gender, b.gender),
        "phone": phone_similarity(a.phones, b.phones),
    }
    filled = {k: (MISSING if v is None else v) for k, v in parts.items()}
    total = sum(WEIGHTS[k] * v for k, v in filled.items())
    return Score(round(total, 4), filled)
