"""Notification Bundles in the Subscriptions Backport IG's R4B shape: a ``history`` Bundle whose first
entry is a SubscriptionStatus (as answered by ``$status``), then one entry per event's focus."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import orjson

from hub.fhir import dates


@dataclass(frozen=True)
class Event:
    number: int
    task_id: str
    task_version: int
    method: str
    occurred_at: datetime


@dataclass(frozen=True)
class Status:
    subscription_id: str
    topic: str | None  # None: a query-based Subscription (stored, not served)
    status: str  # requested | active | error | off
    events_since_start: int
    error: str | None = None


def subscription_status(base: str, st: Status, kind: str, events: list[Event], content: str) -> dict:
    """A SubscriptionStatus of ``kind`` handshake | heartbeat | event-notification | query-status |
    query-event."""
    out = {
        "resourceType": "SubscriptionStatus",
        "id": str(uuid.uuid4()),
        "status": st.status,
        "type": kind,
        "eventsSinceSubscriptionStart": str(st.events_since_start),
        "subscription": {"reference": f"{base}/Subscription/{st.subscription_id}"},
    }
    if st.topic:
        out["topic"] = st.topic
    if st.error:
        out["error"] = [{"text": st.error[:500]}]
    if events:
        out["notificationEvent"] = [_event(base, e, content) for e in events]
    return out


def _event(base: str, e: Event, content: str) -> dict:
    out = {"eventNumber": str(e.number), "timestamp": dates.instant(e.occurred_at)}
    if content != "empty":
        out["focus"] = {"reference": f"{base}/Task/{e.task_id}/_history/{e.task_version}"}
    return out


def notification(
    base: str,
    st: Status,
    kind: str,
    events: list[Event],
    content: str,
    resources: dict[tuple[str, int], str] | None = None,
) -> dict:
    """The Bundle; ``resources``: (task id, version) -> the Task's JSON text, for full-resource."""
    status = subscription_status(base, st, kind, events, content)
    entries = [
        {
            "fullUrl": f"urn:uuid:{status['id']}",
            "resource": status,
            "request": {"method": "GET", "url": f"{base}/Subscription/{st.subscription_id}/$status"},
            "response": {"status": "200"},
        }
    ]
    if content != "empty":
        for e in events:
            entry = {
                "fullUrl": f"{base}/Task/{e.task_id}",
                "request": {"method": e.method, "url": "Task" if e.method == "POST" else f"Task/{e.task_id}"},
                "response": {
                    "status": "201" if e.method == "POST" else "200",
                    "etag": f'W/"{e.task_version}"',
                },
            }
            body = (resources or {}).get((e.task_id, e.task_version))
            if content == "full-resource" and body is not None:
                entry["resource"] = orjson.Fragment(body)  # the version as stored, not re-encoded
            entries.append(entry)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "history",
        "timestamp": dates.instant(dates.now_utc()),
        "entry": entries,
    }


def dumps(bundle: dict) -> bytes:
    return orjson.dumps(bundle)
