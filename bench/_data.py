"""Data for ``bench/fhir_core.py``: real-shaped records, and bulk loading through the hub's row code.

The Observations are copies of the Synthea Observations in ``../shared/data/synthea`` (58 LOINC codes
at their Synthea frequencies: vital signs and surveys about 9 % each, panels about 1-2 %, rare codes
0.1-0.2 %; storage design section 1) with new ids, ``Patient/<id>`` and ``Encounter/<id>``
references and dates spread evenly over 2014-2024 (2 % as ``effectivePeriod``). Without that folder
(a user's checkout) they fall back to ``tests.factories.observation`` over a built-in table of LOINC
codes with similar frequencies. Per-patient counts are log-normal (mean 10, long tail).

Bulk rows are made exactly as ``hub.fhir.store.Store.create`` makes them (``stamp``, ``orjson``,
``extract``, the same row values), and written with COPY into the tables of ``hub.models``.
"""

from __future__ import annotations

import glob
import math
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from hub.fhir import dates
from hub.fhir.extract import extract
from hub.fhir.registry import TYPES
from hub.fhir.store import _dedupe_tokens, dumps, stamp
from hub.models import idx_date, idx_ref, idx_string, idx_token, resource_history, resource_tables
from tests import factories

ROOT = Path(__file__).resolve().parent.parent
SYNTHEA_DIR = ROOT.parent / "shared" / "data" / "synthea"
MRN_SYSTEM = "http://xietong.example/fhir/sid/mrn/county-1"
DATE_FROM = datetime(2014, 1, 1, tzinfo=UTC)
DATE_SPAN_S = int((datetime(2024, 1, 1, tzinfo=UTC) - DATE_FROM).total_seconds())

# Fallback: (code, display, unit, category, typical value, relative frequency)
FALLBACK_CODES = [
    ("8302-2", "Body Height", "cm", "vital-signs", 170.0, 90),
    ("29463-7", "Body Weight", "kg", "vital-signs", 70.0, 90),
    ("72514-3", "Pain severity - 0-10 verbal numeric rating", "{score}", "vital-signs", 2.0, 90),
    ("8480-6", "Systolic blood pressure", "mm[Hg]", "vital-signs", 128.0, 90),
    ("8462-4", "Diastolic blood pressure", "mm[Hg]", "vital-signs", 82.0, 90),
    ("39156-5", "Body Mass Index", "kg/m2", "vital-signs", 24.0, 83),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", "laboratory", 14.0, 21),
    ("787-2", "MCV [Entitic volume] by Automated count", "fL", "laboratory", 90.0, 21),
    ("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", "laboratory", 250.0, 21),
    ("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL", "laboratory", 7.0, 21),
    ("789-8", "Erythrocytes [#/volume] in Blood by Automated count", "10*6/uL", "laboratory", 4.8, 21),
    ("4544-3", "Hematocrit [Volume Fraction] of Blood", "%", "laboratory", 42.0, 21),
    ("2093-3", "Total Cholesterol", "mg/dL", "laboratory", 190.0, 19),
    ("2571-8", "Triglycerides", "mg/dL", "laboratory", 140.0, 19),
    ("18262-6", "Low Density Lipoprotein Cholesterol", "mg/dL", "laboratory", 110.0, 19),
    ("2085-9", "High Density Lipoprotein Cholesterol", "mg/dL", "laboratory", 55.0, 19),
    ("2339-0", "Glucose", "mg/dL", "laboratory", 95.0, 13),
    ("38483-4", "Creatinine", "mg/dL", "laboratory", 1.0, 13),
    ("2947-0", "Sodium", "mmol/L", "laboratory", 140.0, 13),
    ("6298-4", "Potassium", "mmol/L", "laboratory", 4.2, 13),
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", "laboratory", 5.8, 13),
    ("8331-1", "Oral temperature", "Cel", "vital-signs", 36.8, 10),
    ("19926-5", "FEV1/FVC", "%", "laboratory", 80.0, 2),
    ("33762-6", "NT-proBNP", "pg/mL", "laboratory", 120.0, 1),
    ("10230-1", "Left ventricular Ejection fraction", "%", "laboratory", 60.0, 1),
    ("1742-6", "Alanine aminotransferase", "U/L", "laboratory", 30.0, 1),
]

FAMILIES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVENS = tuple("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚文华红")  # one-character given names
REGIONS = ["330102", "330105", "330106", "330108", "330110", "330122", "330127", "330182"]


# ----- templates -----

_templates: tuple[list[bytes], str] | None = None


def observation_templates() -> tuple[list[bytes], str]:
    """Observation templates as JSON bytes (sampling them uniformly gives the source's code mix)."""
    global _templates
    if _templates is None:
        _templates = _synthea_templates() or _fallback_templates()
    return _templates


def _synthea_templates() -> tuple[list[bytes], str] | None:
    files = sorted(glob.glob(str(SYNTHEA_DIR / "*.json")))
    out = []
    for f in files:
        bundle = orjson.loads(Path(f).read_bytes())
        for e in bundle.get("entry", []):
            r = e.get("resource") or {}
            if r.get("resourceType") == "Observation" and "code" in r:
                r = {k: v for k, v in r.items() if k not in ("id", "effectivePeriod")}
                out.append(orjson.dumps(r))
    if len(out) < 100:
        return None
    return out, f"Synthea ({len(files)} bundles, {len(out)} Observations)"


def _fallback_templates() -> tuple[list[bytes], str]:
    out = []
    for code, display, unit, category, value, weight in FALLBACK_CODES:
        obs = factories.observation(
            "x", code=code, display=display, value=value, unit=unit, category=category
        )
        out.extend([orjson.dumps(obs)] * weight)
    return out, f"built-in table ({len(FALLBACK_CODES)} LOINC codes)"


# ----- records -----


def det_uuid(*parts) -> str:
    """A deterministic uuid4-shaped id (so a reused database and a new run agree)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "xietong-bench/" + "/".join(map(str, parts))))


def patient_counts(n_obs: int, n_patients: int, seed: int) -> list[int]:
    """Observations per patient: log-normal (mean n_obs/n_patients), at least 1 each, summing to n_obs."""
    rng = random.Random(seed)
    sigma = 1.0
    weights = [rng.lognormvariate(0.0, sigma) for _ in range(n_patients)]
    spare = n_obs - n_patients
    scale = spare / sum(weights)
    counts = [1 + int(w * scale) for w in weights]
    missing = n_obs - sum(counts)
    for i in rng.sample(range(n_patients), missing):
        counts[i] += 1
    return counts


def observation(tpl: bytes, rng: random.Random, patient_id: str) -> dict:
    obs = orjson.loads(tpl)
    obs["subject"] = {"reference": f"Patient/{patient_id}"}
    obs["encounter"] = {"reference": f"Encounter/{uuid.UUID(int=rng.getrandbits(128), version=4)}"}
    when = DATE_FROM + timedelta(seconds=rng.randrange(DATE_SPAN_S))
    stamp_ = when.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    obs.pop("effectiveDateTime", None)
    if rng.random() < 0.02:
        obs["effectivePeriod"] = {"start": stamp_, "end": (when + timedelta(hours=1)).isoformat()}
    else:
        obs["effectiveDateTime"] = stamp_
    if "issued" in obs:
        obs["issued"] = when.strftime("%Y-%m-%dT%H:%M:%S.000+00:00")
    return obs


def patient(i: int, tag: str = "") -> dict:
    """A hub-shaped Patient with identifiers distinct for each ``(tag, i)``."""
    rng = random.Random(f"{tag}/{i}")
    birth = datetime(1930, 1, 1) + timedelta(days=rng.randrange(90 * 365))
    card = factories.resident_id(birth.strftime("%Y%m%d"), rng.choice(REGIONS), f"{i % 1000:03d}")
    return factories.patient(
        family=rng.choice(FAMILIES),
        given=rng.choice(GIVENS),
        gender=rng.choice(("male", "female")),
        birth_date=birth.strftime("%Y-%m-%d"),
        mrn=f"{tag}M{i:09d}",
        phone=f"13{rng.randrange(10**9):09d}",
        id_card=card,
    )


def mrn_of(i: int, tag: str = "") -> str:
    return f"{tag}M{i:09d}"


def referral_bundle(i: int, tag: str = "") -> dict:
    """``tests.factories.referral_bundle`` with its own Patient identifiers and fullUrls."""
    b = factories.referral_bundle(pid_urn=f"urn:uuid:{det_uuid(tag, 'bundle', i)}")
    b["entry"][0]["resource"] = patient(i, tag + "B")
    return b


# ----- bulk rows, as Store.create makes them -----


def _copy_value(v) -> str:
    t = type(v)
    if t is str:
        if "\\" in v or "\t" in v or "\n" in v or "\r" in v:
            return v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        return v
    if v is None:
        return "\\N"
    if t is bool:
        return "t" if v else "f"
    if t is int:
        return str(v)
    if t is datetime:
        return v.astimezone(UTC).isoformat()
    if t is list:  # an array of numbers (``codes``)
        return "{" + ",".join(str(x) for x in v) + "}"
    return _copy_value(str(v))


class CopyRows:
    """COPY text per table, columns in the order of ``hub.models`` (checked: unknown keys fail)."""

    def __init__(self):
        self.data: dict[str, list[str]] = {}
        self.columns: dict[str, list[str]] = {}
        self._sets: dict[str, frozenset] = {}

    def add(self, table, row: dict) -> None:
        cols = self.columns.get(table.name)
        if cols is None:
            cols = self.columns[table.name] = [c.name for c in table.columns]
            self._sets[table.name] = frozenset(cols)
            self.data[table.name] = []
        if not row.keys() <= self._sets[table.name]:
            unknown = sorted(row.keys() - self._sets[table.name])
            raise KeyError(f"{table.name} has no column(s) {unknown}: did hub.models change?")
        self.data[table.name].append("\t".join([_copy_value(row.get(c)) for c in cols]))

    def out(self) -> list[tuple[str, list[str], str]]:
        return [(t, self.columns[t], "\n".join(lines) + "\n") for t, lines in self.data.items() if lines]


def copy_out(cur, out: list[tuple[str, list[str], str]]) -> None:
    """COPY the tables of ``CopyRows.out()`` (or ``build_chunk``'s result) on ``cur``."""
    for table, cols, text in out:
        with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
            cp.write(text)


def add_resource(
    rows: CopyRows, rtype: str, resource: dict, fid: str, pid: int, when: datetime, tenant: str | None = None
) -> dict:
    """The rows ``Store.create`` writes for one new resource (current, history, index tables), stored
    under ``tenant``; the stored body."""
    rt = TYPES[rtype]
    body = stamp(resource, fid, 1, when)
    text = dumps(body)
    ix = extract(rt, body)
    when = _copy_value(when)  # formatted once: the same instant goes into several rows
    sort_date = None if ix.date_low is None else _copy_value(ix.date_low)
    rows.add(
        resource_tables[rtype],
        {
            "pid": pid,
            "fhir_id": fid,
            "version": 1,
            "last_updated": when,
            "deleted": False,
            "tenant": tenant,
            "patient": ix.patient,
            "date_low": ix.date_low,
            "date_high": ix.date_high,
            "body": text,
        }
        | ({"codes": ix.codes, "refs": ix.ref_keys} if rt.codes_in_row else {}),
    )
    rows.add(
        resource_history,
        {
            "pid": pid,
            "version": 1,
            "res_type": rtype,
            "fhir_id": fid,
            "last_updated": when,
            "method": "POST",
            "deleted": False,
            "body": text,
        },
    )
    for a, b in _dedupe_tokens(ix.tokens):
        rows.add(idx_token, {"pid": pid, "hash_sys_value": a, "hash_value": b, "sort_date": sort_date})
    for h, n, e in ix.strings:
        rows.add(idx_string, {"pid": pid, "hash_identity": h, "value_norm": n[:512], "value_exact": e[:512]})
    for h, lo, hi in ix.dates:
        rows.add(idx_date, {"pid": pid, "hash_identity": h, "low": lo, "high": hi})
    for h, t, i in ix.refs:
        rows.add(idx_ref, {"pid": pid, "hash_identity": h, "target_type": t, "target_id": i})
    return body


def build_chunk(task: tuple) -> tuple[int, list[tuple[str, list[str], str]]]:
    """One chunk of the bulk load (runs in a worker process): ``(resources, [(table, cols, text)])``.

    ``("patients", tag, first_index, n, first_pid)`` or
    ``("observations", tag, chunk_no, patient_indices, first_pid, seed)``.
    """
    rows = CopyRows()
    when = dates.now_utc()
    if task[0] == "patients":
        _, tag, first, n, pid = task
        for i in range(first, first + n):
            add_resource(rows, "Patient", patient(i, tag), det_uuid(tag, "p", i), pid, when)
            pid += 1
        return n, rows.out()
    _, tag, chunk_no, patient_indices, pid, seed = task
    templates, _ = observation_templates()
    rng = random.Random(f"{seed}/{tag}/{chunk_no}")
    for k, p in enumerate(patient_indices):
        obs = observation(rng.choice(templates), rng, det_uuid(tag, "p", p))
        add_resource(rows, "Observation", obs, det_uuid(tag, "o", chunk_no, k), pid, when)
        pid += 1
    return len(patient_indices), rows.out()


def load_tasks(tag: str, n_obs: int, n_patients: int, first_pid: int, seed: int, chunk: int = 5000):
    """The chunks of a load: Patients first, then Observations in shuffled patient order."""
    pid = first_pid
    for first in range(0, n_patients, chunk):
        n = min(chunk, n_patients - first)
        yield ("patients", tag, first, n, pid)
        pid += n
    counts = patient_counts(n_obs, n_patients, seed)
    order = [p for p, c in enumerate(counts) for _ in range(c)]
    random.Random(seed).shuffle(order)
    for no, first in enumerate(range(0, n_obs, chunk)):
        part = order[first : first + chunk]
        yield ("observations", tag, no, part, pid, seed)
        pid += len(part)


def describe_counts(n_obs: int, n_patients: int, seed: int) -> str:
    counts = sorted(patient_counts(n_obs, n_patients, seed))
    q = [counts[min(len(counts) - 1, math.floor(f * len(counts)))] for f in (0.5, 0.9, 0.99)]
    return f"per patient: median {q[0]}, p90 {q[1]}, p99 {q[2]}, max {counts[-1]}"
