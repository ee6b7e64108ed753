"""Notifications under test: a real HTTP receiver on 127.0.0.1, a real delivery worker, Task writes
through the store (the referral workflow writes Tasks the same way)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hub.auth.principal import INSTITUTION, Principal
from hub.fhir.service import resource_type
from hub.notify.delivery import Settings, Worker
from hub.notify.subscriptions import FILTER_CRITERIA, PAYLOAD_CONTENT
from hub.notify.topics import referral_topic_url
from tests.auth.conftest import alliance  # noqa: F401  (the three institutions and a regulator)

TASK = resource_type("Task")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """A rest-hook endpoint: records every notification Bundle it accepts. ``fail(n)`` answers the
    next n POSTs with 503; ``down()`` closes the port (connection refused) until ``up()``."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.bundles: list[dict] = []
        self.requests = 0
        self.headers: list[dict] = []
        self._failing = 0
        self._lock = threading.Lock()
        self._server = None
        self._conns: set[socket.socket] = set()
        self.up()

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with receiver._lock:
                    receiver._conns.add(self.connection)

            def finish(self):
                with receiver._lock:
                    receiver._conns.discard(self.connection)
                super().finish()

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.requests += 1
                    failing = receiver._failing > 0
                    if failing:
                        receiver._failing -= 1
                    else:
                        receiver.bundles.append(json.loads(body))
                        receiver.headers.append(dict(self.headers))
                self.send_response(503 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._lock:  # kept-alive connections too: down is down
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            self._conns.clear()

    def fail(self, n: int) -> None:
        with self._lock:
            self._failing = n

    def of(self, sub_id: str, kind: str = "event-notification") -> list[dict]:
        with self._lock:
            got = list(self.bundles)
        return [
            b
            for b in got
            if _status(b)["subscription"]["reference"].endswith(f"/Subscription/{sub_id}")
            and _status(b)["type"] == kind
        ]

    def events(self, sub_id: str) -> list[tuple[int, str, int]]:
        """(event number, Task id, Task version) of every event delivered to ``sub_id``, in order."""
        out = []
        for b in self.of(sub_id):
            for ev in _status(b)["notificationEvent"]:
                ref = ev["focus"]["reference"].split("/Task/")[1]
                tid, _, ver = ref.split("/")
                out.append((int(ev["eventNumber"]), tid, int(ver)))
        return out


def _status(bundle: dict) -> dict:
    return bundle["entry"][0]["resource"]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    with contextlib.suppress(OSError):
        r.down()


@pytest.fixture
def worker(app):
    hub = app.extensions["xietong"]
    settings = Settings(base_url="http://localhost/fhir", retry_base_ms=20, retry_max_seconds=1, poll_ms=20)
    w = Worker(hub.db, settings).start()
    yield w
    w.stop()


def wait_until(check, what: str, timeout: float = 60.0):
    """Liveness guard, not a speed assertion: fails only if it never happens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


def subscription(endpoint: str, content: str = "id-only", filters: tuple[str, ...] = (), **extra) -> dict:
    sub = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "转诊状态通知 referral status notifications",
        "criteria": referral_topic_url(),
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": PAYLOAD_CONTENT, "valueCode": content}]},
        },
    }
    if filters:
        sub["_criteria"] = {"extension": [{"url": FILTER_CRITERIA, "valueString": f} for f in filters]}
    sub.update(extra)
    return sub


def institution(org: str) -> Principal:
    return Principal("client", f"test-{org}", org, INSTITUTION, ("system/*.cruds",))


class Tasks:
    """Referral Tasks written through the store, as A (the requester) referring P to B."""

    def __init__(self, app, x):
        self.hub = app.extensions["xietong"]
        self.x = x
        self.a = institution(x["orgs"]["a"])

    def body(self, status="requested", owner="b", business_status=None) -> dict:
        orgs = self.x["orgs"]
        task = {
            "resourceType": "Task",
            "status": status,
            "intent": "order",
            "for": {"reference": f"Patient/{self.x['patient']}"},
            "authoredOn": "2026-11-01",
            "requester": {"reference": f"Organization/{orgs['a']}"},
            "owner": {"reference": f"Organization/{orgs[owner]}"},
        }
        if business_status:
            task["businessStatus"] = {"coding": [{"code": business_status}]}
        return task

    def create(self, status="requested", **kw) -> str:
        with self.hub.db.write() as conn:
            return self.hub.fhir.store(conn, self.a).create(TASK, self.body(status, **kw)).id

    def set(self, tid: str, status: str, **kw) -> int:
        with self.hub.db.write() as conn:
            store = self.hub.fhir.store(conn, self.a)
            body = self.body(status, **kw)
            body["id"] = tid
            return store.update(TASK, tid, body)[0].version


@pytest.fixture
def tasks(app, alliance):  # noqa: F811
    return Tasks(app, alliance)
