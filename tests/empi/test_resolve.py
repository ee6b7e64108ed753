"""``hub.empi.resolve``: one hub Patient per person, on both databases."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import func, select

from hub.empi import resolve
from hub.empi.tables import empi_key, empi_person
from hub.errors import Unprocessable
from tests.factories import FHIR_JSON, patient, resident_id


def _resolve(app, incoming, org):
    hub = app.extensions["xietong"]
    with hub.db.write() as conn:
        return resolve(conn, hub, incoming, org)


def _read(client, pid):
    r = client.get(f"/fhir/Patient/{pid}")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _mrn(org, value):
    return {
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
        "system": f"http://xietong.example/fhir/sid/mrn/{org}",
        "value": value,
    }


def _without_id_card(p):
    p["identifier"] = [i for i in p["identifier"] if not i["system"].startswith("urn:oid")]
    return p


def test_new_then_matched_on_the_resident_id_number(app, client, orgs):
    first = patient(
        identifier=[{"system": "urn:oid:2.16.156.10011.1.3", "value": resident_id()}, _mrn("a", "A1")]
    )
    r1 = _resolve(app, first, orgs["a"])
    assert r1.outcome == "new"
    second = patient(
        identifier=[
            # written with a lower-case x and spaces elsewhere would be normalised; here the same number
            {"system": "urn:oid:2.16.156.10011.1.3", "value": " " + resident_id() + " "},
            _mrn("b", "B-77"),
        ],
        telecom=[{"system": "phone", "value": "+86 139 0000 2222", "use": "home"}],
    )
    r2 = _resolve(app, second, orgs["b"])
    assert (r2.outcome, r2.patient_id, r2.score) == ("matched", r1.patient_id, 1.0)
    hub_patient = _read(client, r1.patient_id)
    systems = {(i["system"], i["value"]) for i in hub_patient["identifier"]}
    assert ("http://xietong.example/fhir/sid/mrn/b", "B-77") in systems
    assert ("http://xietong.example/fhir/sid/mrn/a", "A1") in systems
    mrn_b = next(i for i in hub_patient["identifier"] if i["value"] == "B-77")
    assert mrn_b["assigner"] == {"reference": f"Organization/{orgs['b']}"}
    assert {t["value"] for t in hub_patient["telecom"]} == {"13812345678", "+86 139 0000 2222"}
    # The link is on record, with the record as it came.
    prov = client.get(f"/fhir/Provenance?target=Patient/{r1.patient_id}").get_json()
    assert prov["total"] == 1 if "total" in prov else len(prov["entry"]) == 1
    assert r2.provenance_id


def test_the_same_record_again_changes_nothing(app, client, orgs):
    rec = patient(identifier=[_mrn("a", "A-9")])
    r1 = _resolve(app, rec, orgs["a"])
    before = _read(client, r1.patient_id)["meta"]["versionId"]
    r2 = _resolve(app, patient(identifier=[_mrn("a", "A-9")]), orgs["a"])
    assert (r2.outcome, r2.patient_id, r2.provenance_id) == ("matched", r1.patient_id, None)
    assert _read(client, r1.patient_id)["meta"]["versionId"] == before


def test_scored_link_review_and_new(app, client, orgs):
    base = _resolve(app, _without_id_card(patient(family="李", given="晓明", mrn="A-1")), orgs["a"])
    assert base.outcome == "new"
    # Pinyin in another order, same birth date, sex and phone: the same person.
    latin = _without_id_card(patient(mrn="B-1"))
    latin["name"] = [{"text": "Xiaoming Lee"}]
    linked = _resolve(app, latin, orgs["b"])
    assert (linked.outcome, linked.patient_id) == ("linked", base.patient_id)
    assert linked.score >= 0.92 and linked.provenance_id
    # Same name, birth date and sex, but another phone: a person decides.
    other_phone = _without_id_card(patient(family="李", given="晓明", mrn="B-2", phone="13900001111"))
    review = _resolve(app, other_phone, orgs["b"])
    assert review.outcome == "review" and review.patient_id != base.patient_id and review.task_id
    task = client.get(f"/fhir/Task/{review.task_id}").get_json()
    assert task["for"]["reference"] == f"Patient/{review.patient_id}"
    assert task["input"][0]["valueReference"]["reference"] == f"Patient/{base.patient_id}"
    # A namesake born another year, no phone in common: a new patient.
    namesake = _without_id_card(
        patient(family="李", given="晓明", mrn="B-3", phone="13700000000", birth_date="1991-07-08")
    )
    assert _resolve(app, namesake, orgs["b"]).outcome == "new"


def test_an_invalid_resident_id_number_is_refused_naming_the_element(app, orgs):
    bad = patient(identifier=[{"system": "urn:oid:2.16.156.10011.1.3", "value": "110105194912310021"}])
    with pytest.raises(Unprocessable) as exc:
        _resolve(app, bad, orgs["a"])
    assert exc.value.expression == ("Patient.identifier[0].value",)
    assert "110105194912310021" not in str(exc.value)


def test_the_index_follows_patients_written_through_the_api(app, client, db):
    p = client.post("/fhir/Patient", json=patient(family="王", given="芳"), headers=FHIR_JSON).get_json()
    with db.read() as conn:
        row = conn.execute(select(empi_person).where(empi_person.c.fhir_id == p["id"])).one()
        keys = set(conn.execute(select(empi_key.c.key).where(empi_key.c.pid == row.pid)).scalars())
    assert "n:wangfang" in keys and "b:19800203" in keys and row.candidate
    changed = {**p, "birthDate": "1981-03-04", "active": False}
    assert client.put(f"/fhir/Patient/{p['id']}", json=changed, headers=FHIR_JSON).status_code == 200
    with db.read() as conn:
        row = conn.execute(select(empi_person).where(empi_person.c.fhir_id == p["id"])).one()
        keys = set(conn.execute(select(empi_key.c.key).where(empi_key.c.pid == row.pid)).scalars())
    assert "b:19810304" in keys and "b:19800203" not in keys
    assert not row.candidate
    assert orjson.loads(row.features)["b"] == "1981-03-04"


def test_reindex_rebuilds_the_index_from_the_stored_patients(app, client, db):
    ids = [
        client.post("/fhir/Patient", json=patient(family=f, given="芳"), headers=FHIR_JSON).get_json()["id"]
        for f in ("王", "李")
    ]
    with db.write() as conn:
        conn.execute(empi_key.delete())
        conn.execute(empi_person.delete())
    result = app.test_cli_runner().invoke(args=["empi", "reindex"])
    assert result.exit_code == 0 and "2 patients indexed" in result.output
    with db.read() as conn:
        assert set(conn.execute(select(empi_person.c.fhir_id)).scalars()) == set(ids)
        assert conn.execute(select(empi_key.c.key).where(empi_key.c.key == "n:lifang")).first()


def test_a_patient_written_outside_a_hub_transaction_is_indexed_too(db):
    """A script's own transaction (no Database.write) writing through a Store: the index follows at once."""
    from hub.fhir.registry import TYPES
    from hub.fhir.store import Store

    with db.engine.connect() as conn, conn.begin():
        Store(db, conn).create(TYPES["Patient"], patient(family="周", given="杰"), fid="raw-1")
    with db.read() as conn:
        pid = conn.execute(select(empi_person.c.pid).where(empi_person.c.fhir_id == "raw-1")).scalar()
        assert pid is not None
        assert conn.execute(select(empi_key.c.pid).where(empi_key.c.key == "n:zhoujie")).scalar() == pid


def test_every_store_write_of_a_patient_keeps_the_index(db):
    """Create, update, delete, and several at once (``create_many``): the index follows each."""
    from hub.fhir.registry import TYPES
    from hub.fhir.store import Store

    rt = TYPES["Patient"]

    def keys():
        with db.read() as conn:
            return set(conn.execute(select(empi_key.c.key).where(empi_key.c.key.like("n:%"))).scalars())

    with db.write() as conn:
        store = Store(db, conn)
        store.create(rt, patient(family="周", given="杰"), fid="p-1")
        store.update(rt, "p-1", {**patient(family="吴", given="杰"), "id": "p-1"})  # same transaction
        store.create_many(
            [(rt, patient(family="郑", given="敏"), "p-2"), (rt, patient(family="冯", given="敏"), None)]
        )
    assert {"n:wujie", "n:zhengmin", "n:fengmin"} <= keys() and "n:zhoujie" not in keys()
    with db.write() as conn:
        Store(db, conn).delete(rt, "p-2")
    assert "n:zhengmin" not in keys()


def test_patients_of_a_transaction_bundle_are_indexed(client, db):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": patient(family=f, given="敏"), "request": {"method": "POST", "url": "Patient"}}
            for f in ("孙", "钱")
        ],
    }
    assert client.post("/fhir", json=bundle, headers=FHIR_JSON).status_code == 200
    with db.read() as conn:
        keys = set(conn.execute(select(empi_key.c.key).where(empi_key.c.key.like("n:%"))).scalars())
    assert {"n:sunmin", "n:qianmin"} <= keys


def test_the_same_person_twice_in_one_transaction_is_one_patient(app, orgs):
    hub = app.extensions["xietong"]
    with hub.db.write() as conn:
        first = resolve(conn, hub, _without_id_card(patient(mrn="A-1")), orgs["a"])
        again = _without_id_card(patient(mrn="B-1"))
        again["name"] = [{"text": "ZHANG Wei"}]
        second = resolve(conn, hub, again, orgs["b"])
    assert (first.outcome, second.outcome, second.patient_id) == ("new", "linked", first.patient_id)


def test_a_record_whose_identifiers_are_on_two_hub_patients_is_flagged(app, orgs):
    first = _resolve(app, _without_id_card(patient(mrn="A-1")), orgs["a"])
    second = _resolve(
        app, _without_id_card(patient(family="刘", given="洋", mrn="A-2", birth_date="1970-01-01")), orgs["a"]
    )
    both = _without_id_card(patient(mrn="A-1"))
    both["identifier"] += _without_id_card(patient(mrn="A-2"))["identifier"]
    r = _resolve(app, both, orgs["a"])
    assert r.outcome == "matched" and r.patient_id in (first.patient_id, second.patient_id)
    assert len(r.warnings) == 1 and "Patient/$merge" in r.warnings[0]


def test_the_same_record_twice_in_one_transaction_is_resolved_once(app, orgs, monkeypatch):
    """A CSV file names the patient on every row: the second time, nothing is asked or written."""
    from hub.empi import resolver
    from hub.models import resource_tables

    hub = app.extensions["xietong"]
    record = _without_id_card(patient(mrn="A-7"))
    asked = []
    real = resolver._resolve
    monkeypatch.setattr(resolver, "_resolve", lambda *a, **k: asked.append(1) or real(*a, **k))
    with hub.db.write() as conn:
        first = resolve(conn, hub, record, orgs["a"])
        again = resolve(conn, hub, dict(record), orgs["a"])
        other = resolve(conn, hub, _without_id_card(patient(family="孙", given="丽", mrn="A-8")), orgs["a"])
        third = resolve(conn, hub, dict(record), orgs["a"])  # a Patient was written meanwhile: asked
        patients = conn.execute(select(func.count()).select_from(resource_tables["Patient"])).scalar()
    assert (first.outcome, again.outcome, third.outcome) == ("new", "matched", "matched")
    assert first.patient_id == again.patient_id == third.patient_id != other.patient_id
    assert len(asked) == 3 and patients == 2
    with hub.db.write() as conn:  # another transaction asks again
        assert resolve(conn, hub, dict(record), orgs["a"]).patient_id == first.patient_id
    assert len(asked) == 4
