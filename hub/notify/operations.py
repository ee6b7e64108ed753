"""``$status`` and ``$events`` on Subscription (Subscriptions Backport IG): where delivery stands, and
the events again, so that a client that was down can catch up."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import select

from hub.api.auth import fhir_base_url
from hub.audit.recorder import record_access
from hub.errors import BadRequest
from hub.fhir.operations import Call, operation
from hub.notify import bundles, topics
from hub.notify.delivery import (
    SUBSCRIPTION,
    disclosed,
    load_events,
    status_of,
    visible_versions,
)
from hub.notify.subscriptions import CONTENTS, QUERY_BASED
from hub.notify.tables import notify_subscription

MAX_EVENTS = 1000  # per $events answer; ask again from the last number for more


def _state(call: Call, conn, sub_id: str):
    # The caller's own store: another institution's Subscription does not exist for it (404).
    call.hub.fhir.store(conn, call.principal).read(SUBSCRIPTION, sub_id)
    t = notify_subscription
    row = conn.execute(select(t).where(t.c.subscription_id == sub_id)).first()
    if row is None:
        # Stored but not topic-based (an R4-style query): never served, and $status says why.
        return SimpleNamespace(
            subscription_id=sub_id,
            topic=None,
            status="error",
            failures=0,
            events_since_start=0,
            last_error=QUERY_BASED.format(topic=topics.referral_topic_url()),
            content="id-only",
        )
    return row


def _number(call: Call, name: str) -> int | None:
    values = call.params().get(name) or []
    if not values:
        return None
    p = values[-1]
    raw = next((v for k, v in p.items() if k.startswith("value")), None)
    try:
        n = int(raw)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be an event number (a whole number)", [name]) from None
    if n < 0:
        raise BadRequest(f"{name} must not be negative", [name])
    return n


@operation("Subscription", "status", instance=True, methods=("GET", "POST"), interaction="read")
def subscription_status(call: Call) -> dict:
    return _statuses(call, [call.fid])


@operation("Subscription", "status", instance=False, methods=("GET", "POST"), interaction="read")
def subscriptions_status(call: Call) -> dict:
    """``/fhir/Subscription/$status?id=a&id=b`` (or ``id=a,b``): several at once."""
    ids = []
    for p in call.params().get("id") or []:
        raw = next((v for k, v in p.items() if k.startswith("value")), "") or ""
        ids += [i.strip() for i in str(raw).split(",") if i.strip()]
    if not ids:
        raise BadRequest("$status on the type needs one or more id parameters", ["id"])
    return _statuses(call, ids)


def _statuses(call: Call, ids: list[str]) -> dict:
    hub = call.hub
    with hub.db.read() as conn:
        rows = [_state(call, conn, sub_id) for sub_id in dict.fromkeys(ids)]
    base = fhir_base_url()  # as the caller addressed the hub
    entries = []
    for row in rows:
        status = bundles.subscription_status(base, status_of(row), "query-status", [], row.content)
        entries.append(
            {"fullUrl": f"urn:uuid:{status['id']}", "resource": status, "search": {"mode": "match"}}
        )
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


@operation("Subscription", "events", instance=True, methods=("GET", "POST"), interaction="read")
def subscription_events(call: Call) -> dict:
    """``eventsSinceNumber`` (inclusive), ``eventsUntilNumber`` (inclusive), ``content``."""
    hub = call.hub
    since = _number(call, "eventsSinceNumber")
    until = _number(call, "eventsUntilNumber")
    content_p = call.params().get("content") or []
    with hub.db.read() as conn:
        row = _state(call, conn, call.fid)
        content = row.content
        if content_p:
            content = next((v for k, v in content_p[-1].items() if k.startswith("value")), None)
            if content not in CONTENTS:
                raise BadRequest(f"content must be one of {', '.join(CONTENTS)}", ["content"])
        after = (since - 1) if since else 0
        events = load_events(conn, call.fid, after, until, MAX_EVENTS)
        stored = {}
        if content == "full-resource" and events:
            # Read as the caller: what its policy hides is not in the answer.
            stored = visible_versions(hub.db, conn, call.principal, events)
    if stored:
        record_access(hub.db, call.principal, "vread", disclosed(stored))
    resources = {k: v.body for k, v in stored.items()}
    base = fhir_base_url()  # as the caller addressed the hub
    return bundles.notification(base, status_of(row), "query-event", events, content, resources)
