"""The referral clocks' check: overdue acknowledgement and acceptance, and expiry.

Each finding is its own transaction: the Task gets its businessStatus (and, for expiry, the
``expire`` transition), the owner institution's desk a Communication; the notification outbox sees
the Task change in that transaction. ``flask referrals tick`` runs one check (cron); with
``REFERRAL_TICK_SECONDS`` > 0 the app runs it in a thread of its own (the embedded default).
A check that finds a Task already moved on does nothing: running it twice, or on two servers at
once, is harmless.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import and_, select

from hub.auth.principal import system
from hub.errors import Conflict, NotFound
from hub.fhir import dates
from hub.fhir.store import Store
from hub.referrals import clock, service
from hub.referrals.tables import referral_clock as rc

log = logging.getLogger(__name__)
JOB = system("referral-timer")
ESCALATION = {
    "overdue-acknowledge": (
        "超时未签收",
        "ack_overdue_at",
        "转诊单超时未签收，请转诊办尽快处理 (not opened within its time)",
    ),
    "overdue-accept": (
        "超时未接诊",
        "accept_overdue_at",
        "转诊单超时未接诊，请尽快接收或拒绝 (not accepted within its time)",
    ),
}


@dataclass
class TickResult:
    expired: list[str] = field(default_factory=list)
    overdue_acknowledge: list[str] = field(default_factory=list)
    overdue_accept: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: len(v) for k, v in self.__dict__.items()}


def tick(hub, now: datetime | None = None, limit: int = 1000) -> TickResult:
    now = now or dates.now_utc()
    out = TickResult()
    with hub.db.read() as conn:
        expiring = (
            conn.execute(
                select(rc.c.task_id)
                .where(rc.c.status.in_(("requested", "received")), rc.c.expires_at <= now)
                .limit(limit)
            )
            .scalars()
            .all()
        )
        late_ack = (
            conn.execute(
                select(rc.c.task_id)
                .where(
                    and_(
                        rc.c.status == "requested",
                        rc.c.ack_due_at <= now,
                        rc.c.ack_overdue_at.is_(None),
                        rc.c.paused_at.is_(None),
                    )
                )
                .limit(limit)
            )
            .scalars()
            .all()
        )
        late_accept = (
            conn.execute(
                select(rc.c.task_id)
                .where(
                    and_(
                        rc.c.status.in_(("requested", "received")),
                        rc.c.accept_due_at <= now,
                        rc.c.accept_overdue_at.is_(None),
                        rc.c.paused_at.is_(None),
                    )
                )
                .limit(limit)
            )
            .scalars()
            .all()
        )
    for task_id in expiring:
        try:
            service.transition(hub, JOB, task_id, "expire")
            out.expired.append(task_id)
        except (Conflict, NotFound):
            continue  # acted on meanwhile
    for code, ids, bucket in (
        ("overdue-acknowledge", late_ack, out.overdue_acknowledge),
        ("overdue-accept", late_accept, out.overdue_accept),
    ):
        for task_id in ids:
            if task_id not in out.expired and escalate(hub, task_id, code, now):
                bucket.append(task_id)
    return out


def escalate(hub, task_id: str, code: str, now: datetime) -> bool:
    """Mark the Task overdue and tell the owner institution's desk; False if it moved on."""
    display, column, message = ESCALATION[code]
    with hub.db.write() as conn:
        store = Store(hub.db, conn, service.WorkflowPolicy(JOB))
        ref = service.lock(store, task_id)
        row = conn.execute(select(rc).where(rc.c.task_id == task_id)).first()
        wanted = ("requested",) if code == "overdue-acknowledge" else ("requested", "received")
        if (
            row is None
            or ref.task["status"] not in wanted
            or getattr(row, column) is not None
            or ref.state.awaiting
        ):
            return False
        task = dict(ref.task)
        service.set_business(task, code, display)
        task["lastModified"] = dates.instant(dates.now_utc())
        service.write(store, task, ref.version, ref.tenant)
        step = service.Step(store, ref, None, {}, JOB, dates.now_utc(), hub.config)
        service.communication(step, None, ref.owner_org, message, priority="urgent")
        clock.mark(conn, task_id, column, now)
    return True


def register_cli(app: Flask) -> None:
    group = AppGroup("referrals", help="Referral workflow jobs.")

    @group.command("tick")
    def tick_command():
        """Check the referral clocks once: escalate overdue referrals, expire stale ones (for cron)."""
        result = tick(current_app.extensions["xietong"])
        click.echo(" ".join(f"{k}={v}" for k, v in result.as_dict().items()))

    app.cli.add_command(group)


def start_scheduler(app: Flask) -> threading.Event | None:
    """A daemon thread running ``tick`` every ``REFERRAL_TICK_SECONDS``; set the event to stop it."""
    hub = app.extensions["xietong"]
    every = hub.config.REFERRAL_TICK_SECONDS
    if every <= 0:
        return None
    stop = threading.Event()

    def run():
        while not stop.wait(every):
            try:
                tick(hub)
            except Exception:  # the next round tries again; a timer thread must not die
                log.exception("referral timer check failed")

    threading.Thread(target=run, name="referral-timer", daemon=True).start()
    return stop
