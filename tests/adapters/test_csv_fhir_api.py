"""CSV (GB 18030) and FHIR intake, the HTTP intake, and the quarantine's fix-and-replay loop."""

from __future__ import annotations

import shutil

import orjson

from adapters import mapping as mapping_module
from hub.ingest import service
from hub.ingest.service import Intake
from hub.seed import _PEOPLE, _resident_id
from tests.adapters.conftest import count, resources
from tests.principals import bearer

HEADER = (
    "门诊号,身份证号,医保号,姓名,性别,出生日期,联系电话,"
    "检验单号,项目代码,项目名称,结果,单位,参考范围,异常标志,报告时间,诊断编码,诊断名称\r\n"
)


def person(key):
    p = next(p for p in _PEOPLE if p.key == key)
    return p, _resident_id(p)


def csv_rows(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\r\n" for r in rows)).encode("gb18030")


def test_gb18030_csv_is_mapped_linked_and_resumable(hub):
    p, rid = person("li-xiulan")
    rows = csv_rows(
        f"YG00310,{rid},,李秀兰,女,1962-02-18,13900001002,"
        "J2611001,XT,空腹血糖,7.2,mmol/L,3.9-6.1,↑,2026-11-15 08:30,002,糖尿病",
        f"YG00310,{rid},,李秀兰,女,1962-02-18,13900001002,J2611001,NJG,尿肌酐,88,umol/L,,,2026-11-15 08:30,,",
    )
    intake = Intake(hub, "yangguang-thc")
    patients = count(hub, "Patient")
    s = intake.run("csv", rows, "export.csv")
    assert (s.read, s.stored, s.quarantined) == (2, 2, 0), s.as_json()
    assert count(hub, "Patient") == patients
    glucose = next(
        o
        for o in resources(hub, "Observation")
        if o["code"].get("text") == "空腹血糖"
        and "performer" in o
        and o["performer"][0].get("display") == "通海县杨广镇卫生院"
    )
    assert glucose["code"]["coding"][0]["code"] == "14771-0"
    assert glucose["interpretation"][0]["coding"][0]["code"] == "H"
    assert glucose["effectiveDateTime"] == "2026-11-15T08:30:00+08:00"
    dx = [c for c in resources(hub, "Condition") if c["code"].get("text") == "糖尿病"]
    assert dx and dx[0]["code"]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/icd-10-cn",
        "code": "E11.900",
        "display": "2型糖尿病",
    }
    assert [k[1] for k in s.unmapped] == ["NJG"]  # reported, kept as the local coding
    again = intake.run("csv", rows, "export.csv")
    assert (again.stored, again.duplicate) == (0, 2)


def test_bad_csv_goes_to_quarantine(hub):
    p, rid = person("li-xiulan")
    intake = Intake(hub, "yangguang-thc")
    bad_id = rid[:-1] + ("0" if rid[-1] != "0" else "1")
    s = intake.run(
        "csv",
        csv_rows(
            f"YG00310,{bad_id},,李秀兰,女,1962-02-18,,J1,XT,空腹血糖,7.2,mmol/L,,,2026-11-15 08:30,,",
            f"YG00310,{rid},,李秀兰,不详,1962-02-18,,J2,XT,空腹血糖,7.2,mmol/L,,,2026-11-15 08:30,,",
            f"YG00310,{rid},,李秀兰,女,1962-02-30,,J3,XT,空腹血糖,7.2,mmol/L,,,2026-11-15 08:30,,",
        ),
        "bad.csv",
    )
    assert [(r.outcome, r.element) for r in s.results] == [
        ("quarantined", "column 身份证号"),
        ("quarantined", "column 性别"),
        ("quarantined", "column 出生日期"),
    ]
    assert bad_id not in s.results[0].reason  # the number is masked
    whole = intake.run("csv", b"\xff\xfe\x00garbage\x81", "binary.csv")
    assert whole.quarantined == 1 and whole.results[0].stage == "parse"


def test_fix_the_mapping_and_replay(hub, tmp_path, monkeypatch):
    folder = tmp_path / "mappings"
    shutil.copytree(mapping_module.MAPPINGS_DIR, folder)
    monkeypatch.setattr(mapping_module, "MAPPINGS_DIR", folder)
    p, rid = person("li-xiulan")
    row = csv_rows(f"YG00310,{rid},,李秀兰,不详,1962-02-18,,J9,XT,空腹血糖,6.0,mmol/L,,,2026-11-15 08:30,,")
    s = Intake(hub, "yangguang-thc").run("csv", row, "x.csv")
    qid = s.results[0].quarantine_id
    assert s.quarantined == 1 and [e["id"] for e in service.list_quarantine(hub, None)] == [qid]
    assert service.replay(hub, qid).outcome == "quarantined"  # still unmapped: stays, attempts counted
    path = folder / "yangguang-thc.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("未知: unknown", "未知: unknown, 不详: unknown"), "utf-8"
    )
    before = count(hub, "Observation")
    r = service.replay(hub, qid)
    assert r.outcome == "stored" and count(hub, "Observation") == before + 1
    assert service.list_quarantine(hub, None) == []
    assert service.list_quarantine(hub, None, "replayed")[0]["attempts"] == 2
    again = Intake(hub, "yangguang-thc").run("csv", row, "x.csv")
    assert again.duplicate == 1 and count(hub, "Observation") == before + 1


def test_fhir_bundle_with_local_codes(hub):
    p, rid = person("zhang-wei")
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "http://his.yuxi-first.example/fhir/Patient/88123",
                "resource": {
                    "resourceType": "Patient",
                    "id": "88123",
                    "identifier": [
                        {"system": "http://his.yuxi-first.example/fhir/sid/mrn", "value": "0008812305"},
                        {"system": "http://his.yuxi-first.example/fhir/sid/sfz", "value": rid.lower()},
                    ],
                    "name": [{"family": "张", "given": ["伟"]}],
                    "gender": "male",
                    "birthDate": "1958-03-14",
                },
            },
            {
                "fullUrl": "http://his.yuxi-first.example/fhir/Observation/lab-1",
                "resource": {
                    "resourceType": "Observation",
                    "id": "lab-1",
                    "status": "final",
                    "code": {
                        "coding": [
                            {
                                "system": "http://his.yuxi-first.example/fhir/CodeSystem/lis-item",
                                "code": "GLU",
                            }
                        ]
                    },
                    "subject": {"reference": "Patient/88123"},
                    "performer": [{"reference": "Practitioner/77"}],
                    "valueQuantity": {"value": 8.1, "unit": "mmol/L"},
                },
            },
            {
                "fullUrl": "http://his.yuxi-first.example/fhir/Condition/dx-1",
                "resource": {
                    "resourceType": "Condition",
                    "code": {
                        "coding": [
                            {
                                "system": "http://his.yuxi-first.example/fhir/CodeSystem/diagnosis",
                                "code": "ZD9999",
                            }
                        ]
                    },
                    "subject": {"reference": "http://his.yuxi-first.example/fhir/Patient/88123"},
                },
            },
        ],
    }
    patients = count(hub, "Patient")
    intake = Intake(hub, "yuxi-first")
    own = count(hub, "Observation", tenant=intake.org_id)
    s = intake.run("fhir", orjson.dumps(bundle), "his.json")
    assert (s.stored, s.records, s.linked) == (1, 2, 1), s.as_json()
    assert count(hub, "Observation", tenant=intake.org_id) == own + 1  # the institution's own record
    assert count(hub, "Patient") == patients
    pid = s.results[0].patient_id
    obs = next(
        o
        for o in resources(hub, "Observation")
        if o["subject"]["reference"] == f"Patient/{pid}"
        and o["code"]["coding"][0]["code"] == "14771-0"
        and o.get("valueQuantity", {}).get("value") == 8.1
    )
    assert obs["code"]["coding"][1]["code"] == "GLU"
    assert obs["performer"][0]["identifier"]["value"] == "Practitioner/77"  # not a dangling reference
    assert [k[1] for k in s.unmapped] == ["ZD9999"]
    assert Intake(hub, "yuxi-first").run("fhir", orjson.dumps(bundle), "his.json").duplicate == 1


def test_http_intake_is_for_the_institutions_own_clients(app, hub):
    intake = Intake(hub, "tonghai-county")
    org, other = intake.org_id, Intake(hub, "huaning-county").org_id
    from tests.adapters.test_hl7v2 import ORU, rid

    body = ORU.format(rid=rid()).encode()
    c = app.test_client()
    own = bearer(app, org)
    assert c.post(f"/ingest/{org}/hl7v2", data=body).status_code == 401
    assert c.post(f"/ingest/{org}/hl7v2", data=body, headers=bearer(app, other)).status_code == 403
    assert (
        c.post(
            f"/ingest/{org}/hl7v2", data=body, headers=bearer(app, None, "regulator", "system/*.rs")
        ).status_code
        == 403
    )
    assert c.post(f"/ingest/{org}/xml", data=body, headers=own).status_code == 404
    framed = b"\x0b" + body + b"\x1c\r"
    r = c.post(f"/ingest/{org}/hl7v2", data=framed, headers={**own, "Accept": "x-application/hl7-v2+er7"})
    assert r.status_code == 200 and r.data.startswith(b"\x0b") and b"MSA|AA|TH-LIS-0001" in r.data
    r = c.post(f"/ingest/{org}/hl7v2", data=body.replace(b"||7.8|", b"||x|"), headers=own)
    entry = r.get_json()["results"][0]
    assert entry["outcome"] == "quarantined" and entry["element"] == "OBX[1]-5"
    assert entry["operationOutcome"]["issue"][0]["expression"] == ["OBX[1]-5"]
    listing = c.get("/ingest/quarantine", headers=own).get_json()
    assert [e["id"] for e in listing["entries"]] == [entry["quarantine_id"]]
    assert c.get("/ingest/quarantine", headers=bearer(app, other)).get_json()["count"] == 0
    assert (
        c.get(f"/ingest/quarantine/{entry['quarantine_id']}", headers=bearer(app, other)).status_code == 404
    )
    raw = c.get(f"/ingest/quarantine/{entry['quarantine_id']}", headers=own).get_json()["raw"]
    assert "||x|" in raw
    d = c.post(f"/ingest/quarantine/{entry['quarantine_id']}/discard", headers=own)
    assert d.status_code == 200 and c.get("/ingest/quarantine", headers=own).get_json()["count"] == 0
    # the code maps are inspectable through the FHIR API
    cm = c.get(
        "/fhir/ConceptMap?url=http://xietong.example/fhir/ConceptMap/tonghai-county-lab-loinc", headers=own
    )
    assert cm.get_json()["entry"][0]["resource"]["group"][0]["target"] == "http://loinc.org"
