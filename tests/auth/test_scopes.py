"""SMART v2 scope parsing (AUTH-01): a table of valid and invalid strings, and what they allow."""

from __future__ import annotations

import pytest

from hub.auth.scopes import Scope, ScopeError, allows, constraints, parse_scope, parse_scopes

LAB = "category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"


@pytest.mark.parametrize(
    ("text", "context", "rtype", "ops", "query", "normalised"),
    [
        ("system/Patient.rs", "system", "Patient", "rs", None, "system/Patient.rs"),
        ("system/*.cruds", "system", "*", "cruds", None, "system/*.cruds"),
        ("system/Observation.c", "system", "Observation", "c", None, "system/Observation.c"),
        ("system/Task.cud", "system", "Task", "cud", None, "system/Task.cud"),
        ("system/Task.crus", "system", "Task", "crus", None, "system/Task.crus"),
        ("user/ServiceRequest.crus", "user", "ServiceRequest", "crus", None, "user/ServiceRequest.crus"),
        (
            "patient/Observation.rs?" + LAB,
            "patient",
            "Observation",
            "rs",
            LAB,
            "patient/Observation.rs?" + LAB,
        ),
        # SMART v1 suffixes map to v2
        ("system/Patient.read", "system", "Patient", "rs", None, "system/Patient.rs"),
        ("system/Patient.write", "system", "Patient", "cud", None, "system/Patient.cud"),
        ("system/*.*", "system", "*", "cruds", None, "system/*.cruds"),
        ("user/*.read", "user", "*", "rs", None, "user/*.rs"),
    ],
)
def test_valid_scopes(text, context, rtype, ops, query, normalised):
    s = parse_scope(text)
    assert (s.context, s.type, s.ops, s.query) == (context, rtype, frozenset(ops), query)
    assert str(s) == normalised
    assert parse_scope(str(s)) == s


@pytest.mark.parametrize(
    "text",
    [
        "system/Patient.dus",  # out of order (AUTH-01)
        "system/Patient.sr",
        "system/Patient.rr",
        "system/Patient.x",
        "system/Patient.",
        "system/Patient",
        "system/Patient.readwrite",
        "system/patient.rs",  # not a resource type
        "system/.rs",
        "admin/Patient.rs",  # unknown context
        "Patient.rs",
        "launch",
        "openid",
        "offline_access",
        "system/Observation.rs?",
        "system/Observation.rs?category",
        "",
    ],
)
def test_invalid_scopes(text):
    with pytest.raises(ScopeError):
        parse_scope(text)


def test_parse_scopes_splits_and_dedupes():
    got = parse_scopes("  system/Patient.rs system/Patient.read\tsystem/Observation.cruds\n")
    assert [str(s) for s in got] == ["system/Patient.rs", "system/Observation.cruds"]
    assert parse_scopes("") == () and parse_scopes(None) == ()
    with pytest.raises(ScopeError):
        parse_scopes("system/Patient.rs system/Patient.dus")


def test_allows_write_does_not_imply_read():
    scopes = parse_scopes("system/Patient.cud system/Observation.rs")
    assert (
        allows(scopes, "Patient", "c") and allows(scopes, "Patient", "u") and allows(scopes, "Patient", "d")
    )
    assert not allows(scopes, "Patient", "r") and not allows(scopes, "Patient", "s")
    assert allows(scopes, "Observation", "r") and not allows(scopes, "Observation", "c")
    assert not allows(scopes, "Encounter", "r")
    assert allows(["system/*.rs"], "Encounter", "s")
    assert allows("system/*.rs", "AuditEvent", "r") and not allows("system/*.rs", "AuditEvent", "u")
    with pytest.raises(ValueError):
        allows(scopes, "Patient", "x")


def test_constraints_of_granular_scopes():
    lab = parse_scopes("patient/Observation.rs?" + LAB)
    assert allows(lab, "Observation", "r")
    assert constraints(lab, "Observation", "r") == [LAB]
    assert constraints(lab, "Observation", "c") == []
    both = parse_scopes("patient/Observation.rs?" + LAB + " patient/Observation.r")
    assert constraints(both, "Observation", "r") is None


def test_covers():
    wide, narrow = parse_scope("system/*.cruds"), parse_scope("system/Patient.rs")
    assert wide.covers(narrow) and not narrow.covers(wide)
    assert parse_scope("system/Patient.rs").covers(parse_scope("system/Patient.r"))
    assert not parse_scope("system/Patient.rs").covers(parse_scope("user/Patient.r"))
    assert parse_scope("system/Observation.rs").covers(parse_scope("system/Observation.rs?" + LAB))
    assert not parse_scope("system/Observation.rs?" + LAB).covers(parse_scope("system/Observation.rs"))
    assert Scope("system", "Patient", frozenset("sr")) == parse_scope("system/Patient.rs")
