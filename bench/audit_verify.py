#!/usr/bin/env python
"""Audit chain benchmark: how long ``hub.audit.chain.verify`` takes over a large chain (PostgreSQL).

    .venv/bin/python bench/audit_verify.py                     # 200,000 events
    .venv/bin/python bench/audit_verify.py --events 1000000    # a bigger chain
    .venv/bin/python bench/audit_verify.py --reuse             # keep a complete database from a last run

Fills a database of its own (``--db``, default ``xietong_bench_audit``; dropped and re-created unless
``--reuse``) with N synthetic AuditEvents of a realistic mix (REST reads, searches, creates and
updates by 30 institutions' clients and 300 of their staff, sign-ins, token issues, disclosure
pairs; one patient each, spread over the last 30 days), then times ``verify`` over the whole chain
and prints seconds per million events.

Loading: a faithful batch equivalent of ``chain.append``, not the append path itself (which runs at
a few hundred events a second per connection: loading 200k that way would take most of an hour). Each
event is made by the ``hub.audit.events`` builders, stamped and serialised exactly as
``Store.append_only`` does it (``stamp``, ``canonical_dumps``, ``extract`` for the index rows),
linked in format 2 (``chain.link_digest`` of its body's SHA-256) in seq order, and written with COPY
into ``res_auditevent``, the index tables and ``audit_chain``; then ``audit_head`` and ``pid_seq``
are set. That it is faithful is checked, not assumed: the timed ``verify`` must come out ok, and
``--append`` more events are then added through the real ``chain.append`` (timed too) and the
whole chain verified again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import psycopg  # noqa: E402

from hub import migrate  # noqa: E402
from hub.audit import chain, events  # noqa: E402
from hub.auth.principal import Principal  # noqa: E402
from hub.db import Database  # noqa: E402
from hub.fhir.extract import extract  # noqa: E402
from hub.fhir.registry import TYPES  # noqa: E402
from hub.fhir.store import _dedupe_tokens, canonical_dumps, stamp  # noqa: E402
from hub.models import idx_date, idx_ref, idx_string, idx_token  # noqa: E402

OUT_DIR = ROOT / "bench" / "out"
NS = uuid.UUID("6f1f0c55-4a8e-4d0b-9a53-8b6f1f3f0a11")
RT = TYPES["AuditEvent"]
TABLES = [
    "res_auditevent",
    "idx_token",
    "idx_string",
    "idx_date",
    "idx_ref",
    "audit_chain",
]


def uid(*parts) -> str:
    return str(uuid.uuid5(NS, "/".join(map(str, parts))))


# --------------------------------------------------------------------------- synthetic events


class Mix:
    """A deterministic stream of realistic AuditEvents (dicts), one patient each."""

    def __init__(self, seed: int, n_patients: int = 50_000):
        self.rng = random.Random(seed)
        self.orgs = [uid("org", i) for i in range(30)]
        self.clients = [
            Principal("client", f"his-{i:02d}", org, "institution", ("system/*.rs",), name=f"HIS {i:02d}")
            for i, org in enumerate(self.orgs)
        ]
        roles = ("referral-desk", "specialist", "family-doctor", "institution-admin")
        purposes = ("treatment", "referral", "consultation", "result-recognition", "family-doctor")
        self.users = [
            Principal(
                "user",
                f"user{i:03d}",
                self.orgs[i % 30],
                roles[i % 4],
                name=f"医生{i:03d}",
                purpose=purposes[i % 5],
            )
            for i in range(300)
        ]
        self.patients = [uid("patient", i) for i in range(n_patients)]
        self.types = ("Observation", "Condition", "Encounter", "DocumentReference", "ServiceRequest", "Task")

    def event(self, i: int, when: datetime) -> dict:
        r = self.rng
        meta = events.RequestMeta(
            remote_addr=f"10.{r.randrange(30)}.{r.randrange(256)}.{r.randrange(1, 255)}",
            request_id=uid("req", i),
            server_url="https://hub.xietong.example",
            when=when,
        )
        x = r.random()
        patient = r.choice(self.patients)
        if x < 0.05:
            u = r.choice(self.users)
            ok = r.random() > 0.1
            return events.login_event(
                u.id, "0" if ok else "4", meta, organization=u.organization, role=u.role, display_name=u.name,
                outcome_desc=None if ok else "bad password",
            )  # fmt: skip
        if x < 0.10:
            c = r.choice(self.clients)
            return events.token_event(
                c.id, "0", meta, jti=uid("jti", i), scope="system/*.rs", requested_scope="system/*.rs",
                organization=c.organization, client_name=c.name, expires_in=300,
            )  # fmt: skip
        if x < 0.12:
            a, b = r.sample(self.orgs, 2)
            pair = events.disclosure_pair(
                a, b, patient, [f"DocumentReference/{uid('doc', i)}"], "referral", request_meta=meta,
                disclosure_id=f"urn:uuid:{uid('set', i)}",
            )  # fmt: skip
            return pair[i % 2]
        principal = r.choice(self.clients) if r.random() < 0.6 else r.choice(self.users)
        principal = Principal(
            principal.kind, principal.id, principal.organization, principal.role, principal.scopes,
            jti=uid("jti", i // 20) if principal.kind == "client" else None, purpose=principal.purpose,
            name=principal.name,
        )  # fmt: skip
        rtype = r.choice(self.types)
        y = r.random()
        if y < 0.45:
            return events.rest_event(
                principal,
                "read",
                patient_id=patient,
                entities=[f"{rtype}/{uid(rtype, i)}"],
                request_meta=meta,
            )
        if y < 0.75:
            q = f"{rtype}?patient={patient}&_count=50&_sort=-date"
            return events.rest_event(principal, "search-type", patient_id=patient, query=q, request_meta=meta)
        if y < 0.90:
            return events.rest_event(
                principal, "create", patient_id=patient, entities=[f"{rtype}/{uid(rtype, i)}/_history/1"],
                request_meta=meta,
            )  # fmt: skip
        if y < 0.97:
            return events.rest_event(
                principal, "update", patient_id=patient, entities=[f"{rtype}/{uid(rtype, i)}/_history/2"],
                request_meta=meta,
            )  # fmt: skip
        return events.rest_event(
            principal, "read", outcome="4", patient_id=patient, entities=[f"Patient/{patient}"],
            request_meta=meta, outcome_desc="no access link to this patient",
        )  # fmt: skip


# --------------------------------------------------------------------------- loading


def load(db: Database, pg_url: str, n: int, seed: int, chunk: int = 10_000) -> dict:
    """N events through the batch equivalent of chain.append (see the module docstring)."""
    mix = Mix(seed)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    start = end - timedelta(days=30)
    step = (end - start) / n
    prev = chain.GENESIS
    pid = 0
    t0 = time.perf_counter()
    body_bytes = 0
    with psycopg.connect(pg_url) as conn:
        for first in range(0, n, chunk):
            rows: dict[str, list[tuple]] = {t: [] for t in TABLES}
            for i in range(first, min(n, first + chunk)):
                pid += 1
                when = start + step * i
                when = when.replace(microsecond=when.microsecond // 1000 * 1000)
                event = mix.event(i, when)
                fid = uid("auditevent", i)
                body = stamp(event, fid, 1, when)
                body_text = canonical_dumps(body)
                body_bytes += len(body_text)
                ix = extract(RT, body)
                h = chain.link_digest(prev, hashlib.sha256(body_text.encode()).hexdigest())
                tenant = events.tenant_of(event)
                rows["res_auditevent"].append(
                    (
                        pid,
                        fid,
                        1,
                        when,
                        False,
                        tenant,
                        ix.patient,
                        ix.date_low,
                        ix.date_high,
                        body_text,
                        ix.codes,
                        ix.ref_keys,
                    )
                )
                for a, b in _dedupe_tokens(ix.tokens):
                    rows["idx_token"].append((pid, a, b, ix.date_low))
                for hh, nn, ee in ix.strings:
                    rows["idx_string"].append((pid, hh, nn[:512], ee[:512]))
                for hh, lo, hi in ix.dates:
                    rows["idx_date"].append((pid, hh, lo, hi))
                for hh, t, ref_id in ix.refs:
                    rows["idx_ref"].append((pid, hh, t, ref_id))
                rows["audit_chain"].append((pid, pid, when, prev, h, 2))  # seq = pid here; format 2
                prev = h
            with conn.cursor() as cur:
                for table, data in rows.items():
                    if not data:
                        continue
                    cols = _columns(table)
                    with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
                        for row in data:
                            cp.write_row(row)
            conn.commit()
            done = min(n, first + chunk)
            print(f"\r  loaded {done:,}/{n:,}", end="", flush=True)
        conn.execute("INSERT INTO audit_head (id, seq, entry_hash) VALUES (1, %s, %s)", (n, prev))
        conn.execute("SELECT setval('pid_seq', %s)", (pid,))
        conn.commit()
    t_load = time.perf_counter() - t0
    print()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        t1 = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        t_vacuum = time.perf_counter() - t1
        size = conn.execute("SELECT pg_total_relation_size('res_auditevent')").fetchone()[0]
    return {
        "load_s": round(t_load, 1),
        "events_per_s_loaded": round(n / t_load),
        "vacuum_analyze_s": round(t_vacuum, 1),
        "mean_body_bytes": round(body_bytes / n),
        "res_auditevent_mb": round(size / 2**20),
    }


def _columns(table: str) -> list[str]:
    from hub.audit.tables import audit_chain
    from hub.models import resource_tables

    t = {
        "res_auditevent": resource_tables["AuditEvent"],
        "idx_token": idx_token,
        "idx_string": idx_string,
        "idx_date": idx_date,
        "idx_ref": idx_ref,
        "audit_chain": audit_chain,
    }[table]
    return [c.name for c in t.columns]


# --------------------------------------------------------------------------- timing


def time_verify(db: Database, batch: int) -> tuple[float, chain.VerifyResult]:
    t0 = time.perf_counter()
    with chain.snapshot(db) as conn:
        result = chain.verify(conn, batch=batch)
    return time.perf_counter() - t0, result


def time_fetch_only(db: Database, batch: int) -> float:
    """The same stream of rows, without hashing: what the database and the driver cost."""
    from sqlalchemy import select

    from hub.audit.tables import audit_chain as ch

    ae = chain.audit_events
    q = (
        select(ch.c.seq, ch.c.prev_hash, ch.c.entry_hash, ae.c.body, ae.c.version, ae.c.deleted)
        .select_from(ch.outerjoin(ae, ae.c.pid == ch.c.pid))
        .order_by(ch.c.seq)
        .execution_options(yield_per=batch)
    )
    t0 = time.perf_counter()
    with chain.snapshot(db) as conn:
        for _ in conn.execute(q).partitions():
            pass
    return time.perf_counter() - t0


def time_appends(db: Database, k: int, seed: int) -> float:
    mix = Mix(seed + 1)
    t0 = time.perf_counter()
    for i in range(k):
        with db.write() as conn:
            chain.append(db, conn, mix.event(i, datetime.now(UTC)))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432", help="cluster base URL")
    ap.add_argument("--db", default="xietong_bench_audit")
    ap.add_argument("--batch", type=int, default=chain.BATCH, help="rows per fetch in verify")
    ap.add_argument("--runs", type=int, default=3, help="timed verify runs")
    ap.add_argument("--append", type=int, default=1000, help="events then added through chain.append")
    ap.add_argument(
        "--reuse", action="store_true", help="keep the database if its chain has at least --events events"
    )
    ap.add_argument("--seed", type=int, default=20261122)
    args = ap.parse_args()

    pg_url = f"{args.pg.rstrip('/')}/{args.db}"
    sa_url = pg_url.replace("postgresql://", "postgresql+psycopg://", 1)
    info: dict = {"events": args.events, "batch": args.batch}
    reuse = False
    if args.reuse:
        try:
            with psycopg.connect(pg_url) as conn:
                head = conn.execute("SELECT seq FROM audit_head WHERE id = 1").fetchone()
                reuse = head is not None and head[0] >= args.events
        except psycopg.Error:
            reuse = False
    if not reuse:
        with psycopg.connect(f"{args.pg.rstrip('/')}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{args.db}"')
        migrate.upgrade(sa_url)
        print(f"loading {args.events:,} AuditEvents into {args.db} …")
        db = Database(sa_url)
        info["load"] = load(db, pg_url, args.events, args.seed)
        print(f"  {info['load']}")
    else:
        print(f"reusing {args.db} ({args.events:,} events)")
        db = Database(sa_url)

    try:
        runs, checked = [], 0
        for run in range(args.runs):
            seconds, result = time_verify(db, args.batch)
            runs.append(seconds)
            checked = result.checked
            print(f"  verify run {run + 1}: {seconds:.2f} s  ok={result.ok} checked={result.checked:,}")
            if not result.ok:
                print(f"  BROKEN: {result}")
                sys.exit(1)
        fetch = time_fetch_only(db, args.batch)
        best, median = min(runs), statistics.median(runs)
        info["verify_s"] = [round(s, 2) for s in runs]
        info["chain_length"] = checked
        info["verify_best_s_per_million"] = round(best / checked * 1e6, 2)
        info["verify_median_s_per_million"] = round(median / checked * 1e6, 2)
        info["verify_events_per_s"] = round(checked / median)
        info["fetch_only_s"] = round(fetch, 2)
        print(
            f"verify: median {median:.2f} s for {checked:,} events = "
            f"{info['verify_median_s_per_million']} s per million "
            f"(best {info['verify_best_s_per_million']}); "
            f"fetching the rows alone {fetch:.2f} s"
        )
        if args.append:
            seconds = time_appends(db, args.append, args.seed)
            info["append_ms_each"] = round(seconds / args.append * 1000, 2)
            info["appends_per_s_one_connection"] = round(args.append / seconds)
            # Appends wait to be chained (the hub's chainer thread links them): link them here.
            t0 = time.perf_counter()
            linked = chain.link_all(db)
            info["chainer_ms_per_event"] = round((time.perf_counter() - t0) / max(linked, 1) * 1000, 3)
            _, result = time_verify(db, args.batch)
            info["verify_after_appends_ok"] = (
                result.ok and result.checked >= checked + args.append and result.pending == 0
            )
            print(
                f"append (real path, one connection): {info['append_ms_each']} ms each "
                f"({info['appends_per_s_one_connection']}/s); chained by the chainer in "
                f"{info['chainer_ms_per_event']} ms each; "
                f"chain still verifies: {info['verify_after_appends_ok']}"
            )
            if not info["verify_after_appends_ok"]:
                print(f"  BROKEN after appends: {result}")
                sys.exit(1)
        info["host"] = (
            f"{platform.node()} {platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}"
        )
        with psycopg.connect(pg_url) as conn:
            info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        out = OUT_DIR / f"audit_verify-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
        out.write_text(json.dumps(info, indent=2))
        print(f"wrote {out.relative_to(ROOT)}")
    finally:
        db.dispose()


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


if __name__ == "__main__":
    main()
