"""``hub.ingest.premade``: which units a translating process makes ready to store, and what the
intake puts in the place of the placeholders."""

from __future__ import annotations

import pickle

import orjson
import pytest

from adapters import fhir
from adapters.mapping import load_all
from adapters.pipeline import PATIENT_REF, Piece, validate
from hub.fhir import dates
from hub.fhir.store import MADE_AT, dumps
from hub.ingest import premade
from tests.adapters.test_groups import bundle

MAPPING = load_all()["yuxi-first"].bound("org-yuxi")


def unit_of(b: dict):
    unit = fhir.translate(Piece(orjson.dumps(b), "t.json"), MAPPING)
    validate(unit)
    return unit


def test_a_unit_of_new_results_is_made_and_the_patient_put_in():
    unit = unit_of(bundle("P-1", "王", "芳", "1960-01-01", [5.1, 6.2]))
    made = premade.make(unit)
    assert made is not None and len(made.records) == 2
    for m in made.records:
        assert made.token in m.text and m.rows.patient == f"{made.token}-0-"
        assert f'"lastUpdated":"{dates.instant(MADE_AT)}"' in m.text
    ready = made.for_patients(["hub-patient-1"])
    for (fid, text, rows), m in zip(ready, made.records, strict=True):
        assert fid == m.fid and made.token not in text
        assert orjson.loads(text)["subject"] == {"reference": "Patient/hub-patient-1"}
        assert rows.patient == "hub-patient-1"
        assert all(target != f"{made.token}-0-" for _, _, target in rows.refs)
        assert ("Patient", "hub-patient-1") in {(tt, t) for _, tt, t in rows.refs}
        assert m.rows.patient == f"{made.token}-0-"  # the made rows are left as they were


def test_a_made_unit_travels_as_its_records_types_and_keys():
    """What goes back to the intake: the made records whole, the unit's records reduced to what the
    intake reads of them; a unit not made travels as it is."""
    unit = unit_of(bundle("P-1", "王", "芳", "1960-01-01", [5.1, 6.2]))
    unit.premade = premade.make(unit)
    slim = premade.travelling(unit)
    assert slim.premade is unit.premade and slim.patients == unit.patients
    assert [r.resource for r in slim.records] == [
        {"resourceType": r.resource["resourceType"]} for r in unit.records
    ]
    keys = [(r.source_key, r.local_ref, r.shared) for r in unit.records]
    assert [(r.source_key, r.local_ref, r.shared) for r in slim.records] == keys
    assert all(r.resource.get("subject") for r in unit.records)  # the unit itself is left as it was
    assert len(pickle.dumps(slim)) < len(pickle.dumps(unit))
    plain = unit_of(bundle("P-2", "李", "明", "1961-01-01", [4.0]))
    assert premade.travelling(plain) is plain


@pytest.mark.parametrize(
    "extra",
    [
        {"resourceType": "Practitioner", "identifier": [{"system": "urn:x", "value": "D-1"}]},  # directory
        {  # derives access links
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "urn:uuid:p-P-2"},
        },
    ],
)
def test_units_with_records_that_are_not_plain_creates_are_not_made(extra):
    unit = unit_of(bundle("P-2", "李", "娜", "1970-01-01", [5.0], extra=extra))
    before = dumps([r.resource for r in unit.records])
    assert premade.make(unit) is None
    assert dumps([r.resource for r in unit.records]) == before  # untouched
    assert PATIENT_REF in before


def test_two_records_under_one_source_key_are_not_made():
    b = bundle("P-3", "赵", "敏", "1980-01-01", [5.0, 6.0])
    b["entry"][2]["fullUrl"] = b["entry"][1]["fullUrl"]
    unit = unit_of(b)
    assert premade.make(unit) is None


def test_a_record_the_store_refuses_spoils_the_making():
    b = bundle("P-4", "孙", "丽", "1990-01-01", [5.0])
    obs = b["entry"][1]["resource"]
    del obs["effectiveDateTime"]
    obs["effectivePeriod"] = {"start": "2026-11-15", "end": "2026-11-14"}
    with pytest.raises(premade.Spoiled, match="after it ends"):
        premade.make(unit_of(b))
