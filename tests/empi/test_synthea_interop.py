"""Synthea patients seen at two institutions become one hub Patient each, never two."""

from __future__ import annotations

import json

import pytest

from hub.empi import resolve
from tests.conftest import SHARED_DATA
from tests.empi.test_resolve import _mrn

pytestmark = pytest.mark.interop


def _synthea_patients() -> list[dict]:
    out = []
    for path in sorted((SHARED_DATA / "synthea").glob("*.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        out += [e["resource"] for e in bundle.get("entry", []) if e["resource"]["resourceType"] == "Patient"]
    return out


def _as_seen_elsewhere(p: dict, mrn: str) -> dict:
    """The same person registered at another hospital: its own MRN only, the name typed in capitals,
    the phone written another way, none of the first hospital's identifiers."""
    other = {k: v for k, v in p.items() if k not in ("id", "identifier", "text", "extension", "meta")}
    other["identifier"] = [_mrn("b", mrn)]
    other["name"] = [
        {"family": n.get("family", "").upper(), "given": [g.upper() for g in n.get("given", [])]}
        for n in p["name"][:1]
    ]
    other["telecom"] = [{**t, "value": t["value"].replace("-", " ")} for t in p.get("telecom", [])]
    return other


def test_repeated_synthea_patients_are_linked_not_duplicated(app, client, orgs):
    hub = app.extensions["xietong"]
    patients = _synthea_patients()
    assert len(patients) >= 30
    first = {}
    with hub.db.write() as conn:
        for p in patients:
            r = resolve(conn, hub, {k: v for k, v in p.items() if k != "id"}, orgs["a"])
            assert r.outcome == "new", (p["id"], r)  # no two Synthea people are taken for one
            first[p["id"]] = r.patient_id
    with hub.db.write() as conn:
        for i, p in enumerate(patients):
            r = resolve(conn, hub, _as_seen_elsewhere(p, f"B-{i}"), orgs["b"])
            assert (r.outcome, r.patient_id) == ("linked", first[p["id"]]), (p["name"], r.score)
    # The bundles sent again as they are: matched on their identifiers, nothing new stored.
    with hub.db.write() as conn:
        for p in patients:
            r = resolve(conn, hub, {k: v for k, v in p.items() if k != "id"}, orgs["a"])
            assert (r.outcome, r.patient_id, r.provenance_id) == ("matched", first[p["id"]], None)
    listed = client.get("/fhir/Patient?_count=200&_summary=count").get_json()
    assert listed["total"] == len(patients)
