"""The transactional outbox: Task changes become events in the transaction that makes them.

The store calls :func:`on_write` for every Task and Subscription it writes. A Subscription is copied
into ``notify_subscription`` at once (a bad one is refused with the write). Task writes are
collected and turned into events as the last step of the transaction (``Database.before_commit``):
an event row per reportable change, numbered per Task, and, for each subscription it matches, the
subscription's next event number. A rolled-back write leaves no event; a committed one cannot lose
its event. On PostgreSQL a ``NOTIFY`` wakes the delivery workers when the transaction commits.
"""

from __future__ import annotations

import json

import orjson
from sqlalchemy import insert, or_, select, text, update
from sqlalchemy.engine import Connection

from hub.auth.tenancy import org_resolver
from hub.fhir import dates
from hub.notify import subscriptions, topics
from hub.notify.tables import notify_delivery, notify_event, notify_subscription

CHANNEL = "xietong_notify"  # PostgreSQL LISTEN/NOTIFY channel of the delivery workers
LIVE = ("requested", "active", "error")  # subscriptions that are owed events


def on_write(store, subtype: str, stored) -> None:
    pending = store.db.before_commit(store.conn, _PendingEvents)
    pending.sqlite = store.db.is_sqlite
    if stored.type == "Subscription":
        # Checked now (a bad Subscription is refused with its write), recorded last: the outbox's
        # rows are locked after the audit chain's head, in every transaction, so none can deadlock.
        spec = None  # deleted, or query-based (stored, not served): owed nothing
        if subtype != "delete":
            sub = orjson.loads(stored.body)
            spec = subscriptions.parse(sub) if subscriptions.topic_based(sub) else None
        pending.subscriptions.append((stored.id, stored.tenant, spec))
    elif stored.type == "Task" and stored.body is not None:
        pending.changes.append((stored.id, stored.version, stored.method, stored.last_updated, stored.body))


# ----- subscriptions -----


def _sync_subscription(conn: Connection, sub_id: str, tenant: str | None, spec) -> None:
    t = notify_subscription
    current = conn.execute(select(t).where(t.c.subscription_id == sub_id)).first()
    if spec is None:  # deleted or query-based: owed nothing more
        if current is not None:
            conn.execute(
                update(t).where(t.c.subscription_id == sub_id).values(status="off", leased_until=None)
            )
        return
    values = {
        "tenant": tenant,
        "topic": spec.topic,
        "status": spec.status,
        "endpoint": spec.endpoint,
        "content": spec.content,
        "headers": json.dumps(spec.headers, ensure_ascii=False),
        "filters": json.dumps(spec.filters, ensure_ascii=False),
        "heartbeat_seconds": spec.heartbeat_seconds,
        "timeout_seconds": spec.timeout_seconds,
        "max_count": spec.max_count,
    }
    if current is None:
        conn.execute(
            insert(t).values(
                subscription_id=sub_id,
                events_since_start=0,
                delivered_through=0,
                failures=0,
                **values,
            )
        )
        return
    if spec.status == "requested" and current.status != "requested" or current.endpoint != spec.endpoint:
        # Asked to start again, or sent elsewhere: a new handshake, and retry at once.
        values.update(handshake_at=None, failures=0, next_attempt_at=None, last_error=None)
    conn.execute(update(t).where(t.c.subscription_id == sub_id).values(**values))


# ----- Task events -----


class _PendingEvents:
    """A transaction's Subscription and Task writes, recorded as its last step (a rollback drops
    them)."""

    def __init__(self):
        self.sqlite = True
        self.subscriptions: list[tuple] = []
        self.changes: list[tuple] = []

    def __call__(self, conn: Connection) -> None:
        for sub_id, tenant, spec in self.subscriptions:
            _sync_subscription(conn, sub_id, tenant, spec)
        if not self.changes:
            return
        org_of = org_resolver(conn)
        topic = topics.referral_topic_url()
        last: dict[str, tuple] = {}
        for task_id, version, method, when, body in self.changes:
            task = orjson.loads(body)
            now = (task.get("status"), topics.business_status(task))
            # A created Task has no events yet: no need to look.
            prev = last.get(task_id) or (None if method == "POST" else _last_event(conn, task_id))
            if prev is not None and prev[1:] == now and method != "POST":
                continue
            seq = (prev[0] if prev else 0) + 1
            last[task_id] = (seq, *now)
            change = topics.TaskChange(
                task_id,
                version,
                method,
                now[0],
                prev[1] if prev else None,
                now[1],
                prev[2] if prev else None,
                org_of((task.get("owner") or {}).get("reference", "")),
                org_of((task.get("requester") or {}).get("reference", "")),
            )
            owed = _matching(conn, topic, change)
            if self.sqlite:
                _record(conn, topic, seq, when, change, owed)
            else:
                _record_pg(conn, topic, seq, when, change, owed)


def _last_event(conn: Connection, task_id: str) -> tuple | None:
    e = notify_event
    row = conn.execute(
        select(e.c.task_seq, e.c.status, e.c.business_status)
        .where(e.c.task_id == task_id)
        .order_by(e.c.task_seq.desc())
        .limit(1)
    ).first()
    return tuple(row) if row else None


def _matching(conn: Connection, topic: str, change: topics.TaskChange) -> list[str]:
    """The live subscriptions the change is owed to, in id order."""
    t = notify_subscription
    orgs = [o for o in (change.owner_org, change.requester_org) if o]
    # An institution hears only of Tasks it requests or owns; the alliance office (no tenant) of all.
    candidates = conn.execute(
        select(t.c.subscription_id, t.c.filters)
        .where(t.c.topic == topic, t.c.status.in_(LIVE), or_(t.c.tenant.is_(None), t.c.tenant.in_(orgs)))
        .order_by(t.c.subscription_id)
    ).all()
    return [sub_id for sub_id, filters in candidates if topics.matches(json.loads(filters), change)]


def _event_row(topic: str, seq: int, when, change: topics.TaskChange) -> dict:
    return {
        "topic": topic,
        "task_id": change.task_id,
        "task_seq": seq,
        "task_version": change.version,
        "method": change.method,
        "status": change.status,
        "previous_status": change.previous_status,
        "business_status": change.business_status,
        "previous_business_status": change.previous_business_status,
        "owner_org": change.owner_org,
        "requester_org": change.requester_org,
        "occurred_at": when or dates.now_utc(),
    }


def _record(conn: Connection, topic: str, seq: int, when, change: topics.TaskChange, owed: list[str]) -> None:
    event_id = conn.execute(
        insert(notify_event).values(**_event_row(topic, seq, when, change)).returning(notify_event.c.id)
    ).scalar_one()
    t = notify_subscription
    rows = []
    for sub_id in owed:
        number = conn.execute(
            update(t)
            .where(t.c.subscription_id == sub_id)
            .values(events_since_start=t.c.events_since_start + 1)
            .returning(t.c.events_since_start)
        ).scalar_one()
        rows.append({"subscription_id": sub_id, "event_number": number, "event_id": event_id})
    if rows:
        conn.execute(insert(notify_delivery), rows)


# PostgreSQL: the event, the subscriptions' next numbers (their rows locked in id order, so that
# concurrent transactions cannot deadlock on them), what each is owed, and the NOTIFY that wakes the
# workers at commit (its payload, Task id/version, is for monitoring): one round trip.
_RECORD_PG = text(
    f"""
WITH e AS (
  INSERT INTO notify_event (topic, task_id, task_seq, task_version, method, status, previous_status,
                            business_status, previous_business_status, owner_org, requester_org,
                            occurred_at)
  VALUES (:topic, :task_id, :task_seq, :task_version, :method, :status, :previous_status,
          :business_status, :previous_business_status, :owner_org, :requester_org, :occurred_at)
  RETURNING id),
l AS (SELECT subscription_id FROM notify_subscription WHERE subscription_id = ANY(CAST(:owed AS text[]))
      ORDER BY subscription_id FOR UPDATE),
s AS (UPDATE notify_subscription n SET events_since_start = n.events_since_start + 1 FROM l
      WHERE n.subscription_id = l.subscription_id
      RETURNING n.subscription_id, n.events_since_start),
d AS (INSERT INTO notify_delivery (subscription_id, event_number, event_id)
      SELECT s.subscription_id, s.events_since_start, e.id FROM s, e
      RETURNING event_id)
SELECT pg_notify('{CHANNEL}', CAST(:task_id AS text) || '/' || CAST(:task_version AS text)) FROM d LIMIT 1"""
)


def _record_pg(
    conn: Connection, topic: str, seq: int, when, change: topics.TaskChange, owed: list[str]
) -> None:
    conn.execute(_RECORD_PG, {**_event_row(topic, seq, when, change), "owed": owed})
