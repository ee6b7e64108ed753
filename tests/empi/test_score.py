"""The scorer's decisions on the cases it was tuned on (unit: no I/O)."""

from __future__ import annotations

import pytest

from adapters.normalise import demographics
from hub.empi.score import DEFAULT, score
from tests.factories import patient, resident_id


def _p(**kw) -> dict:
    p = patient(**kw)
    p["identifier"] = []
    return p


def _with(p: dict, **fields) -> dict:
    return {**p, **fields}


BASE = _p(family="张", given="伟")

# (case, the other record, expected decision: link | review | new)
CASES = [
    ("the same record", _p(family="张", given="伟"), "link"),
    ("pinyin, given name first", _with(_p(), name=[{"text": "Wei Zhang"}]), "link"),
    ("pinyin upper case, family name first", _with(_p(), name=[{"text": "ZHANG WEI"}]), "link"),
    ("Wade-Giles surname", _with(_p(), name=[{"family": "Chang", "given": ["Wei"]}]), "link"),
    ("traditional characters", _p(family="張", given="偉"), "link"),
    ("homophone characters", _p(family="张", given="玮"), "link"),
    ("phone written +86 with spaces", _p(family="张", given="伟", phone="+86 138 1234 5678"), "link"),
    ("no phone to confirm", _with(_p(family="张", given="伟"), telecom=[]), "review"),
    ("another phone", _p(family="张", given="伟", phone="13900001111"), "review"),
    ("birth date typo", _p(family="张", given="伟", birth_date="1980-02-08"), "review"),
    ("day and month swapped", _p(family="张", given="伟", birth_date="1980-03-02"), "review"),
    ("twin brother sharing the phone", _p(family="张", given="华"), "review"),
    ("twin sister sharing the phone", _p(family="张", given="丽", gender="female"), "review"),
    (
        "namesake born another year",
        _p(family="张", given="伟", birth_date="1975-05-05", phone="13000000000"),
        "new",
    ),
    (
        "someone else entirely",
        _p(family="王", given="芳", gender="female", birth_date="1990-01-01", phone="1"),
        "new",
    ),
]


def _decision(total: float) -> str:
    if total >= DEFAULT.upper:
        return "link"
    return "review" if total >= DEFAULT.lower else "new"


@pytest.mark.parametrize("case,other,expected", CASES, ids=[c[0] for c in CASES])
def test_decisions(case, other, expected):
    s = score(demographics(BASE), demographics(other))
    assert _decision(s.total) == expected, (case, s)


def test_the_score_is_symmetric():
    for _, other, _ in CASES:
        a, b = demographics(BASE), demographics(other)
        assert score(a, b).total == pytest.approx(score(b, a).total)


def test_resident_id_numbers_decide_when_both_have_one():
    a = patient(id_card=resident_id("19800203", seq="123"))
    same = patient(family="李", given="四", id_card=resident_id("19800203", seq="123"))
    other = patient(id_card=resident_id("19800203", seq="125"))
    assert score(demographics(a), demographics(same)).certain
    s = score(demographics(a), demographics(other))
    assert (s.total, s.certain, DEFAULT.grade(s.total)) == (0.0, False, "certainly-not")


def test_grades():
    assert [DEFAULT.grade(x) for x in (1.0, 0.92, 0.8, 0.5, 0.0)] == [
        "certain",
        "certain",
        "probable",
        "possible",
        "certainly-not",
    ]
