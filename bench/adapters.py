"""Adapter throughput: records stored per second through each adapter (parse, map, validate, link
through the EMPI, store with audit) against the floor of parsing the same records with
fhir.resources alone, in one run.

    .venv/bin/python bench/adapters.py                 # 2,000 lab results per adapter, SQLite
    .venv/bin/python bench/adapters.py --records 4000 --pg postgresql+psycopg://postgres@127.0.0.1:5432/bench_adapters

Every adapter gets the same people and results: 10 results per patient (one FHIR Bundle, one ORU^R01,
or 10 CSV rows per patient). The floor validates the same Patient and Observation resources, as the
fhir adapter's input, with ``fhir.resources.R4B`` and nothing else.

``fhir`` and ``hl7v2`` send one Bundle or message per call (as one HTTP request or MLLP message
each: one transaction each); ``fhir ndjson`` sends other people's Bundles, as many, in one NDJSON
payload, which the intake stores in groups (one transaction per group of pieces), as it does CSV
rows.

This machine's speed drifts by half within minutes (other work on its two cores), so each row is
compared with the floor measured around it: the floor runs again after every row, and a row's
``floor/s`` is the best of the floors just before and just after it (the higher, the harder for the
row). The first row is the floor of the start, best of three.

Each row also gives this process's CPU time per record (PostgreSQL's is not counted) and the
floor's over it: figures that other work on the machine disturbs less than records/s. The start-up
heap is frozen (``gc.freeze``) before the runs, as ``flask ingest run`` and the MLLP listener do
(``--no-freeze``: not).

``--pg`` needs an empty database (intake is resumable: payloads it has stored before store nothing
again, so a database used by an earlier run would measure nothing; the script says so and stops).
"""

from __future__ import annotations

import argparse
import datetime
import random
import sys
import tempfile
import time
from pathlib import Path

import orjson

# bench/fhir_core.py would shadow the fhir_core package: the repository, not bench/, goes first.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from fhir.resources.R4B import get_fhir_model_class  # noqa: E402
from sqlalchemy import select  # noqa: E402

from adapters.pipeline import Piece  # noqa: E402
from adapters.tables import intake_ledger  # noqa: E402
from hub import create_app, migrate  # noqa: E402
from hub.auth.principal import system  # noqa: E402
from hub.config import Config  # noqa: E402
from hub.fhir import transaction  # noqa: E402
from hub.ingest.service import Intake, freeze_startup_heap  # noqa: E402
from hub.seed import demo_alliance_bundle  # noqa: E402

FAMILY = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "桂英",
]
LAB = [
    ("GLU", "1001", "XT", "空腹血糖", "mmol/L", 3.9, 6.1),
    ("HBA1C", "1002", "THXHDB", "糖化血红蛋白", "%", 4.0, 6.0),
    ("TC", "1010", "ZDGC", "总胆固醇", "mmol/L", 2.8, 5.2),
    ("TG", "1011", "GYSZ", "甘油三酯", "mmol/L", 0.5, 1.7),
    ("CREA", "1020", "JG", "肌酐", "umol/L", 57, 111),
    ("HGB", "2002", "XHDB", "血红蛋白", "g/L", 130, 175),
    ("WBC", "2001", "BXB", "白细胞计数", "10*9/L", 3.5, 9.5),
]


def people(n: int, seed: int, tag: str):
    rng = random.Random(seed)
    for i in range(n):
        birth = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(0, 25000))
        yield {
            "mrn": f"{tag}{i:06d}",
            "family": rng.choice(FAMILY),
            "given": rng.choice(GIVEN),
            "gender": rng.choice(["male", "female"]),
            "birth": birth,
            "phone": f"1390000{rng.randrange(0, 9999):04d}",
            "results": [(rng.choice(LAB), round(rng.uniform(2, 12), 1)) for _ in range(10)],
        }


def fhir_bundle(p: dict) -> dict:
    entries = [
        {
            "fullUrl": f"urn:uuid:p-{p['mrn']}",
            "resource": {
                "resourceType": "Patient",
                "identifier": [{"system": "http://his.yuxi-first.example/fhir/sid/mrn", "value": p["mrn"]}],
                "name": [{"family": p["family"], "given": [p["given"]]}],
                "gender": p["gender"],
                "birthDate": p["birth"].isoformat(),
                "telecom": [{"system": "phone", "value": p["phone"]}],
            },
        }
    ]
    for k, (lab, value) in enumerate(p["results"]):
        entries.append(
            {
                "fullUrl": f"urn:uuid:o-{p['mrn']}-{k}",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {
                        "coding": [
                            {
                                "system": "http://his.yuxi-first.example/fhir/CodeSystem/lis-item",
                                "code": lab[0],
                            }
                        ],
                        "text": lab[3],
                    },
                    "subject": {"reference": f"urn:uuid:p-{p['mrn']}"},
                    "effectiveDateTime": "2026-11-15T08:30:00+08:00",
                    "valueQuantity": {"value": value, "unit": lab[4]},
                    "referenceRange": [
                        {"low": {"value": lab[5], "unit": lab[4]}, "high": {"value": lab[6], "unit": lab[4]}}
                    ],
                },
            }
        )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def oru(p: dict) -> bytes:
    g = {"male": "M", "female": "F"}[p["gender"]]
    segs = [
        f"MSH|^~\\&|THLIS|TH|XT|YX|20261115093000||ORU^R01|{p['mrn']}|P|2.4",
        f"PID|1||{p['mrn']}^^^THHIS^MR||{p['family']}^{p['given']}||{p['birth']:%Y%m%d}|{g}|||||{p['phone']}",
        f"OBR|1||{p['mrn']}|ZH^生化^THLIS|||20261115080000|||||||||||||||||||F",
    ]
    for k, (lab, value) in enumerate(p["results"], 1):
        segs.append(
            f"OBX|{k}|NM|{lab[1]}^{lab[3]}^THLIS||{value}|{lab[4]}|{lab[5]}-{lab[6]}||||F|||20261115081500"
        )
    return ("\r".join(segs) + "\r").encode()


HEADER = "门诊号,身份证号,医保号,姓名,性别,出生日期,联系电话,检验单号,项目代码,项目名称,结果,单位,参考范围,报告时间\r\n"  # noqa: E501


def csv_rows(p: dict) -> str:
    sex = {"male": "男", "female": "女"}[p["gender"]]
    return "".join(
        f"{p['mrn']},,,{p['family']}{p['given']},{sex},{p['birth']},{p['phone']},J{p['mrn']},{lab[2]},{lab[3]},"
        f"{value},{lab[4]},{lab[5]}-{lab[6]},2026-11-15 08:30\r\n"
        for k, (lab, value) in enumerate(p["results"])
    )


def floor(bundles: list[dict]) -> tuple[float, float]:
    """Records per second, and this process's CPU seconds per record."""
    t, cpu = time.perf_counter(), time.process_time()
    n = 0
    for b in bundles:
        for e in b["entry"]:
            res = e["resource"]
            get_fhir_model_class(res["resourceType"]).model_validate(res)
            n += res["resourceType"] == "Observation"
    return n / (time.perf_counter() - t), (time.process_time() - cpu) / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=2000, help="lab results per adapter (10 per patient)")
    ap.add_argument("--pg", help="a PostgreSQL URL of an empty database (default: a temporary SQLite file)")
    ap.add_argument("--no-freeze", action="store_true", help="no gc.freeze() of the start-up heap")
    ap.add_argument(
        "--translators",
        type=int,
        default=1,
        help="translating processes of the extra 'fhir ndjson, N translating' row (0: no such row)",
    )
    args = ap.parse_args()
    n = max(args.records // 10, 1)
    url = args.pg or f"sqlite:///{tempfile.mkdtemp(prefix='xt-bench-adapters-')}/hub.sqlite"
    migrate.upgrade(url)
    app = create_app(Config.from_env({}, DATABASE_URL=url, INSTANCE_PATH=tempfile.mkdtemp()))
    hub = app.extensions["xietong"]
    with hub.db.read() as conn:
        if conn.execute(select(intake_ledger.c.institution).limit(1)).first() is not None:
            # Intake is resumable: the same payloads again would store nothing and measure nothing.
            print(f"{args.pg} already holds ingested payloads; give an empty database", file=sys.stderr)
            return 2
    transaction.process(hub.fhir, system("bench"), demo_alliance_bundle(), "urn:bench")
    if not args.no_freeze:
        freeze_startup_heap()  # as ``flask ingest run`` and the MLLP listener do once started

    rates, cpus = {}, {}  # records/s; this process's CPU seconds per record (PostgreSQL's not counted)
    floors = {}  # each row's floor (records/s, CPU s per record): the best measured just before and after it
    fhir_people = list(people(n, 1, "F"))
    bundles = [fhir_bundle(p) for p in fhir_people]
    rates["floor (fhir.resources parse)"], cpus["floor (fhir.resources parse)"] = max(
        floor(bundles) for _ in range(3)
    )
    last_floor = (rates["floor (fhir.resources parse)"], cpus["floor (fhir.resources parse)"])

    def ndjson(seed, tag):
        return [b"\n".join(orjson.dumps(fhir_bundle(p)) for p in people(n, seed, tag))]

    translating = f"fhir ndjson, {args.translators} translating"
    runs = {  # what: (institution, payloads[, translating processes])
        "fhir": ("yuxi-first", [orjson.dumps(b) for b in bundles]),
        "fhir ndjson": ("yuxi-first", ndjson(4, "G")),
        translating: ("yuxi-first", ndjson(5, "T"), args.translators),
        "hl7v2": ("tonghai-county", [oru(p) for p in people(n, 2, "H")]),
        "csv": ("panxi-thc", [(HEADER + "".join(csv_rows(p) for p in people(n, 3, "C"))).encode("gb18030")]),
    }
    if args.translators < 1:
        del runs[translating]
    for what, (inst, payloads, *more) in runs.items():
        fmt, translators = what.split()[0], (more or [0])[0]
        with Intake(hub, inst, translators=translators) as intake:
            if translators:  # started, and their FHIR models imported, before the clock starts
                intake.translators().warm(fmt, [Piece(orjson.dumps(bundles[0]), "warm-up")])
            t, cpu = time.perf_counter(), time.process_time()
            records = quarantined = 0
            for payload in payloads:
                s = intake.run(fmt, payload, "bench")
                records += sum(r.records for r in s.results if r.outcome == "stored")
                quarantined += s.quarantined
            elapsed = time.perf_counter() - t
        rates[what] = records / elapsed
        cpus[what] = (time.process_time() - cpu) / records
        after = max(floor(bundles) for _ in range(2))
        floors[what] = (max(last_floor[0], after[0]), min(last_floor[1], after[1]))
        last_floor = after
        print(f"{what:11s} {records} records ({quarantined} quarantined) in {elapsed:.1f} s", file=sys.stderr)
    what = f"({n * 10} results, {n} patients, {hub.db.dialect})"
    first = (rates["floor (fhir.resources parse)"], cpus["floor (fhir.resources parse)"])
    print(
        f"{'what':32s} {'records/s':>10s} {'floor/s':>8s} {'x floor':>8s} {'CPU ms/rec':>10s} "
        f"{'floor/CPU':>9s}   {what}"
    )
    for k, v in rates.items():
        base, base_cpu = floors.get(k, first)
        print(
            f"{k:32s} {v:10.0f} {base:8.0f} {v / base:8.3f} {cpus[k] * 1000:10.3f} {base_cpu / cpus[k]:9.3f}"
        )
    hub.db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
