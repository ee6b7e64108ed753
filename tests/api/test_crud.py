"""Create, read, vread, update, history, conditional create and update, delete policy."""

from __future__ import annotations

import pytest

from tests.conftest import scalar
from tests.factories import FHIR_JSON, observation, organization, patient


def post(client, rtype, resource, headers=None):
    return client.post(f"/fhir/{rtype}", json=resource, headers={**FHIR_JSON, **(headers or {})})


def test_create_assigns_id_and_meta_and_reads_back(client):
    r = post(client, "Patient", {**patient(), "id": "client-chosen"})
    assert r.status_code == 201
    body = r.get_json()
    assert body["id"] != "client-chosen"
    assert body["meta"]["versionId"] == "1"
    assert r.headers["ETag"] == 'W/"1"'
    assert r.headers["Location"].endswith(f"/fhir/Patient/{body['id']}/_history/1")
    assert r.content_type.startswith("application/fhir+json")
    got = client.get(f"/fhir/Patient/{body['id']}")
    assert got.status_code == 200
    assert got.get_json() == body
    assert got.headers["ETag"] == 'W/"1"'
    # Content round-trips exactly, Chinese text included.
    sent = patient()
    stored = post(client, "Patient", sent).get_json()
    assert {k: v for k, v in stored.items() if k not in ("id", "meta")} == sent


def test_update_versions_and_history(client):
    pid = post(client, "Patient", patient()).get_json()["id"]
    v2 = {**patient(family="李"), "id": pid}
    r = client.put(f"/fhir/Patient/{pid}", json=v2, headers={**FHIR_JSON, "If-Match": 'W/"1"'})
    assert r.status_code == 200 and r.headers["ETag"] == 'W/"2"'
    assert client.get(f"/fhir/Patient/{pid}").get_json()["name"][0]["family"] == "李"
    assert client.get(f"/fhir/Patient/{pid}/_history/1").get_json()["name"][0]["family"] == "张"
    assert client.get(f"/fhir/Patient/{pid}/_history/2").get_json()["meta"]["versionId"] == "2"
    hist = client.get(f"/fhir/Patient/{pid}/_history").get_json()
    assert hist["type"] == "history" and hist["total"] == 2
    assert [e["resource"]["meta"]["versionId"] for e in hist["entry"]] == ["2", "1"]
    assert [e["request"]["method"] for e in hist["entry"]] == ["PUT", "POST"]
    assert client.get(f"/fhir/Patient/{pid}/_history/3").status_code == 404
    type_hist = client.get("/fhir/Patient/_history").get_json()
    assert len(type_hist["entry"]) == 2


def test_stale_if_match_is_412_and_changes_nothing(client, db):
    pid = post(client, "Patient", patient()).get_json()["id"]
    ok = client.put(
        f"/fhir/Patient/{pid}", json={**patient(), "id": pid}, headers={**FHIR_JSON, "If-Match": 'W/"1"'}
    )
    assert ok.status_code == 200
    stale = client.put(
        f"/fhir/Patient/{pid}",
        json={**patient(family="王"), "id": pid},
        headers={**FHIR_JSON, "If-Match": 'W/"1"'},
    )
    assert stale.status_code == 412
    assert stale.get_json()["resourceType"] == "OperationOutcome"
    assert "version 2" in stale.get_json()["issue"][0]["diagnostics"]
    assert scalar(db, "SELECT count(*) FROM resource_history WHERE res_type <> 'AuditEvent'") == 2
    bad = client.put(
        f"/fhir/Patient/{pid}", json={**patient(), "id": pid}, headers={**FHIR_JSON, "If-Match": "x"}
    )
    assert bad.status_code == 400


def test_put_with_new_id_creates(client):
    r = client.put("/fhir/Organization/hosp-1", json={**organization(), "id": "hosp-1"}, headers=FHIR_JSON)
    assert r.status_code == 201
    assert client.get("/fhir/Organization/hosp-1").get_json()["name"] == "江川市第一人民医院"


def test_update_id_mismatch_is_400(client):
    pid = post(client, "Patient", patient()).get_json()["id"]
    r = client.put(f"/fhir/Patient/{pid}", json={**patient(), "id": "other"}, headers=FHIR_JSON)
    assert r.status_code == 400
    assert r.get_json()["issue"][0]["expression"] == ["Patient.id"]
    r = client.put(f"/fhir/Patient/{pid}", json=patient(), headers=FHIR_JSON)
    assert r.status_code == 400


def test_conditional_create_if_none_exist(client, db):
    org = organization(code="COND-1")
    first = post(
        client,
        "Organization",
        org,
        {"If-None-Exist": "identifier=http://xietong.example/fhir/sid/org|COND-1"},
    )
    again = post(
        client,
        "Organization",
        org,
        {"If-None-Exist": "identifier=http://xietong.example/fhir/sid/org|COND-1"},
    )
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    assert scalar(db, "SELECT count(*) FROM res_organization") == 1
    post(client, "Organization", organization(code="COND-1"))  # a duplicate made without the condition
    third = post(
        client,
        "Organization",
        org,
        {"If-None-Exist": "identifier=http://xietong.example/fhir/sid/org|COND-1"},
    )
    assert third.status_code == 412
    bad = post(client, "Organization", org, {"If-None-Exist": "nonsense=1"})
    assert bad.status_code == 400


def test_conditional_update(client):
    url = "/fhir/Organization?identifier=http://xietong.example/fhir/sid/org|CU-1"
    r1 = client.put(url, json=organization(code="CU-1"), headers=FHIR_JSON)
    assert r1.status_code == 201
    r2 = client.put(url, json=organization(code="CU-1", name="县人民医院"), headers=FHIR_JSON)
    assert r2.status_code == 200
    assert r2.get_json()["id"] == r1.get_json()["id"] and r2.get_json()["meta"]["versionId"] == "2"


def test_prefer_return(client):
    r = post(client, "Patient", patient(), {"Prefer": "return=minimal"})
    assert r.status_code == 201 and r.data == b"" and r.headers["Location"]
    r = post(client, "Patient", patient(), {"Prefer": "return=OperationOutcome"})
    assert r.get_json()["resourceType"] == "OperationOutcome"


def test_medical_records_are_not_deleted(client):
    pid = post(client, "Patient", patient()).get_json()["id"]
    r = client.delete(f"/fhir/Patient/{pid}")
    assert r.status_code == 405
    assert "entered-in-error" in r.get_json()["issue"][0]["diagnostics"]
    assert client.get(f"/fhir/Patient/{pid}").status_code == 200
    assert client.delete("/fhir/Patient?identifier=x").status_code == 405
    assert client.patch(f"/fhir/Patient/{pid}", json={}).status_code == 405


def test_entered_in_error_correction_keeps_history(client):
    pid = post(client, "Patient", patient()).get_json()["id"]
    obs = post(client, "Observation", observation(pid)).get_json()
    corrected = {**obs, "status": "entered-in-error"}
    r = client.put(f"/fhir/Observation/{obs['id']}", json=corrected, headers=FHIR_JSON)
    assert r.status_code == 200
    hist = client.get(f"/fhir/Observation/{obs['id']}/_history").get_json()
    assert [e["resource"]["status"] for e in hist["entry"]] == ["entered-in-error", "final"]


def test_subscription_delete_is_a_tombstone(client):
    sub = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "referral updates",
        # Topic-based (Subscriptions Backport IG): the hub's referral topic.
        "criteria": "http://xietong.example/fhir/SubscriptionTopic/referral-task-status",
        "channel": {
            "type": "rest-hook",
            "endpoint": "http://127.0.0.1:9/hook",
            "payload": "application/fhir+json",
        },
    }
    sid = post(client, "Subscription", sub).get_json()["id"]
    assert client.delete(f"/fhir/Subscription/{sid}").status_code == 204
    gone = client.get(f"/fhir/Subscription/{sid}")
    assert gone.status_code == 410 and gone.get_json()["issue"][0]["code"] == "deleted"
    assert client.get(f"/fhir/Subscription?_id={sid}").get_json().get("entry") is None
    assert client.get(f"/fhir/Subscription/{sid}/_history/1").status_code == 200
    assert client.delete(f"/fhir/Subscription/{sid}").status_code == 410
    hist = client.get(f"/fhir/Subscription/{sid}/_history").get_json()
    assert hist["entry"][0]["request"]["method"] == "DELETE"


@pytest.mark.parametrize("path", ["/fhir/Patient/bad id", "/fhir/Patient/" + "x" * 65])
def test_bad_ids_are_400(client, path):
    r = client.get(path)
    assert r.status_code == 400
    assert r.get_json()["resourceType"] == "OperationOutcome"


def test_unknown_ids_are_404(client):
    r = client.get("/fhir/Patient/nope")
    assert r.status_code == 404
    assert r.get_json()["issue"][0]["code"] == "not-found"
    assert client.get("/fhir/Patient/nope/_history").status_code == 404
    assert client.get("/fhir/Patient/nope/_history/1").status_code == 404
