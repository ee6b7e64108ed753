"""``Patient/$match``, ``Patient/$merge`` and ``Patient/{id}/$unlink`` through the API."""

from __future__ import annotations

import requests

from hub.empi import resolve
from tests.empi.test_resolve import _read, _without_id_card
from tests.factories import FHIR_JSON, observation, patient, resident_id
from tests.principals import bearer

MATCH_GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"


def _params(*parameters) -> dict:
    return {"resourceType": "Parameters", "parameter": list(parameters)}


def _resolve(app, incoming, org):
    hub = app.extensions["xietong"]
    with hub.db.write() as conn:
        return resolve(conn, hub, incoming, org)


def _match(client, resource, *more, headers=None):
    body = _params({"name": "resource", "resource": resource}, *more)
    return client.post("/fhir/Patient/$match", json=body, headers={**FHIR_JSON, **(headers or {})})


def test_match_answers_scored_candidates_best_first(app, client, orgs):
    zhang = _resolve(app, _without_id_card(patient(family="张", given="伟", mrn="A-1")), orgs["a"])
    _resolve(app, _without_id_card(patient(family="张", given="华", mrn="A-2")), orgs["a"])  # his twin
    _resolve(
        app,
        _without_id_card(patient(family="王", given="芳", gender="female", birth_date="1990-01-01")),
        orgs["a"],
    )
    query = {
        "resourceType": "Patient",
        "name": [{"text": "Zhang Wei"}],
        "birthDate": "1980-02-03",
        "gender": "male",
    }
    r = _match(client, query, {"name": "count", "valueInteger": 5})
    assert r.status_code == 200, r.get_json()
    bundle = r.get_json()
    assert bundle["type"] == "searchset"
    entries = bundle["entry"]
    assert entries[0]["resource"]["id"] == zhang.patient_id
    scores = [e["search"]["score"] for e in entries]
    assert scores == sorted(scores, reverse=True) and len(entries) == 2  # 王芳 is not worth showing
    assert all(e["search"]["mode"] == "match" for e in entries)
    assert entries[0]["search"]["extension"] == [{"url": MATCH_GRADE, "valueCode": "probable"}]
    # With a phone that confirms it, certain; and onlyCertainMatches keeps only those.
    query["telecom"] = [{"system": "phone", "value": "138 1234 5678"}]
    r = _match(client, query, {"name": "onlyCertainMatches", "valueBoolean": True})
    entries = r.get_json()["entry"]
    assert [e["resource"]["id"] for e in entries] == [zhang.patient_id]
    assert entries[0]["search"]["extension"][0]["valueCode"] == "certain"


def test_match_on_the_resident_id_number_is_certain(app, client, orgs):
    p = _resolve(app, patient(id_card=resident_id("19800203", seq="555")), orgs["a"])
    query = {
        "resourceType": "Patient",
        "identifier": [
            {"system": "urn:oid:2.16.156.10011.1.3", "value": resident_id("19800203", seq="555").lower()}
        ],
    }
    entries = _match(client, query).get_json()["entry"]
    assert [(e["resource"]["id"], e["search"]["score"]) for e in entries] == [(p.patient_id, 1.0)]


def test_match_refuses_bad_input_with_an_operation_outcome(client):
    assert _match(client, {"resourceType": "Observation"}).status_code == 400
    r = client.post("/fhir/Patient/$match", json=_params(), headers=FHIR_JSON)
    assert r.status_code == 400 and r.get_json()["issue"][0]["expression"] == [
        "Parameters.parameter:resource"
    ]
    bad_count = _match(client, {"resourceType": "Patient"}, {"name": "count", "valueInteger": 0})
    assert bad_count.status_code == 400
    bad_id = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": "110105194912310021"}],
    }
    r = _match(client, bad_id)
    assert r.status_code == 422 and "110105194912310021" not in r.get_data(as_text=True)
    assert client.get("/fhir/Patient/$match").status_code == 405


def test_match_shows_an_institution_only_the_patients_it_may_see(app, client, orgs):
    _resolve(app, _without_id_card(patient(mrn="A-1")), orgs["a"])
    query = {"resourceType": "Patient", "name": [{"text": "张伟"}], "birthDate": "1980-02-03"}
    as_a = bearer(app, orgs["a"])
    as_b = bearer(app, orgs["b"])
    assert len(_match(client, query, headers=as_a).get_json()["entry"]) == 1
    assert "entry" not in _match(client, query, headers=as_b).get_json()
    read_only = bearer(app, orgs["a"], scopes="system/Observation.rs")
    assert _match(client, query, headers=read_only).status_code == 403


def test_merge_after_review_and_undo(app, client, orgs):
    a = _resolve(app, _without_id_card(patient(mrn="A-1")), orgs["a"])
    b = _resolve(app, _without_id_card(patient(mrn="B-1", phone="13900002222")), orgs["b"])
    assert b.outcome == "review"
    body = _params(
        {"name": "source-patient", "valueReference": {"reference": f"Patient/{b.patient_id}"}},
        {"name": "target-patient", "valueReference": {"reference": f"Patient/{a.patient_id}"}},
        {"name": "task", "valueReference": {"reference": f"Task/{b.task_id}"}},
    )
    # Institutions do not merge; the alliance office does.
    assert (
        client.post(
            "/fhir/Patient/$merge", json=body, headers={**FHIR_JSON, **bearer(app, orgs["a"])}
        ).status_code
        == 403
    )
    r = client.post("/fhir/Patient/$merge", json=body, headers=FHIR_JSON)
    assert r.status_code == 200, r.get_json()
    prov_id = r.get_json()["parameter"][2]["valueReference"]["reference"].split("/")[1]
    target, source = _read(client, a.patient_id), _read(client, b.patient_id)
    assert {"other": {"reference": f"Patient/{b.patient_id}"}, "type": "replaces"} in target["link"]
    assert source["link"] == [{"other": {"reference": f"Patient/{a.patient_id}"}, "type": "replaced-by"}]
    assert source["active"] is False
    assert "B-1" in {i["value"] for i in target["identifier"]}
    task = client.get(f"/fhir/Task/{b.task_id}").get_json()
    assert task["status"] == "completed"
    # The merged record is no one's candidate any more; a third record finds the survivor.
    c = _resolve(app, _without_id_card(patient(mrn="C-1", phone="13900002222")), orgs["a"])
    assert (c.outcome, c.patient_id) == ("linked", a.patient_id)
    # Undo the merge: both stand alone again.
    unlink = _params({"name": "provenance", "valueReference": {"reference": f"Provenance/{prov_id}"}})
    r = client.post(f"/fhir/Patient/{a.patient_id}/$unlink", json=unlink, headers=FHIR_JSON)
    assert r.status_code == 200, r.get_json()
    target, source = _read(client, a.patient_id), _read(client, b.patient_id)
    assert "link" not in target and "link" not in source and source["active"] is True
    assert "B-1" not in {i["value"] for i in target["identifier"]}
    assert "C-1" in {i["value"] for i in target["identifier"]}  # what came later stays
    again = client.post(f"/fhir/Patient/{a.patient_id}/$unlink", json=unlink, headers=FHIR_JSON)
    assert again.status_code == 409


def test_unlink_a_scored_link(app, client, orgs):
    a = _resolve(app, _without_id_card(patient(mrn="A-1")), orgs["a"])
    latin = _without_id_card(patient(mrn="B-1"))
    latin["name"] = [{"text": "Wei Zhang"}]
    b = _resolve(app, latin, orgs["b"])
    assert b.outcome == "linked" and b.patient_id == a.patient_id
    unlink = _params({"name": "provenance", "valueReference": {"reference": f"Provenance/{b.provenance_id}"}})
    # Each hospital files a result against the hub Patient.
    as_a = {**FHIR_JSON, **bearer(app, orgs["a"])}
    as_b = {**FHIR_JSON, **bearer(app, orgs["b"])}
    obs_a = client.post("/fhir/Observation", json=observation(a.patient_id), headers=as_a).get_json()["id"]
    obs_b = client.post("/fhir/Observation", json=observation(a.patient_id), headers=as_b).get_json()["id"]
    # Another institution may not undo it; the one whose record was linked may.
    assert client.post(f"/fhir/Patient/{a.patient_id}/$unlink", json=unlink, headers=as_a).status_code == 403
    r = client.post(f"/fhir/Patient/{a.patient_id}/$unlink", json=unlink, headers=as_b)
    assert r.status_code == 200, r.get_json()
    other = r.get_json()["parameter"][2]["valueReference"]["reference"].split("/")[1]
    hub_patient, split = _read(client, a.patient_id), _read(client, other)
    assert "B-1" not in {i["value"] for i in hub_patient["identifier"]}
    assert [n.get("text") for n in hub_patient["name"]] == ["张伟"]
    assert "B-1" in {i["value"] for i in split["identifier"]} and split["name"] == [{"text": "Wei Zhang"}]
    # Hospital B's result went with B's record; hospital A's stays.
    subject = lambda oid: client.get(f"/fhir/Observation/{oid}").get_json()["subject"]["reference"]  # noqa: E731
    assert (subject(obs_a), subject(obs_b)) == (f"Patient/{a.patient_id}", f"Patient/{other}")
    assert {"name": "moved", "valueReference": {"reference": f"Observation/{obs_b}"}} in r.get_json()[
        "parameter"
    ]
    # The institution's record now resolves to its own patient again.
    assert _resolve(app, latin, orgs["b"]).patient_id == other
    bad = _params({"name": "provenance", "valueReference": {"reference": "Patient/x"}})
    assert (
        client.post(f"/fhir/Patient/{a.patient_id}/$unlink", json=bad, headers=FHIR_JSON).status_code == 400
    )


def test_match_over_real_http(live_server, live_headers):
    headers = {**live_headers, **FHIR_JSON}
    created = requests.post(f"{live_server}/fhir/Patient", json=patient(), headers=headers, timeout=30)
    assert created.status_code == 201
    query = {
        "resourceType": "Patient",
        "name": [{"text": "ZHANG Wei"}],
        "birthDate": "1980-02-03",
        "gender": "male",
    }
    body = _params({"name": "resource", "resource": query}, {"name": "count", "valueInteger": 3})
    r = requests.post(f"{live_server}/fhir/Patient/$match", json=body, headers=headers, timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/fhir+json")
    entry = r.json()["entry"][0]
    assert entry["resource"]["id"] == created.json()["id"] and entry["search"]["mode"] == "match"
    metadata = requests.get(f"{live_server}/fhir/metadata", timeout=30).json()
    patient_ops = next(r for r in metadata["rest"][0]["resource"] if r["type"] == "Patient").get(
        "operation", []
    )
    assert {"match", "merge", "unlink"} <= {o["name"] for o in patient_ops}


def test_match_answers_about_an_institutions_patient_are_audited(app, client, db, orgs):
    from tests.conftest import scalar

    _resolve(app, _without_id_card(patient(mrn="A-1")), orgs["a"])
    query = {"resourceType": "Patient", "name": [{"text": "张伟"}], "birthDate": "1980-02-03"}
    count = "SELECT count(*) FROM res_auditevent"
    before = scalar(db, count)
    assert len(_match(client, query).get_json()["entry"]) == 1  # the alliance office's admin
    assert scalar(db, count) > before
    own = bearer(app, orgs["a"])
    before = scalar(db, count)
    assert len(_match(client, query, headers=own).get_json()["entry"]) == 1  # its own patient
    assert scalar(db, count) == before
