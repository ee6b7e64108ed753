"""Concurrent transitions and submissions over real HTTP with real threads: exactly one wins."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from werkzeug.serving import make_server

from tests.conftest import scalar
from tests.referrals.conftest import ids, referral


@pytest.fixture
def served(three):
    """The alliance's hub on a real socket (threaded)."""
    server = make_server("127.0.0.1", 0, three.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def _post(url: str, headers: dict, body: dict) -> requests.Response:
    return requests.post(
        url, json=body, headers={"Content-Type": "application/fhir+json", **headers}, timeout=60
    )


def test_concurrent_transitions_of_one_task_exactly_one_wins(three, served, db):
    x = three
    tasks = [x.refer("c", "t", reason=f"I1{i}")[1] for i in range(4)]
    # Mutually exclusive moves: after any one of them, none of the others is legal.
    moves = [("t", "accept", []), ("t", "decline", [{"name": "reason", "valueCode": "capacity"}])] * 6

    def attempt(job):
        task, (who, action, params) = job
        r = _post(
            f"{served}/fhir/Task/{task}/${action}",
            x.headers[who],
            {"resourceType": "Parameters", "parameter": params},
        )
        return task, action, r.status_code

    jobs = [(task, move) for task in tasks for move in moves]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(attempt, jobs))
    for task in tasks:
        codes = sorted(code for t, _, code in results if t == task)
        assert codes.count(200) == 1, codes
        winner = next(a for t, a, code in results if t == task and code == 200)
        # The losers get 409 naming the new state; once a referral is declined the owner is no
        # longer linked to the patient, so its late attempts find nothing (404).
        losers = {409} if winner == "accept" else {409, 404}
        assert set(codes[1:]) <= losers, codes
        final = x.read("c", task)
        assert final["status"] == {"accept": "accepted", "decline": "rejected"}[winner]
        # One transition, one new version of the Task (submission was version 1).
        versions = scalar(
            db,
            "SELECT count(*) FROM resource_history h JOIN res_task t ON t.pid = h.pid WHERE t.fhir_id = :id",
            id=task,
        )
        assert versions == 2


def test_concurrent_duplicate_submissions_make_one_referral(three, served, db):
    x = three
    body = referral(x, "c", "t", reason="E11")

    def submit(i):
        headers = {**x.headers["c"], **({"Idempotency-Key": "dbl-click-1"} if i % 2 else {})}
        r = _post(f"{served}/fhir", headers, body)
        assert r.status_code == 200, r.text
        return ids(r.json())

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(submit, range(8)))
    assert len(set(answers)) == 1
    assert scalar(db, "SELECT count(*) FROM referral_clock") == 1
    assert scalar(db, "SELECT count(*) FROM res_servicerequest") == 1
