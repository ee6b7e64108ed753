"""Delivery: POST each subscription's events to its rest-hook endpoint, in event-number order, until
the endpoint acknowledges them (2xx). At least once: an event is marked delivered only after a 2xx,
so a crash between the POST and the mark resends it. A failure backs off exponentially (with
jitter) and is retried for as long as it takes; events wait in the outbox, nothing is dropped.

One subscription is delivered by one worker at a time (a lease on its row), so its events never
overtake each other; different subscriptions are delivered in parallel. Workers are woken by
PostgreSQL ``NOTIFY`` when a transaction with events commits (or poll, on SQLite).
"""

from __future__ import annotations

import json
import logging
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from sqlalchemy import delete, insert, or_, select, update

from hub.audit.recorder import Touched, record_access
from hub.auth.principal import INSTITUTION, Principal, system
from hub.auth.tenancy import Policy
from hub.errors import HubError
from hub.fhir import dates
from hub.fhir.registry import TYPES
from hub.fhir.store import Store
from hub.notify import bundles
from hub.notify.outbox import CHANNEL, LIVE
from hub.notify.tables import notify_delivery, notify_disclosure, notify_event, notify_subscription

log = logging.getLogger(__name__)
TASK, SUBSCRIPTION = TYPES["Task"], TYPES["Subscription"]


@dataclass(frozen=True)
class Settings:
    base_url: str  # the FHIR base the notifications name (…/fhir)
    batch: int = 100  # events per notification at most
    timeout_seconds: int = 10
    retry_base_ms: int = 1000
    retry_max_seconds: int = 600
    poll_ms: int = 250
    threads: int = 8

    @classmethod
    def of(cls, config) -> Settings:
        base = config.PUBLIC_BASE_URL or f"http://{config.HOST}:{config.PORT}"
        return cls(
            base_url=base.rstrip("/") + "/fhir",
            batch=config.NOTIFY_BATCH,
            timeout_seconds=config.NOTIFY_TIMEOUT_SECONDS,
            retry_base_ms=config.NOTIFY_RETRY_BASE_MS,
            retry_max_seconds=config.NOTIFY_RETRY_MAX_SECONDS,
            poll_ms=config.NOTIFY_POLL_MS,
            threads=config.NOTIFY_THREADS,
        )


def backoff(failures: int, base_ms: int, max_seconds: int) -> timedelta:
    """Exponential: base, 2 base, 4 base, ... capped; the last fifth jittered so that subscriptions
    failing together do not retry in lockstep."""
    seconds = min(max_seconds, base_ms / 1000 * 2 ** min(failures - 1, 30))
    return timedelta(seconds=seconds * random.uniform(0.8, 1.0))


def subscriber(row) -> Principal:
    """Whom a subscription's full-resource payload is read as: its institution, under its policy."""
    return subscriber_of(row.subscription_id, row.tenant)


def subscriber_of(sub_id: str, tenant: str | None) -> Principal:
    if tenant is None:
        return system("notify")
    return Principal("client", f"Subscription/{sub_id}", tenant, INSTITUTION, ("system/Task.rs",))


def status_of(row) -> bundles.Status:
    status = row.status
    if status in ("requested", "active") and row.failures:
        status = "error"
    return bundles.Status(row.subscription_id, row.topic, status, row.events_since_start, row.last_error)


def load_events(conn, sub_id: str, after: int, until: int | None, limit: int) -> list[bundles.Event]:
    d, e = notify_delivery, notify_event
    q = (
        select(d.c.event_number, e.c.task_id, e.c.task_version, e.c.method, e.c.occurred_at)
        .select_from(d.join(e, e.c.id == d.c.event_id))
        .where(d.c.subscription_id == sub_id, d.c.event_number > after)
        .order_by(d.c.event_number)
        .limit(limit)
    )
    if until is not None:
        q = q.where(d.c.event_number <= until)
    return [bundles.Event(*r) for r in conn.execute(q).all()]


def visible_versions(db, conn, principal: Principal, events: list[bundles.Event]) -> dict:
    """(task id, version) -> the stored version, for the versions the principal's policy lets it read."""
    store = Store(db, conn, Policy(principal))
    out = {}
    for e in events:
        key = (e.task_id, e.task_version)
        if key in out:
            continue
        try:
            out[key] = store.vread(TASK, e.task_id, e.task_version)
        except HubError:  # hidden from this institution now, or gone: the event says only its id
            continue
    return out


def disclosed(stored: dict) -> list[Touched]:
    """What a full-resource payload discloses, for the audit trail (as a read by the recipient)."""
    return [Touched(s.type, s.id, s.tenant, s.patient, s.version) for s in stored.values()]


class Deliverer:
    """One delivery attempt per call of :meth:`attempt`; safe to run in many threads and processes."""

    def __init__(self, db, settings: Settings):
        self.db = db
        self.settings = settings
        self._local = threading.local()

    def _session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = self._local.session = requests.Session()
        return s

    # ----- what is due -----

    def due(self, now: datetime) -> tuple[list[str], datetime | None]:
        """Subscriptions with something to send now, and when the next one falls due otherwise."""
        t = notify_subscription
        with self.db.read() as conn:
            rows = conn.execute(select(t).where(t.c.status.in_(LIVE))).all()
        due, wake = [], None
        for r in rows:
            if r.leased_until is not None and r.leased_until > now:
                continue
            when = self._next_send(r, now)
            if when is None:
                continue
            if when <= now:
                due.append(r.subscription_id)
            elif wake is None or when < wake:
                wake = when
        return due, wake

    def _next_send(self, r, now: datetime) -> datetime | None:
        retry_at = r.next_attempt_at or now
        if r.handshake_at is None or r.delivered_through < r.events_since_start:
            return retry_at
        if r.heartbeat_seconds and r.status == "active":
            last = r.last_sent_at or r.handshake_at
            return max(retry_at, last + timedelta(seconds=r.heartbeat_seconds))
        return None

    # ----- one attempt -----

    def attempt(self, sub_id: str) -> bool:
        """Send what subscription ``sub_id`` is owed next; True when the endpoint took it."""
        now = dates.now_utc()
        row = self._claim(sub_id, now)
        if row is None:
            return False
        sent: list[Touched] = []
        try:
            kind, events, body, sent = self._build(row, now)
            if kind is None:
                self._release(sub_id)
                return False
            ok, error = self._post(row, body)
        except Exception as exc:  # a worker must outlive any one subscription's trouble
            log.exception("notification for Subscription/%s failed to build", sub_id)
            ok, error, kind, events = False, f"internal error: {type(exc).__name__}", "event-notification", []
        self._record(row, ok, error, kind, events, sent)
        if ok and kind == "handshake" and row.status == "requested":
            self._activate(sub_id)
        return ok

    def _claim(self, sub_id: str, now: datetime):
        t = notify_subscription
        # Longer than any POST may take (a subscription's own timeout is at most 120 s): a worker
        # that dies mid-delivery leaves the subscription to the others once its lease runs out.
        lease = timedelta(seconds=30 + max(self.settings.timeout_seconds, 120))
        with self.db.write() as conn:
            return conn.execute(
                update(t)
                .where(
                    t.c.subscription_id == sub_id,
                    t.c.status.in_(LIVE),
                    or_(t.c.leased_until.is_(None), t.c.leased_until <= now),
                    or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now),
                )
                .values(leased_until=now + lease)
                .returning(*t.c)
            ).first()

    def _build(self, row, now: datetime):
        """``(kind, events, bundle, disclosed)``; kind None when nothing is owed after all."""
        st = status_of(row)
        base = self.settings.base_url
        if row.handshake_at is None:
            return "handshake", [], bundles.notification(base, st, "handshake", [], row.content), []
        limit = min(self.settings.batch, row.max_count or self.settings.batch)
        with self.db.read() as conn:
            events = load_events(conn, row.subscription_id, row.delivered_through, None, limit)
            stored = {}
            if events and row.content == "full-resource":
                stored = visible_versions(self.db, conn, subscriber(row), events)
        if events:
            resources = {k: v.body for k, v in stored.items()}
            bundle = bundles.notification(base, st, "event-notification", events, row.content, resources)
            return "event-notification", events, bundle, disclosed(stored)
        if self._next_send(row, now) is not None and row.heartbeat_seconds:
            return "heartbeat", [], bundles.notification(base, st, "heartbeat", [], row.content), []
        return None, [], None, []

    def _post(self, row, bundle: dict) -> tuple[bool, str | None]:
        headers = {"Content-Type": "application/fhir+json; charset=utf-8", "Accept": "application/fhir+json"}
        for h in json.loads(row.headers):
            name, _, value = h.partition(":")
            headers[name.strip()] = value.strip()
        try:
            r = self._session().post(
                row.endpoint,
                data=bundles.dumps(bundle),
                headers=headers,
                timeout=row.timeout_seconds or self.settings.timeout_seconds,
            )
        except requests.RequestException as exc:
            return False, f"{type(exc).__name__}: {str(exc)[:300]}"
        if 200 <= r.status_code < 300:
            return True, None
        return False, f"the endpoint answered {r.status_code}"

    def _record(
        self, row, ok: bool, error: str | None, kind: str, events: list[bundles.Event], sent: list[Touched]
    ) -> None:
        t = notify_subscription
        now = dates.now_utc()
        if ok:
            values = {"failures": 0, "next_attempt_at": None, "last_error": None, "last_sent_at": now}
            if kind == "handshake":
                values["handshake_at"] = now
            if events:
                values["delivered_through"] = events[-1].number
        else:
            failures = row.failures + 1
            delay = backoff(failures, self.settings.retry_base_ms, self.settings.retry_max_seconds)
            values = {"failures": failures, "next_attempt_at": now + delay, "last_error": error}
            log.warning(
                "Subscription/%s: %s; attempt %d, next in %.1fs",
                row.subscription_id,
                error,
                failures,
                delay.total_seconds(),
            )
        with self.db.write() as conn:
            conn.execute(
                update(t)
                .where(t.c.subscription_id == row.subscription_id)
                .values(leased_until=None, **values)
            )
            if ok and sent:
                # Task content left the hub: the auditor records it as the receiver's read.
                conn.execute(
                    insert(notify_disclosure).values(
                        subscription_id=row.subscription_id,
                        organization=row.tenant,
                        sent_at=now,
                        touched=json.dumps([[x.type, x.id, x.tenant, x.patient, x.version] for x in sent]),
                    )
                )

    def audit_disclosures(self, limit: int = 50) -> int:
        """Write pending disclosures to the audit trail, oldest first, each with its removal from the
        queue in one transaction (a crash leaves it queued; two auditors never take the same one)."""
        d = notify_disclosure
        done = 0
        while done < limit:
            with self.db.write() as conn:
                q = select(d.c.id).order_by(d.c.id).limit(1)
                if not self.db.is_sqlite:
                    q = q.with_for_update(skip_locked=True)
                row = conn.execute(delete(d).where(d.c.id == q.scalar_subquery()).returning(*d.c)).first()
                if row is None:
                    return done
                touched = [Touched(*x) for x in json.loads(row.touched)]
                # Another institution's records: the read, with the disclosure pair, as the API would.
                record_access(
                    self.db, subscriber_of(row.subscription_id, row.organization), "vread", touched, conn=conn
                )
            done += 1
        return done

    def _release(self, sub_id: str) -> None:
        t = notify_subscription
        with self.db.write() as conn:
            conn.execute(update(t).where(t.c.subscription_id == sub_id).values(leased_until=None))

    def _activate(self, sub_id: str) -> None:
        """The handshake went through: the Subscription the client asked for is now active."""
        try:
            with self.db.write() as conn:
                store = Store(self.db, conn, Policy(system("notify")))
                current = store.read(SUBSCRIPTION, sub_id)
                res = current.resource()
                if res.get("status") == "requested":
                    res["status"] = "active"
                    store.update(SUBSCRIPTION, sub_id, res, if_match=current.version)
        except HubError as exc:  # changed or ended meanwhile: the client's version stands
            log.info("Subscription/%s not activated: %s", sub_id, exc)


class Worker:
    """The delivery loop: ``run()`` blocks (the CLI worker), ``start()`` runs it in a daemon thread
    (the in-process option of the embedded hub). ``stop()`` ends it."""

    def __init__(self, db, settings: Settings):
        self.db = db
        self.settings = settings
        self.deliverer = Deliverer(db, settings)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._audit_wake = threading.Event()
        self._inflight: set[str] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> Worker:
        t = threading.Thread(target=self.run, name="xietong-notify", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout)

    def run(self) -> None:
        listener = None
        if not self.db.is_sqlite:
            listener = threading.Thread(target=self._listen, name="xietong-notify-listen", daemon=True)
            listener.start()
        auditor = threading.Thread(target=self._audit, name="xietong-notify-audit", daemon=True)
        auditor.start()
        poll = self.settings.poll_ms / 1000 if self.db.is_sqlite else max(self.settings.poll_ms / 1000, 2.0)
        with ThreadPoolExecutor(self.settings.threads, thread_name_prefix="xietong-deliver") as pool:
            while not self._stop.is_set():
                self._wake.clear()
                now = dates.now_utc()
                try:
                    due, wake_at = self.deliverer.due(now)
                except Exception:
                    log.exception("notification worker could not read the outbox")
                    due, wake_at = [], None
                for sub_id in due:
                    with self._lock:
                        if sub_id in self._inflight:
                            continue
                        self._inflight.add(sub_id)
                    pool.submit(self._deliver, sub_id)
                wait = poll
                if wake_at is not None:
                    wait = min(wait, max(0.0, (wake_at - dates.now_utc()).total_seconds()))
                self._wake.wait(wait)
        if listener is not None:
            listener.join(5)
        self._audit_wake.set()
        auditor.join(10)

    def _audit(self) -> None:
        """Disclosures go to the audit trail off the delivery path: the trail's head lock is shared
        with every write of the hub, and a delivery must not queue behind them."""
        while True:
            try:
                self.deliverer.audit_disclosures()
            except Exception:
                log.exception("notification auditor failed; retrying")
            if self._stop.is_set():
                return
            self._audit_wake.wait(1.0)
            self._audit_wake.clear()

    def _deliver(self, sub_id: str) -> None:
        try:
            self.deliverer.attempt(sub_id)
        except Exception:
            log.exception("delivery to Subscription/%s failed", sub_id)
        finally:
            with self._lock:
                self._inflight.discard(sub_id)
            self._wake.set()  # more may be owed (the next batch), or others may now be due
            self._audit_wake.set()

    def _listen(self) -> None:
        import psycopg

        url = self.db.engine.url.render_as_string(hide_password=False).replace(
            "postgresql+psycopg", "postgresql"
        )
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self._wake.set()
            except psycopg.Error:
                log.warning("notification listener lost its connection; reconnecting")
                self._stop.wait(1.0)
