"""The AuditEvent builders: valid FHIR R4B, the BALP elements of AUD-01/02/03, no token, one patient."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from fhir.resources.R4B.auditevent import AuditEvent

from hub.audit import codes as c
from hub.audit import events
from hub.auth.principal import Principal, system
from hub.fhir.parse import check_resource
from tests.audit import CLIENT, META, REGULATOR, USER

ROOT = Path(__file__).resolve().parents[2]
JWT = "eyJhbGciOiJFUzM4NCIsImtpZCI6ImsxIn0.eyJzdWIiOiJjb3VudHktMS1oaXMiLCJqdGkiOiJqdGktMDAwMSJ9.c2lnbmF0dXJl"
JWT_RE = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]*")


def valid(event: dict) -> dict:
    """The event passes the hub's own write validation (R4B structure and required bindings)."""
    AuditEvent.model_validate(event)
    check_resource(event, "AuditEvent")
    return event


def agents_of(event: dict, coding: dict) -> list[dict]:
    return [
        a
        for a in event["agent"]
        if any(x["system"] == coding["system"] and x["code"] == coding["code"] for x in a["type"]["coding"])
    ]


def one_agent(event: dict, coding: dict) -> dict:
    found = agents_of(event, coding)
    assert len(found) == 1, f"expected one agent of type {coding['code']}, got {len(found)}"
    return found[0]


def entities(event: dict, role: dict | None = None, type_: dict | None = None) -> list[dict]:
    out = []
    for e in event.get("entity", []):
        if role is not None and (e.get("role") or {}).get("code") != role["code"]:
            continue
        if type_ is not None and (e.get("type") or {}).get("code") != type_["code"]:
            continue
        out.append(e)
    return out


def test_patient_read_by_a_machine_client_has_the_balp_elements():
    ev = valid(
        events.rest_event(CLIENT, "read", patient_id="p1", entities=["Observation/o1"], request_meta=META)
    )
    assert ev["type"] == c.TYPE_REST
    assert [s["code"] for s in ev["subtype"]] == ["read"]
    assert ev["subtype"][0]["system"] == c.RESTFUL_INTERACTION
    assert ev["action"] == "R" and ev["outcome"] == "0" and ev["recorded"].endswith("Z")
    # AUD-03: the client agent, client_id in who.identifier.value, the jti as policy, the requestor.
    app = one_agent(ev, c.APPLICATION)
    assert app["who"]["identifier"]["value"] == "county-1-his"
    assert app["requestor"] is True
    assert app["policy"] == ["urn:ietf:params:oauth:jti:jti-0001"]
    assert app["network"] == {"address": "10.1.2.3", "type": "2"}
    assert app["purposeOfUse"][0]["coding"][1]["code"] == "TREAT"
    # AUD-01: read = client 110152 Destination, server 110153 Source, both with who and network.
    client = one_agent(ev, c.DESTINATION_ROLE)
    server = one_agent(ev, c.SOURCE_ROLE)
    assert (
        client["who"]["identifier"]["value"] == "county-1-his" and client["network"]["address"] == "10.1.2.3"
    )
    assert server["who"] == ev["source"]["observer"] == events.HUB
    assert server["network"] == {"address": "https://hub.example.org", "type": "5"}
    # The institution the client acts for: a responsible-party agent naming the Organization.
    assert one_agent(ev, c.RESPONSIBLE_PARTY)["who"] == {"reference": "Organization/org-county-1"}
    assert events.tenant_of(ev) == "org-county-1"
    # Entities: the patient (type 1, role 1) and the data (type 2, role 4); the X-Request-Id.
    (patient,) = entities(ev, c.ROLE_PATIENT)
    assert patient["type"] == c.ENTITY_PERSON and patient["what"] == {"reference": "Patient/p1"}
    (data,) = entities(ev, c.ROLE_DOMAIN_RESOURCE)
    assert data["type"] == c.ENTITY_SYSTEM_OBJECT and data["what"] == {"reference": "Observation/o1"}
    (req,) = entities(ev, type_=c.ENTITY_REQUEST_ID)
    assert req["what"]["identifier"]["value"] == "req-42"
    assert ev["source"]["type"] == [c.SOURCE_APPLICATION_SERVER]
    # SEC-04's five fields: time, user, event type, outcome, and the rest.
    assert ev["recorded"] and any(a["requestor"] for a in ev["agent"]) and ev["type"] and ev["outcome"]


def test_search_by_a_person_records_the_query_base64_and_never_results():
    q = "Observation?patient=p1&code=http://loinc.org|2345-7&_count=50"
    ev = valid(events.rest_event(USER, "search-type", patient_id="p1", query=q, request_meta=META))
    assert ev["action"] == "E" and ev["subtype"][0]["code"] == "search-type"
    # Query: client 110153 Source, server 110152 Destination.
    client = one_agent(ev, c.SOURCE_ROLE)
    assert client["network"]["address"] == "10.1.2.3"
    assert one_agent(ev, c.DESTINATION_ROLE)["who"] == ev["source"]["observer"]
    user = one_agent(ev, c.INFORMATION_RECIPIENT)
    assert user["requestor"] is True and "network" not in user  # BALP: users are not network devices
    assert user["who"]["identifier"] == {"system": c.SID_USER, "value": "zhang.wei"}
    assert user["name"] == "张伟"
    assert user["role"][0]["coding"][0]["code"] == "specialist"
    assert [x["code"] for x in user["purposeOfUse"][0]["coding"]] == ["referral", "TREAT"]
    assert [x["code"] for x in ev["purposeOfEvent"][0]["coding"]] == ["referral", "TREAT"]
    assert not agents_of(ev, c.APPLICATION)  # a signed-in person has no OAuth client
    (query,) = entities(ev, c.ROLE_QUERY)
    assert query["type"] == c.ENTITY_SYSTEM_OBJECT and "what" not in query
    assert base64.b64decode(query["query"]).decode() == q
    # Minimal: the patient and the query, nothing that could be a result.
    assert {e["role"]["code"] for e in ev["entity"] if "role" in e} == {"1", "24"}
    assert events.tenant_of(ev) == "org-city-1" and events.patient_of(ev) == "p1"


@pytest.mark.parametrize(
    ("subtype", "action", "client_type", "server_type", "user_type"),
    [
        ("create", "C", c.SOURCE_ROLE, c.DESTINATION_ROLE, c.AUTHOR),
        ("update", "U", c.SOURCE_ROLE, c.DESTINATION_ROLE, c.AUTHOR),
        ("vread", "R", c.DESTINATION_ROLE, c.SOURCE_ROLE, c.INFORMATION_RECIPIENT),
        ("delete", "D", c.APPLICATION, c.CUSTODIAN_PARTICIPANT, c.AUTHOR),
    ],
)
def test_agent_types_follow_the_interaction(subtype, action, client_type, server_type, user_type):
    for principal in (CLIENT, USER):
        ev = valid(
            events.rest_event(principal, subtype, patient_id="p9", entities=["Task/t1"], request_meta=META)
        )
        assert ev["action"] == action
        server = one_agent(ev, server_type)
        assert server["who"] == ev["source"]["observer"] and server["network"]["type"] == "5"
        if principal.kind == "user":
            assert one_agent(ev, user_type)["requestor"] is True
            assert one_agent(ev, client_type)["network"]["address"] == "10.1.2.3"
        else:
            # The machine client is the Application agent; for a delete that is also BALP's client.
            assert len(agents_of(ev, c.APPLICATION)) == 1
            assert one_agent(ev, client_type)["who"]["identifier"]["value"] == "county-1-his"


def test_a_background_job_and_a_regulator_are_recorded_too():
    job = valid(events.rest_event(system("referral-timer"), "update", entities=["Task/t1"]))
    app = one_agent(job, c.APPLICATION)
    assert app["who"]["identifier"] == {"system": c.SID_JOB, "value": "referral-timer"}
    assert app["network"]["address"]  # the hub's own host
    assert events.tenant_of(job) is None and events.patient_of(job) is None
    reg = valid(
        events.rest_event(REGULATOR, "search-system", query="_lastUpdated=gt2026-01-01", request_meta=META)
    )
    assert not agents_of(reg, c.RESPONSIBLE_PARTY)  # the alliance office acts for no institution
    assert [x["code"] for x in reg["purposeOfEvent"][0]["coding"]] == ["regulator-audit", "HCOMPL"]


def test_a_denied_request_is_a_failure_with_its_operation_outcome():
    oo = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "forbidden"}]}
    ev = valid(
        events.rest_event(
            CLIENT,
            "read",
            outcome=c.outcome_for_status(403),
            patient_id="p1",
            entities=["Patient/p1"],
            request_meta=META,
            outcome_desc="no access link to this patient",
            operation_outcome=oo,
        )
    )
    assert ev["outcome"] == "4" and ev["outcomeDesc"] == "no access link to this patient"
    assert ev["contained"][0]["resourceType"] == "OperationOutcome"
    (ref,) = entities(ev, type_=c.ENTITY_OPERATION_OUTCOME)
    assert ref["what"]["reference"] == "#" + ev["contained"][0]["id"]
    assert c.outcome_for_status(200) == "0" and c.outcome_for_status(500) == "8"
    assert c.OUTCOME_NAMES == {
        "0": "Success",
        "4": "Minor failure",
        "8": "Serious failure",
        "12": "Major failure",
    }


def test_no_token_is_ever_recorded():
    # Whatever the principal carries besides the jti stays out; a whole token handed in as a jti is cut
    # to its last 32 characters (BALP, opaque tokens).
    leaky = Principal("client", "c1", "org-1", "institution", jti=JWT, extra={"token": JWT, "assertion": JWT})
    built = [
        events.rest_event(leaky, "read", patient_id="p1", entities=["Patient/p1"], request_meta=META),
        events.rest_event(leaky, "search-type", query="Patient?_id=p1", request_meta=META),
        events.token_event("c1", "0", META, jti=JWT, scope="system/*.rs", requested_scope="system/*.rs"),
        events.token_event("c1", "0", META, jti="j-77", scope="system/Patient.rs", expires_in=300),
        *events.disclosure_pair(
            "org-1", "org-2", "p1", ["DocumentReference/d1"], "referral", principal=leaky
        ),
    ]
    for ev in built:
        valid(ev)
        text = json.dumps(ev)
        assert not JWT_RE.search(text), "a bearer token reached an AuditEvent"
        assert JWT not in text
        assert "assertion" not in text
    assert one_agent(built[0], c.APPLICATION)["policy"] == [c.JTI_PREFIX + JWT[-32:]]


def test_token_issued_and_refused():
    issued = valid(
        events.token_event(
            "county-1-his",
            "0",
            META,
            jti="9f1c",
            scope="system/Patient.rs system/Observation.rs",
            requested_scope="system/*.rs",
            organization="org-county-1",
            client_name="县医院 HIS",
            expires_in=300,
        )
    )
    assert issued["type"] == c.TYPE_USER_AUTHENTICATION and issued["action"] == "E"
    assert issued["subtype"] == [c.SUBTYPE_GET_ACCESS_TOKEN]
    client = one_agent(issued, c.APPLICATION)
    assert client["who"]["identifier"]["value"] == "county-1-his" and client["requestor"] is True
    assert client["policy"] == ["urn:ietf:params:oauth:jti:9f1c"]
    assert one_agent(issued, c.AUTHZ_SERVER)["who"] == issued["source"]["observer"]
    (request,) = entities(issued, c.ROLE_QUERY)
    assert base64.b64decode(request["query"]).decode() == "grant_type=client_credentials&scope=system/*.rs"
    (response,) = entities(issued, c.ROLE_SECURITY_RESOURCE)
    assert response["what"]["identifier"]["value"] == "urn:ietf:params:oauth:jti:9f1c"
    assert {d["type"]: d["valueString"] for d in response["detail"]} == {
        "scope": "system/Patient.rs system/Observation.rs",
        "expires_in": "300",
    }
    assert events.tenant_of(issued) == "org-county-1"

    refused = valid(events.token_event("unknown-client", "4", META, outcome_desc="invalid_client"))
    assert refused["outcome"] == "4" and refused["outcomeDesc"] == "invalid_client"
    assert "policy" not in one_agent(refused, c.APPLICATION)
    assert not entities(refused, c.ROLE_SECURITY_RESOURCE)


def test_login_logout_and_failed_login():
    ok = valid(
        events.login_event(
            "zhang.wei", "0", META, organization="org-city-1", role="specialist", display_name="张伟"
        )
    )
    assert ok["type"] == c.TYPE_USER_AUTHENTICATION and ok["subtype"] == [c.SUBTYPE_LOGIN]
    user = one_agent(ok, c.HUMAN_USER)
    assert user["who"]["identifier"]["value"] == "zhang.wei" and user["requestor"] is True
    assert user["network"] == {"address": "10.1.2.3", "type": "2"}
    assert events.tenant_of(ok) == "org-city-1"
    failed = valid(events.login_event("no.such.user", "4", META, outcome_desc="unknown user"))
    assert failed["outcome"] == "4" and failed["outcomeDesc"] == "unknown user"
    assert events.tenant_of(failed) is None
    out = valid(events.login_event("zhang.wei", "0", META, organization="org-city-1", logout=True))
    assert out["subtype"] == [c.SUBTYPE_LOGOUT]
    long_name = valid(events.login_event("x" * 5000, "4", META))
    assert len(one_agent(long_name, c.HUMAN_USER)["who"]["identifier"]["value"]) == events.MAX_TEXT


def test_disclosure_pair_export_at_the_source_import_at_the_recipient():
    export, imported = events.disclosure_pair(
        "org-county-1",
        "org-city-1",
        "p1",
        ["DocumentReference/d1", "Observation/o1"],
        "referral",
        principal=USER,
        request_meta=META,
    )
    valid(export)
    valid(imported)
    assert export["type"] == c.TYPE_EXPORT and export["action"] == "R"
    assert imported["type"] == c.TYPE_IMPORT and imported["action"] == "C"
    for ev in (export, imported):
        assert c.SUBTYPE_DISCLOSE in ev["subtype"]
        assert [x["code"] for x in ev["purposeOfEvent"][0]["coding"]] == ["referral", "TREAT"]
        (patient,) = entities(ev, c.ROLE_PATIENT)
        assert patient["what"]["reference"] == "Patient/p1"
        assert len(entities(ev, c.ROLE_REPORT)) == 2
        for role in (c.SOURCE_ROLE, c.DESTINATION_ROLE):
            agent = one_agent(ev, role)
            assert agent["who"] and agent["network"]["address"]
        assert one_agent(ev, c.CUSTODIAN)["who"] == {"reference": "Organization/org-county-1"}
        assert one_agent(ev, c.INFORMATION_RECIPIENT)["who"]["identifier"]["value"] == "zhang.wei"
    # BALP val-audit-source: the export's source agent, the import's recipient agent, is the observer.
    assert one_agent(export, c.SOURCE_ROLE)["who"] == export["source"]["observer"]
    assert one_agent(export, c.DESTINATION_ROLE)["who"] == {"reference": "Organization/org-city-1"}
    assert one_agent(imported, c.DESTINATION_ROLE)["who"] == imported["source"]["observer"]
    assert one_agent(imported, c.SOURCE_ROLE)["who"] == {"reference": "Organization/org-county-1"}
    # AUD-02: each side's event is stored under that side, with the same disclosure-set identifier.
    assert events.tenant_of(export) == "org-county-1" and events.tenant_of(imported) == "org-city-1"
    (set_a,) = entities(export, c.ROLE_JOB)
    (set_b,) = entities(imported, c.ROLE_JOB)
    assert set_a["what"]["identifier"] == set_b["what"]["identifier"]
    assert set_a["what"]["identifier"]["value"].startswith("urn:uuid:")
    emergency, _ = events.disclosure_pair("a", "b", "p", [], "emergency")
    assert [x["code"] for x in emergency["purposeOfEvent"][0]["coding"]] == ["emergency", "ETREAT"]


def test_one_patient_per_event():
    ev = events.rest_event(
        CLIENT, "search-type", patient_id="p1", query="Observation?code=x", request_meta=META
    )
    assert len(entities(ev, c.ROLE_PATIENT)) == 1
    # A search whose results name three patients is three events, one per patient (AUD-01).
    per_patient = [
        events.rest_event(CLIENT, "search-type", patient_id=p, query="Observation?code=x", request_meta=META)
        for p in ("p1", "p2", "p3")
    ]
    assert [events.patient_of(e) for e in per_patient] == ["p1", "p2", "p3"]


def test_bad_codes_are_refused():
    with pytest.raises(ValueError, match="restful-interaction"):
        events.rest_event(CLIENT, "fetch")
    with pytest.raises(ValueError, match="outcome"):
        events.rest_event(CLIENT, "read", outcome="1")
    with pytest.raises(ValueError, match="action"):
        events.rest_event(CLIENT, "read", action="X")


def test_hub_purposes_match_the_published_code_system():
    cs = json.loads((ROOT / "fhir_profiles" / "CodeSystem-purpose-of-use.json").read_text())
    assert cs["url"] == c.HUB_PURPOSE_OF_USE
    published = {x["code"]: x["display"] for x in cs["concept"]}
    assert {k: v[0] for k, v in c.HUB_PURPOSES.items()} == published
    unknown = c.purpose_of_use("not-a-code")
    assert unknown["coding"] == [{"system": c.HUB_PURPOSE_OF_USE, "code": "not-a-code"}]
