"""``Database.read(transaction=False)``: statements on their own, and the pool keeps its transactions."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.factories import FHIR_JSON, patient

NOW_TWICE = ("SELECT now()", "SELECT pg_sleep(0.01)", "SELECT now()")


def _nows(conn) -> list:
    return [conn.execute(text(sql)).scalar() for sql in NOW_TWICE][::2]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_reads_without_a_transaction_run_each_statement_on_its_own(db):
    with db.read() as conn:
        first, second = _nows(conn)
    assert first == second  # one transaction: now() is its start
    with db.read(transaction=False) as conn:
        first, second = _nows(conn)
        assert conn.execute(text("SELECT count(*) FROM res_patient")).scalar() == 0
    assert first < second  # no BEGIN: every statement is a transaction of its own
    for _ in range(3):  # the pooled connection is handed out in transactions again
        with db.read() as conn:
            first, second = _nows(conn)
        assert first == second


def test_reads_without_a_transaction_see_what_was_committed(db, client):
    assert client.post("/fhir/Patient", json=patient(), headers=FHIR_JSON).status_code == 201
    with db.read(transaction=False) as conn:
        assert conn.execute(text("SELECT count(*) FROM res_patient")).scalar() == 1
