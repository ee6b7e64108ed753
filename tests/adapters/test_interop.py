"""Third-party input through the adapters: every HL7 v2 sample message, and the Synthea bundles."""

from __future__ import annotations

import json

import pytest

from hub.ingest.service import Intake
from tests.adapters.conftest import count, resources
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.interop
MESSAGES = SHARED_DATA / "hl7v2" / "messages"
EXPECTED = SHARED_DATA / "hl7v2" / "expected_fhir"
MAPPED = ("ADT-A01", "ADT-A04", "ADT-A08", "ADT01", "ADT04", "ORU", "LAB-ORU", "REF-I12")


def test_every_v2_message_is_stored_or_quarantined_with_a_reason(hub):
    intake = Intake(hub, "tonghai-county")
    files = sorted(MESSAGES.glob("*.hl7"))
    assert len(files) >= 70
    for f in files:
        s = intake.run("hl7v2", f.read_bytes(), f.name)
        assert s.read == 1, f.name
        r = s.results[0]
        if f.name.startswith(MAPPED):
            assert r.outcome == "stored", (f.name, r.reason)
        else:
            assert r.outcome == "stored" or (r.reason and r.element), f.name
        assert r.ack and ("MSA|AA" in r.ack) == (r.outcome == "stored"), f.name


@pytest.mark.parametrize("name", ["ORU-R01-RMGEAD", "LAB-ORU-2", "ADT-A01-01", "ADT01-23", "REF-I12-01"])
def test_meaning_matches_the_reference_conversion(hub, name):
    expected = json.loads(next(EXPECTED.glob(f"*/{name}-expected.json")).read_text())
    want = [e["resource"] for e in expected["entry"]]
    s = Intake(hub, "tonghai-county").run("hl7v2", (MESSAGES / f"{name}.hl7").read_bytes(), name)
    assert s.stored == 1, s.as_json()
    pid = s.results[0].patient_id
    patient = next(p for p in resources(hub, "Patient") if p["id"] == pid)
    exp_patient = next(r for r in want if r["resourceType"] == "Patient")
    assert patient.get("birthDate") == exp_patient.get("birthDate")
    assert patient.get("gender") == exp_patient.get("gender")
    assert patient["name"][0].get("family") == exp_patient["name"][0].get("family")
    values = {i["value"] for i in patient["identifier"]}
    assert {i["value"] for i in exp_patient.get("identifier", []) if "value" in i} & values
    got = [o for o in resources(hub, "Observation") if o["subject"]["reference"] == f"Patient/{pid}"]
    for exp in (r for r in want if r["resourceType"] == "Observation" and "valueQuantity" in r):
        code = exp["code"]["coding"][0]["code"]
        match = [o for o in got if any(c["code"] == code for c in o["code"]["coding"])]
        assert match, (name, code)
        q = match[0]["valueQuantity"]
        assert float(q["value"]) == float(exp["valueQuantity"]["value"]), (name, code)
        assert q.get("unit") == exp["valueQuantity"].get("unit"), (name, code)


def test_synthea_bundles_through_the_fhir_adapter_link_repeated_patients(hub):
    bundles = sorted((SHARED_DATA / "synthea").glob("*.json"))
    assert len(bundles) >= 30
    patients = count(hub, "Patient")
    first = Intake(hub, "yuxi-first")
    for b in bundles:
        s = first.run("fhir", b.read_bytes(), b.name)
        assert s.stored == 1, (b.name, s.as_json()["results"][0].get("reason"))
    assert count(hub, "Patient") == patients + len(bundles)
    organizations = count(hub, "Organization")
    # The same people seen at another institution: linked to the hub Patients, not duplicated.
    second = Intake(hub, "tonghai-county")
    repeated = 0
    for b in bundles[::6]:
        s = second.run("fhir", b.read_bytes(), b.name)
        assert s.stored == 1 and s.linked == 1, s.as_json()["results"][0]
        repeated += 1
    assert repeated == 5 and count(hub, "Patient") == patients + len(bundles)
    assert count(hub, "Organization") == organizations  # the bundles' organizations deduplicated
    # And the same files again from the first institution store nothing.
    assert sum(first.run("fhir", b.read_bytes(), b.name).duplicate for b in bundles) == len(bundles)
