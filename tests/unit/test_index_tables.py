"""``extract.index_tables``: the index tables a type's records can have rows in, which the store's
one-statement insert is limited to. A row outside them would be lost, so every kind of row each
sample produces must be among them."""

from __future__ import annotations

import pytest

from hub.auth.principal import Principal
from hub.fhir.extract import extract, index_tables
from hub.fhir.registry import TYPES
from tests import factories
from tests.audit import sample_event
from tests.conftest import index_kinds

USER = Principal("user", "dr-li", "org-a", "specialist", name="李医生")
SAMPLES = {
    "Patient": lambda: factories.patient(),
    "Organization": lambda: factories.organization(),
    "Observation": lambda: factories.observation("pat-1"),
    "Condition": lambda: factories.condition("pat-1"),
    # A signed-in person's event: its agent's name is a string row; the rest is in the event's row.
    "AuditEvent": lambda: sample_event(3, USER),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_records_index_rows_are_in_its_types_tables(name):
    rt = TYPES[name]
    rows = extract(rt, SAMPLES[name]())
    assert index_kinds(rows), f"the {name} sample has no index rows at all: not a useful sample"
    assert index_kinds(rows) <= index_tables(rt)


def test_the_trail_has_no_token_date_or_reference_rows():
    rt = TYPES["AuditEvent"]
    assert index_tables(rt) == {"string"}  # codes and references in the row, the date a column
    rows = extract(rt, sample_event(0, USER))
    assert rows.codes and rows.ref_keys and rows.strings
    assert not rows.tokens and not rows.dates and not rows.refs


def test_every_type_has_some_index_table():
    assert all(index_tables(rt) for rt in TYPES.values())
