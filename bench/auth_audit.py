#!/usr/bin/env python
"""What authentication and the audit trail cost per request: the same workload, with and without them.

    .venv/bin/python bench/auth_audit.py             # 2 rounds of 10 s phases, profile: about 7 min
    .venv/bin/python bench/auth_audit.py --quick     # 1 round of 3 s phases, smaller profile: about 2 min

Two hubs run side by side, each with ``gunicorn --workers 2 --worker-class gthread --threads 4`` on a
database of its own holding the same records (one is built, the other cloned from it):

- **with**: the real hub (``wsgi:app``). Two institution clients (role ``institution``, scopes
  ``system/*.cruds``), each of its own Organization, with tokens from ``POST /auth/token``
  (refreshed every 240 s, ``bench/_auth.py``): institution A creates and reads its own records;
  institution B, to which A referred half of its patients (a ServiceRequest), reads A's records
  about them, which is audited per patient with the export/import disclosure pair the first time
  a version crosses (``B read``: a new record each time), and with an access event alone when B
  reads again what it already holds (``B re-read``: 64 records, disclosed in the warm-up).
- **without**: the same hub code with authentication and audit taken out
  (``bench/_no_auth_audit.py``): a fixed Principal of the same institution per request, no token,
  no AuditEvent. Tenancy is the same on both sides.

Each operation is run by ``--clients`` threads (8) for ``--seconds`` (10) on one hub, then on the
other, for ``--rounds`` (2, the order swapped each round). The report gives req/s, p50/p95, CPU per
request (client/app/PostgreSQL/other processes), AuditEvents written per request, what PostgreSQL
backends waited on, and with ÷ without per operation (target: >= 0.75). Then ``GET /audit/verify``
is timed over the chain the run wrote (scaled to a million events), and (``--profile N``) N requests
of each operation are profiled in-process to show where the time goes. See bench/README.md.

Only 127.0.0.1 is used; both gunicorns are stopped in a ``finally``; every request loop is bounded
in time and count. Databases: ``<prefix>_with`` and ``<prefix>_without`` (re-created each run).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import itertools
import json
import os
import platform
import random
import signal
import statistics
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# As in fhir_core.py: this folder must not come first on sys.path (bench/fhir_core.py would hide the
# ``fhir_core`` package that fhir.resources imports).
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import orjson  # noqa: E402
import psycopg  # noqa: E402

from bench import _auth, _data  # noqa: E402
from bench import _no_auth_audit as stripped  # noqa: E402
from bench import fhir_core as core  # noqa: E402
from hub.auth.principal import Principal  # noqa: E402
from hub.auth.tenancy import Policy  # noqa: E402
from hub.db import Database  # noqa: E402
from hub.fhir.registry import TYPES  # noqa: E402
from hub.fhir.store import Store  # noqa: E402
from tests import factories  # noqa: E402

OUT_DIR = core.OUT_DIR
HEADERS = core.HEADERS
TAG = "aa"
ORG = {k: _data.det_uuid(TAG, "org", k) for k in ("a", "b")}
INSTITUTION_SCOPES = "system/*.cruds"
TARGET = 0.75
VARIANTS = ("with", "without")


def patient_id(i: int) -> str:
    return _data.det_uuid(TAG, "patient", i)


def obs_id(i: int, k: int) -> str:
    return _data.det_uuid(TAG, "obs", i, k)


# --------------------------------------------------------------------------- the records


def build_records(args, pg: core.PG, db: str) -> dict:
    """Organizations A and B; ``--patients`` + ``--write-patients`` Patients of A; Observations of A
    about the first ``--patients`` (log-normal counts, mean ``--obs-per-patient``); a referral from A
    to B (ServiceRequest) for every second one of them. All through the hub's Store, as A (so the
    tenancy, the index rows and the AuditEvents are what the API would write), in chunks of 500."""
    t0 = time.perf_counter()
    core.migrated_db(pg, db)
    hdb = Database(pg.sa_url(db), pool_size=2)
    as_a = Principal("client", "bench-setup", ORG["a"], "institution", (INSTITUTION_SCOPES,))
    n_pat = args.patients + args.write_patients
    counts = _data.patient_counts(args.patients * args.obs_per_patient, args.patients, args.seed)
    templates, source = _data.observation_templates()
    rng = random.Random(args.seed)
    writes: list[tuple[str, dict, str]] = []
    for i in range(n_pat):
        writes.append(("Patient", _data.patient(i, TAG), patient_id(i)))
    observations: dict[int, list[str]] = {}
    for i, c in enumerate(counts):
        observations[i] = [obs_id(i, k) for k in range(c)]
        for k in range(c):
            writes.append(
                ("Observation", _data.observation(rng.choice(templates), rng, patient_id(i)), obs_id(i, k))
            )
    referred = list(range(0, args.patients, 2))
    for i in referred:
        sr = {
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "subject": {"reference": f"Patient/{patient_id(i)}"},
            "authoredOn": "2026-11-01",
            "requester": {"reference": f"Organization/{ORG['a']}"},
            "performer": [{"reference": f"Organization/{ORG['b']}"}],
        }
        writes.append(("ServiceRequest", sr, _data.det_uuid(TAG, "sr", i)))
    try:
        with hdb.write() as conn:
            store = Store(hdb, conn)  # the directory: written by the system
            for k, name in (("a", "县人民医院 (bench A)"), ("b", "市第一人民医院 (bench B)")):
                store.create(
                    TYPES["Organization"], factories.organization(name=name, code=f"BENCH-{k}"), fid=ORG[k]
                )
        for first in range(0, len(writes), 500):
            with hdb.write() as conn:
                store = Store(hdb, conn, Policy(as_a))
                for rtype, body, fid in writes[first : first + 500]:
                    store.create(TYPES[rtype], body, fid=fid)
            print(f"\r  {min(len(writes), first + 500):,}/{len(writes):,} records", end="", flush=True)
        print()
    finally:
        hdb.dispose()
    info = {
        "patients": n_pat,
        "observations": sum(counts),
        "referrals": len(referred),
        "source": source,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(
        f"  built {db}: {n_pat:,} Patients, {info['observations']:,} Observations, "
        f"{len(referred):,} referrals A -> B in {info['seconds']} s ({source})",
        flush=True,
    )
    return {"info": info, "observations": observations, "referred": referred}


def clone(pg: core.PG, source: str, target: str) -> None:
    with pg.admin() as c:
        c.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')


def workload(args, records: dict) -> dict[str, dict]:
    """The operations: ``{key: {label, who, ok, items}}``; the same request lists for both hubs."""
    rng = random.Random(args.seed + 1)
    templates, _ = _data.observation_templates()
    creates = [
        (
            "POST",
            "/fhir/Observation",
            orjson.dumps(
                _data.observation(
                    rng.choice(templates), rng, patient_id(args.patients + j % args.write_patients)
                )
            ),
        )
        for j in range(2000)
    ]
    own_obs = [o for ids in records["observations"].values() for o in ids]
    referred = records["referred"]
    cross_obs = [o for i in referred for o in records["observations"][i]]
    own_patients = list(range(args.patients))
    for lst in (own_obs, cross_obs, own_patients, referred):
        rng.shuffle(lst)
    return {
        "create": {
            "label": "A create Observation",
            "who": "a",
            "ok": 201,
            "items": creates,
        },
        "read": {
            "label": "A read Observation",
            "who": "a",
            "ok": 200,
            "items": [("GET", f"/fhir/Observation/{o}", None) for o in own_obs],
        },
        "search": {
            "label": "A search Observation?patient",
            "who": "a",
            "ok": 200,
            "items": [("GET", f"/fhir/Observation?patient={patient_id(i)}", None) for i in own_patients],
        },
        "cross_read": {
            "label": "B read A's Observation",
            "who": "b",
            "ok": 200,
            "items": [("GET", f"/fhir/Observation/{o}", None) for o in cross_obs],
        },
        # The same 64 records again and again: the warm-up discloses them, so the measured reads are
        # accesses of versions B already holds (one event each, no export/import pair).
        "cross_reread": {
            "label": "B re-read A's Observation",
            "who": "b",
            "ok": 200,
            "items": [("GET", f"/fhir/Observation/{o}", None) for o in cross_obs[:64]],
        },
        "cross_search": {
            "label": "B search A's Observation?patient",
            "who": "b",
            "ok": 200,
            "items": [("GET", f"/fhir/Observation?patient={patient_id(i)}", None) for i in referred],
        },
    }


# --------------------------------------------------------------------------- what PostgreSQL waits on


class WaitSampler:
    """Samples every ``interval`` s what the database's active backends wait on (pg_stat_activity),
    from a connection to the ``postgres`` database (so its own work is not counted as the bench's)."""

    def __init__(self, admin_url: str, db: str, interval: float = 0.1):
        self.admin_url, self.db, self.interval = admin_url, db, interval
        self.counts: collections.Counter = collections.Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> WaitSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)

    def _run(self) -> None:
        q = """SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU'), count(*)
               FROM pg_stat_activity
               WHERE datname = %s AND state = 'active' AND pid <> pg_backend_pid()
               GROUP BY 1"""
        deadline = time.monotonic() + 600  # bounded, whatever happens to the phase
        with psycopg.connect(self.admin_url, autocommit=True) as c:
            while not self._stop.is_set() and time.monotonic() < deadline:
                for what, n in c.execute(q, (self.db,)):
                    self.counts[what] += n
                self.samples += 1
                self._stop.wait(self.interval)

    def mean_backends(self) -> dict[str, float]:
        """Mean number of the database's backends in each state: 'CPU' (running, or client wait), or
        the wait event (``Lock:transactionid``, ``LWLock:WALWrite``, ``IO:WALSync`` ...)."""
        n = max(1, self.samples)
        return {k: round(v / n, 2) for k, v in self.counts.most_common()}


def head_seq(pg: core.PG, db: str) -> int:
    with psycopg.connect(pg.url(db)) as c:
        row = c.execute("SELECT seq FROM audit_head WHERE id = 1").fetchone()
    return row[0] if row else 0


# --------------------------------------------------------------------------- the HTTP phases


def check_servers(servers: dict, callers: dict, ops: dict) -> None:
    """Both hubs answer the workload's first request of each operation alike; B cannot read a patient
    A did not refer (tenancy is on, on both sides)."""
    for key, op in ops.items():
        for v, srv in servers.items():
            status, data, _ = core.Client(srv.port, auth=callers[v][op["who"]]).request(*op["items"][0])
            if status != op["ok"]:
                raise RuntimeError(f"{v}: {op['label']}: {status} {data[:300]!r}")
            if key == "cross_search" and not orjson.loads(data).get("entry"):
                raise RuntimeError(f"{v}: B found none of A's Observations of a referred patient")
    unreferred = f"/fhir/Observation?patient={patient_id(1)}"
    for v, srv in servers.items():
        status, data, _ = core.Client(srv.port, auth=callers[v]["b"]).request("GET", unreferred)
        if status != 200 or orjson.loads(data).get("entry"):
            raise RuntimeError(f"{v}: B sees Observations of a patient A did not refer ({status})")


def run_phases(args, pg: core.PG, servers: dict, callers: dict, ops: dict) -> dict:
    results: dict = {key: {v: [] for v in VARIANTS} for key in ops}
    kw = {"clients": args.clients, "seconds": args.seconds, "warmup": args.warmup}
    for key, op in ops.items():
        print(f"\n== {op['label']} ==", flush=True)
        for r in range(args.rounds):
            order = VARIANTS if r % 2 == 0 else VARIANTS[::-1]
            for v in order:
                srv = servers[v]
                before = head_seq(pg, srv.db_name)
                with WaitSampler(srv.admin_url, srv.db_name) as waits:
                    res = core.run_phase(
                        f"{v:<7} round {r + 1}",
                        srv,
                        op["items"],
                        ok=op["ok"],
                        auth=callers[v][op["who"]],
                        **kw,
                    )
                res["audit_events"] = head_seq(pg, srv.db_name) - before
                res["audit_events_per_request"] = round(res["audit_events"] / max(1, res["completed"]), 2)
                res["pg_waits"] = waits.mean_backends()
                results[key][v].append(res)
    return results


def time_verify(port: int, regulator: _auth.TokenHolder, runs: int) -> dict:
    """``GET /audit/verify`` over the whole chain of the "with" database, ``runs`` times."""
    c = core.Client(port, timeout=600, auth=regulator)
    seconds, body = [], {}
    for _ in range(runs):
        t0 = time.perf_counter()
        status, data, _ = c.request("GET", "/audit/verify")
        seconds.append(time.perf_counter() - t0)
        if status != 200:
            raise RuntimeError(f"/audit/verify answered {status}: {data[:300]!r}")
        body = orjson.loads(data)
        if not body.get("ok"):
            raise RuntimeError(f"the audit chain does not verify: {body}")
    c.close()
    checked = body["checked"]
    return {
        "events": checked,
        "seconds": [round(s, 3) for s in seconds],
        "s_per_million_median": round(statistics.median(seconds) / checked * 1e6, 1),
        "s_per_million_best": round(min(seconds) / checked * 1e6, 1),
        "how": "GET /audit/verify over HTTP as a regulator client, over the whole chain the run wrote "
        "(setup + phases), scaled linearly to 1,000,000 events",
    }


# --------------------------------------------------------------------------- the in-process profile

PROFILE_BUCKETS = {  # label: [(file suffix, function)]: per spec the largest match, summed over specs
    "whole request (test client)": [("flask/testing.py", "open")],
    "authenticate (all below)": [("hub/api/security.py", "authenticate")],
    "  principal_from_token": [("hub/auth/bearer.py", "principal_from_token")],
    "    HubKeys.verify (ES384 + claims)": [("hub/auth/keys.py", "verify")],
    "      joserfc jwt.decode (ES384 verify)": [("joserfc/jwt.py", "decode")],
    "    get_client (SELECT auth_client)": [("hub/auth/clients.py", "get_client")],
    "request_meta (for the audit)": [("hub/audit/api.py", "request_meta")],
    "record_write (all below)": [("hub/audit/recorder.py", "record_write")],
    "record_access (all below)": [("hub/audit/recorder.py", "record_access")],
    "  events.rest_event (build)": [("hub/audit/events.py", "rest_event")],
    "  events.disclosure_pair (build)": [("hub/audit/events.py", "disclosure_pair")],
    "  chain.append (all below)": [("hub/audit/chain.py", "append")],
    "    _lock_head (SELECT ... FOR UPDATE)": [("hub/audit/chain.py", "_lock_head")],
    "    link_hash (format 1: canonical JSON + sha256)": [("hub/audit/chain.py", "link_hash")],
    "    link_digest (format 2: sha256 of two digests)": [("hub/audit/chain.py", "link_digest")],
    "  chain links written at commit (_link)": [("hub/audit/chain.py", "_link")],
    "  all COMMITs": [("sqlalchemy/engine/base.py", "_commit_impl")],
}
CALLEE_BUCKETS = {  # label: ((callee file, function), (caller file, function)): time of those calls
    "    Store.create of the AuditEvent": (("hub/fhir/store.py", "create"), ("hub/audit/chain.py", "append")),
    "    the chain row + head (one statement)": (
        ("sqlalchemy/engine/base.py", "execute"),
        ("hub/audit/chain.py", "append"),
    ),
}


def _stat_keys(stats: dict, spec: tuple[str, str]):
    f, fn = spec
    return [k for k in stats if k[0].endswith(f) and k[2] == fn]


def profile_buckets(stats: dict, n: int) -> dict[str, int]:
    out = {}
    for label, specs in PROFILE_BUCKETS.items():
        total = 0.0
        for spec in specs:
            total += max((stats[k][3] for k in _stat_keys(stats, spec)), default=0.0)
        out[label] = round(total / n * 1e6)
    for label, (callee, caller) in CALLEE_BUCKETS.items():
        ct = 0.0
        for k in _stat_keys(stats, callee):
            for ck, v in stats[k][4].items():
                if ck[0].endswith(caller[0]) and ck[2] == caller[1]:
                    ct += v[3]
        out[label] = round(ct / n * 1e6)
    return out


# In-process variants: how each is made from the real hub (before its requests; undone after them).
PROFILE_VARIANTS = {
    "with": lambda principals: None,
    "auth, no audit": lambda principals: stripped.apply(None, auth=False, audit=True),
    "without": lambda principals: stripped.apply(principals),
}


def profile(args, pg: core.PG, db: str, ops: dict, clients: dict) -> dict:
    """In-process (Flask test client, no HTTP): per operation, CPU per request with and without auth
    and audit (unprofiled), then a cProfile of the "with" requests; then the pieces timed alone."""
    import cProfile
    import pstats

    from hub import create_app
    from hub.config import Config

    app = create_app(Config.from_env({}, DATABASE_URL=pg.sa_url(db), INSTANCE_PATH=str(core.INSTANCE_DIR)))
    tc = app.test_client()
    n = args.profile
    headers = {
        "with": {
            w: {**HEADERS, "Authorization": f"Bearer {_auth.token_in_process(app, *clients[w])}"}
            for w in "ab"
        },
        "without": {w: {**HEADERS, stripped.HEADER: w} for w in "ab"},
    }
    principals = stripped.principals_from({w: {"organization": ORG[w]} for w in "ab"})
    out: dict = {"requests_per_operation": n, "operations": {}}

    def send(op, variant, i):
        method, path, body = op["items"][i % len(op["items"])]
        r = tc.open(path, method=method, data=body, headers=headers[variant][op["who"]])
        if r.status_code != op["ok"]:
            raise RuntimeError(f"profile {op['label']} ({variant}): {r.status_code} {r.data[:300]!r}")

    try:
        for key, op in ops.items():
            row: dict = {}
            for variant, patch in PROFILE_VARIANTS.items():
                patch(principals)
                try:
                    sent_as = "without" if variant == "without" else "with"
                    for i in range(20):  # warm
                        send(op, sent_as, i)
                    t_cpu, t_wall = time.process_time(), time.perf_counter()
                    for i in range(20, 20 + n):
                        send(op, sent_as, i)
                    row[f"CPU µs/request {variant}"] = round((time.process_time() - t_cpu) / n * 1e6)
                    row[f"wall µs/request {variant}"] = round((time.perf_counter() - t_wall) / n * 1e6)
                finally:
                    stripped.restore()
            prof = cProfile.Profile(time.process_time)
            prof.enable()
            for i in range(20 + n, 20 + 2 * n):
                send(op, "with", i)
            prof.disable()
            row["profiled (cProfile, inflated)"] = profile_buckets(pstats.Stats(prof).stats, n)
            out["operations"][key] = row
            print(
                f"  {op['label']:<34} in-process CPU µs/request: with {row['CPU µs/request with']}, "
                f"without {row['CPU µs/request without']}",
                flush=True,
            )
        out["pieces"] = pieces(app, clients)
    finally:
        app.extensions["xietong"].db.dispose()
    return out


def _per_call(fn, n: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per call of ``fn`` over ``n`` calls (after 20 warm ones)."""
    for _ in range(20):
        fn()
    t_cpu, t_wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        fn()
    return round((time.process_time() - t_cpu) / n * 1e6, 1), round(
        (time.perf_counter() - t_wall) / n * 1e6, 1
    )


def pieces(app, clients: dict) -> dict:
    """The pieces of auth and audit timed alone, without a profiler (µs per call, CPU and wall)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from joserfc import jwt

    from hub.audit import chain, events
    from hub.auth.bearer import ACCESS_TOKEN_TYP, MAX_TOKEN_SECONDS, principal_from_token
    from hub.auth.clients import get_client
    from hub.fhir import dates
    from hub.fhir.extract import extract
    from hub.fhir.store import dumps, stamp

    hub = app.extensions["xietong"]
    db, keys = hub.db, app.extensions["xietong_keys"]
    token = _auth.token_in_process(app, *clients["a"])
    aud, iss = "http://localhost/fhir", "http://localhost"
    public = keys.loaded._public
    client_id = clients["a"][0]
    p = principal_from_token(db, keys, token, aud, issuer=iss)
    meta = events.RequestMeta(remote_addr="127.0.0.1", server_url=iss)
    write_event = events.rest_event(
        p,
        "create",
        patient_id=patient_id(0),
        entities=[f"Observation/{obs_id(0, 0)}/_history/1"],
        request_meta=meta,
    )
    when = dates.now_utc()
    stored_text = dumps(stamp(write_event, "x", 1, when))
    raw_key = ec.generate_private_key(ec.SECP384R1())
    message = b"x" * 600
    signature = raw_key.sign(message, ec.ECDSA(hashes.SHA384()))

    def lookup():
        with db.read() as conn:
            get_client(conn, client_id)

    def store_side():
        body = stamp(write_event, "x", 1, when)
        dumps(body)
        extract(TYPES["AuditEvent"], body)

    def append_one():
        with db.write() as conn:
            chain.append(
                db, conn, events.rest_event(p, "create", patient_id=patient_id(1), request_meta=meta)
            )

    n = 1000
    rows = {
        "ES384 verify alone (cryptography, P-384)": _per_call(
            lambda: raw_key.public_key().verify(signature, message, ec.ECDSA(hashes.SHA384())), n
        ),
        "joserfc jwt.decode of an access token": _per_call(
            lambda: jwt.decode(token, public, algorithms=["ES384"]), n
        ),
        "HubKeys.verify (decode + claims checks)": _per_call(
            lambda: keys.verify(token, aud, issuer=iss, typ=ACCESS_TOKEN_TYP, max_lifetime=MAX_TOKEN_SECONDS),
            n,
        ),
        "client lookup (read transaction + SELECT)": _per_call(lookup, n),
        "principal_from_token as the hub calls it (cached or not)": _per_call(
            lambda: principal_from_token(db, keys, token, aud, issuer=iss), n
        ),
        "events.rest_event (a create's AuditEvent)": _per_call(
            lambda: events.rest_event(
                p,
                "create",
                patient_id=patient_id(0),
                entities=[f"Observation/{obs_id(0, 0)}"],
                request_meta=meta,
            ),
            n,
        ),
        "events.disclosure_pair (export + import)": _per_call(
            lambda: events.disclosure_pair(
                ORG["a"],
                ORG["b"],
                patient_id(0),
                [f"Observation/{obs_id(0, 0)}"],
                "treatment",
                principal=p,
                request_meta=meta,
                disclosure_id="x",
            ),  # fmt: skip
            n,
        ),
        "stamp + dumps + extract of an AuditEvent": _per_call(store_side, n),
        "link_hash (format 1: canonical JSON + sha256)": _per_call(
            lambda: chain.link_hash(chain.GENESIS, stored_text), n
        ),
        "link_digest (format 2, the chainer's work per event)": _per_call(
            lambda: chain.link_digest(chain.GENESIS, chain.GENESIS), n
        ),
        "chain.append in its own transaction (1 connection)": _per_call(append_one, n),
    }
    return {k: {"cpu_us": v[0], "wall_us": v[1]} for k, v in rows.items()} | {
        "audit_event_bytes": len(stored_text),
        "cross_read_record_by_group": cross_read_record_cost(db, p, meta),
    }


def _backend_cpu_seconds(pid: int) -> float:
    """User + system CPU of a local PostgreSQL backend process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cross_read_record_cost(db, principal, meta) -> dict:
    """CPU per cross-institution read of its audit record (access event + disclosure pair), written
    k requests to a transaction as the group writer does under load, on both sides of the
    connection: this process (build + store) and its PostgreSQL backend (read from /proc, so only
    when the server runs on this machine). Then the chainer's CPU per event linking them."""
    from hub.audit import chain, writer
    from hub.audit.recorder import Touched, access_record

    versions = itertools.count(1_000_000)  # a version never read before: every read discloses

    def record():
        t = Touched("Observation", obs_id(0, 0), ORG["a"], patient_id(0), next(versions))
        return access_record(b_principal, "read", {patient_id(0): [t]})

    b_principal = dataclasses.replace(principal, organization=ORG["b"])
    out: dict = {}
    with db.engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        conn.commit()
        if not Path(f"/proc/{pid}/stat").exists():
            return {"skipped": "PostgreSQL is not a local process"}
        for k in (1, 4, 16, 64):
            n = max(1200 // k, 20)

            def group(k=k):
                chain.append_many(db, conn, writer.events_of([record() for _ in range(k)], conn))
                conn.commit()

            for _ in range(3):
                group()
            pg0, cpu0 = _backend_cpu_seconds(pid), time.process_time()
            for _ in range(n):
                group()
            reads = n * k
            out[f"{k} per transaction"] = {
                "app_us": round((time.process_time() - cpu0) / reads * 1e6),
                "pg_us": round((_backend_cpu_seconds(pid) - pg0) / reads * 1e6),
            }
    cpu0 = time.process_time()
    linked = chain.link_all(db)
    out["chainer app µs per event"] = round((time.process_time() - cpu0) / max(linked, 1) * 1e6)
    return out


# --------------------------------------------------------------------------- report


def summarize(results: dict, ops: dict) -> dict:
    out = {}
    for key, per in results.items():
        row = {"label": ops[key]["label"]}
        for v in VARIANTS:
            rs = per[v]
            row[v] = {
                "per_s": round(statistics.median(r["per_s"] for r in rs), 1),
                "p50_ms": statistics.median(r["p50_ms"] for r in rs),
                "p95_ms": statistics.median(r["p95_ms"] for r in rs),
                "cpu": {
                    k: round(statistics.median(r["cpu_us_per_request"][k] for r in rs))
                    for k in rs[0]["cpu_us_per_request"]
                },
                "audit_events_per_request": statistics.median(r["audit_events_per_request"] for r in rs),
                "errors": sum(r["errors"] for r in rs),
                "rounds": [r["per_s"] for r in rs],
                "pg_waits": rs[0]["pg_waits"],
            }
        w, wo = row["with"], row["without"]
        row["ratio"] = round(w["per_s"] / wo["per_s"], 3) if wo["per_s"] else None
        cost = {
            v: row[v]["cpu"]["client"] + row[v]["cpu"]["app"] + row[v]["cpu"]["postgres"] for v in VARIANTS
        }
        row["ratio_by_cpu"] = round(cost["without"] / cost["with"], 3) if cost["with"] else None
        row["met"] = row["ratio"] is not None and row["ratio"] >= TARGET
        out[key] = row
    return out


def report(res: dict) -> list[str]:
    lines = []
    s = res.get("summary") or {}
    if s:
        lines.append(
            f"Auth + audit cost: {res['meta']['clients']} clients, {res['meta']['seconds']} s per phase, "
            f"{res['meta']['rounds']} round(s), {res['meta']['server']}; medians over rounds"
        )
        widths = (32, 9, 9, 6, 13, 13, 11, 24, 24)
        lines.append(
            core.fmt_row(
                (
                    "operation",
                    "with/s",
                    "without/s",
                    "ratio",
                    "with p50/p95",
                    "w/o p50/p95",
                    "events/req",
                    "CPU µs with c/app/pg/oth",
                    "CPU µs w/o c/app/pg/oth",
                ),
                widths,
            )
        )
        for row in s.values():
            w, wo = row["with"], row["without"]

            def cpu(x):
                c = x["cpu"]
                return f"{c['client']}/{c['app']}/{c['postgres']}/{c['other']}"

            lines.append(
                core.fmt_row(
                    (
                        row["label"],
                        w["per_s"],
                        wo["per_s"],
                        f"{row['ratio']:.2f}",
                        f"{w['p50_ms']:.1f}/{w['p95_ms']:.1f}",
                        f"{wo['p50_ms']:.1f}/{wo['p95_ms']:.1f}",
                        w["audit_events_per_request"],
                        cpu(w),
                        cpu(wo),
                    ),
                    widths,
                )
            )
        lines.append("")
        for row in s.values():
            lines.append(
                f"{row['label']:<34} with ÷ without {row['ratio']:.2f} "
                f"(by CPU cost {row['ratio_by_cpu']:.2f})  "
                f"[target >= {TARGET}: {'MET' if row['met'] else 'NOT MET'}]"
            )
        lines.append("")
        lines.append("PostgreSQL backends of the bench database, mean number in each state (first round):")
        for row in s.values():
            for v in VARIANTS:
                waits = ", ".join(f"{k} {n}" for k, n in list(row[v]["pg_waits"].items())[:5])
                lines.append(f"  {row['label']:<34} {v:<7} {waits}")
        others = [
            r["cpu"]["other"]
            / max(1, r["cpu"]["client"] + r["cpu"]["app"] + r["cpu"]["postgres"] + r["cpu"]["other"])
            for row in s.values()
            for r in (row["with"], row["without"])
        ]
        if max(others) > 0.1:
            lines.append(
                f"!! other processes took up to {max(others):.0%} of the CPU during these phases: "
                "the throughput figures are disturbed; read the CPU columns too"
            )
    v = res.get("verify")
    if v:
        lines.append("")
        lines.append(
            f"/audit/verify: {v['events']:,} events in {statistics.median(v['seconds']):.2f} s (median of "
            f"{len(v['seconds'])}) = {v['s_per_million_median']} s per million events (best "
            f"{v['s_per_million_best']}); {v['how']}"
        )
    p = res.get("profile")
    if p:
        lines.append("")
        lines.append(
            f"In-process profile ({p['requests_per_operation']} requests per operation; Flask test client):"
        )
        keys = list(p["operations"])
        widths = (44, *([13] * len(keys)))
        lines.append(core.fmt_row(("", *keys), widths))
        for variant in PROFILE_VARIANTS:
            k = f"CPU µs/request {variant}"
            lines.append(core.fmt_row((k, *[p["operations"][op][k] for op in keys]), widths))
        lines.append(
            core.fmt_row(
                (
                    "  with - without",
                    *[
                        p["operations"][op]["CPU µs/request with"]
                        - p["operations"][op]["CPU µs/request without"]
                        for op in keys
                    ],
                ),
                widths,
            )
        )
        lines.append("cProfile, cumulative CPU µs per request (inflated by the profiler; compare rows):")
        for label in [*PROFILE_BUCKETS, *CALLEE_BUCKETS]:
            lines.append(
                core.fmt_row(
                    (label, *[p["operations"][op]["profiled (cProfile, inflated)"][label] for op in keys]),
                    widths,
                )
            )
        lines.append("Pieces timed alone (µs per call, CPU / wall):")
        for label, t in p["pieces"].items():
            if isinstance(t, dict) and "cpu_us" in t:
                lines.append(f"  {label:<52} {t['cpu_us']:>8} / {t['wall_us']}")
        lines.append(f"  a create's AuditEvent as stored: {p['pieces']['audit_event_bytes']} bytes of JSON")
        groups = p["pieces"].get("cross_read_record_by_group") or {}
        if "skipped" not in groups:
            lines.append("A cross read's audit record (3 events), CPU µs per read, by reads per commit:")
            for label, v in groups.items():
                if isinstance(v, dict):
                    lines.append(f"  {label:<20} app {v['app_us']:>6}   postgres {v['pg_us']:>6}")
            chainer = groups.get("chainer app µs per event")
            lines.append(f"  the chainer, app CPU per event linked: {chainer} µs")
    return lines


# --------------------------------------------------------------------------- main


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 round of 3 s phases, 100 profiled requests")
    ap.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    ap.add_argument("--seconds", type=float, help="measured seconds per phase (default 10)")
    ap.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each phase")
    ap.add_argument("--rounds", type=int, help="with/without alternations per operation (default 2)")
    ap.add_argument(
        "--patients", type=int, default=1000, help="A's patients with Observations (default 1000)"
    )
    ap.add_argument("--write-patients", type=int, default=200, help="A's patients the creates are about")
    ap.add_argument(
        "--obs-per-patient", type=int, default=5, help="mean Observations per patient (default 5)"
    )
    ap.add_argument(
        "--profile", type=int, help="requests per operation profiled in-process (default 300; 0: none)"
    )
    ap.add_argument("--verify-runs", type=int, default=3, help="timed GET /audit/verify runs")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--worker-class", default="gthread", choices=("gthread", "sync"))
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument(
        "--pg",
        default=os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432"),
        help="PostgreSQL cluster, without database",
    )
    ap.add_argument("--db-prefix", default="xietong_bench_aa")
    ap.add_argument("--seed", type=int, default=20261122)
    args = ap.parse_args(argv)
    q = args.quick
    args.seconds = args.seconds if args.seconds is not None else (3.0 if q else 10.0)
    args.rounds = args.rounds if args.rounds is not None else (1 if q else 2)
    args.profile = args.profile if args.profile is not None else (100 if q else 300)
    args.app = "wsgi:app"
    if "127.0.0.1" not in args.pg and "localhost" not in args.pg:
        ap.error("--pg must be on 127.0.0.1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    log = OUT_DIR / f"gunicorn-auth-audit-{stamp}.log"
    pg = core.PG(args.pg)
    t0 = time.perf_counter()
    dbs = {v: f"{args.db_prefix}_{v}" for v in VARIANTS}
    res: dict = {
        "meta": {
            "started": stamp,
            "host": platform.node(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "postgres": pg.version(),
            "pg_settings": pg.settings(),
            "clients": args.clients,
            "seconds": args.seconds,
            "warmup": args.warmup,
            "rounds": args.rounds,
            "argv": sys.argv[1:],
            "databases": dbs,
        }
    }
    print(
        f"Xietong auth + audit benchmark: PostgreSQL {res['meta']['postgres']}, {os.cpu_count()} CPUs; "
        f"gunicorn log {log.relative_to(ROOT)}",
        flush=True,
    )
    try:
        print(f"\n== records (database {dbs['with']}, cloned to {dbs['without']}) ==", flush=True)
        records = build_records(args, pg, dbs["with"])
        res["records"] = records["info"]
        clone(pg, dbs["with"], dbs["without"])
        sa = pg.sa_url(dbs["with"])
        clients = {
            w: _auth.register_client(sa, f"bench institution {w}", ORG[w], "institution", INSTITUTION_SCOPES)
            for w in "ab"
        }
        regulator = _auth.register_client(sa, "bench regulator", None, "regulator", "system/*.rs")
        ops = workload(args, records)
        principals_env = json.dumps({w: {"organization": ORG[w]} for w in "ab"})
        with contextlib.ExitStack() as stack:
            servers = {
                "with": stack.enter_context(core.Server(args, pg, dbs["with"], log)),
                "without": stack.enter_context(
                    core.Server(
                        args,
                        pg,
                        dbs["without"],
                        log,
                        app="bench._no_auth_audit:app",
                        env={stripped.ENV: principals_env},
                    )
                ),
            }
            res["meta"]["server"] = servers["with"].describe()
            res["meta"]["server_without"] = servers["without"].describe()
            port = servers["with"].port
            callers = {
                "with": {w: _auth.TokenHolder(port, *clients[w], HEADERS) for w in "ab"},
                "without": {w: _auth.FixedHeaders({**HEADERS, stripped.HEADER: w}) for w in "ab"},
            }
            check_servers(servers, callers, ops)
            before = {v: head_seq(pg, db) for v, db in dbs.items()}
            results = run_phases(args, pg, servers, callers, ops)
            res["phases"] = results
            res["summary"] = summarize(results, ops)
            res["tokens"] = {
                w: {"fetched": h.fetches, "fetch_ms": h.fetch_ms} for w, h in callers["with"].items()
            }
            added = head_seq(pg, dbs["without"]) - before["without"]
            if added:
                raise RuntimeError(f"the hub without audit wrote {added} AuditEvents: the patch did not take")
            print("\n== GET /audit/verify over the chain of the run ==", flush=True)
            res["verify"] = time_verify(port, _auth.TokenHolder(port, *regulator, HEADERS), args.verify_runs)
            print(
                f"  {res['verify']['events']:,} events: {res['verify']['s_per_million_median']} s per million"
            )
        if args.profile:
            print(f"\n== in-process profile: {args.profile} requests per operation ==", flush=True)
            res["profile"] = profile(args, pg, dbs["with"], ops, clients)
    except KeyboardInterrupt:
        print("\ninterrupted: gunicorn stopped; partial results follow", flush=True)
        res["interrupted"] = True
    except Exception as exc:  # report what was measured before the failure, then fail
        core.record_failure(res, exc, log)
    return core.finish(res, t0, f"auth_audit-{stamp}", report(res))


if __name__ == "__main__":
    sys.exit(main())
