"""``POST /fhir/Patient/$match`` latency with 100,000 patients in the EMPI index (target: p95 < 50 ms).

The patients are real-shaped Chinese records: surnames drawn with the frequencies of the most common
100 (王 李 张 ... so namesakes are common), one- and two-character given names from a pool of common
characters, birth dates 1930-2020, a mobile number, a resident ID card number for 70 %, one
institution's MRN. They are written with COPY in the rows the hub itself writes: the store's rows
(``bench._data.add_resource``: current, history, search indexes) and the EMPI's
(``hub.empi.index.rows_of``: demographics and blocking keys), so the index is what the hub would
have built.

Then the hub is served by gunicorn on 127.0.0.1 and ``$match`` is called over real HTTP (one
keep-alive connection) by a county hospital's client about its own patients (``--caller
institution``, the default: the tenancy filter applies, nothing is disclosed, so nothing is
audited) or by the alliance office (``--caller admin``: everyone is visible, and every answer about
an institution's patient is an audited disclosure, one chained AuditEvent pair per patient
returned), with four kinds of query:

- ``copy``: a stored patient's demographics without identifiers (scored, the top should be that patient);
- ``variant``: the same in pinyin, given name first, with a birth-date typo (scored);
- ``resident-id``: only the resident ID card number, lower-case ``x`` (deterministic);
- ``unknown``: a person who is not in the index.

It prints p50/p95/p99 per kind and overall, how often the right patient came first, and the same
match done in-process (``hub.empi.service.match``: no HTTP, no token check, the same audit) to
show where the time goes. JSON goes to ``bench/out/``.

    .venv/bin/python bench/empi_match.py               # 100k patients, 2000 queries: about 6-8 min
    .venv/bin/python bench/empi_match.py --reuse       # keep the loaded database if it is complete
    .venv/bin/python bench/empi_match.py --reuse --caller admin
    .venv/bin/python bench/empi_match.py --patients 20000 --queries 400   # quick

``measure(args)`` runs it for another script (``bench/adapters.py``) and returns the figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import signal
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import orjson  # noqa: E402
from pypinyin import Style, lazy_pinyin  # noqa: E402
from stdnum.cn import ric  # noqa: E402
from tqdm import tqdm  # noqa: E402

from bench import _auth, _data  # noqa: E402
from bench.fhir_core import OUT_DIR, PG, Client, Server, migrated_db, pct  # noqa: E402

GENERATOR_VERSION = "2"
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建国文辉林兰成波斌宇浩凯健俊帆帅旭宁龙"
    "婷雪慧颖琳晶欣佳子梓涵轩诗雨思晨瑞博鑫嘉志海峰云飞鹏亮春梅金凤秀兰永福德荣建华小晓东丹阳海燕"
)
REGIONS = ("530402", "530421", "530422", "530423", "530424", "530425", "530426", "530427", "530428", "110105")
RESIDENT_ID = "urn:oid:2.16.156.10011.1.3"
MR = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
ORGS = ("bench-county-1", "bench-county-2", "bench-city-1")
# The k-th most common surname is about 1/(k+8) as frequent: 王 about 5 %, the 100th about 0.5 %.
_SURNAME_CUM = list(__import__("itertools").accumulate(1 / (k + 8) for k in range(len(SURNAMES))))


# --------------------------------------------------------------------------- the people


def person(i: int, seed: int) -> dict:
    """Patient ``i`` (deterministic for a seed)."""
    rng = random.Random(f"{seed}/{i}")
    # Zipf-like: the first surnames are far more common, as in the population.
    surname = rng.choices(SURNAMES, cum_weights=_SURNAME_CUM)[0]
    given = "".join(rng.choice(GIVEN) for _ in range(1 if rng.random() < 0.3 else 2))
    gender = rng.choice(("male", "female"))
    birth = date(1930, 1, 1) + timedelta(days=rng.randrange(90 * 365))
    phone = f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"
    org = ORGS[i % len(ORGS)]
    identifiers = []
    if rng.random() < 0.7:
        seq = rng.randrange(0, 500) * 2 + (1 if gender == "male" else 0)
        body = rng.choice(REGIONS) + birth.strftime("%Y%m%d") + f"{seq:03d}"
        identifiers.append({"system": RESIDENT_ID, "value": body + ric.calc_check_digit(body + "0")})
    identifiers.append(
        {
            "type": MR,
            "system": f"http://xietong.example/fhir/sid/mrn/{org}",
            "value": f"{i:08d}",
            "assigner": {"reference": f"Organization/{org}"},
        }
    )
    return {
        "resourceType": "Patient",
        "identifier": identifiers,
        "active": True,
        "name": [{"use": "official", "text": surname + given, "family": surname, "given": [given]}],
        "telecom": [{"system": "phone", "value": phone, "use": "mobile"}],
        "gender": gender,
        "birthDate": birth.isoformat(),
    }


def patient_id(i: int, seed: int) -> str:
    return _data.det_uuid("empi", seed, i)


def build_chunk(task: tuple) -> tuple[int, list[tuple[str, list[str], str]]]:
    """COPY rows for patients ``first .. first + n`` (in a worker process)."""
    from hub.empi.index import rows_of
    from hub.empi.tables import empi_key, empi_person

    first, n, pid, seed = task
    rows = _data.CopyRows()
    when = datetime.now(UTC)
    for i in range(first, first + n):
        p, fid = person(i, seed), patient_id(i, seed)
        _data.add_resource(rows, "Patient", p, fid, pid, when)
        r = rows_of(pid, fid, p)
        rows.add(empi_person, r.person)
        for k in r.keys:
            rows.add(empi_key, k)
        pid += 1
    return n, rows.out()


def load(args, pg: PG, db: str) -> dict:
    want = {"patients": args.patients, "seed": args.seed, "generator": GENERATOR_VERSION}
    import psycopg

    if args.reuse and pg.exists(db):
        with psycopg.connect(pg.url(db)) as c:
            try:
                row = c.execute("SELECT info FROM bench_empi_dataset").fetchone()
            except psycopg.Error:
                row = None
        if row and {k: json.loads(row[0]).get(k) for k in want} == want:
            print(f"  reusing {db}", flush=True)
            return json.loads(row[0]).get("load", {})
    t0 = time.perf_counter()
    migrated_db(pg, db)
    with psycopg.connect(pg.url(db), autocommit=True) as conn:
        first = conn.execute("SELECT nextval('pid_seq')").fetchone()[0]
        conn.execute("SELECT setval('pid_seq', %s)", (first + args.patients,))
        chunk = 2000
        tasks = [
            (s, min(chunk, args.patients - s), first + s, args.seed) for s in range(0, args.patients, chunk)
        ]
        pool = multiprocessing.get_context("spawn").Pool(args.load_workers)
        try:
            with tqdm(
                total=args.patients, unit="patient", unit_scale=True, desc="  COPY", mininterval=1
            ) as bar:
                for n, out in pool.imap(build_chunk, tasks):
                    with conn.transaction(), conn.cursor() as cur:
                        _data.copy_out(cur, out)
                    bar.update(n)
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
        # Each patient belongs to the institution that registered it (add_resource writes no tenant).
        conn.execute(
            "UPDATE res_patient SET tenant = (%s::text[])[((pid - %s) %% 3) + 1]", (list(ORGS), first)
        )
        conn.execute("VACUUM ANALYZE")
        keys = conn.execute("SELECT count(*) FROM empi_key").fetchone()[0]
        info = {"seconds": round(time.perf_counter() - t0, 1), "empi_keys": keys}
        conn.execute("CREATE TABLE bench_empi_dataset (info text)")
        conn.execute("INSERT INTO bench_empi_dataset VALUES (%s)", (json.dumps({**want, "load": info}),))
    return info


# --------------------------------------------------------------------------- the queries


def queries(args) -> list[tuple[str, str | None, dict]]:
    """``(kind, expected patient id or None, Patient)`` in a shuffled order."""
    rng = random.Random(args.seed + 1)
    out = []
    with_id = 0
    for q in range(args.queries):
        i = rng.randrange(args.patients)
        if args.caller == "institution":
            i -= i % len(ORGS)  # the caller's own patients (ORGS[0])
        p = person(i, args.seed)
        kind = ("copy", "variant", "resident-id", "unknown")[q % 4]
        if kind == "resident-id" and p["identifier"][0]["system"] != RESIDENT_ID:
            kind = "copy"
        if kind == "copy":
            res = {k: v for k, v in p.items() if k != "identifier"}
        elif kind == "variant":
            n = p["name"][0]
            syll = lambda s: "".join(lazy_pinyin(s, style=Style.NORMAL)).capitalize()  # noqa: E731
            typo = birth_typo(p["birthDate"])
            res = {
                "resourceType": "Patient",
                "name": [{"text": f"{syll(n['given'][0])} {syll(n['family'])}"}],
                "birthDate": typo,
                "gender": p["gender"],
                "telecom": [{"system": "phone", "value": "+86 " + p["telecom"][0]["value"]}],
            }
        elif kind == "resident-id":
            with_id += 1
            res = {
                "resourceType": "Patient",
                "identifier": [{**p["identifier"][0], "value": p["identifier"][0]["value"].lower()}],
            }
        else:
            other = person(args.patients + 1_000_000 + q, args.seed)
            res = {k: v for k, v in other.items() if k != "identifier"}
            i = None
        out.append((kind, None if i is None else patient_id(i, args.seed), res))
    return out


def birth_typo(b: str) -> str:
    """A valid birth date one keystroke away: the last digit of the day changed."""
    for d in "1234567890":
        candidate = b[:-1] + d
        if candidate != b:
            try:
                date.fromisoformat(candidate)
            except ValueError:
                continue
            return candidate
    return b


def _body(resource: dict) -> bytes:
    return orjson.dumps(
        {
            "resourceType": "Parameters",
            "parameter": [{"name": "resource", "resource": resource}, {"name": "count", "valueInteger": 5}],
        }
    )


def summarise(samples: list[tuple[str, float, bool | None]]) -> dict:
    out = {}
    for kind in ("copy", "variant", "resident-id", "unknown", "all"):
        ms = [m for k, m, _ in samples if kind in ("all", k)]
        right = [ok for k, _, ok in samples if kind in ("all", k) and ok is not None]
        if not ms:
            continue
        out[kind] = {
            "n": len(ms),
            "p50_ms": round(pct(ms, 50), 2),
            "p95_ms": round(pct(ms, 95), 2),
            "p99_ms": round(pct(ms, 99), 2),
            "top_is_right": round(sum(right) / len(right), 4) if right else None,
        }
    return out


def ensure_organizations(pg: PG, db: str) -> None:
    """The institutions the patients belong to, stored as the hub stores them (once)."""
    from hub.db import Database
    from hub.fhir.registry import TYPES
    from hub.fhir.store import Store

    database = Database(pg.sa_url(db), pool_size=1)
    try:
        with database.write() as conn:
            store = Store(database, conn)
            for org in ORGS:
                if store.current(TYPES["Organization"], org) is None:
                    store.create(
                        TYPES["Organization"], {"resourceType": "Organization", "name": org}, fid=org
                    )
    finally:
        database.dispose()


def over_http(args, pg: PG, db: str, qs) -> dict:
    log = OUT_DIR / f"gunicorn-empi-{datetime.now():%Y%m%d-%H%M%S}.log"
    sargs = SimpleNamespace(workers=args.workers, worker_class="sync", threads=1, app="wsgi:app")
    ensure_organizations(pg, db)
    org = ORGS[0] if args.caller == "institution" else None
    role = "institution" if org else "admin"
    client_id, key = _auth.register_client(pg.sa_url(db), "bench empi", org, role, "system/*.cruds")
    with Server(sargs, pg, db, log) as server:
        holder = _auth.TokenHolder(server.port, client_id, key, {"Content-Type": "application/fhir+json"})
        c = Client(server.port, auth=holder)
        try:
            for _, _, res in qs[: args.warmup]:
                c.request("POST", "/fhir/Patient/$match", _body(res))
            samples = []
            for kind, want, res in tqdm(qs, desc="  $match", unit="q", mininterval=1):
                body = _body(res)
                t = time.perf_counter()
                status, data, _ = c.request("POST", "/fhir/Patient/$match", body)
                ms = (time.perf_counter() - t) * 1000
                if status != 200:
                    raise RuntimeError(f"$match answered {status}: {data[:300]!r}")
                entries = orjson.loads(data).get("entry") or []
                top = entries[0]["resource"]["id"] if entries else None
                ok = (top == want) if want else (not entries or entries[0]["search"]["score"] < 0.92)
                samples.append((kind, ms, ok))
        finally:
            c.close()
    return summarise(samples)


def in_process(args, pg: PG, db: str, qs) -> dict:
    """The same ``$match`` (``hub.empi.service.match``: normalise, the indexed query, scoring, the
    audit) called in-process: what HTTP, the token check and Flask add is the difference."""
    from hub.auth.principal import Principal
    from hub.db import Database
    from hub.empi import service

    org = ORGS[0] if args.caller == "institution" else None
    principal = Principal("client", "bench-empi", org, "institution" if org else "admin", ("system/*.cruds",))
    database = Database(pg.sa_url(db), pool_size=1)
    samples = []
    try:
        for _kind, _want, res in qs[: args.warmup]:
            service.match(database, principal, res, 5)
        for kind, want, res in qs:
            t = time.perf_counter()
            found = service.match(database, principal, res, 5)
            ms = (time.perf_counter() - t) * 1000
            top = found[0].candidate.patient_id if found else None
            ok = (top == want) if want else (not found or found[0].candidate.score < 0.92)
            samples.append((kind, ms, ok))
    finally:
        database.dispose()
    return summarise(samples)


def measure(args) -> dict:
    pg = PG(args.pg)
    db = f"{args.db_prefix}_empi"
    print(f"== EMPI $match: {args.patients:,} patients (database {db}) ==", flush=True)
    loaded = load(args, pg, db)
    qs = queries(args)
    http = over_http(args, pg, db, qs)
    local = in_process(args, pg, db, qs)
    return {
        "caller": args.caller,
        "load_average": os.getloadavg(),
        "patients": args.patients,
        "queries": args.queries,
        "load": loaded,
        "http": http,
        "in_process": local,
        "target_p95_ms": 50,
        "meets_target": http["all"]["p95_ms"] < 50,
    }


def report(res: dict) -> list[str]:
    lines = [
        f"$match with {res['patients']:,} patients, {res['queries']} queries (after a warm-up), caller "
        f"{res['caller']}; load average at the end {res['load_average'][0]:.1f} on {os.cpu_count()} CPUs",
        f"{'kind':<12} {'n':>5} {'http p50':>9} {'http p95':>9} {'http p99':>9} {'in-proc p50':>12} "
        f"{'in-proc p95':>12} {'top right':>10}",
    ]
    for kind, h in res["http"].items():
        lp = res["in_process"].get(kind, {})
        right = "-" if h["top_is_right"] is None else f"{100 * h['top_is_right']:.1f} %"
        lines.append(
            f"{kind:<12} {h['n']:>5} {h['p50_ms']:>8.2f}  {h['p95_ms']:>8.2f}  {h['p99_ms']:>8.2f}  "
            f"{lp.get('p50_ms', float('nan')):>11.2f}  {lp.get('p95_ms', float('nan')):>11.2f}  {right:>10}"
        )
    verdict = "meets" if res["meets_target"] else "MISSES"
    lines.append(f"p95 over HTTP {res['http']['all']['p95_ms']:.2f} ms: {verdict} the 50 ms target")
    return lines


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    ap.add_argument("--load-workers", type=int, default=2)
    ap.add_argument("--reuse", action="store_true", help="keep the loaded database if it is complete")
    ap.add_argument(
        "--caller",
        choices=("admin", "institution"),
        default="institution",
        help="admin: the alliance office (sees everyone; every answer about an institution's patient "
        "is audited); institution: a county hospital's client asking about its own patients",
    )
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--db-prefix", default="xietong_bench")
    ap.add_argument("--seed", type=int, default=20261122)
    args = ap.parse_args(argv)
    if "127.0.0.1" not in args.pg and "localhost" not in args.pg:
        ap.error("--pg must be on 127.0.0.1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    res = measure(args)
    res["seconds"] = round(time.perf_counter() - t0, 1)
    res["cpus"] = os.cpu_count()
    print("\n".join(report(res)), flush=True)
    out = OUT_DIR / f"empi_match-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_bytes(orjson.dumps(res, option=orjson.OPT_INDENT_2))
    print(f"figures: {out.relative_to(ROOT)}")
    return 0 if res["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
