"""A small alliance for security tests: three institutions and a regulator, with their clients."""

from __future__ import annotations

import pytest

from tests.factories import FHIR_JSON, observation, organization, patient
from tests.principals import bearer


@pytest.fixture
def alliance(app, client):
    """Three institutions with a client each, and a regulator. County A holds patient P."""
    orgs = {}
    for key, name in (("a", "县人民医院"), ("b", "市第一人民医院"), ("c", "乡镇卫生院")):
        orgs[key] = client.post(
            "/fhir/Organization", json=organization(name=name, code=f"T-{key}"), headers=FHIR_JSON
        ).get_json()["id"]
    who = {k: bearer(app, orgs[k]) for k in orgs}
    who["regulator"] = bearer(app, None, "regulator", "system/*.rs")
    c = app.test_client()

    def call(as_, method, url, **kw):
        headers = {**FHIR_JSON, **who[as_], **kw.pop("headers", {})}
        return c.open(url, method=method, headers=headers, **kw)

    p = call(
        "a",
        "POST",
        "/fhir/Patient",
        json=patient(managingOrganization={"reference": f"Organization/{orgs['a']}"}),
    ).get_json()
    obs = call("a", "POST", "/fhir/Observation", json=observation(p["id"])).get_json()
    return {"orgs": orgs, "call": call, "patient": p["id"], "obs": obs["id"]}


def refer(x, status="requested"):
    """County A refers P up to B: ServiceRequest + Task, written by A."""
    orgs, call, pid = x["orgs"], x["call"], x["patient"]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:7a1e0d2c-0000-4000-8000-000000000001",
                "resource": {
                    "resourceType": "ServiceRequest",
                    "status": "active",
                    "intent": "order",
                    "subject": {"reference": f"Patient/{pid}"},
                    "authoredOn": "2026-11-01",
                    "requester": {"reference": f"Organization/{orgs['a']}"},
                    "performer": [{"reference": f"Organization/{orgs['b']}"}],
                },
                "request": {"method": "POST", "url": "ServiceRequest"},
            },
            {
                "resource": {
                    "resourceType": "Task",
                    "status": status,
                    "intent": "order",
                    "focus": {"reference": "urn:uuid:7a1e0d2c-0000-4000-8000-000000000001"},
                    "for": {"reference": f"Patient/{pid}"},
                    "authoredOn": "2026-11-01",
                    "requester": {"reference": f"Organization/{orgs['a']}"},
                    "owner": {"reference": f"Organization/{orgs['b']}"},
                },
                "request": {"method": "POST", "url": "Task"},
            },
        ],
    }
    r = call("a", "POST", "/fhir", json=bundle)
    assert r.status_code == 200, r.get_json()
    return [e["response"]["location"].split("/_history")[0] for e in r.get_json()["entry"]]
