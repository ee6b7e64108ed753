"""Bad input of every kind ends as a rejection with a reason (the quarantine's), never a crash."""

from __future__ import annotations

import random

import orjson
import pytest

from adapters import csv as csv_adapter
from adapters import fhir as fhir_adapter
from adapters import hl7v2
from adapters.mapping import load_all
from adapters.pipeline import Rejected, validate
from tests.adapters.test_csv_fhir_api import HEADER
from tests.adapters.test_hl7v2 import ORU, rid

OBS = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://his.yuxi-first.example/fhir/CodeSystem/lis-item", "code": "GLU"}]},
    "subject": {
        "identifier": {"system": "http://his.yuxi-first.example/fhir/sid/mrn", "value": "0008812305"}
    },
    "valueQuantity": {"value": 5.1, "unit": "mmol/L"},
}


def run(adapter, payload: bytes, key: str):
    """Every piece of the payload: a unit that validates, or a Rejected naming stage and reason."""
    m = load_all()[key].bound("org-1")
    out = []
    for piece in adapter.split(payload, "t", m):
        try:
            unit = adapter.translate(piece, m)
            validate(unit)
            out.append(unit)
        except Rejected as exc:
            assert exc.stage in ("parse", "map", "validate") and exc.reason
            out.append(exc)
    return out


@pytest.mark.parametrize(
    "payload, stage",
    [
        (b"", "parse"),
        (b"{not json", "parse"),
        (b"[1, 2]", "parse"),
        (b'{"resourceType": "Observation"}', "validate"),
        (b'{"resourceType": "NotAType", "id": "x"}', "validate"),
        (orjson.dumps({**OBS, "status": "done"}), "validate"),
        (orjson.dumps({**OBS, "subject": {"reference": "Patient/1"}}), "map"),
        (
            orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "x"}]}),
            "parse",
        ),
        (b'{"resourceType": "Observation", "status": "final", "code": {"text": "\\u0001"}}', "parse"),
    ],
)
def test_bad_fhir(payload, stage):
    [result] = run(fhir_adapter, payload, "yuxi-first")
    assert isinstance(result, Rejected) and result.stage == stage, result


def test_a_single_record_names_its_patient_by_identifier():
    [unit] = run(fhir_adapter, orjson.dumps(OBS), "yuxi-first")
    assert unit.patients[0]["identifier"][0]["system"] == "http://xietong.example/fhir/sid/mrn/yuxi-first"
    assert unit.records[0].resource["code"]["coding"][0]["code"] == "14771-0"


def test_csv_without_the_declared_columns():
    [result] = run(csv_adapter, "姓名,结果\r\n张三,5\r\n".encode("gb18030"), "panxi-thc")
    assert isinstance(result, Rejected) and result.element.startswith("column ")


@pytest.mark.parametrize("seed", range(40))
def test_mangled_input_never_crashes(seed):
    """Bytes dropped, repeated, swapped and replaced at random in real-shaped payloads."""
    rng = random.Random(seed)
    samples = [
        (hl7v2, ORU.format(rid=rid()).encode(), "tonghai-county"),
        (
            csv_adapter,
            (
                HEADER + f"YG1,{rid()},,李秀兰,女,1962-02-18,,J1,XT,空腹血糖,7.2,mmol/L,3.9-6.1,↑,,,\r\n"
            ).encode("gb18030"),
            "panxi-thc",
        ),
        (fhir_adapter, orjson.dumps(OBS), "yuxi-first"),
    ]
    for adapter, payload, key in samples:
        data = bytearray(payload)
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(len(data))
            op = rng.choice(("drop", "dup", "byte", "sep"))
            if op == "drop":
                del data[i : i + rng.randint(1, 8)]
            elif op == "dup":
                data[i:i] = data[i : i + rng.randint(1, 8)]
            elif op == "byte":
                data[i] = rng.randrange(256)
            else:
                data[i:i] = rng.choice(
                    [b"|", b"^", b"~", b"\\", b"&", b"\r", b"\n", b",", b'"', b"\x0b", b"\x1c"]
                )
        run(adapter, bytes(data), key)
