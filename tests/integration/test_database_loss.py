"""A database connection lost under the hub: 503 with an OperationOutcome, then service resumes."""

from __future__ import annotations

import psycopg
import pytest

from tests.factories import FHIR_JSON, patient


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_lost_connection_is_503_then_recovers(client, database_url):
    assert client.post("/fhir/Patient", json=patient(), headers=FHIR_JSON).status_code == 201
    dbname = database_url.rsplit("/", 1)[1]
    with psycopg.connect(
        database_url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True
    ) as c:
        killed = c.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        ).fetchone()[0]
    assert killed >= 1
    # Each pool (reads, writes) finds its dead connections once; the pool is then renewed.
    statuses = []
    for _ in range(4):
        r = client.post("/fhir/Patient", json=patient(), headers=FHIR_JSON)
        statuses.append(r.status_code)
        if r.status_code == 201:
            break
        body = r.get_json()
        assert r.status_code == 503
        assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["code"] == "transient"
    assert statuses[-1] == 201 and 1 <= len(statuses) - 1 <= 2, statuses
    total = client.get("/fhir/Patient?_summary=count").get_json()["total"]
    assert total == 2  # the refused requests left nothing
