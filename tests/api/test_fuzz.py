"""Property: whatever is done to a real record, the answer is a 2xx or a 4xx OperationOutcome, never a
5xx, and a refused write leaves nothing behind."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import scalar
from tests.factories import FHIR_JSON, observation, patient

JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(
        ["", "2020-02-30", "9999-12-31T23:59:59-14:00", "urn:uuid:x", "Patient/", "#", "|", "\\u0000"]
    ),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _mutate(resource, path, value, op):
    out = copy.deepcopy(resource)
    if not path:
        return value if op == "replace" else out
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    if op == "delete":
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return out


SEEDS = [patient(), observation("p1")]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_records_never_500(client, db, data):
    seed = data.draw(st.sampled_from(SEEDS))
    paths = list(_paths(seed))
    path = data.draw(st.sampled_from(paths))
    op = data.draw(st.sampled_from(["replace", "delete"] if path else ["replace"]))
    if op == "delete" and path and path[-1] == "resourceType":
        op = "replace"
    value = data.draw(JSON_VALUES)
    body = _mutate(seed, path, value, op)
    before = scalar(db, "SELECT count(*) FROM resource_history WHERE res_type <> 'AuditEvent'")
    r = client.post(f"/fhir/{seed['resourceType']}", json=body, headers=FHIR_JSON)
    assert r.status_code < 500, (path, op, value, r.get_json())
    after = scalar(db, "SELECT count(*) FROM resource_history WHERE res_type <> 'AuditEvent'")
    if r.status_code >= 400:
        assert r.get_json()["resourceType"] == "OperationOutcome"
        assert after == before
    else:
        assert after == before + 1


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(
        [
            "family",
            "birthdate",
            "identifier",
            "organization",
            "_id",
            "_lastUpdated",
            "_sort",
            "_count",
            "_include",
            "_revinclude",
            "gender:not",
            "name:exact",
            "phone",
        ]
    ),
    value=st.text(max_size=40),
)
def test_any_search_value_never_500(client, name, value):
    r = client.get("/fhir/Patient", query_string={name: value})
    assert r.status_code < 500, (name, value, r.get_json())
    if r.status_code >= 400:
        assert r.get_json()["resourceType"] == "OperationOutcome"
