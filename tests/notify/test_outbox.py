"""The outbox: events are written in the Task write's own transaction, numbered per Task and per
subscription, and stay consistent under concurrent writers on PostgreSQL."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.fhir import dates
from hub.notify.delivery import Settings, Worker
from hub.notify.tables import notify_delivery, notify_event, notify_subscription
from tests.conftest import make_config
from tests.notify.conftest import TASK, Tasks, subscription, wait_until


def _count(db, table) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def _subscribe(x, who, sub) -> str:
    r = x["call"](who, "POST", "/fhir/Subscription", json=sub)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_a_rolled_back_task_write_leaves_no_event(app, alliance, tasks):
    db = app.extensions["xietong"].db
    sub = _subscribe(alliance, "b", subscription("http://127.0.0.1:9/hook"))
    with pytest.raises(RuntimeError), db.write() as conn:
        app.extensions["xietong"].fhir.store(conn, tasks.a).create(TASK, tasks.body())
        raise RuntimeError("the command failed after the Task was written")
    assert _count(db, notify_event) == 0 and _count(db, notify_delivery) == 0
    with db.read() as conn:
        owed = conn.execute(
            select(notify_subscription.c.events_since_start).where(
                notify_subscription.c.subscription_id == sub
            )
        ).scalar()
    assert owed == 0
    tasks.create()
    assert _count(db, notify_event) == 1 and _count(db, notify_delivery) == 1


def test_events_are_numbered_per_task_and_only_for_reportable_changes(app, alliance, tasks):
    db = app.extensions["xietong"].db
    hub = app.extensions["xietong"]
    tid = tasks.create("requested")
    tasks.set(tid, "requested")  # nothing the topic reports
    tasks.set(tid, "received")
    tasks.set(tid, "received", business_status="overdue-accept")  # an escalation
    with db.write() as conn:  # two changes in one transaction: two events, in order
        store = hub.fhir.store(conn, tasks.a)
        for status in ("accepted", "in-progress"):
            body = tasks.body(status)
            body["id"] = tid
            store.update(TASK, tid, body)
    e = notify_event
    with db.read() as conn:
        rows = conn.execute(
            select(e.c.task_seq, e.c.task_version, e.c.status, e.c.previous_status, e.c.business_status)
            .where(e.c.task_id == tid)
            .order_by(e.c.task_seq)
        ).all()
    assert [tuple(r) for r in rows] == [
        (1, 1, "requested", None, None),
        (2, 3, "received", "requested", None),
        (3, 4, "received", "received", "overdue-accept"),
        (4, 5, "accepted", "received", None),
        (5, 6, "in-progress", "accepted", None),
    ]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_concurrent_writers_and_two_workers_keep_every_event_in_order(app, alliance, receiver, backend):
    """8 threads each drive their own referrals through five states while two workers deliver to
    one subscription: event numbers are 1..N without gaps, each Task's events are numbered in
    the order of its versions, and the receiver sees them in that order."""
    x = alliance
    hub = app.extensions["xietong"]
    sub = _subscribe(x, "b", subscription(receiver.url))
    settings = Settings(base_url="http://localhost/fhir", retry_base_ms=20, retry_max_seconds=1, poll_ms=20)
    workers = [Worker(hub.db, settings).start() for _ in range(2)]
    writers, per_writer, path = 8, 3, ("received", "accepted", "in-progress", "completed")
    errors = []

    def write(n):
        t = Tasks(app, x)
        try:
            for _ in range(per_writer):
                tid = t.create("requested")
                for status in path:
                    t.set(tid, status)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    total = writers * per_writer * (1 + len(path))
    try:
        wait_until(
            lambda: len({e[0] for e in receiver.events(sub)}) == total, f"all {total} events delivered"
        )
    finally:
        for w in workers:
            w.stop()
    d, e = notify_delivery, notify_event
    with hub.db.read() as conn:
        rows = conn.execute(
            select(d.c.event_number, e.c.task_id, e.c.task_seq, e.c.task_version)
            .select_from(d.join(e, e.c.id == d.c.event_id))
            .where(d.c.subscription_id == sub)
            .order_by(d.c.event_number)
        ).all()
    assert [r.event_number for r in rows] == list(range(1, total + 1))
    per_task = defaultdict(list)
    for r in rows:
        per_task[r.task_id].append((r.task_seq, r.task_version))
    assert len(per_task) == writers * per_writer
    for seqs in per_task.values():
        assert [s for s, _ in seqs] == list(range(1, len(path) + 2))
        assert [v for _, v in seqs] == sorted(v for _, v in seqs)
    got = receiver.events(sub)
    numbers = [n for n, _, _ in got]
    assert numbers == sorted(numbers)  # two workers, one subscription: never out of order
    seen = defaultdict(list)
    for _, tid, version in got:
        if not seen[tid] or seen[tid][-1] != version:
            seen[tid].append(version)
    for tid, versions in seen.items():
        assert versions == sorted(versions) == [v for _, v in per_task[tid]]


def test_the_in_process_worker_delivers(database_url, alliance, tasks, receiver):
    """A second hub on the same database, configured to deliver in-process (the embedded default)."""
    from hub import create_app

    other = create_app(
        make_config(database_url, NOTIFY_IN_PROCESS=True, NOTIFY_RETRY_BASE_MS=20, NOTIFY_POLL_MS=20)
    )
    try:
        sub = _subscribe(alliance, "b", subscription(receiver.url))
        tid = tasks.create()
        wait_until(lambda: [e[1] for e in receiver.events(sub)] == [tid], "the in-process worker delivered")
    finally:
        other.extensions["xietong_notify"].stop()
        other.extensions["xietong"].db.dispose()


def test_heartbeat(app, alliance, receiver, worker):
    sub = subscription(receiver.url)
    sub["channel"]["extension"] = [
        {
            "url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period",
            "valueUnsignedInt": 1,
        }
    ]
    sid = _subscribe(alliance, "b", sub)
    wait_until(lambda: receiver.of(sid, "heartbeat"), "a heartbeat")
    status = receiver.of(sid, "heartbeat")[0]["entry"][0]["resource"]
    assert status["status"] == "active" and status["eventsSinceSubscriptionStart"] == "0"


def test_topics_command_stores_the_topic(app, client):
    runner = app.test_cli_runner()
    for _ in range(2):  # idempotent
        result = runner.invoke(args=["notify", "topics"])
        assert result.exit_code == 0, result.output
    r = client.get(
        "/fhir/SubscriptionTopic?url=http://xietong.example/fhir/SubscriptionTopic/referral-task-status"
    )
    bundle = r.get_json()
    assert r.status_code == 200 and len(bundle["entry"]) == 1
    topic = bundle["entry"][0]["resource"]
    assert {c["filterParameter"] for c in topic["canFilterBy"]} >= {"owner", "requester"}


def test_prune_keeps_what_is_owed_and_each_tasks_latest_event(app, alliance, tasks, receiver, worker):
    db = app.extensions["xietong"].db
    delivered = _subscribe(alliance, "b", subscription(receiver.url))
    owed = _subscribe(alliance, "a", subscription("http://127.0.0.1:9/never"))  # refused: stays owed
    tid = tasks.create("requested")
    tasks.set(tid, "received")
    tasks.set(tid, "accepted")
    wait_until(lambda: _acknowledged(db, delivered) == 3, "B acknowledged all three")
    with db.write() as conn:  # age them
        conn.execute(notify_event.update().values(occurred_at=dates.now_utc() - timedelta(days=100)))
    result = app.test_cli_runner().invoke(args=["notify", "prune", "--days", "90"])
    assert result.exit_code == 0, result.output
    with db.read() as conn:
        left = conn.execute(select(notify_delivery.c.subscription_id, notify_delivery.c.event_number)).all()
        events = (
            conn.execute(select(notify_event.c.task_seq).order_by(notify_event.c.task_seq)).scalars().all()
        )
    # B's acknowledged deliveries went; A's, never acknowledged, all stay, and so do their events.
    assert sorted(tuple(r) for r in left) == [(owed, 1), (owed, 2), (owed, 3)]
    assert events == [1, 2, 3]
    # Once nothing is owed, only the Task's latest event stays.
    r = alliance["call"]("a", "DELETE", f"/fhir/Subscription/{owed}")
    assert r.status_code == 204
    with db.write() as conn:
        conn.execute(notify_delivery.delete().where(notify_delivery.c.subscription_id == owed))
    app.test_cli_runner().invoke(args=["notify", "prune", "--days", "90"])
    with db.read() as conn:
        assert conn.execute(select(notify_event.c.task_seq)).scalars().all() == [3]


def _acknowledged(db, sub_id: str) -> int:
    t = notify_subscription
    with db.read() as conn:
        return conn.execute(select(t.c.delivered_through).where(t.c.subscription_id == sub_id)).scalar()
