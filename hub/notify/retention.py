"""Pruning the outbox: what every subscription has acknowledged, once it is old enough.

An event stays as long as any subscription is still owed it (``delivered_through`` below its
number), whatever its age: nothing undelivered is ever pruned. A Task's latest event stays too (the
next change of that Task is compared with it). ``$events`` answers only from what is kept.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import aliased

from hub.fhir import dates
from hub.notify.tables import notify_delivery, notify_event, notify_subscription


def prune(db, days: int) -> tuple[int, int]:
    """Delete acknowledged deliveries and unowed events older than ``days``: ``(deliveries, events)``."""
    cutoff = dates.now_utc() - timedelta(days=days)
    d, e, s = notify_delivery, notify_event, notify_subscription
    with db.write() as conn:
        acknowledged = (
            select(s.c.delivered_through).where(s.c.subscription_id == d.c.subscription_id).scalar_subquery()
        )
        old = select(e.c.id).where(e.c.occurred_at < cutoff)
        deliveries = conn.execute(
            delete(d).where(d.c.event_id.in_(old), d.c.event_number <= acknowledged)
        ).rowcount
        later = aliased(e)
        latest = select(func.max(later.c.task_seq)).where(later.c.task_id == e.c.task_id).scalar_subquery()
        events = conn.execute(
            delete(e).where(
                e.c.occurred_at < cutoff,
                ~exists(select(d.c.event_id).where(d.c.event_id == e.c.id)),
                e.c.task_seq < latest,
            )
        ).rowcount
    return deliveries, events
