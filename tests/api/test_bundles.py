"""POST /fhir: transaction (all or nothing, urn:uuid rewriting, conditional entries) and batch."""

from __future__ import annotations

import copy

from tests.conftest import scalar
from tests.factories import FHIR_JSON, organization, patient, referral_bundle


def post_bundle(client, bundle):
    return client.post("/fhir", json=bundle, headers=FHIR_JSON)


def counts(db):
    return {
        t: scalar(db, f"SELECT count(*) FROM {t}")
        for t in (
            "res_patient",
            "res_servicerequest",
            "res_task",
            "res_observation",
            "res_documentreference",
            "resource_history",
            "idx_token",
            "idx_ref",
        )
    }


def test_referral_transaction_rewrites_references(client):
    r = post_bundle(client, referral_bundle())
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["type"] == "transaction-response"
    assert [e["response"]["status"] for e in body["entry"]] == ["201 Created"] * 6
    locations = [e["response"]["location"] for e in body["entry"]]
    patient_ref = locations[0].split("/_history")[0]
    sr_ref = locations[1].split("/_history")[0]
    task = client.get("/fhir/" + locations[2].split("/_history")[0]).get_json()
    assert task["for"]["reference"] == patient_ref
    assert task["focus"]["reference"] == sr_ref
    # The rewritten references are searchable.
    pid = patient_ref.split("/")[1]
    found = client.get(f"/fhir/Task?patient={pid}&_include=Task:focus").get_json()
    assert {e["resource"]["resourceType"] for e in found["entry"]} == {"Task", "ServiceRequest"}
    obs = client.get(f"/fhir/Observation?patient={pid}").get_json()
    assert len(obs["entry"]) == 2


def test_transaction_is_all_or_nothing(client, db):
    before = counts(db)
    bundle = referral_bundle()
    bundle["entry"][4]["resource"]["status"] = "bogus"  # a required binding the hub enforces
    r = post_bundle(client, bundle)
    assert r.status_code == 422
    issue = r.get_json()["issue"][0]
    assert issue["expression"] == ["Bundle.entry[4].resource.status"]
    assert counts(db) == before
    bundle = referral_bundle()
    bundle["entry"][2]["resource"]["for"]["reference"] = "urn:uuid:00000000-0000-4000-8000-000000000000"
    r = post_bundle(client, bundle)
    assert r.status_code == 400 and "not the fullUrl" in r.get_json()["issue"][0]["diagnostics"]
    assert counts(db) == before


def test_transaction_failure_after_writes_rolls_back(client, db):
    """A PUT with a stale ifMatch fails after the POSTs were written: nothing stays."""
    org = client.post("/fhir/Organization", json=organization(), headers=FHIR_JSON).get_json()
    before = counts(db)
    bundle = referral_bundle()
    bundle["entry"].append(
        {
            "resource": {**org, "name": "改名"},
            "request": {"method": "PUT", "url": f"Organization/{org['id']}", "ifMatch": 'W/"7"'},
        }
    )
    r = post_bundle(client, bundle)
    assert r.status_code == 412
    assert counts(db) == before
    assert client.get(f"/fhir/Organization/{org['id']}").get_json()["name"] == org["name"]


def test_conditional_entries(client, db):
    org = organization(code="TX-ORG")
    cond = "identifier=http://xietong.example/fhir/sid/org|TX-ORG"
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:aaaaaaaa-0000-4000-8000-000000000001",
                "resource": org,
                "request": {"method": "POST", "url": "Organization", "ifNoneExist": cond},
            },
            {
                "fullUrl": "urn:uuid:aaaaaaaa-0000-4000-8000-000000000002",
                "resource": patient(
                    managingOrganization={"reference": "urn:uuid:aaaaaaaa-0000-4000-8000-000000000001"}
                ),
                "request": {"method": "POST", "url": "Patient"},
            },
        ],
    }
    first = post_bundle(client, bundle).get_json()
    second = post_bundle(client, copy.deepcopy(bundle)).get_json()
    assert first["entry"][0]["response"]["status"] == "201 Created"
    assert second["entry"][0]["response"]["status"] == "200 OK"
    assert second["entry"][0]["response"]["location"] == first["entry"][0]["response"]["location"]
    assert scalar(db, "SELECT count(*) FROM res_organization") == 1
    org_ref = first["entry"][0]["response"]["location"].split("/_history")[0]
    for resp in (first, second):
        p = client.get("/fhir/" + resp["entry"][1]["response"]["location"].split("/_history")[0]).get_json()
        assert p["managingOrganization"]["reference"] == org_ref
    # Conditional reference and conditional update.
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": patient(managingOrganization={"reference": f"Organization?{cond}"}),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": organization(code="TX-ORG", name="改名医院"),
                "request": {"method": "PUT", "url": f"Organization?{cond}"},
            },
        ],
    }
    r = post_bundle(client, bundle).get_json()
    assert r["entry"][1]["response"]["status"] == "200 OK"
    assert client.get("/fhir/" + org_ref).get_json()["name"] == "改名医院"
    bundle["entry"][0]["resource"]["managingOrganization"]["reference"] = "Organization?identifier=nobody|x"
    assert post_bundle(client, bundle).status_code == 412


def test_transaction_get_entries_run_after_writes(client):
    bundle = referral_bundle()
    bundle["entry"].insert(0, {"request": {"method": "GET", "url": "Patient?family=张"}})
    r = post_bundle(client, bundle).get_json()
    searchset = r["entry"][0]["resource"]
    assert searchset["type"] == "searchset" and len(searchset["entry"]) == 1


def test_batch_entries_are_independent(client, db):
    org_id = client.post("/fhir/Organization", json=organization(), headers=FHIR_JSON).get_json()["id"]
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": patient(), "request": {"method": "POST", "url": "Patient"}},
            {"resource": {**patient(), "gender": "bogus"}, "request": {"method": "POST", "url": "Patient"}},
            {"request": {"method": "GET", "url": f"Organization/{org_id}"}},
            {"request": {"method": "GET", "url": "Organization/missing"}},
            {"request": {"method": "DELETE", "url": f"Organization/{org_id}"}},
        ],
    }
    r = post_bundle(client, bundle)
    assert r.status_code == 200
    statuses = [e["response"]["status"] for e in r.get_json()["entry"]]
    assert statuses == [
        "201 Created",
        "422 Unprocessable Entity",
        "200 OK",
        "404 Not Found",
        "405 Method Not Allowed",
    ]
    assert r.get_json()["entry"][1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert scalar(db, "SELECT count(*) FROM res_patient") == 1


def test_bad_bundles(client, db):
    before = counts(db)
    cases = [
        ({"resourceType": "Bundle", "type": "collection", "entry": []}, 400),
        ({"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": patient()}]}, 400),
        (
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [{"resource": patient(), "request": {"method": "POST", "url": "Observation"}}],
            },
            400,
        ),
        (
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [{"resource": patient(), "request": {"method": "POST", "url": "Spaceship"}}],
            },
            404,
        ),
        (
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [{"resource": patient(), "request": {"method": "TRACE", "url": "Patient"}}],
            },
            400,
        ),
        (
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {
                        "fullUrl": "urn:uuid:1",
                        "resource": patient(),
                        "request": {"method": "POST", "url": "Patient"},
                    },
                    {
                        "fullUrl": "urn:uuid:1",
                        "resource": patient(),
                        "request": {"method": "POST", "url": "Patient"},
                    },
                ],
            },
            400,
        ),
        (
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {"resource": {**patient(), "id": "a"}, "request": {"method": "PUT", "url": "Patient/b"}}
                ],
            },
            400,
        ),
        (
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {
                        "resource": {"resourceType": "Patient", "gender": 3},
                        "request": {"method": "POST", "url": "Patient"},
                    }
                ],
            },
            400,
        ),
        ({"resourceType": "Patient"}, 400),
    ]
    for bundle, status in cases:
        r = post_bundle(client, bundle)
        assert r.status_code == status, (bundle, r.get_json())
        assert r.get_json()["resourceType"] == "OperationOutcome"
    assert counts(db) == before
