"""The ``csv`` adapter: result exports of county and township systems.

The institution's mapping file declares the file's encoding (UTF-8, GB 18030 ...), the delimiter,
which column holds what (``patient.name: 姓名``), value maps (``性别: 男 -> male``) and which code
map translates which column. One row is one unit: the patient, a lab result and/or a diagnosis.
A row travels on its own (the header line with it), so that a quarantined row can be replayed alone.
"""

from __future__ import annotations

import csv as std_csv
import datetime
import decimal
import hashlib
import io
import re
from collections.abc import Iterator

from .mapping import Mapping
from .patient import identifier, patient
from .patient import name as person_name
from .pipeline import PATIENT_REF, Piece, Record, Rejected, Unit, coding

name = "csv"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_RANGE = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*(?:-|~|–|—|－|_)\s*([+-]?\d+(?:\.\d+)?)\s*$")
_NUMBER = re.compile(r"^\s*([<>]=?)?\s*([+-]?\d+(?:\.\d+)?)\s*$")


def _spec(mapping: Mapping) -> dict:
    spec = mapping.csv
    if not spec or not spec.get("columns"):
        raise Rejected("map", f"institution {mapping.key} has no CSV layout in its mapping file", "csv")
    return spec


def _decode(raw: bytes, encoding: str) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise Rejected(
            "parse",
            f"the file is not {encoding} text (byte {exc.start}: {raw[exc.start : exc.start + 4]!r})",
            "encoding",
        ) from None


def split(payload: bytes, source: str, mapping: Mapping) -> Iterator[Piece]:
    try:
        spec = _spec(mapping)
        encoding = spec.get("encoding", "utf-8")
        text = _decode(payload, encoding)
        rows = list(std_csv.reader(io.StringIO(text, newline=""), delimiter=spec.get("delimiter", ",")))
    except (Rejected, std_csv.Error):
        yield Piece(payload, source)  # unreadable as a whole: quarantined whole
        return
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        yield Piece(payload, source)
        return
    header = rows[0]
    for n, row in enumerate(rows[1:], 2):
        buf = io.StringIO()
        w = std_csv.writer(buf, delimiter=spec.get("delimiter", ","), lineterminator="\r\n")
        w.writerow(header)
        w.writerow(row)
        try:
            raw = buf.getvalue().encode(encoding)
        except UnicodeEncodeError:
            raw = buf.getvalue().encode("utf-8")
        yield Piece(raw, f"{source}:{n}")


def translate(piece: Piece, mapping: Mapping) -> Unit:
    spec = _spec(mapping)
    text = _decode(piece.raw, spec.get("encoding", "utf-8"))
    try:
        rows = list(std_csv.reader(io.StringIO(text, newline=""), delimiter=spec.get("delimiter", ",")))
    except std_csv.Error as exc:
        raise Rejected("parse", f"not CSV: {exc}", "row") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) != 2:
        raise Rejected("parse", f"expected a header and one row, found {len(rows)} lines", "row")
    header, values = [h.strip() for h in rows[0]], rows[1]
    if len(values) != len(header):
        raise Rejected("parse", f"the row has {len(values)} fields, the header {len(header)}", "row")
    row = dict(zip(header, (v.strip() for v in values), strict=True))
    columns: dict = spec["columns"]
    missing = [c for f, c in columns.items() if f.startswith("patient.") and c not in row]
    if missing:
        raise Rejected("map", f"columns missing from the file: {', '.join(missing)}", f"column {missing[0]}")
    value_maps: dict = spec.get("values") or {}

    def col(field: str) -> str:
        c = columns.get(field)
        return row.get(c, "") if c else ""

    def mapped(field: str) -> str:
        v = col(field)
        table = value_maps.get(field)
        if v and table is not None:
            if v not in table:
                raise Rejected(
                    "map", f"column {columns[field]}: '{v}' has no mapping", f"column {columns[field]}"
                )
            return str(table[v])
        return v

    def when(field: str, date_only: bool = False) -> str | None:
        v = col(field)
        if not v:
            return None
        for fmt in spec.get("datetime_formats") or ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]:
            try:
                t = datetime.datetime.strptime(v, fmt)
            except ValueError:
                continue
            if date_only or ("%H" not in fmt):
                return t.date().isoformat()
            return t.strftime("%Y-%m-%dT%H:%M:%S") + mapping.timezone
        raise Rejected("map", f"column {columns[field]}: '{v}' is not a date", f"column {columns[field]}")

    key_cols = spec.get("record_key") or []
    record_key = "|".join(row.get(c, "") for c in key_cols) if key_cols else None
    unit = Unit(message_id=record_key)
    idents = []
    for field, kind in (
        ("patient.resident_id", "resident-id"),
        ("patient.mrn", "mrn"),
        ("patient.insurance", "insurance"),
    ):
        v = col(field)
        if v:
            idents.append(identifier(mapping, kind, v, f"column {columns[field]}"))
    full = col("patient.name")
    names = [person_name(full[:1], [full[1:]] if len(full) > 1 else [], text=full)] if full else []
    unit.patients.append(
        patient(
            idents,
            [n for n in names if n],
            mapped("patient.gender") or None,
            when("patient.birth_date", date_only=True),
            [col("patient.phone")] if col("patient.phone") else [],
            element=f"column {columns.get('patient.resident_id') or columns.get('patient.mrn')}",
        )
    )
    code_maps = spec.get("code_maps") or {}
    subject = {"reference": f"{PATIENT_REF}0"}

    if col("result.code") or col("result.value"):
        code_col = columns.get("result.code", "result.code")
        system = (
            mapping.code_map(code_maps["result.code"]).source
            if "result.code" in code_maps
            else mapping.local_system(code_col)
        )
        if not col("result.code"):
            raise Rejected("map", f"column {code_col}: a result without an item code", f"column {code_col}")
        obs: dict = {
            "resourceType": "Observation",
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "laboratory",
                        }
                    ]
                }
            ],
            "code": {
                "coding": coding(
                    mapping,
                    system,
                    col("result.code"),
                    col("result.name") or None,
                    f"column {code_col}",
                    unit,
                ),
                **({"text": col("result.name")} if col("result.name") else {}),
            },
            "subject": subject,
            "performer": [mapping.org_ref()],
        }
        value, unit_text = col("result.value"), col("result.unit")
        m = _NUMBER.match(value)
        if m:
            q: dict = {"value": decimal.Decimal(m.group(2))}
            if m.group(1):
                q["comparator"] = m.group(1)
            if unit_text:
                q["unit"] = unit_text
            obs["valueQuantity"] = q
        elif value:
            obs["valueString"] = value
        rr = col("result.range")
        if rr:
            ref: dict = {"text": rr}
            mr = _RANGE.match(rr)
            if mr:
                ref["low"] = {
                    "value": decimal.Decimal(mr.group(1)),
                    **({"unit": unit_text} if unit_text else {}),
                }
                ref["high"] = {
                    "value": decimal.Decimal(mr.group(2)),
                    **({"unit": unit_text} if unit_text else {}),
                }
            obs["referenceRange"] = [ref]
        flag = mapped("result.flag")
        if flag:
            obs["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": flag}]}]
        t = when("result.time")
        if t:
            obs["effectiveDateTime"] = t
        key = record_key or f"{col('result.report')}|{col('result.code')}"
        unit.records.append(Record(obs, source_key=f"csv|result|{key}"))

    if col("diagnosis.code") or col("diagnosis.name"):
        dx_col = columns.get("diagnosis.code", "diagnosis.code")
        cond: dict = {
            "resourceType": "Condition",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                            "code": "problem-list-item",
                        }
                    ]
                }
            ],
            "clinicalStatus": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
                ]
            },
            "code": {"text": col("diagnosis.name") or col("diagnosis.code")},
            "subject": subject,
        }
        if col("diagnosis.code"):
            system = (
                mapping.code_map(code_maps["diagnosis.code"]).source
                if "diagnosis.code" in code_maps
                else mapping.local_system(dx_col)
            )
            cond["code"]["coding"] = coding(
                mapping,
                system,
                col("diagnosis.code"),
                col("diagnosis.name") or None,
                f"column {dx_col}",
                unit,
            )
        # Keyed by the patient without writing the patient's number into the key.
        who = (
            hashlib.sha256((idents[0]["system"] + idents[0]["value"]).encode()).hexdigest()[:20]
            if idents
            else ""
        )
        what = col("diagnosis.code") or col("diagnosis.name")
        unit.records.append(Record(cond, source_key=f"csv|dx|{who}|{what}"))
    if not unit.records:
        raise Rejected("map", "the row holds neither a result nor a diagnosis", "row")
    return unit
