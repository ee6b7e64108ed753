"""The official HL7 FHIR R4 (4.0.1) examples, none written by this project, against the REST API.

Every example of a type the hub stores is written with ``PUT /fhir/{type}/{id}`` (update as create,
keeping the example's id) and must read back unchanged apart from the server's ``meta.versionId``
and ``meta.lastUpdated``. The four examples known to be invalid are refused with a 4xx
OperationOutcome and leave nothing behind. Examples of types the hub does not store get a 404.
One test per backend loops over all examples and reports every failure at once.
"""

from __future__ import annotations

import functools
import json
import re

import pytest

from hub.audit import chain
from hub.fhir.parse import check_resource
from hub.fhir.registry import TYPES
from tests.conftest import SHARED_DATA, index_kinds, scalar
from tests.factories import FHIR_JSON

pytestmark = pytest.mark.interop

EXAMPLES = SHARED_DATA / "fhir-r4-examples"

# Known invalid (shared/data/README.md): a Questionnaire item without linkId, and base64Binary
# values that are not RFC 4648 base64 (they are wrapped with spaces inside the data).
INVALID = {
    "Questionnaire-qs1.json": "missing linkId",
    "Binary-example.json": "invalid base64 in Binary.data",
    "Media-example.json": "invalid base64 in Media.content.data",
    "DiagnosticReport-gingival-mass.json": "invalid base64 in DiagnosticReport.presentedForm.data",
}
# Transaction and batch Bundles among the examples, posted to /fhir as they are.
REQUEST_BUNDLES = (
    "Bundle-bundle-transaction.json",
    "Bundle-bundle-request-medsallergies.json",
    "Bundle-bundle-request-simplesummary.json",
    "Bundle-hla-1.json",
    "Bundle-ussg-fht.json",
    "Bundle-xds.json",
)


@functools.cache
def _examples() -> tuple[tuple[str, str], ...]:
    """(file name, raw JSON text) of every example resource (package.json is not one)."""
    return tuple(
        (p.name, p.read_text(encoding="utf-8"))
        for p in sorted(EXAMPLES.glob("*.json"))
        if p.name != "package.json"
    )


def _load(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def _stored_examples() -> list[tuple[str, dict]]:
    out = []
    for name, text in _examples():
        res = json.loads(text)
        if res["resourceType"] in TYPES and name not in INVALID:
            out.append((name, res))
    return out


def _without_server_meta(resource: dict) -> dict:
    """The resource minus ``meta.versionId`` and ``meta.lastUpdated`` (all other meta kept)."""
    out = dict(resource)
    meta = {k: v for k, v in (out.pop("meta", None) or {}).items() if k not in ("versionId", "lastUpdated")}
    if meta:
        out["meta"] = meta
    return out


def _diff(sent, got, path="") -> str | None:
    """The first path where two JSON values differ, for a readable failure."""
    if isinstance(sent, dict) and isinstance(got, dict):
        for k in sorted(set(sent) | set(got)):
            if k not in got:
                return f"{path}.{k} missing"
            if k not in sent:
                return f"{path}.{k} added: {json.dumps(got[k], ensure_ascii=False)[:80]}"
            d = _diff(sent[k], got[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(sent, list) and isinstance(got, list):
        if len(sent) != len(got):
            return f"{path}: {len(sent)} items sent, {len(got)} read back"
        for i, (a, b) in enumerate(zip(sent, got)):
            d = _diff(a, b, f"{path}[{i}]")
            if d:
                return d
        return None
    if sent != got or type(sent) is not type(got):
        return f"{path}: sent {sent!r:.60} read back {got!r:.60}"
    return None


def _outcome(r) -> str:
    """The diagnostics of an OperationOutcome answer (or what else came back, in short)."""
    body = r.get_json(silent=True) or {}
    if body.get("resourceType") != "OperationOutcome":
        return f"a {body.get('resourceType', 'non-FHIR body')}"
    return "; ".join(i.get("diagnostics", i.get("code", "")) for i in body.get("issue") or [])[:400]


def test_every_stored_type_example_round_trips(client, db):
    """Through the API; AuditEvents, which the API does not take (the trail is the hub's own), through
    the audit trail's intake instead, and then read back through the API like the rest."""
    examples = _stored_examples()
    assert len(examples) > 300  # 342 of the 382 examples are of stored types
    failures = []
    for name, res in examples:
        rtype, rid = res["resourceType"], res["id"]
        if rtype == "AuditEvent":
            refused = client.put(f"/fhir/{rtype}/{rid}", json=res, headers=FHIR_JSON)
            assert refused.status_code == 405, name
            check_resource(res, "AuditEvent")
            with db.write() as conn:
                rid = chain.append(db, conn, {k: v for k, v in res.items() if k != "id"})
            res = {**res, "id": rid}
            r = client.get(f"/fhir/{rtype}/{rid}")
        else:
            r = client.put(f"/fhir/{rtype}/{rid}", json=res, headers=FHIR_JSON)
        if r.status_code not in (200, 201) or rtype != "AuditEvent" and r.status_code != 201:
            failures.append(f"{name}: PUT {rtype}/{rid} -> {r.status_code}: {_outcome(r)}")
            continue
        written = r.get_json()
        if written["id"] != rid or written["meta"]["versionId"] != "1":
            failures.append(
                f"{name}: PUT answered id {written['id']} version {written['meta'].get('versionId')}"
            )
        got = client.get(f"/fhir/{rtype}/{rid}")
        if got.status_code != 200:
            failures.append(f"{name}: GET {rtype}/{rid} -> {got.status_code}: {_outcome(got)}")
            continue
        diff = _diff(_without_server_meta(res), _without_server_meta(got.get_json()))
        if diff:
            failures.append(f"{name}: read back differs at {diff}")
    assert not failures, f"{len(failures)} of {len(examples)} examples failed:\n" + "\n".join(failures)


def test_example_decimals_keep_their_precision(client):
    """FHIR decimals carry their precision (1.00 is not 1.0): the stored JSON text must keep it."""
    number = re.compile(r'"(value|latitude|longitude)"\s*:\s*(-?\d[\d.eE+-]*)')
    failures = []
    for name in ("Observation-decimal.json", "Coverage-7546D.json", "Location-hl7.json"):
        raw = (EXAMPLES / name).read_bytes()
        res = json.loads(raw)
        r = client.put(f"/fhir/{res['resourceType']}/{res['id']}", data=raw, headers=FHIR_JSON)
        assert r.status_code == 201, (name, _outcome(r))
        sent = number.findall(raw.decode().lower())  # 1E-22 and 1e-22 are the same decimal
        got = number.findall(
            client.get(f"/fhir/{res['resourceType']}/{res['id']}").get_data(as_text=True).lower()
        )
        if sent != got:
            failures.append(f"{name}: sent {[v for _, v in sent]} read back {[v for _, v in got]}")
    assert not failures, "decimal precision lost:\n" + "\n".join(failures)


def test_known_invalid_examples_are_refused_and_nothing_is_stored(client, db):
    failures = []
    for name, why in sorted(INVALID.items()):
        res = _load(name)
        rtype, rid = res["resourceType"], res["id"]
        for method, url in (("PUT", f"/fhir/{rtype}/{rid}"), ("POST", f"/fhir/{rtype}")):
            r = client.open(url, method=method, json=res, headers=FHIR_JSON)
            body = r.get_json(silent=True) or {}
            if not 400 <= r.status_code < 500 or body.get("resourceType") != "OperationOutcome":
                failures.append(f"{name} ({why}): {method} {url} -> {r.status_code} {_outcome(r)}")
        if client.get(f"/fhir/{rtype}/{rid}").status_code != 404:
            failures.append(f"{name} ({why}): {rtype}/{rid} was stored")
    stored = scalar(db, "SELECT count(*) FROM resource_history WHERE res_type <> 'AuditEvent'")
    assert not failures and stored == 0, "\n".join(failures) + f"\n{stored} versions stored"


def test_examples_of_unstored_types_are_404(client, db):
    unstored = [(n, json.loads(t)) for n, t in _examples() if json.loads(t)["resourceType"] not in TYPES]
    assert {r["resourceType"] for _, r in unstored} == {"Bundle", "OperationOutcome"}
    failures = []
    for name, res in unstored:
        rtype = res["resourceType"]
        r = client.put(f"/fhir/{rtype}/{res['id']}", json=res, headers=FHIR_JSON)
        body = r.get_json(silent=True) or {}
        if r.status_code != 404 or body.get("resourceType") != "OperationOutcome":
            failures.append(f"{name}: PUT -> {r.status_code} {_outcome(r)}")
        elif body["issue"][0]["code"] != "not-found" or rtype not in body["issue"][0]["diagnostics"]:
            failures.append(f"{name}: PUT -> 404 but the outcome says {body['issue']}")
    name, res = next((n, r) for n, r in unstored if r["resourceType"] == "OperationOutcome")
    r = client.post("/fhir/OperationOutcome", json=res, headers=FHIR_JSON)
    if r.status_code != 404 or r.get_json()["resourceType"] != "OperationOutcome":
        failures.append(f"{name}: POST -> {r.status_code} {_outcome(r)}")
    assert not failures, "\n".join(failures)
    assert scalar(db, "SELECT count(*) FROM resource_history WHERE res_type <> 'AuditEvent'") == 0


def test_transaction_and_batch_examples_never_fail_with_500(client, db):
    """The spec's request Bundles name resources, types and operations the hub does not have: any
    clean answer is fine (a 4xx OperationOutcome for a transaction, per-entry statuses for a
    batch), never a 500, and a refused transaction stores nothing."""
    patient = _load("Patient-example.json")  # what the batch examples read
    assert client.put("/fhir/Patient/example", json=patient, headers=FHIR_JSON).status_code == 201
    outcomes, failures = {}, []
    for name in REQUEST_BUNDLES:
        bundle = _load(name)
        assert bundle["type"] in ("transaction", "batch"), name
        before = scalar(db, "SELECT count(*) FROM resource_history WHERE res_type <> 'AuditEvent'")
        r = client.post("/fhir", json=bundle, headers=FHIR_JSON)
        body = r.get_json(silent=True) or {}
        after = scalar(db, "SELECT count(*) FROM resource_history WHERE res_type <> 'AuditEvent'")
        if r.status_code >= 500 or not body:
            failures.append(f"{name}: {r.status_code} {_outcome(r)}")
            continue
        if r.status_code != 200:
            outcomes[name] = f"{r.status_code}: {_outcome(r)}"
            if not 400 <= r.status_code < 500 or body.get("resourceType") != "OperationOutcome":
                failures.append(f"{name}: {r.status_code} without an OperationOutcome")
            if after != before:
                failures.append(f"{name}: refused, but {after - before} versions were stored")
            continue
        statuses = [e.get("response", {}).get("status", "") for e in body.get("entry", [])]
        outcomes[name] = f"200 {body.get('type')}: {statuses}"
        if body.get("type") != bundle["type"] + "-response" or len(statuses) != len(bundle["entry"]):
            failures.append(f"{name}: 200 but {body.get('type')} with {len(statuses)} entries")
        if any(not s[:1].isdigit() or s.startswith("5") for s in statuses):
            failures.append(f"{name}: entry statuses {statuses}")
    assert not failures, "\n".join(failures) + "\n" + json.dumps(outcomes, indent=1, ensure_ascii=False)
    # What the hub answers today (recorded, so that a change is noticed):
    assert outcomes["Bundle-bundle-transaction.json"].startswith("400")  # POST ValueSet/$lookup + Parameters
    assert outcomes["Bundle-hla-1.json"].startswith("404")  # MolecularSequence is not stored
    assert outcomes["Bundle-ussg-fht.json"].startswith("400")  # absolute request.url on another server
    assert "must be relative" in outcomes["Bundle-ussg-fht.json"]
    # ifNoneExist written as 'Patient?identifier=...' is understood as the query it means
    assert outcomes["Bundle-xds.json"].startswith("200 transaction-response: ['201 Created'")
    # The batch reads: Patient/example is there, MedicationStatement is not stored, _list is unknown.
    assert outcomes["Bundle-bundle-request-simplesummary.json"] == (
        "200 batch-response: ['200 OK', '200 OK', '404 Not Found', '200 OK']"
    )
    assert outcomes["Bundle-bundle-request-medsallergies.json"] == (
        "200 batch-response: "
        "['200 OK', '404 Not Found', '400 Bad Request', '400 Bad Request', '404 Not Found']"
    )


def test_every_examples_index_rows_are_in_its_types_index_tables():
    """The store's insert touches only ``index_tables(type)``: no example has a row elsewhere."""
    from hub.fhir.extract import extract, index_tables

    outside = []
    for name, res in _stored_examples():
        rt = TYPES[res["resourceType"]]
        kinds = index_kinds(extract(rt, res))
        if not kinds <= index_tables(rt):
            outside.append((name, sorted(kinds - index_tables(rt))))
    assert outside == []
