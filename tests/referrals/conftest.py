"""A three-institution alliance for referral tests: a tertiary hospital, a county hospital and a
township health centre, each with its own client, doctors and a shared patient."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest

from tests.factories import FHIR_JSON, ICD10_CN, organization, patient
from tests.principals import bearer

BASE = "http://xietong.example/fhir"
SR_PROFILE = f"{BASE}/StructureDefinition/xt-referral-servicerequest"
TASK_PROFILE = f"{BASE}/StructureDefinition/xt-referral-task"
DECLINE = f"{BASE}/CodeSystem/decline-reason"
BUSINESS = f"{BASE}/CodeSystem/task-business-status"
OUTPUT = f"{BASE}/CodeSystem/referral-output"
LEVEL = f"{BASE}/CodeSystem/institution-level"


def _org(name: str, code: str, level: str) -> dict:
    org = organization(name=name, code=code)
    org["type"].append({"coding": [{"system": LEVEL, "code": level}]})
    org["address"] = [{"text": f"云南省玉溪市{name}路1号"}]
    org["telecom"] = [{"system": "phone", "value": "0877-2012345"}]
    return org


@dataclass
class Alliance:
    app: object
    orgs: dict  # key -> Organization id: tertiary "t", county "c", township "p", unlinked "x"
    roles: dict  # key -> PractitionerRole id (a doctor at that institution)
    patient: str
    headers: dict
    client: object
    tasks: list = field(default_factory=list)

    def call(self, who: str, method: str, url: str, **kw):
        headers = {**FHIR_JSON, **self.headers[who], **kw.pop("headers", {})}
        return self.client.open(url, method=method, headers=headers, **kw)

    def op(self, who: str, task: str, name: str, params: list | None = None, **kw):
        body = {"resourceType": "Parameters", "parameter": params or []}
        return self.call(who, "POST", f"/fhir/Task/{task}/${name}", json=body, **kw)

    def read(self, who: str, task: str) -> dict:
        r = self.call(who, "GET", f"/fhir/Task/{task}")
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    def submit(self, frm: str, to: str | None, direction: str = "up", **kw):
        r = self.call(
            frm, "POST", "/fhir", json=referral(self, frm, to, direction, **kw), headers=kw.pop("headers", {})
        )
        return r

    def refer(self, frm: str = "c", to: str | None = "t", direction: str = "up", **kw) -> tuple[str, str]:
        """A submitted referral: (ServiceRequest id, Task id)."""
        headers = kw.pop("headers", {})
        r = self.call(frm, "POST", "/fhir", json=referral(self, frm, to, direction, **kw), headers=headers)
        assert r.status_code == 200, r.get_json()
        return ids(r.get_json())


def ids(answer: dict) -> tuple[str, str]:
    loc = {}
    for e in answer["entry"]:
        rtype, fid = e["response"]["location"].split("/")[:2]
        loc.setdefault(rtype, fid)
    return loc["ServiceRequest"], loc["Task"]


def referral(
    x: Alliance,
    frm: str,
    to: str | None,
    direction: str = "up",
    priority: str = "routine",
    reason: str = "I10",
    with_task: bool = True,
    based_on: str | None = None,
    patient_id: str | None = None,
    letter: bool = True,
) -> dict:
    sr_url, doc_url, bin_url = (f"urn:uuid:{uuid.uuid4()}" for _ in range(3))
    pid = patient_id or x.patient
    sr = {
        "resourceType": "ServiceRequest",
        "meta": {"profile": [SR_PROFILE]},
        "extension": [
            {"url": f"{BASE}/StructureDefinition/referral-direction", "valueCode": direction},
            {"url": f"{BASE}/StructureDefinition/referral-channel", "valueCode": "standard"},
        ],
        "status": "active",
        "intent": "order",
        "category": [{"coding": [{"system": f"{BASE}/CodeSystem/referral-category", "code": "referral"}]}],
        "priority": priority,
        "code": {"text": "心内科门诊" if direction == "up" else "社区随访管理"},
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": "2026-11-20T09:00:00+08:00",
        "requester": {"reference": f"PractitionerRole/{x.roles[frm]}"},
        "reasonCode": [
            {
                "coding": [{"system": ICD10_CN, "code": reason, "display": "原发性高血压"}],
                "text": "血压控制不佳",
            }
        ],
    }
    if to is not None:
        sr["performer"] = [{"reference": f"Organization/{x.orgs[to]}"}]
    if based_on:
        sr["basedOn"] = [{"reference": f"ServiceRequest/{based_on}"}]
    entries = [{"fullUrl": sr_url, "resource": sr, "request": {"method": "POST", "url": "ServiceRequest"}}]
    if letter:
        sr["supportingInfo"] = [{"reference": doc_url}]
        entries += [
            {
                "fullUrl": bin_url,
                "resource": {
                    "resourceType": "Binary",
                    "contentType": "application/pdf",
                    "data": "JVBERi0xLjQK",
                },
                "request": {"method": "POST", "url": "Binary"},
            },
            {
                "fullUrl": doc_url,
                "resource": {
                    "resourceType": "DocumentReference",
                    "status": "current",
                    "type": {
                        "coding": [
                            {"system": "http://loinc.org", "code": "57133-1", "display": "Referral note"}
                        ]
                    },
                    "subject": {"reference": f"Patient/{pid}"},
                    "content": [
                        {"attachment": {"contentType": "application/pdf", "url": bin_url, "title": "转诊单"}}
                    ],
                },
                "request": {"method": "POST", "url": "DocumentReference"},
            },
        ]
    if with_task:
        entries.append(
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": {
                    "resourceType": "Task",
                    "status": "requested",
                    "intent": "order",
                    "focus": {"reference": sr_url},
                    "for": {"reference": f"Patient/{pid}"},
                },
                "request": {"method": "POST", "url": "Task"},
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


@pytest.fixture
def three(app):
    """Tertiary hospital t, county hospital c, township centre p (the family-doctor team's), an
    unlinked institution x and a regulator; patient P known to c and p, contracted with p."""
    return three_institutions(app)


def three_institutions(app) -> Alliance:
    client = app.test_client()
    admin = bearer(app, None, "admin", "system/*.cruds")
    client.environ_base["HTTP_AUTHORIZATION"] = admin["Authorization"]
    orgs = {}
    for key, name, code, level in (
        ("t", "玉溪市人民医院", "H-T", "tertiary"),
        ("c", "江川区人民医院", "H-C", "secondary"),
        ("p", "大街街道社区卫生服务中心", "H-P", "primary"),
        ("x", "华宁县人民医院", "H-X", "secondary"),
    ):
        r = client.post("/fhir/Organization", json=_org(name, code, level), headers=FHIR_JSON)
        orgs[key] = r.get_json()["id"]
    roles = {}
    for key in orgs:
        doc = client.post(
            "/fhir/Practitioner",
            json={"resourceType": "Practitioner", "name": [{"text": f"医生{key}"}]},
            headers=FHIR_JSON,
        ).get_json()["id"]
        roles[key] = client.post(
            "/fhir/PractitionerRole",
            json={
                "resourceType": "PractitionerRole",
                "active": True,
                "practitioner": {"reference": f"Practitioner/{doc}"},
                "organization": {"reference": f"Organization/{orgs[key]}"},
            },
            headers=FHIR_JSON,
        ).get_json()["id"]
    p = patient(family="李", given="秀英", gender="female", birth_date="1956-04-12")
    for key in ("c", "p"):
        p["identifier"].append(
            {
                "system": f"{BASE}/sid/mrn/{key}",
                "value": uuid.uuid4().hex[:8],
                "assigner": {"reference": f"Organization/{orgs[key]}"},
            }
        )
    pid = client.post("/fhir/Patient", json=p, headers=FHIR_JSON).get_json()["id"]
    headers = {k: bearer(app, orgs[k]) for k in orgs}
    headers["regulator"] = bearer(app, None, "regulator", "system/*.rs")
    headers["admin"] = {"Authorization": client.environ_base["HTTP_AUTHORIZATION"]}
    return Alliance(app, orgs, roles, pid, headers, app.test_client())


def contract(x: Alliance, org_key: str = "p", status: str = "active") -> str:
    ep = {
        "resourceType": "EpisodeOfCare",
        "status": status,
        "type": [
            {
                "coding": [
                    {"system": f"{BASE}/CodeSystem/episodeofcare-type", "code": "family-doctor-contract"}
                ]
            }
        ],
        "patient": {"reference": f"Patient/{x.patient}"},
        "managingOrganization": {"reference": f"Organization/{x.orgs[org_key]}"},
        "period": {"start": "2026-01-01"},
    }
    r = x.call(org_key, "POST", "/fhir/EpisodeOfCare", json=ep)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def package(x: Alliance, author: str = "t") -> list[dict]:
    """The return package as Parameters: consult summary, a medication and a follow-up plan."""
    pid = x.patient
    return [
        {
            "name": "summary",
            "resource": {
                "resourceType": "DocumentReference",
                "status": "current",
                "type": {
                    "coding": [{"system": "http://loinc.org", "code": "11488-4", "display": "Consult note"}]
                },
                "subject": {"reference": f"Patient/{pid}"},
                "content": [{"attachment": {"contentType": "text/plain", "data": "5Lya6K+K5oSP6KeB"}}],
            },
        },
        {
            "name": "medication",
            "resource": {
                "resourceType": "MedicationRequest",
                "status": "active",
                "intent": "order",
                "medicationCodeableConcept": {"text": "氨氯地平片 5mg"},
                "subject": {"reference": f"Patient/{pid}"},
            },
        },
        {
            "name": "carePlan",
            "resource": {
                "resourceType": "CarePlan",
                "status": "active",
                "intent": "plan",
                "title": "高血压社区随访计划",
                "subject": {"reference": f"Patient/{pid}"},
            },
        },
    ]
