"""A regulator searches the audit trail by its codes (type, subtype, action, outcome, purpose) and its
references (agent, entity, source), which AuditEvents keep in their own rows
(``ResourceType.codes_in_row``) rather than in ``idx_token`` and ``idx_ref``.

The oracle is the trail itself: for each search, the events whose stored bodies carry the code."""

from __future__ import annotations

from urllib.parse import quote

import orjson
import pytest

from hub.audit import codes as c
from tests.auth.conftest import refer
from tests.conftest import scalar
from tests.factories import observation


def _events(db) -> dict[str, dict]:
    with db.read() as conn:
        rows = conn.exec_driver_sql("SELECT body FROM res_auditevent").scalars().all()
    return {e["id"]: e for e in map(orjson.loads, rows)}


def _codings(event: dict, field: str) -> set[tuple[str | None, str]]:
    value = event.get(field)
    if value is None:
        return set()
    if isinstance(value, str):
        return {(None, value)}
    out = set()
    for v in value if isinstance(value, list) else [value]:
        for coding in [v] if "code" in v else v.get("coding", []):
            out.add((coding.get("system"), coding["code"]))
    return out


def _found(call, query: str) -> set[str]:
    r = call("regulator", "GET", f"/fhir/AuditEvent?{query}&_count=500")
    assert r.status_code == 200, r.get_data(as_text=True)
    bundle = r.get_json()
    assert "next" not in {link["relation"] for link in bundle.get("link", [])}
    return {e["resource"]["id"] for e in bundle.get("entry", [])}


@pytest.fixture
def trail(db, alliance):
    """Writes, a cross-institution read (the access and the disclosure pair), a search and a refusal."""
    x = alliance
    call, pid = x["call"], x["patient"]
    refer(x)
    call("a", "POST", "/fhir/Observation", json=observation(pid))
    assert call("b", "GET", f"/fhir/Observation/{x['obs']}").status_code == 200
    assert call("b", "GET", f"/fhir/Observation?patient={pid}").status_code == 200
    assert call("regulator", "POST", "/fhir/Observation", json=observation(pid)).status_code == 403
    return x


def test_the_trail_is_searched_by_each_of_its_codes(db, trail):
    call = trail["call"]
    events = _events(db)
    checked = 0
    for param, field in (
        ("type", "type"),
        ("subtype", "subtype"),
        ("action", "action"),
        ("outcome", "outcome"),
        ("purpose", "purposeOfEvent"),
    ):
        present = {coding for e in events.values() for coding in _codings(e, field)}
        assert present, f"the trail holds no {field}"
        for system, code in present:
            with_code = {i for i, e in events.items() if code in {k for _, k in _codings(e, field)}}
            with_both = {i for i, e in events.items() if (system, code) in _codings(e, field)}
            # Events written after `events` was read (the searches' own records) are left out.
            assert _found(call, f"{param}={quote(code)}") & set(events) == with_code, (param, code)
            if system:
                found = _found(call, f"{param}={quote(system, safe='')}|{quote(code)}")
                assert found & set(events) == with_both, (param, system, code)
            checked += 1
    assert checked >= 8


def test_codes_combine_with_not_with_other_codes_and_with_the_patient(db, trail):
    call, pid = trail["call"], trail["patient"]
    events = _events(db)
    reads = {
        i
        for i, e in events.items()
        if ("http://hl7.org/fhir/restful-interaction", "read") in _codings(e, "subtype")
    }
    assert reads
    assert _found(call, "subtype=read") & set(events) == reads
    # :not: every other event.
    assert _found(call, "subtype:not=read") & set(events) == set(events) - reads
    # Several values are alternatives; two parameters both hold.
    both = _found(call, "subtype=read,search-type") & set(events)
    searched = {i for i, e in events.items() if "search-type" in {k for _, k in _codings(e, "subtype")}}
    assert searched and both == reads | searched
    failed = {i for i, e in events.items() if e.get("outcome") == c.OUTCOME_MINOR}
    assert failed
    assert _found(call, f"outcome={c.OUTCOME_MINOR}&subtype=create") & set(events) == {
        i for i in failed if "create" in {k for _, k in _codings(events[i], "subtype")}
    }
    about_p = _found(call, f"patient={pid}&subtype=read") & set(events)
    assert about_p and about_p <= reads
    # A code of another system, or one nobody used, finds nothing.
    assert _found(call, "subtype=http://example.org/other|read") == set()
    assert _found(call, "outcome=no-such-outcome") == set()


def test_audit_events_have_no_token_or_reference_index_rows(db, trail):
    assert scalar(db, "SELECT count(*) FROM res_auditevent") > 5
    assert scalar(db, "SELECT count(*) FROM res_auditevent WHERE codes IS NULL") == 0
    assert scalar(db, "SELECT count(*) FROM res_auditevent WHERE refs IS NULL") == 0
    assert scalar(db, "SELECT count(*) FROM idx_token WHERE pid IN (SELECT pid FROM res_auditevent)") == 0
    assert scalar(db, "SELECT count(*) FROM idx_ref WHERE pid IN (SELECT pid FROM res_auditevent)") == 0
    # The other types' references are still index rows.
    assert scalar(db, "SELECT count(*) FROM idx_ref") > 0


_REFERENCES = {"agent": ("agent", "who"), "entity": ("entity", "what"), "source": ("source", "observer")}


def _references(event: dict, param: str) -> set[tuple[str, str]]:
    """(type, id) of an event's references under ``param``, a version's history part left off."""
    outer, inner = _REFERENCES[param]
    items = event.get(outer) or []
    out = set()
    for item in items if isinstance(items, list) else [items]:
        ref = (item.get(inner) or {}).get("reference", "")
        parts = ref.split("/")
        if len(parts) in (2, 4):
            out.add((parts[0], parts[1]))
    return out


def test_the_trail_is_searched_by_each_of_its_references(db, trail):
    call = trail["call"]
    events = _events(db)
    checked = 0
    for param in _REFERENCES:
        present = {r for e in events.values() for r in _references(e, param)}
        # The hub names itself as the source by an identifier, not a reference.
        assert present or param == "source", f"the trail holds no {param} reference"
        for rtype, rid in present:
            typed = {i for i, e in events.items() if (rtype, rid) in _references(e, param)}
            any_type = {i for i, e in events.items() if rid in {x for _, x in _references(e, param)}}
            assert _found(call, f"{param}={rtype}/{rid}") & set(events) == typed, (param, rtype, rid)
            assert _found(call, f"{param}:{rtype}={rid}") & set(events) == typed, (param, rtype, rid)
            assert _found(call, f"{param}={rid}") & set(events) == any_type, (param, rid)
            checked += 1
    assert checked >= 6
    # Absolute references to this server, several values, other conditions, and no match.
    (rtype, rid), other = sorted({r for e in events.values() for r in _references(e, "entity")})[:2]
    either = {i for i, e in events.items() if {(rtype, rid), other} & _references(e, "entity")}
    found = _found(call, f"entity=http://localhost/fhir/{rtype}/{rid},{other[0]}/{other[1]}")
    assert found & set(events) == either
    reads = _found(call, f"entity={rtype}/{rid}&subtype=read") & set(events)
    assert reads == {
        i
        for i in either
        if (rtype, rid) in _references(events[i], "entity")
        and "read" in {k for _, k in _codings(events[i], "subtype")}
    }
    assert _found(call, "entity=Observation/no-such-record") == set()


def test_include_and_revinclude_follow_the_trail_s_references(db, trail):
    call, obs = trail["call"], trail["obs"]
    events = _events(db)
    naming = {i for i, e in events.items() if ("Observation", obs) in _references(e, "entity")}
    assert naming
    # _include: the records an event names, found in its own body.
    r = call(
        "regulator", "GET", f"/fhir/AuditEvent?entity=Observation/{obs}&_include=AuditEvent:entity&_count=500"
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    entries = r.get_json()["entry"]
    included = {
        (e["resource"]["resourceType"], e["resource"]["id"])
        for e in entries
        if e["search"]["mode"] == "include"
    }
    assert ("Observation", obs) in included
    assert ("Patient", trail["patient"]) in included
    r = call(
        "regulator",
        "GET",
        f"/fhir/AuditEvent?entity=Observation/{obs}&_include=AuditEvent:entity:Patient&_count=500",
    )
    typed = {e["resource"]["resourceType"] for e in r.get_json()["entry"] if e["search"]["mode"] == "include"}
    assert typed == {"Patient"}
    # _revinclude: the events that name a record, found by the row's reference list.
    r = call("regulator", "GET", f"/fhir/Observation?_id={obs}&_revinclude=AuditEvent:entity&_count=500")
    assert r.status_code == 200, r.get_data(as_text=True)
    rev = {
        e["resource"]["id"] for e in r.get_json()["entry"] if e["resource"]["resourceType"] == "AuditEvent"
    }
    assert naming <= rev
    assert all(("Observation", obs) in _references(events[i], "entity") for i in rev & set(events))
