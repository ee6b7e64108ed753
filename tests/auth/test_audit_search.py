"""A regulator searches the audit trail by its codes (type, subtype, action, outcome, purpose), which
AuditEvents keep in their own rows (``ResourceType.codes_in_row``) rather than in ``idx_token``.

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


def test_audit_events_have_no_token_index_rows(db, trail):
    assert scalar(db, "SELECT count(*) FROM res_auditevent") > 5
    assert scalar(db, "SELECT count(*) FROM res_auditevent WHERE codes IS NULL") == 0
    assert scalar(db, "SELECT count(*) FROM idx_token WHERE pid IN (SELECT pid FROM res_auditevent)") == 0
    # The other search indexes are unchanged: an event's entities are still references.
    assert scalar(db, "SELECT count(*) FROM idx_ref WHERE pid IN (SELECT pid FROM res_auditevent)") > 0
