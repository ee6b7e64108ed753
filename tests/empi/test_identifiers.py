"""Identifiers (SEC-05, CODE-02, CODE-04) and the matcher's normalisation (unit: no I/O)."""

from __future__ import annotations

import pytest

from adapters import identifiers as ids
from adapters.normalise import demographics, name_forms, normalise_phone
from hub.fhir.validation import RESIDENT_ID_SYSTEM


@pytest.mark.parametrize(
    "value,expected",
    [
        ("11010519491231002X", "11010519491231002X"),
        ("11010519491231002x", "11010519491231002X"),
        ("110105 19491231 002x", "11010519491231002X"),
        ("440304200001011239", "440304200001011239"),
        ("320106201010100013", "320106201010100013"),
    ],
)
def test_valid_numbers_are_normalised(value, expected):
    assert ids.normalise_resident_id(value) == expected


@pytest.mark.parametrize(
    "value,problem",
    [
        ("110105194912310021", "bad checksum"),
        ("110105194902300020", "bad birth date"),
        ("1101051949123100211", "wrong length"),
        ("11010519491231002", "wrong length"),
        ("11010A19491231002X", "digits"),
    ],
)
def test_invalid_numbers_are_refused_without_echoing_them(value, problem):
    with pytest.raises(ids.IdentifierError) as exc:
        ids.normalise_resident_id(value)
    assert problem in exc.value.problem
    assert value not in exc.value.problem


def test_a_legacy_15_digit_number_becomes_18_digits():
    assert ids.from_legacy("110105491231002") == "11010519491231002X"
    assert ids.normalise_resident_id("110105491231002") == "11010519491231002X"


def test_sex_and_birth_date_from_the_number():
    assert ids.resident_id_gender("11010519491231002X") == "female"
    assert ids.resident_id_gender("440304200001011239") == "male"
    assert ids.resident_id_birth_date("11010519491231002X") == "1949-12-31"


def test_identifier_shapes():
    rid = ids.resident_id("11010519491231002x")
    assert (rid["system"], rid["value"], rid["type"]["coding"][0]["code"]) == (
        RESIDENT_ID_SYSTEM,
        "11010519491231002X",
        "NNCHN",
    )
    mrn = ids.mrn(" 000123 ", "org-1")
    assert mrn["value"] == "000123" and mrn["assigner"] == {"reference": "Organization/org-1"}
    assert mrn["system"].endswith("/sid/mrn/org-1")
    ins = ids.insurance_number("5301 2345 6789")
    assert ins["value"] == "530123456789" and ins["system"].endswith("/sid/nhsa-psn-no")
    assert ins["system"] != mrn["system"] != RESIDENT_ID_SYSTEM


def test_normalise_identifiers_reports_and_drops_a_bad_number_and_gives_mrns_their_assigner():
    mr = {"type": {"coding": [{"system": ids.V2_0203, "code": "MR"}]}, "system": "urn:x:his", "value": "9"}
    out = ids.normalise_identifiers(
        [
            {"system": RESIDENT_ID_SYSTEM, "value": "110105194912310021"},
            {"system": RESIDENT_ID_SYSTEM, "value": "11010519491231002x"},
            mr,
        ],
        "org-7",
    )
    assert out.problems and out.problems[0][0] == "Patient.identifier[0].value"
    assert [i["value"] for i in out.identifiers] == ["11010519491231002X", "9"]
    assert out.identifiers[1]["assigner"] == {"reference": "Organization/org-7"}


def test_names_in_every_writing_meet_on_their_syllables():
    han = {f.key for f in name_forms({"family": "张", "given": ["晓明"]})}
    assert "zhangxiaoming" in han
    assert "zhangxiaoming" in {f.key for f in name_forms({"text": "Xiaoming Zhang"})}
    assert "zhangxiaoming" in {f.key for f in name_forms({"text": "ZHANG Xiao-Ming"})}
    assert "zhangxiaoming" in {f.key for f in name_forms({"family": "Cheung", "given": ["Xiaoming"]})}
    # A surname with two readings: 单 is "shan" as a surname.
    assert "shanwei" in {f.key for f in name_forms({"text": "单伟"})}
    # ü written three ways.
    assert {f.key for f in name_forms({"text": "Lü Bo"})} & {f.key for f in name_forms({"text": "Lyu Bo"})}


def test_phones_and_demographics():
    assert normalise_phone("+86 139-0000-1001") == "13900001001"
    assert normalise_phone("0086 13900001001") == "13900001001"
    assert normalise_phone("0877-2051999") == "08772051999"
    assert normalise_phone("123") is None
    d = demographics(
        {
            "resourceType": "Patient",
            "identifier": [{"system": RESIDENT_ID_SYSTEM, "value": "11010519491231002x"}],
            "gender": "unknown",
            "birthDate": "1949-12-31",
        }
    )
    assert (d.resident_id, d.gender, d.birth_date) == ("11010519491231002X", "female", "1949-12-31")


def test_a_pinyin_name_with_a_text_in_characters_gives_both():
    forms = name_forms({"family": "Zhang", "given": ["Wei"], "text": "张伟"})
    assert {(f.key, f.han) for f in forms} >= {("zhangwei", "张伟"), ("zhangwei", None)}


def test_the_resident_id_number_fills_in_and_cross_checks_birth_date_and_sex():
    from adapters.normalise import cross_check

    rid = {"system": RESIDENT_ID_SYSTEM, "value": "11010519491231002X"}
    bare = demographics({"resourceType": "Patient", "identifier": [rid]})
    assert (bare.birth_date, bare.gender) == ("1949-12-31", "female")
    agreeing = {"resourceType": "Patient", "identifier": [rid], "birthDate": "1949-12-31", "gender": "female"}
    assert cross_check(agreeing) == []
    disagreeing = {**agreeing, "birthDate": "1950-01-01", "gender": "male"}
    warnings = cross_check(disagreeing)
    assert len(warnings) == 2 and not any("11010519491231002X" in w for w in warnings)
    # Warned, not overwritten: the record keeps what it says.
    assert demographics(disagreeing).birth_date == "1950-01-01"
