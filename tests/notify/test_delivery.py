"""Delivery to a real HTTP receiver: handshake, id-only and full-resource payloads, organization
filters and tenancy, a receiver that fails and recovers, $status and $events."""

from __future__ import annotations

import json

from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select

from hub.models import resource_tables
from hub.notify.tables import notify_event, notify_subscription
from tests.notify.conftest import subscription, wait_until


def _subscribe(x, who: str, sub: dict) -> str:
    r = x["call"](who, "POST", "/fhir/Subscription", json=sub)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_id_only_and_full_resource_notifications(app, alliance, tasks, receiver, worker):
    x = alliance
    id_only = _subscribe(x, "b", subscription(receiver.url, "id-only"))
    full = _subscribe(x, "b", subscription(receiver.url, "full-resource"))
    wait_until(lambda: receiver.of(id_only, "handshake") and receiver.of(full, "handshake"), "handshakes")
    # The handshake made the Subscriptions active.
    wait_until(
        lambda: x["call"]("b", "GET", f"/fhir/Subscription/{full}").get_json()["status"] == "active",
        "Subscription active after its handshake",
    )
    tid = tasks.create("requested")
    tasks.set(tid, "received")
    tasks.set(tid, "received")  # no change of status: no event
    v = tasks.set(tid, "accepted")
    wait_until(
        lambda: len(receiver.events(full)) == 3 and len(receiver.events(id_only)) == 3, "3 events each"
    )

    assert [e[0] for e in receiver.events(id_only)] == [1, 2, 3]
    assert [(e[1], e[2]) for e in receiver.events(full)] == [(tid, 1), (tid, 2), (tid, v)]
    for sub_id, content in ((id_only, "id-only"), (full, "full-resource")):
        for b in receiver.of(sub_id):
            Bundle.model_validate(b)  # a valid R4B Bundle
            assert b["type"] == "history"
            status = b["entry"][0]["resource"]
            assert status["resourceType"] == "SubscriptionStatus"
            assert status["topic"].endswith("/SubscriptionTopic/referral-task-status")
            focus = b["entry"][1]
            assert focus["fullUrl"].endswith(f"/Task/{tid}")
            assert ("resource" in focus) is (content == "full-resource")
    last = receiver.of(full)[-1]["entry"][-1]["resource"]
    assert last["status"] == "accepted" and last["meta"]["versionId"] == str(v)
    assert all(h["Content-Type"].startswith("application/fhir+json") for h in receiver.headers)


def test_filters_by_organization_and_tenancy(app, alliance, tasks, receiver, worker):
    x = alliance
    orgs = x["orgs"]
    b_accepted = _subscribe(
        x, "b", subscription(receiver.url, filters=(f"Task?owner=Organization/{orgs['b']}&status=accepted",))
    )
    a_all = _subscribe(x, "a", subscription(receiver.url, filters=(f"Task?requester={orgs['a']}",)))
    # C is neither requester nor owner: a filter naming B gives it nothing of B's.
    c_snoop = _subscribe(
        x, "c", subscription(receiver.url, filters=(f"Task?owner=Organization/{orgs['b']}",))
    )
    c_all = _subscribe(x, "c", subscription(receiver.url))
    t1 = tasks.create("requested")
    tasks.set(t1, "accepted")
    t2 = tasks.create("requested", owner="c")  # this one C owns
    wait_until(lambda: len(receiver.events(a_all)) == 3, "A hears of all three changes")
    wait_until(lambda: len(receiver.events(c_all)) == 1, "C hears of its own Task")
    wait_until(lambda: len(receiver.events(b_accepted)) == 1, "B hears of the acceptance")
    assert [e[1] for e in receiver.events(b_accepted)] == [t1]
    assert [e[1] for e in receiver.events(c_all)] == [t2]
    db = app.extensions["xietong"].db
    with db.read() as conn:
        t = notify_subscription
        owed = dict(conn.execute(select(t.c.subscription_id, t.c.events_since_start)).all())
        assert owed == {b_accepted: 1, a_all: 3, c_snoop: 0, c_all: 1}


def test_bad_subscriptions_are_refused(alliance, receiver):
    call = alliance["call"]
    cases = [
        (
            subscription(receiver.url, criteria="http://elsewhere.example/SubscriptionTopic/x"),
            "Subscription.criteria",
        ),
        (subscription(receiver.url, filters=("Task?patient=Patient/1",)), "Subscription.criteria.extension"),
        (subscription(receiver.url, filters=("Patient?owner=x",)), "Subscription.criteria.extension"),
        (
            subscription(receiver.url, filters=("Task?owner=Practitioner/1",)),
            "Subscription.criteria.extension",
        ),
        (subscription(receiver.url, content="everything"), "Subscription.channel.payload.extension"),
        (subscription("ftp://127.0.0.1/x"), "Subscription.channel.endpoint"),
    ]
    for sub, where in cases:
        r = call("b", "POST", "/fhir/Subscription", json=sub)
        assert r.status_code == 422, (sub, r.get_json())
        assert where in r.get_json()["issue"][0]["expression"]
    email = subscription(receiver.url)
    email["channel"]["type"] = "email"
    r = call("b", "POST", "/fhir/Subscription", json=email)
    assert r.status_code == 422 and r.get_json()["issue"][0]["expression"] == ["Subscription.channel.type"]


def test_receiver_down_then_back_loses_nothing_and_keeps_order(app, alliance, tasks, receiver, worker):
    x = alliance
    sub = _subscribe(x, "b", subscription(receiver.url))
    wait_until(lambda: receiver.of(sub, "handshake"), "handshake")
    receiver.fail(5)  # five 503s first
    ids = [tasks.create("requested") for _ in range(4)]
    wait_until(lambda: receiver.requests >= 4, "retries against the failing endpoint")
    receiver.down()  # then connection refused
    for tid in ids:
        tasks.set(tid, "received")
    for tid in ids[:2]:
        tasks.set(tid, "accepted")
        tasks.set(tid, "in-progress")
    db = app.extensions["xietong"].db
    wait_until(lambda: _failures(db, sub) >= 2, "failed attempts while the endpoint is down")
    receiver.up()
    wait_until(lambda: receiver.events(sub) and max(e[0] for e in receiver.events(sub)) == 12, "all 12")
    got = receiver.events(sub)
    # At least once: nothing missing; a resend may repeat, never reorder.
    numbers = [e[0] for e in got]
    assert sorted(set(numbers)) == list(range(1, 13))
    assert numbers == sorted(numbers)
    for tid in ids:
        versions = [e[2] for e in got if e[1] == tid]
        assert versions == sorted(versions)
        assert len(set(versions)) == (4 if tid in ids[:2] else 2)


def _failures(db, sub_id: str) -> int:
    t = notify_subscription
    with db.read() as conn:
        return conn.execute(select(t.c.failures).where(t.c.subscription_id == sub_id)).scalar()


def test_status_and_events_catch_up_after_downtime(app, alliance, tasks, receiver, worker):
    x = alliance
    receiver.down()
    sub = _subscribe(x, "b", subscription(receiver.url, "full-resource"))
    t1 = tasks.create("requested")
    tasks.set(t1, "received")
    tasks.set(t1, "accepted")
    t2 = tasks.create("requested")
    db = app.extensions["xietong"].db
    wait_until(lambda: _failures(db, sub) >= 1, "a failed handshake")

    r = x["call"]("b", "GET", f"/fhir/Subscription/{sub}/$status")
    assert r.status_code == 200, r.get_json()
    Bundle.model_validate(r.get_json())
    status = r.get_json()["entry"][0]["resource"]
    assert status["type"] == "query-status"
    assert status["eventsSinceSubscriptionStart"] == "4"
    assert status["status"] == "error" and status["error"]

    r = x["call"]("b", "GET", f"/fhir/Subscription/{sub}/$events")
    assert r.status_code == 200, r.get_json()
    bundle = r.get_json()
    Bundle.model_validate(bundle)
    assert bundle["type"] == "history"
    events = bundle["entry"][0]["resource"]["notificationEvent"]
    assert bundle["entry"][0]["resource"]["type"] == "query-event"
    assert [e["eventNumber"] for e in events] == ["1", "2", "3", "4"]
    assert [e["fullUrl"].rsplit("/", 1)[1] for e in bundle["entry"][1:]] == [t1, t1, t1, t2]
    assert [e["resource"]["status"] for e in bundle["entry"][1:]] == [
        "requested",
        "received",
        "accepted",
        "requested",
    ]

    r = x["call"](
        "b",
        "POST",
        f"/fhir/Subscription/{sub}/$events",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "eventsSinceNumber", "valueString": "2"},
                {"name": "eventsUntilNumber", "valueString": "3"},
                {"name": "content", "valueCode": "id-only"},
            ],
        },
    )
    entries = r.get_json()["entry"]
    assert [e["eventNumber"] for e in entries[0]["resource"]["notificationEvent"]] == ["2", "3"]
    assert all("resource" not in e for e in entries[1:])

    # Another institution's Subscription does not exist for C; the regulator reads all.
    assert x["call"]("c", "GET", f"/fhir/Subscription/{sub}/$status").status_code == 404
    assert x["call"]("c", "GET", f"/fhir/Subscription/{sub}/$events").status_code == 404
    assert x["call"]("regulator", "GET", f"/fhir/Subscription/{sub}/$status").status_code == 200
    bad = x["call"]("b", "GET", f"/fhir/Subscription/{sub}/$events?eventsSinceNumber=x")
    assert bad.status_code == 400
    other = _subscribe(x, "b", subscription(receiver.url))
    both = x["call"]("b", "GET", f"/fhir/Subscription/$status?id={sub},{other}").get_json()
    assert [e["resource"]["subscription"]["reference"].rsplit("/", 1)[1] for e in both["entry"]] == [
        sub,
        other,
    ]
    assert x["call"]("c", "GET", f"/fhir/Subscription/$status?id={sub}").status_code == 404
    assert x["call"]("b", "GET", "/fhir/Subscription/$status").status_code == 400

    receiver.up()
    wait_until(lambda: len(receiver.events(sub)) == 4, "delivery resumes")
    assert [e[0] for e in receiver.events(sub)] == [1, 2, 3, 4]


def test_full_resource_never_shows_what_the_policy_hides(app, alliance, tasks, receiver, worker):
    """B owns the referral; once it is cancelled the link that let B read it is gone: B is told
    that the Task changed, but the notification carries no Task content."""
    x = alliance
    sub = _subscribe(x, "b", subscription(receiver.url, "full-resource"))
    tid = tasks.create("requested")
    tasks.set(tid, "cancelled")
    wait_until(lambda: len(receiver.events(sub)) == 2, "both events")
    entries = [e for b in receiver.of(sub) for e in b["entry"][1:]]
    assert all("resource" not in e for e in entries)
    assert [e["fullUrl"].rsplit("/", 1)[1] for e in entries] == [tid, tid]
    # What B may read is what it gets: a Task still open shows in full.
    t2 = tasks.create("requested")
    wait_until(lambda: len(receiver.events(sub)) == 3, "the third event")
    assert receiver.of(sub)[-1]["entry"][-1]["resource"]["id"] == t2


def test_an_ended_subscription_is_owed_nothing(app, alliance, tasks, receiver):
    x = alliance
    sub = _subscribe(x, "b", subscription(receiver.url))
    assert x["call"]("b", "DELETE", f"/fhir/Subscription/{sub}").status_code == 204
    tasks.create("requested")
    db = app.extensions["xietong"].db
    with db.read() as conn:
        row = conn.execute(
            select(notify_subscription).where(notify_subscription.c.subscription_id == sub)
        ).first()
        assert row.status == "off" and row.events_since_start == 0
        assert conn.execute(select(func.count()).select_from(notify_event)).scalar() == 1


def test_full_resource_deliveries_are_audited_as_reads_by_the_subscriber(
    app, alliance, tasks, receiver, worker
):
    """A's Task content leaving for B's endpoint is a read by B of A's record: it is in the trail."""
    x = alliance
    sub = _subscribe(x, "b", subscription(receiver.url, "full-resource"))
    tid = tasks.create("requested")
    wait_until(lambda: len(receiver.events(sub)) == 1, "the event")
    audit = resource_tables["AuditEvent"]
    ref = f"Task/{tid}/_history/1"

    def reads() -> list[dict]:
        with app.extensions["xietong"].db.read() as conn:
            bodies = conn.execute(select(audit.c.body).where(audit.c.body.contains(ref))).scalars().all()
        return [
            b for b in map(json.loads, bodies) if any(s.get("code") == "vread" for s in b.get("subtype", []))
        ]

    events = wait_until(reads, "the disclosure in the audit trail")
    assert any(x["orgs"]["b"] in json.dumps(e) for e in events)


def test_an_r4_query_based_subscription_is_stored_but_never_served(app, alliance, tasks, receiver, worker):
    """Valid R4B content is accepted (DESIGN §3); the hub serves only topics, and $status says so."""
    x = alliance
    r4 = subscription(receiver.url, criteria="Task?status=requested")
    del r4["channel"]["_payload"]
    sub = _subscribe(x, "b", r4)
    served = _subscribe(x, "b", subscription(receiver.url))
    tasks.create("requested")
    wait_until(lambda: len(receiver.events(served)) == 1, "the topic-based one is served")
    assert receiver.of(sub, "handshake") == [] and receiver.events(sub) == []
    status = x["call"]("b", "GET", f"/fhir/Subscription/{sub}/$status").get_json()["entry"][0]["resource"]
    assert status["status"] == "error" and "SubscriptionTopic" in status["error"][0]["text"]
    assert "topic" not in status
    assert x["call"]("c", "GET", f"/fhir/Subscription/{sub}/$status").status_code == 404
