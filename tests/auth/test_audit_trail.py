"""The audit trail as the API writes it: every change, every cross-institution read (one event per
patient, with the BALP export/import pair), every refusal and token issue; never a token."""

from __future__ import annotations

import base64
import re

import orjson

from hub.audit import chain
from tests.auth.conftest import refer
from tests.conftest import scalar
from tests.factories import observation


def _events(db):
    with db.read() as conn:
        rows = conn.exec_driver_sql("SELECT body FROM res_auditevent ORDER BY pid").scalars().all()
    return [orjson.loads(b) for b in rows]


def _codes(e, field):
    value = e.get(field)
    values = value if isinstance(value, list) else [value] if value else []
    return {c.get("code") for v in values for c in ([v] if "code" in v else v.get("coding", []))}


def test_writes_reads_and_refusals_are_recorded(db, alliance):
    x = alliance
    call, pid, oid, orgs = x["call"], x["patient"], x["obs"], x["orgs"]
    before = len(_events(db))
    # A's own read of its own record: nothing to disclose, no event.
    assert call("a", "GET", f"/fhir/Observation/{oid}").status_code == 200
    assert len(_events(db)) == before
    # A write is recorded in its own transaction.
    created = call("a", "POST", "/fhir/Observation", json=observation(pid)).get_json()
    new = _events(db)[before:]
    assert len(new) == 1 and _codes(new[0], "subtype") == {"create"}
    assert any(
        f"Observation/{created['id']}" in (en.get("what") or {}).get("reference", "")
        for en in new[0]["entity"]
    )
    # B reads A's record under a referral: the access, and the disclosure A -> B.
    refer(x)
    mark = len(_events(db))
    assert call("b", "GET", f"/fhir/Observation/{oid}").status_code == 200
    new = _events(db)[mark:]
    kinds = sorted(c for e in new for c in _codes(e, "type"))
    assert "110106" in kinds and "110107" in kinds  # DICOM Export and Import
    assert all(
        any(f"Patient/{pid}" in (en.get("what") or {}).get("reference", "") for en in e["entity"])
        for e in new
    )
    # A search by B: one event per patient, the query recorded, never the results.
    mark = len(_events(db))
    assert call("b", "GET", f"/fhir/Observation?patient={pid}").status_code == 200
    searched = [e for e in _events(db)[mark:] if _codes(e, "subtype") == {"search-type"}]
    assert len(searched) == 1
    query = next(en["query"] for en in searched[0]["entity"] if en.get("query"))
    assert base64.b64decode(query).decode().startswith("Observation?patient=")
    assert '"valueQuantity"' not in orjson.dumps(searched[0]).decode()
    # C is refused a write about P: recorded with a failure outcome.
    mark = len(_events(db))
    r = call("regulator", "POST", "/fhir/Observation", json=observation(pid))
    assert r.status_code == 403
    refused = _events(db)[mark:]
    assert len(refused) == 1 and refused[0]["outcome"] == "4"
    # The institution each event is stored under is searchable; regulators search the trail.
    found = call("regulator", "GET", f"/fhir/AuditEvent?patient={pid}&_count=200").get_json()
    assert len(found["entry"]) >= 4
    assert call("a", "GET", "/fhir/AuditEvent?_count=200").status_code == 200
    assert orgs["a"]


def test_no_token_ever_enters_the_trail(app, db, alliance):
    x = alliance
    refer(x)
    x["call"]("b", "GET", f"/fhir/Patient/{x['patient']}")
    bodies = [orjson.dumps(e).decode() for e in _events(db)]
    assert any(_codes(e, "type") == {"110114"} for e in _events(db))  # the token issues are recorded
    jwt = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")
    assert not [b for b in bodies if jwt.search(b)]


def test_the_trail_verifies_after_all_of_it(db, alliance):
    x = alliance
    refer(x)
    x["call"]("b", "GET", f"/fhir/Observation?patient={x['patient']}")
    # Before the chainer runs, the events are waiting (not a break) ...
    r = x["call"]("regulator", "GET", "/audit/verify")
    assert r.status_code == 200 and r.get_json()["ok"] is True
    waiting = r.get_json()["pending"]
    assert waiting == scalar(db, "SELECT count(*) FROM res_auditevent") > 5
    # ... and once it has, every one of them is in the chain.
    chain.link_all(db)
    r = x["call"]("regulator", "GET", "/audit/verify")
    assert r.status_code == 200 and r.get_json()["ok"] is True and r.get_json()["pending"] == 0
    assert r.get_json()["checked"] == scalar(db, "SELECT count(*) FROM audit_chain") >= waiting
    assert x["call"]("a", "GET", "/audit/verify").status_code == 403


def test_reads_inside_bundles_are_recorded(db, alliance):
    x = alliance
    refer(x)
    for btype in ("batch", "transaction"):
        mark = len(_events(db))
        bundle = {
            "resourceType": "Bundle",
            "type": btype,
            "entry": [
                {"request": {"method": "GET", "url": f"Observation/{x['obs']}"}},
                {"request": {"method": "GET", "url": f"Observation?patient={x['patient']}"}},
            ],
        }
        r = x["call"]("b", "POST", "/fhir", json=bundle)
        assert r.status_code == 200, r.get_json()
        subtypes = [c for e in _events(db)[mark:] for c in _codes(e, "subtype")]
        assert "read" in subtypes and "search-type" in subtypes, (btype, subtypes)


def _kinds(new):
    return sorted(c for e in new for c in _codes(e, "type"))


def test_a_version_crosses_once_then_its_reads_are_accesses(db, alliance):
    """AUD-02: a record version disclosed to an institution for a purpose is one export/import pair;
    every read is still its own access event; a new version is a new disclosure."""
    x = alliance
    call, oid, pid = x["call"], x["obs"], x["patient"]
    refer(x)

    def read_by_b(url):
        mark = len(_events(db))
        assert call("b", "GET", url).status_code == 200
        return _events(db)[mark:]

    first = read_by_b(f"/fhir/Observation/{oid}")
    assert _kinds(first).count("110106") == 1 and _kinds(first).count("110107") == 1
    export = next(e for e in first if "110106" in _codes(e, "type"))
    assert any(
        f"Observation/{oid}/_history/1" == (en.get("what") or {}).get("reference") for en in export["entity"]
    )
    again = read_by_b(f"/fhir/Observation/{oid}")
    assert [_codes(e, "subtype") for e in again] == [{"read"}]  # the access, recorded again
    searched = read_by_b(f"/fhir/Observation?patient={pid}")
    assert [_codes(e, "subtype") for e in searched] == [{"search-type"}]  # nothing new crossed
    # A writes a new version: reading it is a new disclosure, of that version only.
    body = call("a", "GET", f"/fhir/Observation/{oid}").get_json()
    body["status"] = "amended"
    assert call("a", "PUT", f"/fhir/Observation/{oid}", json=body).status_code == 200
    newer = read_by_b(f"/fhir/Observation/{oid}")
    exports = [e for e in newer if "110106" in _codes(e, "type")]
    assert len(exports) == 1 and _kinds(newer).count("110107") == 1
    disclosed = {(en.get("what") or {}).get("reference") for en in exports[0]["entity"]}
    assert f"Observation/{oid}/_history/2" in disclosed and f"Observation/{oid}/_history/1" not in disclosed
