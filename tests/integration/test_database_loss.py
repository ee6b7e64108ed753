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
    # Each pool (reads, writes) finds its dead connections once, answering 503; it is then renewed.
    transient = []

    def call(method, url, **kw):
        for _ in range(3):
            r = client.open(url, method=method, headers=FHIR_JSON, **kw)
            if r.status_code != 503:
                return r
            body = r.get_json()
            assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["code"] == "transient"
            transient.append(url)
        raise AssertionError(f"{url} still 503 after 3 tries")

    assert call("POST", "/fhir/Patient", json=patient()).status_code == 201
    assert call("GET", "/fhir/Patient?_summary=count").get_json()["total"] == 2  # refusals left nothing
    assert 1 <= len(transient) <= 2, transient
