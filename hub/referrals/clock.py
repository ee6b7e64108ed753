"""Each referral Task's clock: due times per priority, the pause while awaiting information, and
the facts the statistics count. Written in the transaction of the change it follows."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from hub.config import priority_hours
from hub.referrals import codes
from hub.referrals.tables import referral_clock as rc


def due_times(config, priority: str, start: datetime) -> tuple[datetime, datetime, datetime]:
    ack = priority_hours("REFERRAL_ACK_HOURS", config.REFERRAL_ACK_HOURS)[priority]
    accept = priority_hours("REFERRAL_ACCEPT_HOURS", config.REFERRAL_ACCEPT_HOURS)[priority]
    return (
        start + timedelta(hours=ack),
        start + timedelta(hours=accept),
        start + timedelta(days=config.REFERRAL_VALIDITY_DAYS),
    )


def start(
    conn: Connection, task: dict, request: dict | None, requester: str, owner: str, now: datetime, config
) -> None:
    request = request or {}
    priority = request.get("priority") or task.get("priority") or "routine"
    ack, accept, expires = due_times(config, priority, now)
    conn.execute(
        insert(rc).values(
            task_id=task["id"],
            request_id=request.get("id", ""),
            requester_org=requester,
            owner_org=owner,
            direction=codes.ext_code(request, codes.DIRECTION) or "up",
            channel=codes.ext_code(request, codes.CHANNEL) or "standard",
            priority=priority,
            status=task["status"],
            submitted_at=now,
            ack_due_at=ack,
            accept_due_at=accept,
            expires_at=expires,
            returned=False,
        )
    )


def on_transition(
    conn: Connection,
    task_id: str,
    action: str,
    status: str,
    now: datetime,
    outcome: str | None,
    returned: bool,
) -> None:
    values: dict = {"status": status}
    if action == "receive":
        values["received_at"] = now
    elif action == "accept":
        values["accepted_at"] = now
        values["paused_at"] = None
    elif action == "request-info":
        values["paused_at"] = now
    elif action == "provide-info":
        row = conn.execute(
            select(rc.c.paused_at, rc.c.ack_due_at, rc.c.accept_due_at).where(rc.c.task_id == task_id)
        ).first()
        if row is not None and row.paused_at is not None:
            gap = now - row.paused_at  # the clock resumes where it stopped
            values.update(
                paused_at=None, ack_due_at=row.ack_due_at + gap, accept_due_at=row.accept_due_at + gap
            )
    if status in ("completed", "rejected", "cancelled"):
        values["closed_at"] = now
        values["paused_at"] = None
        values["outcome"] = "returned" if returned else outcome
        values["returned"] = returned
    conn.execute(update(rc).where(rc.c.task_id == task_id).values(**values))


def mark(conn: Connection, task_id: str, column: str, now: datetime) -> None:
    conn.execute(update(rc).where(rc.c.task_id == task_id).values({column: now}))
