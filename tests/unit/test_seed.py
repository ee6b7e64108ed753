"""The demo alliance Bundle: deterministic, valid R4B, self-contained, safe to post twice."""

from __future__ import annotations

import copy
import datetime
import re
from collections import Counter
from urllib.parse import parse_qsl

import pytest
from fhir.resources.R4B import get_fhir_model_class
from stdnum.cn import ric, uscc

from hub import seed
from hub.seed import DEMO_ORGANIZATIONS, DEMO_TODAY, demo_alliance_bundle

EXPECTED_COUNTS = {
    "Organization": 7,  # six institutions and the alliance itself
    "OrganizationAffiliation": 6,  # each institution's membership of the alliance
    "HealthcareService": 11,  # 5 departments + referral desk, 2 county 内科, 3 family-doctor teams
    "Practitioner": 13,
    "PractitionerRole": 13,
    "Patient": 8,
    "EpisodeOfCare": 2,
    "CareTeam": 2,
    "Encounter": 8,
    "Condition": 14,
    "Observation": 12,  # a blood-pressure panel each, fasting glucose + HbA1c for two diabetics
}

BUNDLE = demo_alliance_bundle()
ENTRIES = BUNDLE["entry"]


def _of_type(resource_type: str, bundle: dict = BUNDLE) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def _by_url(bundle: dict = BUNDLE) -> dict[str, dict]:
    return {e["fullUrl"]: e["resource"] for e in bundle["entry"]}


def _resolve(reference: dict) -> dict:
    return _by_url()[reference["reference"]]


def _references(node, path: str = ""):
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield path, node["reference"]
        for key, value in node.items():
            yield from _references(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _references(value, f"{path}[{i}]")


def _ident(resource: dict, system: str) -> str:
    values = [i["value"] for i in resource.get("identifier", []) if i.get("system") == system]
    assert len(values) == 1, f"{resource['resourceType']} has {len(values)} identifiers of {system}"
    return values[0]


def _entry_id(entry: dict) -> str:
    return f"{entry['resource']['resourceType']}:{entry['resource']['identifier'][0]['value']}"


# ----------------------------------------------------------------------------- determinism


def test_two_calls_are_equal():
    assert demo_alliance_bundle() == demo_alliance_bundle()
    assert demo_alliance_bundle() == demo_alliance_bundle(DEMO_TODAY)


def test_mutating_one_result_does_not_leak_into_the_next():
    first = demo_alliance_bundle()
    for entry in first["entry"]:
        for container in _containers(entry["resource"]):
            container.clear()
    assert demo_alliance_bundle() == BUNDLE


def _containers(node):
    """Every dict and list inside ``node``, innermost first (so clearing them is safe)."""
    if isinstance(node, dict | list):
        for value in list(node.values() if isinstance(node, dict) else node):
            yield from _containers(value)
        yield node


def test_identity_does_not_depend_on_today():
    """Re-seeding on another day must find the same resources (same keys, same criteria)."""
    other = demo_alliance_bundle(datetime.date(2025, 3, 1))
    assert [e["fullUrl"] for e in other["entry"]] == [e["fullUrl"] for e in ENTRIES]
    assert [e["request"] for e in other["entry"]] == [e["request"] for e in ENTRIES]
    assert [e["resource"].get("identifier") for e in other["entry"]] == [
        e["resource"].get("identifier") for e in ENTRIES
    ]
    assert other != BUNDLE  # but the recent dates follow `today`


# ------------------------------------------------------------------------------- structure


def test_is_a_transaction_with_the_stated_counts():
    assert BUNDLE["resourceType"] == "Bundle"
    assert BUNDLE["type"] == "transaction"
    assert Counter(e["resource"]["resourceType"] for e in ENTRIES) == EXPECTED_COUNTS


def test_full_urls_are_unique_urn_uuids_and_resources_have_no_id():
    urls = [e["fullUrl"] for e in ENTRIES]
    assert len(set(urls)) == len(urls)
    for e in ENTRIES:
        assert re.fullmatch(
            r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", e["fullUrl"]
        ), e["fullUrl"]
        assert "id" not in e["resource"]


def test_every_reference_resolves_inside_the_bundle():
    urls = {e["fullUrl"] for e in ENTRIES}
    seen = 0
    for e in ENTRIES:
        for path, ref in _references(e["resource"], e["resource"]["resourceType"]):
            seen += 1
            assert ref in urls, f"{path} -> {ref} is not an entry of the bundle"
    assert seen > 100


@pytest.mark.parametrize("entry", ENTRIES, ids=_entry_id)
def test_every_entry_is_a_conditional_post_on_its_own_identifier(entry):
    resource, request = entry["resource"], entry["request"]
    assert request["method"] == "POST"
    assert request["url"] == resource["resourceType"]
    ((name, value),) = parse_qsl(request["ifNoneExist"])
    assert name == "identifier"
    system, _, code = value.partition("|")
    assert {"system": system, "value": code}.items() <= next(
        i for i in resource["identifier"] if i["system"] == system
    ).items()


def test_if_none_exist_criteria_are_unique():
    criteria = [e["request"]["ifNoneExist"] for e in ENTRIES]
    assert len(set(criteria)) == len(criteria)


def test_if_none_exist_uses_the_business_identifier_where_there_is_one():
    for e in ENTRIES:
        rtype, criteria = e["resource"]["resourceType"], e["request"]["ifNoneExist"]
        if rtype == "Patient":
            assert criteria.startswith(f"identifier={seed.SID_RESIDENT_ID}|")
        elif rtype == "Practitioner":
            assert criteria.startswith(
                (f"identifier={seed.SID_PHYSICIAN_LICENCE}|", f"identifier={seed.SID_NURSE_LICENCE}|")
            )
        elif rtype == "Organization":
            assert criteria.startswith((f"identifier={seed.SID_USCC}|", f"identifier={seed.SID_ALLIANCE}|"))


# ------------------------------------------------------------------------------ validation


@pytest.mark.parametrize("entry", ENTRIES, ids=_entry_id)
def test_every_resource_is_valid_r4b(entry):
    resource = entry["resource"]
    get_fhir_model_class(resource["resourceType"]).model_validate(copy.deepcopy(resource))


def test_the_bundle_is_valid_r4b():
    get_fhir_model_class("Bundle").model_validate(copy.deepcopy(BUNDLE))


def test_the_hub_validator_finds_no_issues():
    validation = pytest.importorskip("hub.fhir.validation")
    problems = {
        _entry_id(e): issues for e in ENTRIES if (issues := validation.validate_resource(e["resource"]))
    }
    assert problems == {}


# ------------------------------------------------------------------------- organizations


def test_institutions_match_demo_organizations_and_carry_valid_uscc():
    institutions = [o for o in _of_type("Organization") if o["name"] != seed.DEMO_ALLIANCE[1]]
    assert [o["name"] for o in institutions] == [name for _, name, _, _ in DEMO_ORGANIZATIONS]
    levels = Counter(level for *_, level in DEMO_ORGANIZATIONS)
    assert levels == {"tertiary": 1, "secondary": 2, "primary": 3}
    for org, (_, _, name_en, level) in zip(institutions, DEMO_ORGANIZATIONS, strict=True):
        code = _ident(org, seed.SID_USCC)
        assert uscc.validate(code) == code
        assert code.startswith("12")  # 机构编制 registrar, 事业单位
        _ident(org, seed.SID_INSTITUTION_LICENCE)
        assert re.fullmatch(r"H\d{11}", _ident(org, seed.SID_FIXMEDINS))
        assert name_en in org["alias"]
        codings = [c for t in org["type"] for c in t["coding"]]
        assert {"system": seed.ORG_TYPE, "code": "prov", "display": "Healthcare Provider"} in codings
        assert [c["code"] for c in codings if c["system"] == seed.CS_INSTITUTION_LEVEL] == [level]


def test_townships_are_part_of_their_county_hospital_and_nothing_else_has_a_parent():
    parents = {o["name"]: _resolve(o["partOf"])["name"] for o in _of_type("Organization") if "partOf" in o}
    assert parents == {"通海县杨广镇卫生院": "通海县人民医院", "华宁县盘溪镇卫生院": "华宁县人民医院"}


def test_every_institution_belongs_to_the_alliance_once_with_one_lead():
    alliance_url = next(e["fullUrl"] for e in ENTRIES if e["resource"].get("name") == seed.DEMO_ALLIANCE[1])
    members = Counter()
    roles = Counter()
    for aff in _of_type("OrganizationAffiliation"):
        assert aff["organization"]["reference"] == alliance_url
        members[_resolve(aff["participatingOrganization"])["name"]] += 1
        roles.update(
            c["code"] for cc in aff["code"] for c in cc["coding"] if c["system"] == seed.CS_ALLIANCE_ROLE
        )
    assert members == {name: 1 for _, name, _, _ in DEMO_ORGANIZATIONS}
    assert roles == {"lead": 1, "member": 5}


def test_services_cover_the_tertiary_departments_and_each_primary_team():
    by_org: dict[str, list[dict]] = {}
    for s in _of_type("HealthcareService"):
        by_org.setdefault(_resolve(s["providedBy"])["name"], []).append(s)
    tertiary = {s["name"]: s for s in by_org["玉溪市第一人民医院"]}
    departments = {
        "心血管内科": "A03.04",
        "内分泌科": "A03.07",
        "神经内科": "A03.03",
        "呼吸与危重症医学科": "A03.01",
        "影像科": "A32",
    }
    for name, code in departments.items():
        assert [
            c["code"] for c in tertiary[name]["specialty"][0]["coding"] if c["system"] == seed.DEPARTMENT_OID
        ] == [code]
    assert "双向转诊服务中心" in tertiary
    for _, name, _, level in DEMO_ORGANIZATIONS:
        if level == "primary":
            assert [s["name"] for s in by_org[name]] == ["家庭医生团队服务"]


def test_every_practitioner_has_one_role_with_organization_and_service():
    practitioners = {e["fullUrl"] for e in ENTRIES if e["resource"]["resourceType"] == "Practitioner"}
    roles = _of_type("PractitionerRole")
    assert Counter(r["practitioner"]["reference"] for r in roles) == Counter(practitioners)
    for role in roles:
        org = _resolve(role["organization"])
        assert org["resourceType"] == "Organization"
        (service_ref,) = role["healthcareService"]
        service = _resolve(service_ref)
        assert service["providedBy"]["reference"] == role["organization"]["reference"]
        assert role["code"]
    codes = Counter(
        c["code"] for r in roles for c in r["code"][0]["coding"] if c["system"] == seed.CS_PRACTITIONER_ROLE
    )
    assert codes["referral-coordinator"] >= 1
    assert codes["specialist"] >= 5
    assert codes["county-physician"] == 2
    assert codes["family-doctor"] == 3


def test_practitioners_have_chinese_names_and_a_licence():
    for p in _of_type("Practitioner"):
        (name,) = p["name"]
        assert name["text"] == name["family"] + "".join(name["given"])
        assert p["gender"] in ("male", "female")
        assert p["qualification"][0]["identifier"][0]["value"] == p["identifier"][0]["value"]


# ------------------------------------------------------------------------------- patients


def test_resident_ids_are_valid_and_agree_with_the_patient():
    for patient in _of_type("Patient"):
        number = _ident(patient, seed.SID_RESIDENT_ID)
        assert ric.validate(number) == number
        assert ric.get_birth_date(number).isoformat() == patient["birthDate"]
        male = int(number[16]) % 2 == 1
        assert patient["gender"] == ("male" if male else "female"), number
        (birth_place,) = [x["valueAddress"] for x in patient["extension"] if x["url"] == seed.BIRTH_PLACE_EXT]
        place = ric.get_birth_place(number)
        assert (place["province"], place["county"]) == (birth_place["state"], birth_place["district"])
        assert patient["address"][0]["state"] == place["province"]
        ident = next(i for i in patient["identifier"] if i["system"] == seed.SID_RESIDENT_ID)
        assert ident["type"]["coding"][0]["code"] == "NNCHN"


def test_resident_ids_are_unique():
    numbers = [_ident(p, seed.SID_RESIDENT_ID) for p in _of_type("Patient")]
    assert len(set(numbers)) == len(numbers)


def test_patients_have_names_phones_addresses_and_mrns():
    insured = 0
    for patient in _of_type("Patient"):
        (name,) = patient["name"]
        assert name["text"] == name["family"] + "".join(name["given"])
        assert 1 <= len(name["family"]) <= 2
        (phone,) = patient["telecom"]
        assert re.fullmatch(r"1[358]\d{9}", phone["value"])
        address = patient["address"][0]
        assert {"text", "city", "district", "state"} <= address.keys()
        assert address["text"].startswith(address["state"] + address["city"] + address["district"])
        mrns = [i for i in patient["identifier"] if i["system"].startswith(f"{seed.SID}/mrn/")]
        assert mrns
        for mrn in mrns:
            assert mrn["type"]["coding"][0]["code"] == "MR"
            assert mrn["system"] == seed.mrn_system(mrn["system"].rsplit("/", 1)[1])
            assert _resolve(mrn["assigner"])["resourceType"] == "Organization"
        home = patient["managingOrganization"]["reference"]
        assert home in {m["assigner"]["reference"] for m in mrns}
        insured += any(i["system"] == seed.SID_NHSA_PSN for i in patient["identifier"])
    assert 0 < insured < len(_of_type("Patient"))


# ---------------------------------------------------------------------- family-doctor contracts


@pytest.mark.parametrize("today", [DEMO_TODAY, datetime.date(2025, 3, 1), datetime.date(2028, 2, 29)])
def test_contracts_are_active_one_year_terms_with_the_team(today):
    bundle = demo_alliance_bundle(today)
    by_url = _by_url(bundle)
    episodes = _of_type("EpisodeOfCare", bundle)
    assert len({e["patient"]["reference"] for e in episodes}) == len(episodes) == 2
    for ep in episodes:
        assert ep["status"] == "active"
        assert ep["type"][0]["coding"][0] == {
            "system": seed.CS_EPISODE_TYPE,
            "code": "family-doctor-contract",
            "display": "家庭医生签约服务",
        }
        start = datetime.date.fromisoformat(ep["period"]["start"])
        end = datetime.date.fromisoformat(ep["period"]["end"])
        assert start < today < end
        assert (end - start).days >= 365
        manager = by_url[ep["careManager"]["reference"]]
        assert manager["resourceType"] == "PractitionerRole"
        assert manager["organization"]["reference"] == ep["managingOrganization"]["reference"]
        (team_ref,) = ep["team"]
        team = by_url[team_ref["reference"]]
        assert team["resourceType"] == "CareTeam"
        assert team["managingOrganization"][0]["reference"] == ep["managingOrganization"]["reference"]
        patient = by_url[ep["patient"]["reference"]]
        assert patient["generalPractitioner"][0]["reference"] == ep["careManager"]["reference"]
        for d in ep["diagnosis"]:
            assert by_url[d["condition"]["reference"]]["subject"]["reference"] == ep["patient"]["reference"]


def test_each_family_doctor_team_has_exactly_one_lead_who_is_a_family_doctor():
    for team in _of_type("CareTeam"):
        leads = [
            p
            for p in team["participant"]
            if any(c["code"] == "team-lead" for r in p["role"] for c in r["coding"])
        ]
        assert len(leads) == 1
        lead_codes = {c["code"] for r in leads[0]["role"] for c in r["coding"]}
        assert "family-doctor" in lead_codes
        role = _resolve(leads[0]["member"])
        assert role["organization"]["reference"] == team["managingOrganization"][0]["reference"]
        assert len(team["participant"]) >= 3


# ------------------------------------------------------------------------- clinical records


def test_each_patient_has_an_encounter_a_diagnosis_and_a_blood_pressure():
    patients = {e["fullUrl"] for e in ENTRIES if e["resource"]["resourceType"] == "Patient"}
    for rtype in ("Encounter", "Condition", "Observation"):
        subjects = {r["subject"]["reference"] for r in _of_type(rtype)}
        assert subjects == patients, rtype
    bp_subjects = [
        o["subject"]["reference"]
        for o in _of_type("Observation")
        if o["code"]["coding"][0]["code"] == "85354-9"
    ]
    assert sorted(bp_subjects) == sorted(patients)


def test_conditions_are_icd10_cn_coded_with_chinese_display():
    for c in _of_type("Condition"):
        (coding,) = c["code"]["coding"]
        assert coding["system"] == "http://hl7.org/fhir/sid/icd-10-cn"
        assert re.fullmatch(r"[A-Z]\d\d(\.\d{1,2})?", coding["code"])
        assert re.search(r"[\u4e00-\u9fff]", coding["display"])
        assert _resolve(c["encounter"])["subject"] == c["subject"]
    codes = {c["code"]["coding"][0]["code"] for c in _of_type("Condition")}
    assert {"I10", "E11.9"} <= codes


def test_observations_are_loinc_with_ucum_units_and_performing_institution():
    for o in _of_type("Observation"):
        assert o["code"]["coding"][0]["system"] == seed.LOINC
        assert any(_resolve(p)["resourceType"] == "Organization" for p in o["performer"])
        assert o["status"] == "final"
        if o["code"]["coding"][0]["code"] == "85354-9":
            parts = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in o["component"]}
            assert set(parts) == {"8480-6", "8462-4"}
            for q in parts.values():
                assert (q["system"], q["code"]) == (seed.UCUM, "mm[Hg]")
            assert parts["8480-6"]["value"] > parts["8462-4"]["value"]
        else:
            q = o["valueQuantity"]
            assert q["system"] == seed.UCUM
            (rng,) = o["referenceRange"]
            assert rng["low"]["code"] == rng["high"]["code"] == q["code"]
            assert rng["low"]["value"] < rng["high"]["value"]
            high = q["value"] > rng["high"]["value"]
            assert o["interpretation"][0]["coding"][0]["code"] == ("H" if high else "N")
    lab_codes = Counter(o["code"]["coding"][0]["code"] for o in _of_type("Observation"))
    assert lab_codes["4548-4"] == 2
    assert lab_codes["14771-0"] == 2


def test_recent_dates_are_not_in_the_future():
    limit = DEMO_TODAY.isoformat()
    for e in _of_type("Encounter"):
        assert e["period"]["end"][:10] <= limit
    for o in _of_type("Observation"):
        assert o["effectiveDateTime"][:10] <= limit
    for c in _of_type("Condition"):
        assert c["onsetDateTime"][:10] <= c["recordedDate"] <= limit


def test_all_resources_are_tagged_as_test_data():
    for e in ENTRIES:
        assert {"system": seed.ACT_REASON, "code": "HTEST", "display": "test health data"} in e["resource"][
            "meta"
        ]["tag"]
