"""Every illegal transition over HTTP: 409 naming the current state, 403 for the wrong side or role,
404 for an institution the referral does not concern; plain PUT goes through the same rules."""

from __future__ import annotations

import re

import pytest

from hub.referrals import machine
from tests.referrals.conftest import DECLINE, package
from tests.referrals.test_machine import LEGAL

SIDES = {"c": machine.REQUESTER, "t": machine.OWNER}


def _to(x, state: str) -> str:
    """A referral c -> t driven into ``state`` (``received+info``: awaiting information)."""
    _, task = x.refer("c", "t")
    steps = {
        "requested": [],
        "received": [("t", "open")],
        "received+info": [("t", "open"), ("t", "request-info")],
        "accepted": [("t", "accept")],
        "accepted+info": [("t", "accept"), ("t", "request-info")],
        "in-progress": [("t", "accept"), ("t", "start")],
        "completed": [("t", "accept"), ("t", "start"), ("t", "complete")],
        "rejected": [("t", "decline")],
        "cancelled": [("c", "cancel")],
    }[state]
    params = {
        "request-info": [{"name": "question", "valueString": "补充资料"}],
        "decline": [{"name": "reason", "valueCode": "outside-scope"}],
        "complete": package(x),
    }
    for who, step in steps:
        if step == "open":
            x.read(who, task)
        else:
            r = x.op(who, task, step, params.get(step))
            assert r.status_code == 200, r.get_json()
    return task


@pytest.mark.parametrize(
    "state",
    [
        "requested",
        "received",
        "received+info",
        "accepted",
        "accepted+info",
        "in-progress",
        "completed",
        "rejected",
    ]
    + ["cancelled"],
)
def test_every_illegal_transition_is_refused(three, state):
    x = three
    task = _to(x, state)
    status, _, info = state.partition("+")
    before = x.read("c", task)["meta"]["versionId"]
    # A declined or cancelled referral no longer links the owner to the patient: it sees nothing.
    sees = {"c": True, "t": status not in ("rejected", "cancelled")}
    for action in machine.OPERATIONS:
        for who, side in SIDES.items():
            if (status, bool(info), action, side) in LEGAL:
                continue
            r = x.op(who, task, action)
            if not sees[who]:
                assert r.status_code == 404, (state, action, who)
                continue
            legal_for_other = any(k[:3] == (status, bool(info), action) for k in LEGAL)
            assert r.status_code == (403 if legal_for_other else 409), (state, action, who, r.get_json())
            assert f"'{status}'" in r.get_json()["issue"][0]["diagnostics"]
        r = x.op("x", task, action)  # an institution the referral does not concern
        assert r.status_code == 404, (state, action)
        assert x.op("regulator", task, action).status_code == 403
    assert x.read("c", task)["meta"]["versionId"] == before  # nothing was written
    if status != "requested":  # (the owner's first read would acknowledge it)
        assert (x.call("t", "GET", f"/fhir/Task/{task}").status_code == 200) == sees["t"]


def test_plain_put_goes_through_the_rules(three):
    x = three
    _, task = x.refer("c", "t")
    t = x.read("c", task)
    # The requester may not accept its own referral by PUT; nor skip to completed.
    r = x.call("c", "PUT", f"/fhir/Task/{task}", json={**t, "status": "accepted"})
    assert r.status_code == 403, r.get_json()
    r = x.call("t", "PUT", f"/fhir/Task/{task}", json={**t, "status": "completed"})
    assert r.status_code == 409 and "'requested'" in r.get_json()["issue"][0]["diagnostics"]
    r = x.call("c", "PUT", f"/fhir/Task/{task}", json={**t, "status": "on-hold"})
    assert r.status_code == 409
    # Changing the owner by PUT is a redirect in disguise.
    t = x.read("c", task)
    r = x.call(
        "c", "PUT", f"/fhir/Task/{task}", json={**t, "owner": {"reference": f"Organization/{x.orgs['x']}"}}
    )
    assert r.status_code == 409 and "Task.owner" in r.get_json()["issue"][0]["diagnostics"]
    # The owner declines by PUT with a coded statusReason: the same transition as $decline.
    t = x.read("t", task)
    reason = {"coding": [{"system": DECLINE, "code": "capacity"}]}
    r = x.call("t", "PUT", f"/fhir/Task/{task}", json={**t, "status": "rejected", "statusReason": reason})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "rejected"
    assert r.headers["ETag"] == f'W/"{r.get_json()["meta"]["versionId"]}"'
    sr = r.get_json()["focus"]["reference"]
    assert x.call("c", "GET", f"/fhir/{sr}").get_json()["status"] == "revoked"
    # PATCH stays refused.
    r = x.call(
        "t", "PATCH", f"/fhir/Task/{task}", json=[{"op": "replace", "path": "/status", "value": "accepted"}]
    )
    assert r.status_code == 405


def test_referral_tasks_are_not_made_or_moved_behind_the_workflow(three):
    x = three
    _, task = x.refer("c", "t")
    t = x.read("c", task)
    fake = {k: v for k, v in t.items() if k not in ("id", "meta")}
    fake["meta"] = t["meta"]
    r = x.call("c", "POST", "/fhir/Task", json={**fake, "status": "accepted"})
    assert r.status_code == 422 and "submitting" in r.get_json()["issue"][0]["diagnostics"]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": {**t, "status": "completed"}, "request": {"method": "PUT", "url": f"Task/{task}"}}
        ],
    }
    r = x.call("c", "POST", "/fhir", json=bundle)
    assert r.status_code == 409, r.get_json()
    assert x.read("c", task)["status"] == "requested"


def test_wrong_role_is_refused(three, app):
    """A family doctor of the owner institution may not triage (accept) a referral."""
    from hub.auth import users

    x = three
    _, task = x.refer("c", "t")
    with app.extensions["xietong"].db.write() as conn:
        users.add_user(conn, "fd-t", "王医生", "Family-Doctor-2026", "family-doctor", x.orgs["t"])
    c = app.test_client()
    page = c.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = c.post("/login", data={"username": "fd-t", "password": "Family-Doctor-2026", "csrf_token": token})
    assert r.status_code in (302, 303), r.data[:300]
    csrf = c.get("/me").get_json()["csrf_token"]
    r = c.post(
        f"/fhir/Task/{task}/$accept",
        json={"resourceType": "Parameters"},
        headers={"Content-Type": "application/fhir+json", "X-CSRF-Token": csrf},
    )
    assert r.status_code == 403, r.get_json()
    assert "family-doctor" in r.get_json()["issue"][0]["diagnostics"]
