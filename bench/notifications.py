#!/usr/bin/env python
"""Notification benchmark: time from a Task change's commit to its notification at a real receiver.

    .venv/bin/python bench/notifications.py              # 50 clients, 30 s of load (about 1.5 min)
    .venv/bin/python bench/notifications.py --quick      # 10 s of load
    .venv/bin/python bench/notifications.py --clients 20 --seconds 60

What runs, all on 127.0.0.1: PostgreSQL (a database of its own, ``xietong_bench_notify``, recreated
by the migrations); the hub under gunicorn (2 gthread workers x 8 threads); ONE ``flask notify
worker`` process (the CLI worker, woken by LISTEN/NOTIFY); a threaded HTTP receiver in this process.
Five requesting institutions and one tertiary hospital each have a machine client with a real
token. Each requester subscribes (id-only, filter ``requester=`` itself), the tertiary hospital
subscribes (full-resource, filter ``owner=`` itself): every Task change owes two notifications.

``--clients`` threads (default 50), ten per requester, each loop over referral Tasks through the
REST API: POST a Task ``requested`` (owner: the tertiary hospital), then PUT it ``received``,
``accepted``, ``in-progress``, ``completed`` — five changes a Task, each its own transaction and
outbox event. Every notification's arrival is matched to the change it reports (Task id and
version, from the SubscriptionStatus' ``focus``).

Latency from commit: a transaction that leaves events NOTIFYs the workers' channel as it commits
(payload ``<Task id>/<version>``); this script LISTENs on it too, and the NOTIFY's arrival is the
commit as observed from outside. Time from there to the receiver's first arrival of that change is
"from the commit"; the target is p95 under 1 s. For comparison: from the client's 2xx (after the
commit: a lower bound); from the Task version's ``meta.lastUpdated``, set inside the transaction
before it waits for the audit chain's head and commits (an upper bound; same machine, same clock);
from the request being sent (adds the queue for a server thread: 50 clients, 16 server threads).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import orjson  # noqa: E402

from bench import _auth  # noqa: E402
from bench import fhir_core as core  # noqa: E402

DB = "xietong_bench_notify"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
TOPIC = "http://xietong.example/fhir/SubscriptionTopic/referral-task-status"
PATH = ("received", "accepted", "in-progress", "completed")
REQUESTERS = 5


class Receiver:
    """Records the first arrival (monotonic) of each (subscription, Task, version)."""

    def __init__(self):
        self.port = core.free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.arrivals: dict[tuple[str, str, int], tuple[float, float]] = {}  # -> (monotonic, wall)
        self.posts = 0
        self.events = 0
        self.duplicates = 0
        self.lock = threading.Lock()
        self.conns: set = set()
        me = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with me.lock:
                    me.conns.add(self.connection)

            def finish(self):
                with me.lock:
                    me.conns.discard(self.connection)
                super().finish()

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.monotonic()
                wall = time.time()
                bundle = orjson.loads(body)
                status = bundle["entry"][0]["resource"]
                sub = status["subscription"]["reference"].rsplit("/", 1)[1]
                with me.lock:
                    me.posts += 1
                    for ev in status.get("notificationEvent") or []:
                        tid, _, version = ev["focus"]["reference"].split("/Task/")[1].split("/")
                        key = (sub, tid, int(version))
                        me.events += 1
                        if key in me.arrivals:
                            me.duplicates += 1
                        else:
                            me.arrivals[key] = (now, wall)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.handler = Handler
        self.up()

    def up(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.up_at = time.monotonic()

    def stop(self):
        """Down: the port refuses connections, kept-alive ones are cut."""
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            for c in self.conns:
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)
            self.conns.clear()


def subscription(endpoint: str, content: str, criteria: str) -> bytes:
    return orjson.dumps(
        {
            "resourceType": "Subscription",
            "status": "requested",
            "reason": "benchmark",
            "criteria": TOPIC,
            "_criteria": {
                "extension": [{"url": BACKPORT + "backport-filter-criteria", "valueString": criteria}]
            },
            "channel": {
                "type": "rest-hook",
                "endpoint": endpoint,
                "payload": "application/fhir+json",
                "_payload": {
                    "extension": [{"url": BACKPORT + "backport-payload-content", "valueCode": content}]
                },
            },
        }
    )


def expect(status: int, data: bytes, what: str, ok=(200, 201)) -> dict:
    if status not in ok:
        raise RuntimeError(f"{what}: {status} {data[:300]!r}")
    return orjson.loads(data) if data else {}


class CommitListener:
    """LISTENs on the outbox's channel, as the worker does: the hub NOTIFYs when a transaction with
    events commits, payload ``<Task id>/<version>``. Its arrival here is the commit, observed."""

    def __init__(self, url: str):
        import psycopg

        self.seen: dict[tuple[str, int], float] = {}
        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute("LISTEN xietong_notify")
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopped.is_set():
            for n in self.conn.notifies(timeout=0.5):
                if n.payload:
                    tid, _, version = n.payload.rpartition("/")
                    self.seen.setdefault((tid, int(version)), time.monotonic())

    def stop(self):
        self.stopped.set()
        self.thread.join(5)
        self.conn.close()


def client_for(server, sa_url: str, org: str | None, role: str) -> core.Client:
    cid, key = _auth.register_client(sa_url, f"bench {role} {org}", org, role)
    return core.Client(server.port, auth=_auth.TokenHolder(server.port, cid, key, core.HEADERS))


def written_at(task: dict) -> float:
    """meta.lastUpdated (set in the writing transaction, before its commit) as a Unix time."""
    from datetime import datetime

    return datetime.fromisoformat(task["meta"]["lastUpdated"].replace("Z", "+00:00")).timestamp()


def version_of(location: str | None) -> tuple[str, int]:
    tid, version = location.split("/Task/")[1].split("/_history/")
    return tid, int(version)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10 s of load")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, help="seconds of load (default 30; 10 with --quick)")
    ap.add_argument(
        "--owner-content",
        default="full-resource",
        choices=("full-resource", "id-only"),
        help="the tertiary hospital's payload (default full-resource)",
    )
    ap.add_argument(
        "--outage",
        type=float,
        default=0,
        metavar="S",
        help="the receiver refuses connections for the first S seconds of load, then recovers",
    )
    ap.add_argument("--worker-threads", type=int, default=8, help="the CLI worker's parallel deliveries")
    ap.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432"))
    args = ap.parse_args(argv)
    seconds = args.seconds or (10.0 if args.quick else 30.0)
    t0 = time.perf_counter()
    pg = core.PG(args.pg)
    core.migrated_db(pg, DB)
    sa_url = pg.sa_url(DB)
    log = core.OUT_DIR / "notifications.log"
    server_args = SimpleNamespace(workers=2, worker_class="gthread", threads=8, app="wsgi:app")
    res: dict = {"meta": {"clients": args.clients, "seconds": seconds, "postgres": pg.version()}}
    receiver = Receiver()
    worker = wlog = None
    try:
        with core.Server(server_args, pg, DB, log) as server:
            admin = client_for(server, sa_url, None, "admin")
            orgs = []
            for i in range(REQUESTERS + 1):
                org = {"resourceType": "Organization", "name": f"基准医院 {i}", "active": True}
                s, data, _ = admin.request("POST", "/fhir/Organization", orjson.dumps(org))
                orgs.append(expect(s, data, "create Organization")["id"])
            tertiary, requesters = orgs[0], orgs[1:]
            owner_client = client_for(server, sa_url, tertiary, "institution")
            s, data, _ = owner_client.request(
                "POST",
                "/fhir/Subscription",
                subscription(receiver.url, args.owner_content, f"Task?owner={tertiary}"),
            )
            expect(s, data, "subscribe (owner)")
            patients = {}
            for org in requesters:
                c = client_for(server, sa_url, org, "institution")
                s, data, _ = c.request(
                    "POST",
                    "/fhir/Subscription",
                    subscription(receiver.url, "id-only", f"Task?requester={org}"),
                )
                expect(s, data, "subscribe (requester)")
                patient = {"resourceType": "Patient", "name": [{"text": "基准患者"}], "gender": "female"}
                s, data, _ = c.request("POST", "/fhir/Patient", orjson.dumps(patient))
                patients[org] = expect(s, data, "create Patient")["id"]

            env = dict(
                os.environ,
                DATABASE_URL=server.db_url,
                PUBLIC_BASE_URL=server.base_url,
                INSTANCE_PATH=str(core.INSTANCE_DIR),
                PYTHONPATH=str(ROOT),
            )
            wlog = open(core.OUT_DIR / "notifications-worker.log", "ab")  # noqa: SIM115 (closed below)
            worker = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "flask"),
                    "--app",
                    "wsgi",
                    "notify",
                    "worker",
                    "--threads",
                    str(args.worker_threads),
                ],
                cwd=ROOT,
                env=env,
                stdout=wlog,
                stderr=wlog,
                start_new_session=True,
            )
            # The handshakes first: then only Task changes are measured.
            deadline = time.monotonic() + 60
            while receiver.posts < REQUESTERS + 1 and time.monotonic() < deadline:
                time.sleep(0.05)

            commits = CommitListener(pg.url(DB))
            # (Task id, version) -> (request sent, 2xx received: monotonic; meta.lastUpdated: wall clock)
            changes: dict[tuple[str, int], tuple[float, float, float]] = {}
            lock = threading.Lock()
            stop_at = time.monotonic() + seconds
            failures = []

            clients = [
                client_for(server, sa_url, requesters[n % REQUESTERS], "institution")
                for n in range(args.clients)
            ]
            for c in clients:
                c.auth.headers()  # each client's first token, before the clock starts

            def drive(n: int):
                org = requesters[n % REQUESTERS]
                c = clients[n]
                rng = random.Random(n)
                try:
                    while time.monotonic() < stop_at:
                        task = {
                            "resourceType": "Task",
                            "status": "requested",
                            "intent": "order",
                            "priority": rng.choice(("routine", "urgent")),
                            "for": {"reference": f"Patient/{patients[org]}"},
                            "requester": {"reference": f"Organization/{org}"},
                            "owner": {"reference": f"Organization/{tertiary}"},
                        }
                        sent = time.monotonic()
                        s, data, loc = c.request("POST", "/fhir/Task", orjson.dumps(task))
                        answered = time.monotonic()
                        written = written_at(expect(s, data, "create Task"))
                        key = version_of(loc)
                        with lock:
                            changes[key] = (sent, answered, written)
                        task["id"] = key[0]
                        for status in PATH:
                            task["status"] = status
                            sent = time.monotonic()
                            s, data, loc = c.request("PUT", f"/fhir/Task/{key[0]}", orjson.dumps(task))
                            answered = time.monotonic()
                            written = written_at(expect(s, data, f"PUT Task {status}"))
                            with lock:
                                changes[version_of(loc)] = (sent, answered, written)
                except Exception as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")

            if args.outage:
                receiver.stop()
                threading.Timer(args.outage, receiver.up).start()
            load_started = time.monotonic()
            threads = [threading.Thread(target=drive, args=(n,)) for n in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            load_s = time.monotonic() - load_started
            expected = 2 * len(changes)
            drain_started = time.monotonic()
            while (
                len(receiver.arrivals) - (REQUESTERS + 1) * 0 < expected
                and time.monotonic() - drain_started < 120
            ):
                time.sleep(0.05)
            drain_s = time.monotonic() - drain_started
            commits.stop()

        lower, upper, queued, committed = [], [], [], []
        missing = 0
        arrivals = receiver.arrivals
        last_arrival = max((at for at, _ in arrivals.values()), default=float("nan"))
        by_change: dict[tuple[str, int], list[float]] = {}
        for (_sub, tid, version), at in arrivals.items():
            by_change.setdefault((tid, version), []).append(at)
        for key, (sent, answered, written) in changes.items():
            got = by_change.get(key, [])
            missing += 2 - len(got)
            seen = commits.seen.get(key)
            for at, wall in got:
                if seen is not None:
                    committed.append((at - seen) * 1e3)
                lower.append((at - answered) * 1e3)
                upper.append((wall - written) * 1e3)
                queued.append((at - sent) * 1e3)
        res["figures"] = {
            "task_changes": len(changes),
            "changes_per_s": round(len(changes) / load_s, 1),
            "notifications_expected": expected,
            "notifications_missing": missing,
            "receiver_posts": receiver.posts,
            "events_received": receiver.events,
            "duplicates": receiver.duplicates,
            "events_per_post": round(receiver.events / max(1, receiver.posts), 2),
            "drain_after_load_s": round(drain_s, 2),
            "outage_s": args.outage,
            "complete_after_recovery_s": round(last_arrival - receiver.up_at, 2) if args.outage else None,
            "commits_observed": len(commits.seen),
            "from_commit_ms": {f"p{p}": round(core.pct(committed, p), 1) for p in (50, 95, 99, 100)},
            "from_answer_ms": {f"p{p}": round(core.pct(lower, p), 1) for p in (50, 95, 99, 100)},
            "from_write_ms": {f"p{p}": round(core.pct(upper, p), 1) for p in (50, 95, 99, 100)},
            "from_request_ms": {f"p{p}": round(core.pct(queued, p), 1) for p in (50, 95, 99, 100)},
            "client_failures": failures[:5],
        }
    except (KeyboardInterrupt, Exception) as exc:  # report what was measured
        core.record_failure(res, exc, log)
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
        if wlog is not None:
            wlog.close()
        receiver.stop()
    return core.finish(res, t0, "notifications", report(res))


def report(res: dict) -> list[str]:
    f = res.get("figures")
    m = res["meta"]
    if not f:
        return [f"no figures: {res.get('error')}"]
    lo, hi, q, c = f["from_answer_ms"], f["from_write_ms"], f["from_request_ms"], f["from_commit_ms"]
    return [
        f"notifications: {m['clients']} clients, {m['seconds']:.0f} s of load, PostgreSQL {m['postgres']}",
        f"Task changes committed: {f['task_changes']} ({f['changes_per_s']}/s over HTTP, 5 per referral)",
        f"notifications owed: {f['notifications_expected']}; missing: {f['notifications_missing']}; "
        f"duplicates: {f['duplicates']}; {f['events_per_post']} events per POST "
        f"({f['receiver_posts']} POSTs)",
        f"backlog drained {f['drain_after_load_s']} s after the load stopped",
        *(
            [
                f"receiver refused connections for the first {f['outage_s']:.0f} s; the last notification "
                f"arrived {f['complete_after_recovery_s']} s after it came back "
                f"(load went on for {m['seconds'] - f['outage_s']:.0f} s of that; backoff delays retries)"
            ]
            if f["outage_s"]
            else []
        ),
        "time to notification, ms        p50      p95      p99      max",
        f"  from the commit (NOTIFY)    {c['p50']:8.1f} {c['p95']:8.1f} {c['p99']:8.1f} {c['p100']:8.1f}",
        f"  from the 2xx (lower bound)  {lo['p50']:8.1f} {lo['p95']:8.1f} {lo['p99']:8.1f} {lo['p100']:8.1f}",
        f"  from the write (upper bound){hi['p50']:8.1f} {hi['p95']:8.1f} {hi['p99']:8.1f} {hi['p100']:8.1f}",
        f"  from the request (+queueing){q['p50']:8.1f} {q['p95']:8.1f} {q['p99']:8.1f} {q['p100']:8.1f}",
        (
            "target: not judged in an outage run (latency includes the outage)"
            if f["outage_s"]
            else f"target p95 < 1000 ms from commit: {'met' if c['p95'] < 1000 else 'NOT met'} "
            f"({c['p95']:.0f} ms; {f['commits_observed']} commits observed)"
        ),
        *(f"client failure: {x}" for x in f["client_failures"]),
    ]


if __name__ == "__main__":
    sys.exit(main())
