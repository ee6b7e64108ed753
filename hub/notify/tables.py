"""Tables of the notification outbox: subscriptions' delivery state, events, and what each is owed."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from hub.models import PID, UTCDateTime, metadata

# One row per Subscription resource: what matching and delivery need, and where delivery stands.
# ``events_since_start`` is the last event number given to the subscription; ``delivered_through``
# the last one its endpoint acknowledged (2xx). Events are delivered strictly in number order.
notify_subscription = Table(
    "notify_subscription",
    metadata,
    Column("subscription_id", String(64), primary_key=True),
    Column("tenant", String(64), nullable=True),  # the institution it belongs to; None: the office
    Column("topic", String(255), nullable=False),
    Column("status", String(16), nullable=False),  # requested | active | error | off (FHIR)
    Column("endpoint", String(2048), nullable=False),
    Column("content", String(16), nullable=False),  # empty | id-only | full-resource
    Column("headers", Text, nullable=False),  # JSON list of "Name: value"
    Column("filters", Text, nullable=False),  # JSON {parameter: [values]}
    Column("heartbeat_seconds", Integer, nullable=True),
    Column("timeout_seconds", Integer, nullable=True),
    Column("max_count", Integer, nullable=True),
    Column("events_since_start", BigInteger, nullable=False),
    Column("delivered_through", BigInteger, nullable=False),
    Column("handshake_at", UTCDateTime, nullable=True),
    Column("failures", Integer, nullable=False),  # consecutive failed attempts
    Column("next_attempt_at", UTCDateTime, nullable=True),  # backoff: nothing is sent before this
    Column("leased_until", UTCDateTime, nullable=True),  # a worker is delivering until then
    Column("last_sent_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
)
Index(None, notify_subscription.c.topic, notify_subscription.c.tenant)

# The outbox: one row per Task change the topic reports, written in the Task write's transaction.
# ``task_seq`` numbers a Task's events (1, 2, ...): delivery keeps that order.
notify_event = Table(
    "notify_event",
    metadata,
    Column("id", PID, primary_key=True, autoincrement=True),
    Column("topic", String(255), nullable=False),
    Column("task_id", String(64), nullable=False),
    Column("task_seq", Integer, nullable=False),
    Column("task_version", Integer, nullable=False),
    Column("method", String(8), nullable=False),  # POST (created) | PUT
    Column("status", String(32), nullable=True),
    Column("previous_status", String(32), nullable=True),
    Column("business_status", String(64), nullable=True),
    Column("previous_business_status", String(64), nullable=True),
    Column("owner_org", String(64), nullable=True),
    Column("requester_org", String(64), nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    UniqueConstraint("task_id", "task_seq"),
)

# What each subscription is owed: its event numbers, in order (``$events`` reads them back).
notify_delivery = Table(
    "notify_delivery",
    metadata,
    Column("subscription_id", String(64), nullable=False),
    Column("event_number", BigInteger, nullable=False),
    Column("event_id", PID, nullable=False),
    PrimaryKeyConstraint("subscription_id", "event_number"),
)

# Task content sent in full-resource notifications, waiting to be written to the audit trail as the
# receiving institution's read. Written with the delivery's acknowledgement (so it cannot be lost),
# audited by the worker's auditor off the delivery path (the audit chain's lock is a queue).
notify_disclosure = Table(
    "notify_disclosure",
    metadata,
    Column("id", PID, primary_key=True, autoincrement=True),
    Column("subscription_id", String(64), nullable=False),
    Column("organization", String(64), nullable=True),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("touched", Text, nullable=False),  # JSON [[type, id, tenant, patient, version], ...]
)
