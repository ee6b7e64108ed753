"""Referral flow statistics from the referral clocks: counts by direction and outcome, time to
accept, SLA breaches, the priority channel, and the loop-closure rate.

Loop closure (CMS50-style): of the upward referrals that were accepted, the share completed with a
return package (summary, medications, follow-up plan). Advice-only answers ($decline with reason
``advice-given``: the patient stays at the primary level) are counted on their own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select

from hub.referrals.tables import referral_clock as rc


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return round(values[lo] + (values[hi] - values[lo]) * (k - lo), 2)


def _rate(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def referral_stats(conn, start: datetime | None, end: datetime | None, organization: str | None) -> dict:
    conds = []
    if start is not None:
        conds.append(rc.c.submitted_at >= start)
    if end is not None:
        conds.append(rc.c.submitted_at < end)
    if organization is not None:
        conds.append(or_(rc.c.requester_org == organization, rc.c.owner_org == organization))
    where = and_(*conds) if conds else None

    def q(*cols):
        s = select(*cols)
        return s.where(where) if where is not None else s

    by_direction = {d: n for d, n in conn.execute(q(rc.c.direction, func.count()).group_by(rc.c.direction))}
    by_status = {s: n for s, n in conn.execute(q(rc.c.status, func.count()).group_by(rc.c.status))}
    by_outcome = {
        o: n
        for o, n in conn.execute(
            q(rc.c.outcome, func.count()).where(rc.c.outcome.is_not(None)).group_by(rc.c.outcome)
        )
    }
    priority_channel = conn.execute(q(func.count()).where(rc.c.channel == "priority")).scalar_one()
    overdue_ack = conn.execute(q(func.count()).where(rc.c.ack_overdue_at.is_not(None))).scalar_one()
    overdue_accept = conn.execute(q(func.count()).where(rc.c.accept_overdue_at.is_not(None))).scalar_one()
    up_accepted = conn.execute(
        q(func.count()).where(rc.c.direction == "up", rc.c.accepted_at.is_not(None))
    ).scalar_one()
    up_returned = conn.execute(
        q(func.count()).where(rc.c.direction == "up", rc.c.returned.is_(True))
    ).scalar_one()
    hours = [
        (a - s).total_seconds() / 3600
        for s, a in conn.execute(q(rc.c.submitted_at, rc.c.accepted_at).where(rc.c.accepted_at.is_not(None)))
    ]
    return {
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "organization": organization,
        "submitted": sum(by_direction.values()),
        "byDirection": {d: by_direction.get(d, 0) for d in ("up", "down", "lateral")},
        "byStatus": by_status,
        "outcomes": {
            "returned": by_outcome.get("returned", 0),
            "completed": by_outcome.get("completed", 0),
            "adviceOnly": by_outcome.get("advice-given", 0),
            "declined": sum(n for o, n in by_outcome.items() if o not in _NOT_DECLINES),
            "redirected": by_outcome.get("redirected", 0),
            "cancelled": by_outcome.get("cancelled", 0),
            "expired": by_outcome.get("expired", 0),
        },
        "priorityChannel": priority_channel,
        "overdue": {"acknowledge": overdue_ack, "accept": overdue_accept},
        "timeToAcceptHours": {
            "median": _percentile(hours, 0.5),
            "p90": _percentile(hours, 0.9),
            "n": len(hours),
        },
        "loopClosure": {
            "upwardAccepted": up_accepted,
            "returned": up_returned,
            "rate": _rate(up_returned, up_accepted),
        },
    }


_NOT_DECLINES = {"returned", "completed", "advice-given", "redirected", "cancelled", "expired"}
