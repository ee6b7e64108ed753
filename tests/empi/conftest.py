"""Fixtures of the EMPI tests."""

from __future__ import annotations

import pytest

from tests.factories import FHIR_JSON, organization


@pytest.fixture
def orgs(client):
    """Two institutions, ``a`` (a county hospital) and ``b`` (a city hospital): their ids."""
    out = {}
    for key, name in (("a", "县人民医院"), ("b", "市第一人民医院")):
        out[key] = client.post(
            "/fhir/Organization", json=organization(name=name, code=f"E-{key}"), headers=FHIR_JSON
        ).get_json()["id"]
    return out
