"""Redirect chains, duplicate and idempotent submission, routing and the priority channel,
and the desk worklists."""

from __future__ import annotations

from tests.conftest import scalar
from tests.referrals.conftest import contract, ids, referral


def _count(db, table):
    return scalar(db, f"SELECT count(*) FROM {table}")


def test_redirect_chain_keeps_one_request(three):
    x = three
    sr, first = x.refer("c", "t")
    x.read("t", first)  # received
    r = x.op(
        "t",
        first,
        "redirect",
        [{"name": "owner", "valueReference": {"reference": f"Organization/{x.orgs['x']}"}}],
    )
    assert r.status_code == 200, r.get_json()
    second = [p for p in r.get_json()["parameter"] if p["name"] == "newTask"][0]["resource"]
    assert second["status"] == "requested" and second["partOf"] == [{"reference": f"Task/{first}"}]
    assert second["focus"] == {"reference": f"ServiceRequest/{sr}"}
    old = x.read("c", first)
    assert old["status"] == "rejected" and old["statusReason"]["coding"][0]["code"] == "redirected"
    assert x.call("c", "GET", f"/fhir/ServiceRequest/{sr}").get_json()["status"] == "active"
    # The new owner redirects on to a third institution, which accepts.
    x.read("x", second["id"])
    r = x.op(
        "x",
        second["id"],
        "redirect",
        [{"name": "owner", "valueReference": {"reference": f"Organization/{x.orgs['p']}"}}],
    )
    assert r.status_code == 200, r.get_json()
    third = [p for p in r.get_json()["parameter"] if p["name"] == "newTask"][0]["resource"]
    assert x.op("p", third["id"], "accept").status_code == 200
    chain = x.call("c", "GET", f"/fhir/Task?focus=ServiceRequest/{sr}&_sort=authored-on").get_json()
    assert [e["resource"]["status"] for e in chain["entry"]] == ["rejected", "rejected", "accepted"]
    # Redirecting to oneself is refused; the original owner can no longer act.
    assert x.op("t", first, "accept").status_code in (404, 409)
    r = x.op(
        "p",
        third["id"],
        "redirect",
        [{"name": "owner", "valueReference": {"reference": f"Organization/{x.orgs['p']}"}}],
    )
    assert r.status_code == 422


def test_duplicate_submission_answers_the_open_referral(three, db):
    x = three
    sr, task = x.refer("c", "t", reason="I10")
    r = x.submit("c", "t", reason="I10")  # a double click without a key: the business key catches it
    assert r.status_code == 200
    assert ids(r.get_json()) == (sr, task)
    assert r.get_json()["entry"][1]["response"]["outcome"]["issue"][0]["code"] == "duplicate"
    assert _count(db, "referral_clock") == 1
    # Another reason, or another target, is another referral.
    assert x.refer("c", "t", reason="I20")[1] != task
    assert x.refer("c", "x", reason="I10")[1] != task
    # Once the first is closed, the same referral may be made again.
    assert x.op("c", task, "cancel").status_code == 200
    assert x.refer("c", "t", reason="I10")[1] != task


def test_idempotency_key_replays_the_first_answer(three, db):
    x = three
    body = referral(x, "c", "t", reason="J44")
    key = {"Idempotency-Key": "c-2026-11-22-0001"}
    first = x.call("c", "POST", "/fhir", json=body, headers=key)
    assert first.status_code == 200
    again = x.call("c", "POST", "/fhir", json=body, headers=key)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    other = referral(x, "c", "t", reason="K25")
    r = x.call("c", "POST", "/fhir", json=other, headers=key)
    assert r.status_code == 422 and "Idempotency-Key" in r.get_json()["issue"][0]["diagnostics"]
    assert _count(db, "referral_clock") == 1
    # Keys are per institution.
    assert (
        x.call("t", "POST", "/fhir", json=referral(x, "t", "c", reason="K25"), headers=key).status_code == 200
    )


def test_downward_referral_routes_to_the_family_doctor(three, db):
    x = three
    x.refer("c", "t")  # the patient came up from the county: the tertiary hospital now treats them
    before = {
        t: _count(db, t) for t in ("res_servicerequest", "res_task", "res_documentreference", "res_binary")
    }
    r = x.submit("t", None, direction="down")
    assert r.status_code == 422, r.get_json()
    assert "no route" in r.get_json()["issue"][0]["diagnostics"]
    assert {t: _count(db, t) for t in before} == before  # nothing half-created
    r = x.submit("t", None, direction="up")
    assert r.status_code == 422 and "names its target" in r.get_json()["issue"][0]["diagnostics"]
    contract(x, "p")
    sr, task = x.refer("t", None, direction="down")
    assert x.read("t", task)["owner"]["reference"] == f"Organization/{x.orgs['p']}"
    assert x.call("t", "GET", f"/fhir/ServiceRequest/{sr}").get_json()["performer"] == [
        {"reference": f"Organization/{x.orgs['p']}"}
    ]


def test_family_doctor_refers_on_the_priority_channel(three):
    x = three
    contract(x, "p")
    sr, _ = x.refer("p", "t")
    channel = [
        e
        for e in x.call("p", "GET", f"/fhir/ServiceRequest/{sr}").get_json()["extension"]
        if "channel" in e["url"]
    ]
    assert channel[0]["valueCode"] == "priority"
    sr, _ = x.refer("c", "t", reason="I20")  # the county hospital holds no contract with P
    channel = [
        e
        for e in x.call("c", "GET", f"/fhir/ServiceRequest/{sr}").get_json()["extension"]
        if "channel" in e["url"]
    ]
    assert channel[0]["valueCode"] == "standard"
    stats = x.call("regulator", "GET", "/stats/referrals").get_json()
    assert stats["priorityChannel"] == 1


def test_submission_is_checked_against_the_profiles(three, db):
    x = three
    body = referral(x, "c", "t")
    del body["entry"][0]["resource"]["reasonCode"]
    r = x.call("c", "POST", "/fhir", json=body)
    assert r.status_code == 422 and "reasonCode" in str(r.get_json())
    body = referral(x, "t", "c")  # c's client refers as t's doctor
    r = x.call("c", "POST", "/fhir", json=body)
    assert r.status_code == 403
    assert _count(db, "res_servicerequest") == 0
    # Without a Task in the Bundle, the hub makes it from the request.
    sr, task = ids(x.call("c", "POST", "/fhir", json=referral(x, "c", "t", with_task=False)).get_json())
    assert x.read("c", task)["focus"] == {"reference": f"ServiceRequest/{sr}"}


def test_desk_worklists_in_one_round_trip(three):
    x = three
    _, urgent = x.refer("c", "t", priority="urgent", reason="I21")
    _, routine = x.refer("c", "t", priority="routine", reason="I10")
    _, elsewhere = x.refer("c", "x", priority="urgent", reason="I21")
    t_org, c_org = x.orgs["t"], x.orgs["c"]
    url = (
        f"/fhir/Task?owner=Organization/{t_org}&status=requested,received&_sort=authored-on"
        "&_include=Task:patient&_include=Task:focus&_include=Task:requester"
    )
    bundle = x.call("t", "GET", url).get_json()
    matches = [e["resource"]["id"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
    assert matches == [urgent, routine]
    included = {e["resource"]["resourceType"] for e in bundle["entry"] if e["search"]["mode"] == "include"}
    assert included == {"Patient", "ServiceRequest", "Organization"}
    by_priority = x.call("t", "GET", f"/fhir/Task?owner=Organization/{t_org}&priority=urgent,stat").get_json()
    assert [e["resource"]["id"] for e in by_priority["entry"]] == [urgent]
    mine = x.call(
        "c", "GET", f"/fhir/Task?requester=Organization/{c_org}&status=requested&_sort=-authored-on"
    ).get_json()
    assert [e["resource"]["id"] for e in mine["entry"]] == [elsewhere, routine, urgent]


def test_worklist_operation_answers_like_the_search(three):
    x = three
    _, urgent = x.refer("c", "t", priority="urgent", reason="I21")
    _, routine = x.refer("c", "t", priority="routine", reason="I10")
    x.refer("c", "x", priority="urgent", reason="I21")
    t_org = x.orgs["t"]
    inc = "&_include=Task:patient&_include=Task:focus&_include=Task:requester"
    searched = x.call(
        "t", "GET", f"/fhir/Task?owner=Organization/{t_org}&status=requested&_sort=authored-on{inc}"
    )
    worked = x.call("t", "GET", "/fhir/Task/$worklist?status=requested")
    assert worked.status_code == 200, worked.get_json()

    def entries(r):
        return [
            (e["resource"]["resourceType"], e["resource"]["id"], e["search"]["mode"])
            for e in r.get_json()["entry"]
        ]

    assert [e for e in entries(worked) if e[2] == "match"] == [
        ("Task", urgent, "match"),
        ("Task", routine, "match"),
    ]
    assert sorted(entries(worked)) == sorted(entries(searched))
    only_urgent = x.call("t", "GET", "/fhir/Task/$worklist?status=requested&priority=urgent,stat").get_json()
    assert [e["resource"]["id"] for e in only_urgent["entry"] if e["search"]["mode"] == "match"] == [urgent]
    page = x.call("t", "GET", "/fhir/Task/$worklist?status=requested&_count=1").get_json()
    assert [link["relation"] for link in page["link"]] == ["self", "next"]
    mine = x.call("c", "GET", "/fhir/Task/$worklist?side=requester&_sort=-authored-on").get_json()
    assert len([e for e in mine["entry"] if e["search"]["mode"] == "match"]) == 3
    assert x.call("t", "GET", "/fhir/Task/$worklist?status=lost").status_code == 400
    assert x.call("t", "GET", f"/fhir/Task/$worklist?organization={x.orgs['c']}").status_code == 400
    # An unlinked institution's worklist is empty; the regulator names the institution.
    assert "entry" not in x.call("x", "GET", "/fhir/Task/$worklist?side=requester").get_json()
    reg = x.call("regulator", "GET", f"/fhir/Task/$worklist?organization={t_org}&status=requested").get_json()
    assert len([e for e in reg["entry"] if e["search"]["mode"] == "match"]) == 2
    # Overdue ones only.
    hub = x.app.extensions["xietong"]
    from datetime import timedelta

    from hub.fhir.dates import now_utc
    from hub.referrals.timers import tick

    tick(hub, now_utc() + timedelta(hours=5))  # urgent: 4 h to open
    late = x.call("t", "GET", "/fhir/Task/$worklist?overdue=true").get_json()
    assert [e["resource"]["id"] for e in late["entry"] if e["search"]["mode"] == "match"] == [urgent]


def test_downward_referral_follows_a_known_upward_one(three):
    x = three
    sr, _ = x.refer("c", "t")
    r = x.submit("t", "p", direction="down", based_on="no-such-request")
    assert r.status_code == 422 and "is not known" in r.get_json()["issue"][0]["diagnostics"]
    _, down = x.refer("t", "p", direction="down", based_on=sr)
    assert x.read("t", down)["status"] == "requested"


def test_worklist_pages_hold_only_what_the_caller_may_read(three):
    """``$worklist`` walks the referral clocks, but a page holds only Tasks the caller may read: a
    referral cancelled before the target was ever linked to the patient neither shows nor takes a
    place on the page nor announces a next page."""
    x = three
    sent = {x.refer("c", "x", reason=code)[1] for code in ("I10", "I21")}
    url = "/fhir/Task/$worklist?status=requested,cancelled&_count=1"

    def page(who, query):
        body = x.call(who, "GET", query).get_json()
        matches = {e["resource"]["id"] for e in body.get("entry", []) if e["search"]["mode"] == "match"}
        return matches, [link["relation"] for link in body["link"]]

    matches, links = page("x", url)  # the positive control: while open, x is linked and sees them
    assert len(matches) == 1 and matches < sent and links == ["self", "next"]
    for task in sent:
        r = x.op("c", task, "cancel")
        assert r.status_code == 200, r.get_json()
    assert [x.call("x", "GET", f"/fhir/Task/{task}").status_code for task in sent] == [404, 404]
    assert page("x", url) == (set(), ["self"])
    assert page("x", "/fhir/Task/$worklist?status=cancelled") == (set(), ["self"])
    assert page("c", "/fhir/Task/$worklist?side=requester&status=cancelled")[0] == sent
