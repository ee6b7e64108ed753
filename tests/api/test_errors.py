"""Bad input of every kind gets a 4xx OperationOutcome naming what is wrong, never a 500, never a write."""

from __future__ import annotations

import pytest

from hub import create_app
from tests.conftest import make_config, scalar
from tests.factories import FHIR_JSON, patient
from tests.principals import bearer


def outcome(r, status):
    assert r.status_code == status, r.data[:500]
    body = r.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"] and all(i["diagnostics"] for i in body["issue"])
    return body["issue"]


@pytest.mark.parametrize(
    "data, status, words",
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "empty"),
        (b"[1, 2]", 400, "JSON object"),
        (
            b'{"resourceType": "Observation", "status": "final", "code": {"text": "x"}}',
            400,
            "takes a Patient",
        ),
        (b'{"resourceType": "Spaceship"}', 400, "this endpoint takes a Patient"),
        (b'{"gender": "male"}', 400, "no resourceType"),
        (b'{"resourceType": "Patient", "shoeSize": 42}', 400, "unknown element"),
        (b'{"resourceType": "Patient", "active": "yes"}', 400, "JSON boolean"),
        (b'{"resourceType": "Patient", "birthDate": "1980-13-45"}', 400, "birthDate"),
        (b'{"resourceType": "Patient", "gender": "robot"}', 422, "gender"),
        (
            b'{"resourceType": "Patient", "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", '
            b'"value": "110101199003071234"}]}',
            422,
            "resident ID",
        ),
        (b'{"resourceType": "Patient", "name": [{"family": "\xff\xfe"}]}', 400, "JSON"),
    ],
)
def test_bad_bodies(client, db, data, status, words):
    r = client.post("/fhir/Patient", data=data, headers=FHIR_JSON)
    issues = outcome(r, status)
    assert words in " ".join(i["diagnostics"] for i in issues)
    assert scalar(db, "SELECT count(*) FROM res_patient") == 0


def test_errors_name_the_element(client):
    r = client.post(
        "/fhir/Patient", json={"resourceType": "Patient", "name": [{"given": ["a", 7]}]}, headers=FHIR_JSON
    )
    assert outcome(r, 400)[0]["expression"] == ["Patient.name[0].given[1]"]
    sr = {
        "resourceType": "ServiceRequest",
        "status": "finished",
        "intent": "order",
        "subject": {"reference": "Patient/1"},
    }
    r = client.post("/fhir/ServiceRequest", json=sr, headers=FHIR_JSON)
    assert outcome(r, 422)[0]["expression"] == ["ServiceRequest.status"]


def test_media_types(client):
    r = client.post(
        "/fhir/Patient", data=b'{"resourceType": "Patient"}', headers={"Content-Type": "text/plain"}
    )
    outcome(r, 415)
    r = client.post("/fhir/Patient", data=b'{"resourceType": "Patient"}')
    outcome(r, 415)
    r = client.post("/fhir/Patient", json={"resourceType": "Patient"})  # application/json is accepted
    assert r.status_code == 201


def test_oversize_body_is_413(database_url):
    app = create_app(make_config(database_url, MAX_BODY_BYTES=4096))
    try:
        big = {**patient(), "name": [{"text": "x" * 5000}]}
        r = app.test_client().post(
            "/fhir/Patient", json=big, headers={**FHIR_JSON, **bearer(app, role="admin")}
        )
        assert outcome(r, 413)[0]["code"] == "too-costly"
        with app.extensions["xietong"].db.read() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM res_patient").scalar() == 0
    finally:
        app.extensions["xietong"].db.dispose()


def test_routing_errors_under_fhir_are_outcomes(client):
    outcome(client.get("/fhir/Patient/1/2/3/4"), 404)
    outcome(client.delete("/fhir/metadata"), 405)
    outcome(client.put("/fhir/Patient", json=patient(), headers=FHIR_JSON), 405)


def test_capability_statement_lists_what_is_registered(client):
    from hub.fhir.registry import TYPES

    cs = client.get("/fhir/metadata").get_json()
    assert cs["resourceType"] == "CapabilityStatement" and cs["fhirVersion"] == "4.3.0"
    resources = {r["type"]: r for r in cs["rest"][0]["resource"]}
    assert set(resources) == set(TYPES)
    task_params = {p["name"] for p in resources["Task"]["searchParam"]}
    assert {
        "patient",
        "status",
        "business-status",
        "owner",
        "requester",
        "focus",
        "part-of",
        "authored-on",
        "modified",
        "priority",
        "identifier",
        "_id",
        "_lastUpdated",
    } <= task_params
    assert "delete" not in {i["code"] for i in resources["Patient"]["interaction"]}
    assert "delete" in {i["code"] for i in resources["Subscription"]["interaction"]}
    assert "Task:focus" in resources["Task"]["searchInclude"]
    security = cs["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = security["extension"][0]
    assert uris["url"].endswith("/oauth-uris")
    assert uris["extension"][0]["valueUri"] == "http://localhost/auth/token"
    assert {i["code"] for i in resources["AuditEvent"]["interaction"]} >= {"read", "search-type"}
    assert not {i["code"] for i in resources["AuditEvent"]["interaction"]} & {"create", "update"}
    # Every advertised parameter really works.
    for name, res in resources.items():
        for p in res["searchParam"]:
            value = {"date": "ge2020", "reference": "x", "token": "x", "string": "x", "uri": "x"}[p["type"]]
            r = client.get(f"/fhir/{name}?{p['name']}={value}&_count=1")
            assert r.status_code == 200, (name, p["name"], r.get_json())


@pytest.mark.parametrize(
    "resource, status",
    [
        # Past what a datetime holds once shifted to UTC: indexed at the end of time, not a crash.
        (
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": "x"},
                "effectiveDateTime": "9999-12-31T23:59:59-05:00",
            },
            201,
        ),
        (
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": "x"},
                "effectivePeriod": {"start": "2021-05-01", "end": "2020-01-01"},
            },
            422,
        ),
        ({"resourceType": "Patient", "name": [{"family": "a\u0000b"}]}, 400),
        ({"resourceType": "Patient", "name": [{"family": "中" * 2000}]}, 201),
        ({"resourceType": "Patient", "managingOrganization": {"reference": "A" * 100 + "/1"}}, 201),
        (
            {"resourceType": "Patient", "managingOrganization": {"reference": "Organization/" + "a" * 100}},
            201,
        ),
        ({"resourceType": "Patient", "identifier": [{"system": "s" * 3000, "value": "v"}]}, 201),
        ({"resourceType": "Patient", "meta": {"tag": [{"code": "c" * 10000}]}}, 201),
    ],
)
def test_edge_values_never_500(client, resource, status):
    r = client.post(f"/fhir/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert r.status_code == status, r.get_json()


def test_absolute_references_to_other_servers_are_not_local(client):
    other = {
        "resourceType": "Patient",
        "managingOrganization": {"reference": "http://other.example/fhir/Organization/1"},
    }
    assert client.post("/fhir/Patient", json=other, headers=FHIR_JSON).status_code == 201
    assert client.get("/fhir/Patient?organization=Organization/1").get_json().get("entry") is None


@pytest.mark.parametrize("query", ["family=a%00b", "_id=%00", "gender%01=male"])
def test_control_characters_in_search_are_400(client, query):
    outcome(client.get(f"/fhir/Patient?{query}"), 400)
