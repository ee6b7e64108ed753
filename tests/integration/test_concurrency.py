"""Concurrent writers over real HTTP, with real threads, on both databases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import insert

from hub.errors import Conflict
from hub.fhir.dates import now_utc
from hub.models import resource_tables
from tests.conftest import scalar
from tests.factories import organization, patient

HEADERS = {"Content-Type": "application/fhir+json"}


@pytest.fixture(autouse=True)
def _as_admin(live_headers, monkeypatch):
    monkeypatch.setitem(HEADERS, "Authorization", live_headers["Authorization"])


N = 8


def _parallel(fn, n=N):
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(fn, range(n)))


def test_concurrent_if_match_updates_exactly_one_wins(live_server, db):
    with requests.Session() as s:
        pid = s.post(f"{live_server}/fhir/Patient", json=patient(), headers=HEADERS).json()["id"]

    def update(i):
        body = {**patient(given=f"伟{i}"), "id": pid}
        r = requests.put(
            f"{live_server}/fhir/Patient/{pid}",
            json=body,
            headers={**HEADERS, "If-Match": 'W/"1"'},
            timeout=30,
        )
        return r.status_code

    statuses = _parallel(update)
    assert sorted(statuses) == [200] + [412] * (N - 1)
    assert scalar(db, "SELECT max(version) FROM resource_history WHERE res_type <> 'AuditEvent'") == 2


def test_concurrent_updates_without_if_match_all_land_in_order(live_server, db):
    with requests.Session() as s:
        pid = s.post(f"{live_server}/fhir/Patient", json=patient(), headers=HEADERS).json()["id"]

    def update(i):
        r = requests.put(
            f"{live_server}/fhir/Patient/{pid}",
            json={**patient(given=f"伟{i}"), "id": pid},
            headers=HEADERS,
            timeout=30,
        )
        return r.status_code, int(r.json()["meta"]["versionId"])

    results = _parallel(update)
    assert {s for s, _ in results} == {200}
    assert sorted(v for _, v in results) == list(range(2, N + 2))
    history = requests.get(
        f"{live_server}/fhir/Patient/{pid}/_history?_count=100", headers=HEADERS, timeout=30
    ).json()
    assert history["total"] == N + 1


def test_concurrent_conditional_creates_make_one(live_server, db):
    criteria = "identifier=http://xietong.example/fhir/sid/org|RACE-1"

    def create(_):
        r = requests.post(
            f"{live_server}/fhir/Organization",
            json=organization(code="RACE-1"),
            headers={**HEADERS, "If-None-Exist": criteria},
            timeout=30,
        )
        return r.status_code, r.json()["id"]

    results = _parallel(create)
    assert sorted(s for s, _ in results) == [200] * (N - 1) + [201]
    assert len({i for _, i in results}) == 1
    assert scalar(db, "SELECT count(*) FROM res_organization") == 1


def test_concurrent_transactions_with_conditional_entries(live_server, db):
    def bundle(i):
        return {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "fullUrl": "urn:uuid:00000000-0000-4000-8000-0000000000aa",
                    "resource": organization(code="RACE-2"),
                    "request": {
                        "method": "POST",
                        "url": "Organization",
                        "ifNoneExist": "identifier=http://xietong.example/fhir/sid/org|RACE-2",
                    },
                },
                {
                    "resource": patient(
                        mrn=f"R{i}",
                        managingOrganization={"reference": "urn:uuid:00000000-0000-4000-8000-0000000000aa"},
                    ),
                    "request": {"method": "POST", "url": "Patient"},
                },
            ],
        }

    def post(i):
        return requests.post(f"{live_server}/fhir", json=bundle(i), headers=HEADERS, timeout=30).status_code

    assert _parallel(post) == [200] * N
    assert scalar(db, "SELECT count(*) FROM res_organization") == 1
    assert scalar(db, "SELECT count(*) FROM res_patient") == N
    indexed = "SELECT count(DISTINCT t.pid) FROM idx_token t JOIN {} r ON r.pid = t.pid"
    assert scalar(db, indexed.format("res_patient")) + scalar(db, indexed.format("res_organization")) == N + 1


def test_concurrent_put_creates_of_one_id(live_server, db):
    """Two clients create Organization/new-id at once: one creates, the others update or get 409."""

    def put(i):
        body = {**organization(code=f"PUT-{i}"), "id": "new-id"}
        r = requests.put(f"{live_server}/fhir/Organization/new-id", json=body, headers=HEADERS, timeout=30)
        assert r.headers["Content-Type"].startswith("application/fhir+json")
        return r.status_code

    statuses = _parallel(put)
    assert statuses.count(201) == 1
    assert set(statuses) <= {200, 201, 409}
    assert scalar(db, "SELECT count(*) FROM res_organization") == 1
    versions = scalar(db, "SELECT count(*) FROM resource_history WHERE res_type <> 'AuditEvent'")
    assert versions == statuses.count(200) + 1


def test_a_lost_race_is_409_and_nothing_is_written(db):
    """What the threads above provoke by chance, made certain: the second insert of one id."""
    table = resource_tables["Organization"]
    row = {"fhir_id": "dup", "version": 1, "deleted": False, "body": "{}", "last_updated": now_utc()}
    with db.write() as conn:
        conn.execute(insert(table).values(pid=1, **row))
    with pytest.raises(Conflict) as err, db.write() as conn:
        conn.execute(insert(table).values(pid=2, **{**row, "fhir_id": "other"}))
        conn.execute(insert(table).values(pid=3, **row))
    assert err.value.status == 409
    assert scalar(db, "SELECT count(*) FROM res_organization") == 1
