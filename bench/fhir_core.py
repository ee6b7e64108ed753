#!/usr/bin/env python
"""FHIR core benchmark: create/read/search/transaction throughput against a floor, and search latency
at 10k vs 1M Observations, all through the real server stack (gunicorn + Flask + PostgreSQL).

    .venv/bin/python bench/fhir_core.py                    # the full run (about 6-8 min on 2 cores)
    .venv/bin/python bench/fhir_core.py --reuse            # keep the 1M database if it is complete
    .venv/bin/python bench/fhir_core.py --quick            # 3 s phases, 100k instead of 1M: about 70 s
    .venv/bin/python bench/fhir_core.py --skip-1m          # writes and the 10k search only

See bench/README.md for what each figure means. Needs PostgreSQL (``--pg``, trust auth); creates and
drops its own databases (``xietong_bench*``; the large one is kept for ``--reuse``). Only
127.0.0.1 is used.

Every request carries an access token: the script registers its own client (role ``admin``, scopes
``system/*.cruds``, no organization) in each bench database, and gets and refreshes its tokens from
``POST /auth/token`` of the gunicorn it started (``bench/_auth.py``). An admin reads everything, so
no tenancy filter applies; writes are audited (a chained AuditEvent per write) as in production.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import itertools
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder would come first on sys.path, and this file's name would then
# hide the ``fhir_core`` package that fhir.resources imports: put the repository there instead.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import orjson  # noqa: E402
import psycopg  # noqa: E402
from tqdm import tqdm  # noqa: E402

from bench import _auth, _data  # noqa: E402
from hub import migrate  # noqa: E402
from hub.api import floor as floor_api  # noqa: E402

OUT_DIR = ROOT / "bench" / "out"
# The hub's INSTANCE_PATH for the benchmark servers: its signing key is created there on first use
# (under a file lock, so that both gunicorn workers, and every server of a run, share one key).
INSTANCE_DIR = OUT_DIR / "instance"
ADMIN_SCOPES = "system/*.cruds"
FHIR_JSON = "application/fhir+json"
HEADERS = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
GENERATOR_VERSION = "1"  # bump when bench/_data.py makes different records (invalidates --reuse)
LOADED_TABLES = [
    "res_observation",
    "res_patient",
    "resource_history",
    "idx_token",
    "idx_string",
    "idx_date",
    "idx_ref",
]


# --------------------------------------------------------------------------- PostgreSQL


class PG:
    """Admin side: databases by name on one cluster."""

    def __init__(self, base: str):
        self.base = base.rstrip("/")  # postgresql://user@host:port

    def url(self, db: str) -> str:
        return f"{self.base}/{db}"

    def sa_url(self, db: str) -> str:
        return self.url(db).replace("postgresql://", "postgresql+psycopg://", 1)

    def admin(self):
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def exists(self, db: str) -> bool:
        with self.admin() as c:
            return c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone() is not None

    def recreate(self, db: str) -> None:
        with self.admin() as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{db}"')

    def version(self) -> str:
        with self.admin() as c:
            return c.execute("SHOW server_version").fetchone()[0]

    def settings(self) -> dict:
        names = ("shared_buffers", "synchronous_commit", "default_transaction_isolation", "jit")
        with self.admin() as c:
            return {n: c.execute(f"SHOW {n}").fetchone()[0] for n in names}


def migrated_db(pg: PG, db: str) -> None:
    pg.recreate(db)
    migrate.upgrade(pg.sa_url(db))


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn serving the hub on 127.0.0.1, as a subprocess that is always ended (``with``)."""

    def __init__(self, args, pg: PG, db: str, log: Path, app: str | None = None, env: dict | None = None):
        self.args, self.log = args, log
        self.app = app or args.app
        self.env = env or {}
        self.db_name, self.db_url, self.admin_url = db, pg.sa_url(db), pg.url("postgres")
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"  # PUBLIC_BASE_URL: token issuer and audience
        self.proc: subprocess.Popen | None = None
        self.cmd = [
            str(Path(sys.executable).parent / "gunicorn"),
            "--workers",
            str(args.workers),
            "--worker-class",
            args.worker_class,
            *(["--threads", str(args.threads)] if args.worker_class == "gthread" else []),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--timeout",
            "120",
            "--log-level",
            "warning",
            self.app,
        ]

    def describe(self) -> str:
        threads = f" --threads {self.args.threads}" if self.args.worker_class == "gthread" else ""
        a = self.args
        return f"gunicorn --workers {a.workers} --worker-class {a.worker_class}{threads} {self.app}"

    def __enter__(self) -> Server:
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        env = dict(
            os.environ,
            DATABASE_URL=self.db_url,
            XIETONG_BENCH_FLOOR="1",
            PUBLIC_BASE_URL=self.base_url,
            INSTANCE_PATH=str(INSTANCE_DIR),
            **self.env,
        )
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.log.parent.mkdir(parents=True, exist_ok=True)
        logf = open(self.log, "ab")
        self._logf = logf
        self.proc = subprocess.Popen(
            self.cmd, cwd=ROOT, env=env, stdout=logf, stderr=logf, start_new_session=True
        )
        try:
            self._wait_ready(60)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log}")
            try:
                status, _, _ = Client(self.port).request("GET", "/fhir/metadata")
                if status < 500:  # it answers (a 401 is the phases' business, reported there)
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /fhir/metadata within {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        self.proc = None
        if getattr(self, "_logf", None):
            self._logf.close()
            self._logf = None

    def pids(self) -> list[int]:
        return [self.proc.pid, *children_of(self.proc.pid)] if self.proc else []


# --------------------------------------------------------------------------- CPU accounting (/proc)

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields from "state" on


def children_of(ppid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = _stat(int(d))
            if st and int(st[1]) == ppid:
                out.append(int(d))
    return out


def proc_cpu(pids) -> float:
    total = 0
    for pid in pids:
        st = _stat(pid)
        if st:
            total += int(st[11]) + int(st[12])  # utime + stime
    return total / TICK


def postgres_cpu(admin_url: str, db: str) -> dict[int, float]:
    """CPU seconds so far of the PostgreSQL processes serving ``db`` (and the cluster's own: WAL writer,
    checkpointer, background writer), by pid; processes of other databases are left out."""
    with psycopg.connect(admin_url, autocommit=True) as c:
        pids = [
            r[0]
            for r in c.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE (datname = %s OR datname IS NULL) AND pid <> pg_backend_pid()",
                (db,),
            )
        ]
    return {pid: proc_cpu([pid]) for pid in pids}


def system_busy() -> float:
    f = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    v = list(map(int, f))
    return (sum(v) - v[3] - v[4]) / TICK  # all but idle and iowait


class CpuMeter:
    """CPU seconds spent by this process (the clients), gunicorn, PostgreSQL for our database, everything
    else on the machine (``other``: noise from other work; it should be near 0)."""

    def __init__(self, server: Server):
        self.server = server

    def snap(self) -> dict:
        return {
            "client": time.process_time(),
            "app": proc_cpu(self.server.pids()),
            "pg": postgres_cpu(self.server.admin_url, self.server.db_name),
            "busy": system_busy(),
        }

    @staticmethod
    def deltas(a: dict, b: dict) -> dict:
        pg = sum(v - a["pg"].get(pid, 0.0) for pid, v in b["pg"].items())
        return {
            "client": b["client"] - a["client"],
            "app": b["app"] - a["app"],
            "postgres": pg,
            "busy": b["busy"] - a["busy"],
        }

    @staticmethod
    def per_request(a: dict, b: dict, n: int) -> dict:
        d = CpuMeter.deltas(a, b)
        d["other"] = max(0.0, d.pop("busy") - sum(d.values()))
        return {k: round(v / max(n, 1) * 1e6) for k, v in d.items()}


# --------------------------------------------------------------------------- the client


class Client:
    """One keep-alive HTTP/1.1 connection (http.client: far cheaper per request than requests).

    ``auth``: an object whose ``headers()`` gives the request headers, Authorization included (a
    ``bench._auth.TokenHolder``); without it, the plain FHIR headers (enough for ``/fhir/metadata``).
    """

    def __init__(self, port: int, timeout: float = 60, auth=None):
        self.port, self.timeout, self.auth = port, timeout, auth
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes, str | None]:
        headers = self.auth.headers() if self.auth is not None else HEADERS
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                return resp.status, data, resp.getheader("Location")
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()  # the server closed an idle keep-alive connection: reconnect once
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def run_phase(
    name: str,
    server: Server,
    items: list[tuple[str, str, bytes | None]],
    *,
    clients: int,
    seconds: float,
    warmup: float,
    ok: int,
    distinct: bool = False,
    on_ok: Callable[[int, bytes, str | None], None] | None = None,
    per_item: int = 1,
    auth=None,
) -> dict:
    """``clients`` threads send ``items`` (cycled, or each once if ``distinct``) for ``warmup + seconds``.

    Latency and throughput count the requests started after the warm-up; bounded in time and count.
    """
    cap = len(items) if distinct else 10_000_000
    counter = itertools.count()
    succeeded = itertools.count()  # all successful requests, the warm-up's included
    start = time.perf_counter()
    measure_from, deadline = start + warmup, start + warmup + seconds
    lat: list[float] = []
    ends: list[float] = []
    errors: list[str] = []
    meter = CpuMeter(server)
    cpu: dict = {}

    def worker():
        c = Client(server.port, auth=auth)
        try:
            while len(errors) < 50:
                i = next(counter)
                t0 = time.perf_counter()
                if i >= cap or t0 >= deadline:
                    return
                method, path, body = items[i % len(items)]
                try:
                    status, data, location = c.request(method, path, body)
                except OSError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    c.close()
                    c = Client(server.port, auth=auth)
                    continue
                t1 = time.perf_counter()
                if status != ok:
                    errors.append(f"{status}: {data[:300]!r}")
                    continue
                next(succeeded)
                if t0 >= measure_from:
                    lat.append(t1 - t0)
                    ends.append(t1)
                if on_ok:
                    on_ok(i, data, location)
        finally:
            c.close()

    def arm_meter():
        cpu["a"] = meter.snap()

    timer = threading.Timer(max(0.0, measure_from - time.perf_counter()), arm_meter)
    timer.start()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + warmup + 120)
    timer.cancel()
    b = meter.snap()
    a = cpu.get("a") or b
    n = len(lat)
    elapsed = (max(ends) - measure_from) if ends else float("nan")
    res = {
        "phase": name,
        "requests": n,
        "completed": next(succeeded),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "seconds": round(elapsed, 2),
        "per_s": round(n / elapsed, 1) if n else 0.0,
        "resources_per_s": round(n * per_item / elapsed, 1) if n else 0.0,
        "p50_ms": round(pct(lat, 50) * 1e3, 2),
        "p95_ms": round(pct(lat, 95) * 1e3, 2),
        "p99_ms": round(pct(lat, 99) * 1e3, 2),
        "cpu_us_per_request": CpuMeter.per_request(a, b, n),
        "clients": clients,
        "exhausted": distinct and next(counter) >= cap,
    }
    msg = (
        f"  {name:<28} {res['per_s']:>8.1f}/s  p50 {res['p50_ms']:>7.2f} ms  p95 {res['p95_ms']:>7.2f} ms"
        f"  ({n} requests, {len(errors)} errors)"
    )
    print(msg, flush=True)
    if errors:
        print(f"    first error: {errors[0]}", flush=True)
    if n == 0:
        raise RuntimeError(f"{name}: no successful request ({errors[:1]})")
    return res


# --------------------------------------------------------------------------- writes, reads, identifier search


def _id_from_location(location: str | None) -> str:
    # .../fhir/Type/<id>/_history/1
    parts = (location or "").split("/")
    return parts[-3] if len(parts) >= 3 and parts[-2] == "_history" else parts[-1]


def observation_bodies(n: int, seed: int) -> list[bytes]:
    """Real-shaped Observations (Synthea templates), pre-serialised; the server assigns the ids."""
    templates, _ = _data.observation_templates()
    rng = random.Random(seed)
    out = []
    for i in range(n):
        obs = _data.observation(rng.choice(templates), rng, _data.det_uuid("w", "p", i % 997))
        out.append(orjson.dumps(obs))
    return out


def write_benchmarks(args, pg: PG, log: Path) -> tuple[dict, str]:
    db = f"{args.db_prefix}_writes"
    print(f"\n== writes, reads and identifier search (database {db}, fresh) ==", flush=True)
    migrated_db(pg, db)
    with psycopg.connect(pg.url(db), autocommit=True) as c:
        c.execute(floor_api.CREATE_TABLE)
    client_id, key = _auth.register_client(pg.sa_url(db), "bench admin", None, "admin", ADMIN_SCOPES)
    tag = f"w{int(time.time())}"
    obs = observation_bodies(2000, args.seed)
    n_pat = int(max(2000, 1500 * args.seconds))
    n_bundle = int(max(500, 400 * args.seconds))
    patients = [orjson.dumps(_data.patient(i, tag)) for i in range(n_pat)]
    bundles = [orjson.dumps(_data.referral_bundle(i, tag)) for i in range(n_bundle)]
    results: dict[str, list[dict] | dict] = {"floor": [], "create_observation": []}
    obs_ids: list[str] = []
    pat_mrns: list[str] = []
    with Server(args, pg, db, log) as srv:
        token = _auth.TokenHolder(srv.port, client_id, key, HEADERS)
        kw = {"clients": args.clients, "seconds": args.seconds, "warmup": args.warmup, "auth": token}
        floor_ok = Client(srv.port, auth=token).request("POST", "/bench/floor", obs[0])[0] == 201
        if not floor_ok:
            print(
                "  !! POST /bench/floor is not there: add the 3 lines of bench/README.md to hub/__init__.py\n"
                "     (or pass --app with an app that registers hub.api.floor.bp). No floor ratio this run.",
                flush=True,
            )
        obs_items = [("POST", "/fhir/Observation", b) for b in obs]
        for r in range(args.rounds):
            if floor_ok:
                results["floor"].append(
                    run_phase(
                        f"floor (round {r + 1})",
                        srv,
                        [("POST", "/bench/floor", b) for b in obs],
                        ok=201,
                        **kw,
                    )
                )
            results["create_observation"].append(
                run_phase(
                    f"create Observation (round {r + 1})",
                    srv,
                    obs_items,
                    ok=201,
                    on_ok=lambda i, d, loc: obs_ids.append(_id_from_location(loc)),
                    **kw,
                )
            )
        results["create_patient"] = run_phase(
            "create Patient",
            srv,
            [("POST", "/fhir/Patient", b) for b in patients],
            ok=201,
            distinct=True,
            on_ok=lambda i, d, loc: pat_mrns.append(_data.mrn_of(i, tag)),
            **kw,
        )
        results["read_observation"] = run_phase(
            "read Observation", srv, [("GET", f"/fhir/Observation/{i}", None) for i in obs_ids], ok=200, **kw
        )
        random.Random(args.seed).shuffle(pat_mrns)
        mrn_items = [("GET", f"/fhir/Patient?identifier={_data.MRN_SYSTEM}|{m}", None) for m in pat_mrns]
        status, data, _ = Client(srv.port, auth=token).request(*mrn_items[0])
        found = len(orjson.loads(data).get("entry", [])) if status == 200 else -1
        if found != 1:
            raise RuntimeError(f"Patient?identifier= found {found} Patients, expected 1")
        results["search_identifier"] = run_phase("search Patient?identifier", srv, mrn_items, ok=200, **kw)
        results["transaction_bundle"] = run_phase(
            "transaction Bundle (6 res.)",
            srv,
            [("POST", "/fhir", b) for b in bundles],
            ok=200,
            distinct=True,
            per_item=6,
            **kw,
        )
        server_cmd = srv.describe()
        results["tokens"] = {"fetched": token.fetches, "fetch_ms": token.fetch_ms}
    return results, server_cmd


# --------------------------------------------------------------------------- bulk load (search data sets)


def _bounded(pool, fn, tasks, window: int):
    pending = collections.deque()
    for t in tasks:
        pending.append(pool.apply_async(fn, (t,)))
        if len(pending) >= window:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def alembic_head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(migrate.alembic_config("postgresql://x")).get_current_head()


def dataset_marker(n_obs: int, n_patients: int, seed: int) -> dict:
    return {
        "observations": n_obs,
        "patients": n_patients,
        "seed": seed,
        "generator": GENERATOR_VERSION,
        "alembic": alembic_head(),
        "source": _data.observation_templates()[1],
    }


def read_marker(pg: PG, db: str) -> tuple[dict | None, str]:
    """The completeness marker of a loaded data set, or None and why it cannot be reused."""
    if not pg.exists(db):
        return None, "it does not exist"
    with psycopg.connect(pg.url(db)) as c:
        try:
            row = c.execute("SELECT value FROM bench_dataset WHERE key = 'complete'").fetchone()
            alembic = c.execute("SELECT version_num FROM alembic_version").fetchone()
        except psycopg.Error:
            return None, "its load did not finish"
    if not row:
        return None, "its load did not finish"
    marker = json.loads(row[0])
    if alembic is None or marker.get("alembic") != alembic[0]:
        return None, "its schema was changed after loading"
    return marker, ""


def ensure_dataset(args, pg: PG, db: str, n_obs: int, n_patients: int, reuse: bool) -> dict:
    want = dataset_marker(n_obs, n_patients, args.seed)
    if reuse:
        have, why = read_marker(pg, db)
        if have:
            diff = sorted(k for k in want if have.get(k) != want[k])
            if not diff:
                print(
                    f"  reusing {db} (complete: {n_obs:,} Observations, {n_patients:,} Patients)", flush=True
                )
                return {**(have.get("load") or {}), "reused": True}
            why = "it differs in " + ", ".join(f"{k} ({have.get(k)} -> {want[k]})" for k in diff)
        print(f"  not reusing {db}: {why}", flush=True)
    print(
        f"  loading {db}: {n_obs:,} Observations over {n_patients:,} Patients "
        f"({_data.describe_counts(n_obs, n_patients, args.seed)}); source: {want['source']}",
        flush=True,
    )
    migrated_db(pg, db)
    info = bulk_load(args, pg.url(db), n_obs, n_patients)
    with psycopg.connect(pg.url(db), autocommit=True) as c:
        c.execute("CREATE TABLE bench_dataset (key text PRIMARY KEY, value text NOT NULL)")
        c.execute("INSERT INTO bench_dataset VALUES ('complete', %s)", (json.dumps({**want, "load": info}),))
    return {**info, "reused": False}


def bulk_load(args, url: str, n_obs: int, n_patients: int) -> dict:
    import multiprocessing

    t_start = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET statement_timeout = 0")
        # Secondary indexes are dropped and rebuilt after the load (constraints stay): the same
        # definitions as migrated, read back from the database.
        indexes = conn.execute(
            """SELECT i.indexname, i.indexdef FROM pg_indexes i
               WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
            (LOADED_TABLES,),
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        total = n_obs + n_patients
        first = conn.execute("SELECT nextval('pid_seq')").fetchone()[0]
        conn.execute("SELECT setval('pid_seq', %s)", (first + total,))
        tasks = _data.load_tasks(f"n{n_obs}", n_obs, n_patients, first, args.seed)
        # spawn, not fork: a fork copies locks held by this process's threads (tqdm, the pool's own).
        pool = multiprocessing.get_context("spawn").Pool(args.load_workers, initializer=_worker_init)
        try:
            with tqdm(
                total=total, unit="res", unit_scale=True, desc="  COPY", smoothing=0.05, mininterval=1
            ) as bar:
                for n, out in _bounded(pool, _data.build_chunk, tasks, 2 * args.load_workers):
                    with conn.transaction(), conn.cursor() as cur:
                        cur.execute("SET LOCAL statement_timeout = 0")
                        _data.copy_out(cur, out)
                    bar.update(n)
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
        t_copy = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '256MB'")
        for _, ddl in tqdm(indexes, desc="  CREATE INDEX", unit="idx"):
            conn.execute(ddl)
        t_index = time.perf_counter()
        print("  VACUUM ANALYZE ...", flush=True)
        conn.execute("VACUUM ANALYZE")
        t_vac = time.perf_counter()
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    info = {
        "copy_s": round(t_copy - t_start, 1),
        "index_s": round(t_index - t_copy, 1),
        "vacuum_analyze_s": round(t_vac - t_index, 1),
        "total_s": round(t_vac - t_start, 1),
        "resources_per_s": round(total / (t_copy - t_start)),
        "database_mb": round(size / 2**20),
    }
    print(
        f"  loaded in {info['total_s']} s (COPY {info['copy_s']} s = {info['resources_per_s']} res/s, "
        f"indexes {info['index_s']} s, VACUUM ANALYZE {info['vacuum_analyze_s']} s), "
        f"{info['database_mb']} MB",
        flush=True,
    )
    return info


# --------------------------------------------------------------------------- search latency

QUERIES = {
    "patient": "/fhir/Observation?patient={p}",
    "patient+code": "/fhir/Observation?patient={p}&code=http://loinc.org|{c}",
    "patient+date": "/fhir/Observation?patient={p}&date=ge2020-01-01",
}


def search_sample(pg: PG, db: str, n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` random patients that have Observations, each with the LOINC code of one of them."""
    with psycopg.connect(pg.url(db)) as c:
        pats = [
            r[0] for r in c.execute("SELECT DISTINCT patient FROM res_observation WHERE patient IS NOT NULL")
        ]
        pats.sort()
        chosen = random.Random(seed).sample(pats, min(n + 20, len(pats)))
        rows = c.execute(
            """SELECT DISTINCT ON (patient) patient, body::json->'code'->'coding'->0->>'code'
               FROM res_observation WHERE patient = ANY(%s) ORDER BY patient, pid""",
            (chosen,),
        ).fetchall()
    code = dict(rows)
    return [(p, code[p]) for p in chosen]


def search_latency(args, pg: PG, dbs: dict[str, str], log: Path) -> dict[str, dict]:
    """p50/p95 of the three patient searches on each data set ``{label: database}``.

    One gunicorn per data set, all running; the requests alternate between the data sets (same
    position in each one's sample), so that noise from the rest of the machine falls on both alike.
    """
    samples = {k: search_sample(pg, db, args.search_patients, args.seed) for k, db in dbs.items()}
    lat = {k: {q: [] for q in QUERIES} for k in dbs}
    later = {k: {q: [] for q in QUERIES} for k in dbs}  # repetitions after the first
    entries = {k: {q: [] for q in QUERIES} for k in dbs}
    cpu = {}
    callers = {
        k: _auth.register_client(pg.sa_url(db), "bench admin", None, "admin", ADMIN_SCOPES)
        for k, db in dbs.items()
    }
    with contextlib.ExitStack() as stack:
        servers = {k: stack.enter_context(Server(args, pg, db, log)) for k, db in dbs.items()}
        clients = {
            k: Client(srv.port, auth=_auth.TokenHolder(srv.port, *callers[k], HEADERS))
            for k, srv in servers.items()
        }
        for k, c in clients.items():
            for p, code in samples[k][:20]:  # warm each worker's imports and the connection pool
                for q in QUERIES.values():
                    c.request("GET", q.format(p=p, c=code))
        meters = {k: CpuMeter(srv) for k, srv in servers.items()}
        before = {k: m.snap() for k, m in meters.items()}
        deadline = time.monotonic() + args.search_timeout
        n = min(len(v) for v in samples.values()) - 20
        for rep in range(args.search_reps):
            for i in range(20, 20 + n):
                for kind, q in QUERIES.items():
                    for k, c in clients.items():
                        p, code = samples[k][i]
                        t0 = time.perf_counter()
                        status, data, _ = c.request("GET", q.format(p=p, c=code))
                        t1 = time.perf_counter()
                        if status != 200:
                            raise RuntimeError(f"{q.format(p=p, c=code)}: {status} {data[:300]!r}")
                        lat[k][kind].append(t1 - t0)
                        if rep == 0:
                            entries[k][kind].append(data.count(b'"fullUrl"'))
                        else:
                            later[k][kind].append(t1 - t0)
            if time.monotonic() > deadline:
                print(f"  (stopped after {rep + 1} repetitions: --search-timeout)", flush=True)
                break
        after = {k: m.snap() for k, m in meters.items()}
        total = sum(len(v) for per in lat.values() for v in per.values())
        d = {k: CpuMeter.deltas(before[k], after[k]) for k in dbs}
        first = next(iter(dbs))
        client, busy = d[first]["client"], d[first]["busy"]
        other = max(0.0, busy - client - sum(x["app"] + x["postgres"] for x in d.values()))
        for k in dbs:
            nk = max(1, sum(len(v) for v in lat[k].values()))
            cpu[k] = {
                "client": round(client / total * 1e6),
                "app": round(d[k]["app"] / nk * 1e6),
                "postgres": round(d[k]["postgres"] / nk * 1e6),
                "other": round(other / total * 1e6),
            }
        for c in clients.values():
            c.close()
    out: dict[str, dict] = {}
    for k in dbs:
        out[k] = {}
        for kind in QUERIES:
            v = lat[k][kind]
            out[k][kind] = {
                "n": len(v),
                "p50_ms": round(pct(v, 50) * 1e3, 2),
                "p95_ms": round(pct(v, 95) * 1e3, 2),
                "p95_after_first_rep_ms": round(pct(later[k][kind], 95) * 1e3, 2),
                "mean_entries": round(statistics.mean(entries[k][kind]), 1),
                "cpu_us_per_request": cpu[k],
            }
            r = out[k][kind]
            print(
                f"  {k:>4} {kind:<14} p50 {r['p50_ms']:>6.2f} ms  p95 {r['p95_ms']:>6.2f} ms  "
                f"(without the first pass {r['p95_after_first_rep_ms']:.2f}; {len(v)} requests, "
                f"{r['mean_entries']} entries per page on average)",
                flush=True,
            )
        c = cpu[k]
        print(
            f"  {k:>4} CPU µs per search: client {c['client']}, app {c['app']}, postgres {c['postgres']}, "
            f"other processes {c['other']}",
            flush=True,
        )
    return out


# --------------------------------------------------------------------------- profile of a create


PROFILE_BUCKETS = {  # label: (file suffix, function); cumulative CPU, so nested rows overlap
    "authenticate (token, client)": (("hub/api/security.py", "authenticate"),),
    "view function (all below)": (("hub/api/fhir_rest.py", "create"), ("hub/api/floor.py", "floor")),
    "  parse JSON (orjson)": (("hub/fhir/parse.py", "parse_json"),),
    "  fhir.resources model_validate": (("pydantic/main.py", "model_validate"),),
    "  check_json_types": (("hub/fhir/primitives.py", "check_json_types"),),
    "  hub rules (validate_resource)": (("hub/fhir/validation.py", "validate_resource"),),
    "  Store.create (all below)": (("hub/fhir/store.py", "create"),),
    "    stamp + extract": (("hub/fhir/store.py", "stamp"), ("hub/fhir/extract.py", "extract")),
    "    INSERTs (resource + its AuditEvent)": (("hub/fhir/store.py", "_create_in_one_statement"),),
    "    allocate_pids (SELECT nextval)": (("hub/db.py", "allocate_pids"),),
    "    audit: record_write (all below)": (("hub/audit/recorder.py", "record_write"),),
    "      chain.append (lock, row, hash)": (("hub/audit/chain.py", "append"),),
    "  SQL statements (SQLAlchemy execute)": (("sqlalchemy/engine/base.py", "execute"),),
    "  pool checkout (+ pre-ping if on)": (("sqlalchemy/pool/base.py", "_checkout"),),
    "  COMMIT": (("sqlalchemy/engine/base.py", "_commit_impl"),),
}


def profile_creates(args, pg: PG, n: int) -> dict:
    """CPU profile (cProfile with a process-time clock) of ``n`` floor, Observation and Patient creates
    through the Flask app in-process (test client, no HTTP, no gunicorn), against the writes database.

    The figures are this process's CPU only (PostgreSQL's work is not in them); cProfile's own
    overhead inflates Python-heavy rows, so ``unprofiled CPU`` is given for calibration.
    """
    import cProfile
    import pstats

    from hub import create_app
    from hub.config import Config

    db = f"{args.db_prefix}_writes"
    if not pg.exists(db):
        migrated_db(pg, db)
    app = create_app(Config.from_env({}, DATABASE_URL=pg.sa_url(db), INSTANCE_PATH=str(INSTANCE_DIR)))
    if "bench_floor" not in app.blueprints:
        app.register_blueprint(floor_api.bp)
    with psycopg.connect(pg.url(db), autocommit=True) as c:
        c.execute(floor_api.CREATE_TABLE)
    client_id, key = _auth.register_client(
        pg.sa_url(db), "bench admin (profile)", None, "admin", ADMIN_SCOPES
    )
    # In-process requests take well under a token's 300 s: one token is enough.
    headers = {**HEADERS, "Authorization": f"Bearer {_auth.token_in_process(app, client_id, key)}"}
    client = app.test_client()
    templates, _ = _data.observation_templates()
    rng = random.Random(1)
    obs = [orjson.dumps(_data.observation(rng.choice(templates), rng, "p1")) for _ in range(2 * n + 40)]
    tag = f"prof{time.time_ns()}"
    pats = [orjson.dumps(_data.patient(i, tag)) for i in range(2 * n + 40)]
    out = {}
    for label, url, bodies in (
        ("floor", "/bench/floor", obs),
        ("Observation", "/fhir/Observation", obs),
        ("Patient", "/fhir/Patient", pats),
    ):
        for b in bodies[:40]:  # warm: imports, prepared statements, pool
            r = client.post(url, data=b, headers=headers)
            if r.status_code != 201:
                raise RuntimeError(f"profile {label}: {r.status_code} {r.data[:300]!r}")
        t_cpu, t_wall = time.process_time(), time.perf_counter()
        for b in bodies[40 : 40 + n]:
            client.post(url, data=b, headers=headers)
        cpu, wall = time.process_time() - t_cpu, time.perf_counter() - t_wall
        prof = cProfile.Profile(time.process_time)
        prof.enable()
        for b in bodies[40 + n :]:
            r = client.post(url, data=b, headers=headers)
            if r.status_code != 201:
                raise RuntimeError(f"profile {label}: {r.status_code} {r.data[:300]!r}")
        prof.disable()
        stats = pstats.Stats(prof).stats
        row = {
            "unprofiled CPU": round(cpu / n * 1e6),
            "unprofiled wall": round(wall / n * 1e6),
            "profiled CPU, whole request": round(
                sum(v[3] for k, v in stats.items() if k[0].endswith("werkzeug/test.py") and k[2] == "post")
                / n
                * 1e6
            ),
        }
        for bucket, funcs in PROFILE_BUCKETS.items():
            ct = sum(v[3] for k, v in stats.items() for f, fn in funcs if k[0].endswith(f) and k[2] == fn)
            row[bucket] = round(ct / n * 1e6)
        if label != "floor":
            row.update(_direct_costs(label, bodies[40 : 40 + n]))
        out[label] = row
    app.extensions["xietong"].db.dispose()
    return out


def _direct_costs(rtype: str, raw: list[bytes]) -> dict:
    """CPU µs per resource of the hub's pure-Python steps, timed directly (no profiler overhead)."""
    from fhir.resources.R4B import get_fhir_model_class

    from hub.fhir import dates
    from hub.fhir.extract import extract
    from hub.fhir.parse import check_structure, parse_json
    from hub.fhir.primitives import check_json_types
    from hub.fhir.registry import TYPES
    from hub.fhir.store import dumps, stamp
    from hub.fhir.validation import validate_resource

    model, rt, when = get_fhir_model_class(rtype), TYPES[rtype], dates.now_utc()
    steps = {
        "direct: parse_json (request body)": lambda r, b: parse_json(b),
        "direct: model_validate": lambda r, b: model.model_validate(r),
        "direct: check_structure (validate+types)": lambda r, b: check_structure(r, rtype),
        "direct: check_json_types": lambda r, b: check_json_types(r),
        "direct: validate_resource (hub rules)": lambda r, b: validate_resource(r),
        "direct: stamp+dumps+extract": lambda r, b: (
            dumps(body := stamp(r, "x", 1, when)),
            extract(rt, body),
        ),
    }
    resources = [parse_json(b) for b in raw]  # as the hub has them (Decimal where precision matters)
    out = {}
    for label, fn in steps.items():
        t = time.process_time()
        for r, b in zip(resources, raw):
            fn(r, b)
        out[label] = round((time.process_time() - t) / len(resources) * 1e6)
    return out


# --------------------------------------------------------------------------- report


def fmt_row(cols, widths):
    return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cols, widths)))


def cpu_cost(r: dict) -> int:
    """CPU µs one request costs the machine (client + gunicorn + PostgreSQL; not other processes)."""
    c = r["cpu_us_per_request"]
    return c["client"] + c["app"] + c["postgres"]


def other_share(writes: dict) -> float:
    """The largest share of CPU taken by other processes in any floor/create phase (0: a quiet machine)."""
    phases = [*writes["floor"], *writes["create_observation"], writes["create_patient"]]
    return round(
        max(
            r["cpu_us_per_request"]["other"] / (cpu_cost(r) + r["cpu_us_per_request"]["other"])
            for r in phases
        ),
        2,
    )


def median_of(rounds: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rounds) if rounds else float("nan")


def report(res: dict) -> list[str]:
    lines = []
    w = res.get("writes")
    if w:
        lines.append(
            f"Writes, reads, identifier search: {res['meta']['clients']} clients, "
            f"{res['meta']['seconds']} s per phase, {res['meta']['server']}"
        )
        lines.append(f"Every request: {res['meta']['auth']} ({w['tokens']['fetched']} tokens fetched)")
        widths = (30, 8, 11, 8, 8, 7, 30)
        lines.append(
            fmt_row(
                (
                    "operation",
                    "req/s",
                    "resources/s",
                    "p50 ms",
                    "p95 ms",
                    "errors",
                    "CPU µs/req client/app/pg/other",
                ),
                widths,
            )
        )
        rows = []
        for key, label in (
            ("floor", "floor (1 INSERT, no FHIR)"),
            ("create_observation", "create Observation"),
        ):
            for r in w[key]:
                rows.append((label + f" r{r['phase'].split()[-1][:-1]}", r))
        for key, label in (
            ("create_patient", "create Patient"),
            ("read_observation", "read Observation"),
            ("search_identifier", "search Patient?identifier"),
            ("transaction_bundle", "transaction Bundle"),
        ):
            rows.append((label, w[key]))
        for label, r in rows:
            cpu = r["cpu_us_per_request"]
            lines.append(
                fmt_row(
                    (
                        label,
                        r["per_s"],
                        r["resources_per_s"],
                        r["p50_ms"],
                        r["p95_ms"],
                        r["errors"],
                        f"{cpu['client']}/{cpu['app']}/{cpu['postgres']}/{cpu['other']}",
                    ),
                    widths,
                )
            )
        rt = res["ratios"]
        lines.append("")
        if rt.get("create_observation_vs_floor") is not None:
            lines.append(
                f"create Observation ÷ floor (median of rounds): {rt['create_observation_vs_floor']:.2f}  "
                f"[target >= 0.50: {'MET' if rt['create_observation_vs_floor'] >= 0.5 else 'NOT MET'}]"
            )
            lines.append(
                f"create Patient ÷ floor: {rt['create_patient_vs_floor']:.2f}   "
                f"transaction Bundle resources/s ÷ floor: {rt['bundle_resources_vs_floor']:.2f}"
            )
            lines.append(
                f"by CPU cost per request (floor CPU ÷ create CPU; what the throughput ratio is on a quiet, "
                f"CPU-bound machine): Observation {rt['cpu_create_observation_vs_floor']:.2f}, "
                f"Patient {rt['cpu_create_patient_vs_floor']:.2f}"
            )
            if rt["other_cpu_share"] > 0.1:
                lines.append(
                    f"!! other processes took up to {rt['other_cpu_share']:.0%} of the CPU during these "
                    "phases: throughput figures and ratios are disturbed; rerun on a quiet machine"
                )
        else:
            lines.append("create ÷ floor: n/a (the floor endpoint is not registered)")
    s = {k: v for k, v in (res.get("search") or {}).items() if "queries" in v}
    if s:
        lines.append("")
        sizes = list(s)
        lines.append(
            "Search latency over HTTP (sequential, data sets interleaved; "
            + ", ".join(f"{k}: {v['patients_queried']} patients x {v['reps']}" for k, v in s.items())
            + ")"
        )
        growth = res["ratios"].get("search_p95_growth")
        widths = (16, *([17] * len(sizes)), 24)
        head = ["query", *[f"{k} p50/p95 ms" for k in sizes]]
        if growth:
            head.append("p95 growth (target<=1.5)")
        lines.append(fmt_row(head, widths))
        for q in QUERIES:
            cols = [
                q,
                *[f"{s[k]['queries'][q]['p50_ms']:.2f}/{s[k]['queries'][q]['p95_ms']:.2f}" for k in sizes],
            ]
            if growth:
                cols.append(f"x{growth[q]:.2f} {'MET' if growth[q] <= 1.5 else 'NOT MET'}")
            lines.append(fmt_row(cols, widths))
        for k in sizes:
            c = s[k]["queries"]["patient"]["cpu_us_per_request"]
            if c["other"] > 0.1 * (c["client"] + c["app"] + c["postgres"] + c["other"]):
                lines.append(
                    f"!! other processes were busy during the searches ({c['other']} µs per search): rerun"
                )
                break
        for k, v in s.items():
            ld = v["load"]
            how = "reused" if ld.get("reused") else "loaded"
            lines.append(
                f"  {k}: {v['observations']:,} Observations / {v['patients_in_db']:,} Patients, {how}"
                + (
                    f" (load took {ld['total_s']} s: COPY {ld['copy_s']} s, indexes {ld['index_s']} s, "
                    f"VACUUM ANALYZE {ld['vacuum_analyze_s']} s; {ld['database_mb']} MB)"
                    if "total_s" in ld
                    else ""
                )
            )
    p = res.get("profile")
    if p:
        lines.append("")
        lines.append("In-process CPU profile of creates (Flask test client, no HTTP; app CPU µs per create):")
        keys = list(dict.fromkeys(k for row in p.values() for k in row))
        widths = (44, *([12] * len(p)))
        lines.append(fmt_row(("", *p), widths))
        for k in keys:
            lines.append(fmt_row((k, *[p[t].get(k, "") for t in p]), widths))
    return lines


# --------------------------------------------------------------------------- main


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--quick",
        action="store_true",
        help="3 s phases, 1 round, 100k instead of 1M Observations, 100 patients x 2 reps",
    )
    ap.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    ap.add_argument("--seconds", type=float, help="measured seconds per write/read phase (default 10)")
    ap.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each phase")
    ap.add_argument("--rounds", type=int, help="floor / create Observation alternations (default 2)")
    ap.add_argument("--skip-1m", action="store_true", help="no large data set (writes and 10k search only)")
    ap.add_argument("--skip-writes", action="store_true", help="search latency only")
    ap.add_argument("--skip-search", action="store_true", help="writes only")
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="keep the large database if it is complete (same size, seed, generator, migration)",
    )
    ap.add_argument("--large", type=int, help="Observations in the large data set (default 1,000,000)")
    ap.add_argument("--small", type=int, default=10_000, help="Observations in the small data set")
    ap.add_argument("--obs-per-patient", type=int, default=10, help="mean Observations per patient")
    ap.add_argument("--search-patients", type=int, help="patients queried (default 200)")
    ap.add_argument("--search-reps", type=int, help="repetitions over them (default 3)")
    ap.add_argument("--search-timeout", type=float, default=300, help="stop repeating searches after this")
    ap.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also cProfile N in-process creates of each type (e.g. 300)",
    )
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    ap.add_argument("--worker-class", default="gthread", choices=("gthread", "sync"))
    ap.add_argument("--threads", type=int, default=4, help="threads per gthread worker (default 4)")
    ap.add_argument("--app", default="wsgi:app", help="gunicorn app (default wsgi:app)")
    ap.add_argument("--load-workers", type=int, default=2, help="processes building bulk-load rows")
    ap.add_argument(
        "--pg",
        default=os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432"),
        help="PostgreSQL cluster, without database (default postgresql://postgres@127.0.0.1:5432)",
    )
    ap.add_argument("--db-prefix", default="xietong_bench")
    ap.add_argument("--seed", type=int, default=20240305)
    args = ap.parse_args(argv)
    q = args.quick
    args.seconds = args.seconds if args.seconds is not None else (3.0 if q else 10.0)
    args.rounds = args.rounds if args.rounds is not None else (1 if q else 2)
    args.large = args.large if args.large is not None else (100_000 if q else 1_000_000)
    args.search_patients = args.search_patients or (100 if q else 200)
    args.search_reps = args.search_reps or (2 if q else 3)
    if "127.0.0.1" not in args.pg and "localhost" not in args.pg:
        ap.error("--pg must be on 127.0.0.1")
    return args


def size_label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


def main(argv=None) -> int:
    args = parse_args(argv)
    # Ctrl-C and SIGTERM unwind through every ``finally`` (gunicorn is always stopped), even when this
    # was started in the background, where SIGINT is inherited as ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    log = OUT_DIR / f"gunicorn-{stamp}.log"
    pg = PG(args.pg)
    t0 = time.perf_counter()
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
            "client": "http.client keep-alive, one connection per thread",
            "auth": "Bearer token of an admin client (system/*.cruds, no organization: no tenancy "
            "filter), from POST /auth/token, refreshed every 240 s; writes audited",
        },
        "ratios": {},
    }
    print(
        f"Xietong FHIR core benchmark: PostgreSQL {res['meta']['postgres']}, {os.cpu_count()} CPUs; "
        f"gunicorn log {log.relative_to(ROOT)}",
        flush=True,
    )
    try:
        if not args.skip_writes:
            writes, server = write_benchmarks(args, pg, log)
            res["writes"], res["meta"]["server"] = writes, server
            if writes["floor"]:
                f = median_of(writes["floor"], "per_s")
                res["ratios"]["create_observation_vs_floor"] = round(
                    median_of(writes["create_observation"], "per_s") / f, 3
                )
                res["ratios"]["create_patient_vs_floor"] = round(writes["create_patient"]["per_s"] / f, 3)
                res["ratios"]["bundle_resources_vs_floor"] = round(
                    writes["transaction_bundle"]["resources_per_s"] / f, 3
                )
                fc = statistics.median(cpu_cost(r) for r in writes["floor"])
                res["ratios"]["cpu_create_observation_vs_floor"] = round(
                    fc / statistics.median(cpu_cost(r) for r in writes["create_observation"]), 3
                )
                res["ratios"]["cpu_create_patient_vs_floor"] = round(
                    fc / cpu_cost(writes["create_patient"]), 3
                )
                res["ratios"]["other_cpu_share"] = other_share(writes)
        else:
            res["meta"]["server"] = Server(args, pg, "", log).describe()
        if args.profile:
            print(f"\n== cProfile of {args.profile} in-process creates per type ==", flush=True)
            res["profile"] = profile_creates(args, pg, args.profile)
        if not args.skip_search:
            sizes = [args.small] + ([] if args.skip_1m else [args.large])
            res["search"] = {}
            dbs = {}
            for n_obs in sizes:
                label = size_label(n_obs)
                db = dbs[label] = f"{args.db_prefix}_obs_{label.lower()}"
                n_pat = max(1, n_obs // args.obs_per_patient)
                print(f"\n== data set {label}: {n_obs:,} Observations (database {db}) ==", flush=True)
                load = ensure_dataset(args, pg, db, n_obs, n_pat, reuse=args.reuse and n_obs == args.large)
                res["search"][label] = {
                    "observations": n_obs,
                    "patients_in_db": n_pat,
                    "database": db,
                    "load": load,
                    "patients_queried": args.search_patients,
                    "reps": args.search_reps,
                }
            print(f"\n== search latency over HTTP ({' and '.join(dbs)}, interleaved) ==", flush=True)
            for label, q in search_latency(args, pg, dbs, log).items():
                res["search"][label]["queries"] = q
            if len(sizes) == 2:
                s, l_ = (res["search"][size_label(n)]["queries"] for n in sizes)
                res["ratios"]["search_p95_growth"] = {
                    q: round(l_[q]["p95_ms"] / s[q]["p95_ms"], 2) for q in QUERIES
                }
    except KeyboardInterrupt:
        print("\ninterrupted: gunicorn stopped; partial results follow", flush=True)
        res["interrupted"] = True
    except Exception as exc:  # report what was measured before the failure, then fail
        record_failure(res, exc, log)
    return finish(res, t0, f"fhir_core-{stamp}", report(res))


def record_failure(res: dict, exc: Exception, log: Path) -> None:
    traceback.print_exc()
    print(f"\nfailed: {exc}\n(gunicorn's log: {log.relative_to(ROOT)}); partial results follow", flush=True)
    res["error"] = f"{type(exc).__name__}: {exc}"


def finish(res: dict, t0: float, name: str, lines) -> int:
    """Print the report, write the figures to ``bench/out/<name>.json``; 1 if the run was cut short."""
    res["meta"]["total_s"] = round(time.perf_counter() - t0, 1)
    print("\n" + "=" * 100)
    for line in lines:
        print(line)
    out = OUT_DIR / f"{name}.json"
    out.write_bytes(orjson.dumps(res, option=orjson.OPT_INDENT_2))
    print(f"\ntotal {res['meta']['total_s']} s; figures written to {out.relative_to(ROOT)}")
    return 1 if res.get("interrupted") or res.get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
