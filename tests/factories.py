"""Keyword-default factories of real-shaped FHIR records (Synthea- and HL7-example-shaped)."""

from __future__ import annotations

import uuid

from stdnum.cn import ric

FHIR_JSON = {"Content-Type": "application/fhir+json"}
RESIDENT_ID = "urn:oid:2.16.156.10011.1.3"
LOINC = "http://loinc.org"
ICD10_CN = "http://hl7.org/fhir/sid/icd-10-cn"


def resident_id(birth: str = "19800203", region: str = "330102", seq: str = "123") -> str:
    body = region + birth.replace("-", "") + seq
    return body + ric.calc_check_digit(body + "0")  # the function ignores the last character


def patient(
    family="张",
    given="伟",
    gender="male",
    birth_date="1980-02-03",
    mrn=None,
    phone="13812345678",
    id_card=None,
    **extra,
) -> dict:
    mrn = mrn or uuid.uuid4().hex[:10]
    res = {
        "resourceType": "Patient",
        "identifier": [
            {"system": RESIDENT_ID, "value": id_card or resident_id(birth_date)},
            {
                "type": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]
                },
                "system": "http://xietong.example/fhir/sid/mrn/county-1",
                "value": mrn,
            },
        ],
        "active": True,
        "name": [{"use": "official", "text": family + given, "family": family, "given": [given]}],
        "telecom": [{"system": "phone", "value": phone, "use": "mobile"}],
        "gender": gender,
        "birthDate": birth_date,
        "address": [
            {
                "text": "浙江省杭州市上城区江城路100号",
                "city": "杭州市",
                "district": "上城区",
                "state": "浙江省",
                "country": "CN",
            }
        ],
    }
    res.update(extra)
    return res


def organization(name="江川市第一人民医院", code="H0001", **extra) -> dict:
    res = {
        "resourceType": "Organization",
        "identifier": [{"system": "http://xietong.example/fhir/sid/org", "value": code}],
        "active": True,
        "type": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                        "code": "prov",
                        "display": "Healthcare Provider",
                    }
                ]
            }
        ],
        "name": name,
    }
    res.update(extra)
    return res


def observation(
    patient_id: str,
    code="8480-6",
    display="Systolic blood pressure",
    value=128.0,
    effective="2024-03-05T09:30:00+08:00",
    unit="mm[Hg]",
    category="vital-signs",
    status="final",
    **extra,
) -> dict:
    res = {
        "resourceType": "Observation",
        "status": status,
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": category,
                        "display": category,
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": effective,
        "issued": "2024-03-05T09:35:00.000+08:00",
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }
    res.update(extra)
    return res


def condition(patient_id: str, code="I10", display="原发性高血压", **extra) -> dict:
    res = {
        "resourceType": "Condition",
        "clinicalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
            ]
        },
        "verificationStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}
            ]
        },
        "code": {"coding": [{"system": ICD10_CN, "code": code, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{patient_id}"},
        "recordedDate": "2023-06-01",
    }
    res.update(extra)
    return res


def referral_bundle(
    pid_urn="urn:uuid:" + "11111111-1111-4111-8111-111111111111",
    requester_org="Organization/x",
    performer_org="Organization/y",
    mrn=None,
) -> dict:
    """Patient + ServiceRequest + Task + 2 Observations + DocumentReference, as one transaction."""
    p = patient(mrn=mrn)
    sr_urn = f"urn:uuid:{uuid.uuid4()}"
    entries = [
        {"fullUrl": pid_urn, "resource": p, "request": {"method": "POST", "url": "Patient"}},
        {
            "fullUrl": sr_urn,
            "resource": {
                "resourceType": "ServiceRequest",
                "status": "active",
                "intent": "order",
                "priority": "urgent",
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://snomed.info/sct",
                                "code": "3457005",
                                "display": "Patient referral",
                            }
                        ]
                    }
                ],
                "code": {"text": "心内科会诊"},
                "subject": {"reference": pid_urn},
                "authoredOn": "2024-03-05T10:00:00+08:00",
                "requester": {"reference": requester_org},
                "performer": [{"reference": performer_org}],
                "reasonCode": [{"coding": [{"system": ICD10_CN, "code": "I10", "display": "原发性高血压"}]}],
            },
            "request": {"method": "POST", "url": "ServiceRequest"},
        },
        {
            "resource": {
                "resourceType": "Task",
                "status": "requested",
                "intent": "order",
                "priority": "urgent",
                "focus": {"reference": sr_urn},
                "for": {"reference": pid_urn},
                "authoredOn": "2024-03-05T10:00:00+08:00",
                "requester": {"reference": requester_org},
                "owner": {"reference": performer_org},
            },
            "request": {"method": "POST", "url": "Task"},
        },
        *[
            {
                "resource": {**observation("x", code=c, value=v), "subject": {"reference": pid_urn}},
                "request": {"method": "POST", "url": "Observation"},
            }
            for c, v in (("8480-6", 150.0), ("8462-4", 95.0))
        ],
        {
            "resource": {
                "resourceType": "DocumentReference",
                "status": "current",
                "type": {"coding": [{"system": LOINC, "code": "57133-1", "display": "Referral note"}]},
                "subject": {"reference": pid_urn},
                "date": "2024-03-05T10:00:00+08:00",
                "content": [{"attachment": {"contentType": "text/plain", "data": "6L2s6K+K5Y2V"}}],
            },
            "request": {"method": "POST", "url": "DocumentReference"},
        },
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
