"""The ``hl7v2`` adapter: HL7 v2.x from LIS and older HIS, parsed with python-hl7.

Accepted as sent in real interfaces: MLLP framing (``<VT> ... <FS><CR>``), FHS/BHS batch files,
segments ended by CR, LF or CRLF, a UTF-8 byte-order mark, GB 18030 text (MSH-18 or the mapping's
``encoding``), escape sequences, repetitions, empty fields and Z-segments (noted, not mapped).

Mapped message types: ADT (patient and visit: A01, A02, A03, A04, A05, A08, A28, A31), ORU^R01
(DiagnosticReport per OBR, Observation per OBX with units, reference ranges and abnormal flags) and
REF^I12 (the referral as a ServiceRequest with its diagnoses). Anything else is quarantined with the
reason, and every message is acknowledged: AA stored, AE not stored (mapping or validation), AR
rejected (cannot be parsed).
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Iterator

import hl7

from .mapping import Mapping
from .patient import identifier, local_identifier, patient
from .patient import name as person_name
from .pipeline import PATIENT_REF, RECORD_REF, Piece, Record, Rejected, Unit, coding

name = "hl7v2"
VT, FS = b"\x0b", b"\x1c"
ADT_EVENTS = {"A01", "A02", "A03", "A04", "A05", "A08", "A28", "A31"}
BATCH_SEGMENTS = (b"FHS", b"BHS", b"BTS", b"FTS")
CHARSETS = {
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",
    "GB 18030-2000": "gb18030",
    "GB18030": "gb18030",
    "GB 18030": "gb18030",
    "CNS 11643-1992": "big5",
    "8859/1": "latin-1",
    "ASCII": "ascii",
}
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
V3_FLAGS = {"L", "H", "LL", "HH", "N", "A", "AA", "<", ">", "S", "R", "I", "U", "D", "B", "W", "HU", "LU"}
OBX_STATUS = {
    "F": "final",
    "C": "corrected",
    "P": "preliminary",
    "R": "preliminary",
    "S": "preliminary",
    "I": "registered",
    "X": "cancelled",
    "D": "entered-in-error",
    "W": "entered-in-error",
    "A": "amended",
}
OBR_STATUS = {
    "F": "final",
    "C": "corrected",
    "P": "preliminary",
    "R": "partial",
    "I": "registered",
    "X": "cancelled",
}
PATIENT_CLASS = {
    "I": ("IMP", "inpatient encounter"),
    "O": ("AMB", "ambulatory"),
    "E": ("EMER", "emergency"),
    "P": ("PRENC", "pre-admission"),
    "R": ("AMB", "ambulatory"),
    "B": ("AMB", "ambulatory"),
}
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
UCUM = "http://unitsofmeasure.org"
_NUMBER = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*$")
_RANGE = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*(?:-|_|~|–|—|－)\s*([+-]?\d+(?:\.\d+)?)\s*$")


# --------------------------------------------------------------------------- framing and batches


def split(payload: bytes, source: str, mapping: Mapping) -> Iterator[Piece]:
    """One piece per message: MLLP frames and batch envelopes removed, segments one per line."""
    data = payload.replace(VT, b"\n").replace(FS, b"\n")
    lines = re.split(rb"\r\n|\r|\n", data)
    current: list[bytes] = []
    n = 0
    for line in lines:
        line = line.removeprefix(b"\xef\xbb\xbf").lstrip(b"\x00")
        if not line.strip():
            continue
        if line.startswith(BATCH_SEGMENTS):
            continue
        if line.startswith(b"MSH") and current:
            n += 1
            yield Piece(b"\r".join(current) + b"\r", f"{source}#{n}")
            current = []
        current.append(line)
    if current:
        n += 1
        yield Piece(b"\r".join(current) + b"\r", f"{source}#{n}")
    elif n == 0:
        yield Piece(payload, source)  # nothing that looks like a message: quarantined as it came


def decode(raw: bytes, mapping: Mapping) -> str:
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    declared = None
    first = raw.split(b"\r", 1)[0]
    if first.startswith(b"MSH") and len(first) > 8:
        sep = first[3:4]
        fields = first.split(sep)
        if len(fields) > 17:
            declared = CHARSETS.get(fields[17].split(b"^")[0].decode("ascii", "replace").strip().upper())
    encodings = [
        e for e in (declared, "utf-8", mapping.hl7v2_encoding, "gb18030") if e
    ]  # UTF-8 is self-checking
    for enc in dict.fromkeys(encodings):
        try:
            return raw.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    raise Rejected("parse", "the message is neither UTF-8 nor GB 18030 text", "MSH-18")


def parse(piece: Piece, mapping: Mapping) -> hl7.Message:
    text = decode(piece.raw, mapping)
    if not text.startswith("MSH") or len(text) < 9:
        raise Rejected("parse", "a message must begin with an MSH segment", "MSH")
    try:
        msg = hl7.parse(text)
    except Exception as exc:
        raise Rejected("parse", f"not an HL7 v2 message: {type(exc).__name__}: {exc}", "MSH") from None
    return msg


# --------------------------------------------------------------------------- field access


def get(seg, field: int, rep: int = 1, comp: int = 1, sub: int = 1) -> str:
    """A value by HL7 position (1-based, as written: PID-5.1), '' when absent."""
    try:
        node = seg[field]
    except IndexError:
        return ""
    for index in (rep, comp, sub):
        if isinstance(node, str):
            return node if index == 1 else ""
        if index - 1 >= len(node):
            return ""
        node = node[index - 1]
    return node if isinstance(node, str) else str(node)


def reps(seg, field: int) -> int:
    try:
        node = seg[field]
    except IndexError:
        return 0
    if not node or (len(node) == 1 and isinstance(node[0], str)):
        return 1 if str(node) else 0
    return len(node)


class Message:
    def __init__(self, msg: hl7.Message, mapping: Mapping):
        self.msg = msg
        self.mapping = mapping
        msh = msg.segment("MSH")
        self.msh = msh
        self.type = get(msh, 9, 1, 1)
        self.event = get(msh, 9, 1, 2)
        self.control_id = get(msh, 10)
        self.version = get(msh, 12)

    def text(self, value: str) -> str:
        return self.msg.unescape(value) if "\\" in value else value

    def segments(self, sid: str) -> list:
        return [s for s in self.msg if str(s[0]) == sid]


# --------------------------------------------------------------------------- translate


def translate(piece: Piece, mapping: Mapping) -> Unit:
    m = Message(parse(piece, mapping), mapping)
    unit = Unit(message_id=m.control_id or None)
    kind = f"{m.type}^{m.event}"
    if m.type == "ADT" and m.event in ADT_EVENTS:
        handled = {"PID", "PV1", "DG1", "OBX"}
    elif kind == "ORU^R01":
        handled = {"PID", "PV1", "OBR", "OBX"}
    elif kind == "REF^I12":
        handled = {"PID", "PV1", "RF1", "DG1", "OBR", "OBX"}
    else:
        raise Rejected(
            "map",
            f"{kind} messages are not mapped by the hub (ADT^A01/A02/A03/A04/A05/A08/A28/A31, ORU^R01 "
            "and REF^I12 are)",
            "MSH-9",
        )
    pids = m.segments("PID")
    if not pids:
        raise Rejected("map", f"{kind} without a PID segment: whose record is it?", "PID")
    unit.patients.append(_patient(m, pids[0]))
    skipped = sorted({str(s[0]) for s in m.msg} - handled - {"MSH", "EVN", "SFT", "NTE", "PV2"})
    z = [s for s in skipped if s.startswith("Z")]
    if z:
        unit.notes.append(f"Z-segments kept out of the record: {', '.join(z)}")
    if skipped:
        unit.notes.append(f"segments not mapped: {', '.join(s for s in skipped if not s.startswith('Z'))}")

    encounter = _encounter(m, unit)
    if m.type == "ADT" or kind == "REF^I12":
        for i, dg1 in enumerate(m.segments("DG1"), 1):
            unit.records.append(_condition(m, dg1, i, encounter, unit))
    if kind == "REF^I12":
        unit.records.append(_referral(m, unit))
    _results(m, unit, encounter, lab=m.type == "ORU")
    return unit


def _patient(m: Message, pid) -> dict:
    mapping = m.mapping
    idents = []
    for field in (3, 2, 4):
        for r in range(1, reps(pid, field) + 1):
            value = get(pid, field, r, 1)
            if not value.strip():
                continue
            authority = get(pid, field, r, 4, 1) or get(pid, field, r, 4, 2)
            type_code = get(pid, field, r, 5)
            element = f"PID-{field}" + (f"[{r}]" if r > 1 else "")
            kind = mapping.identifier_kind(v2_type=type_code or None, authority=authority or None)
            if kind is None and field == 3 and not type_code and not authority:
                kind = "mrn"  # PID-3 without a type is the sender's own patient number
            if kind:
                idents.append(identifier(mapping, kind, m.text(value), element))
            else:
                idents.append(
                    local_identifier(
                        mapping, authority or type_code or "id", m.text(value), type_code or None
                    )
                )
    if not any(get(pid, 3, r, 1).strip() for r in range(1, reps(pid, 3) + 1)):
        raise Rejected("map", "PID-3 holds no patient identifier", "PID-3")
    names = []
    for r in range(1, reps(pid, 5) + 1):
        given = [m.text(get(pid, 5, r, 2)), m.text(get(pid, 5, r, 3))]
        n = person_name(m.text(get(pid, 5, r, 1)), given)
        if n:
            names.append(n)
    birth = _date(get(pid, 7), "PID-7", date_only=True) if get(pid, 7) else None
    phones = []
    for field in (13, 14):
        for r in range(1, reps(pid, field) + 1):
            p = (
                get(pid, field, r, 1)
                or get(pid, field, r, 12)
                or (get(pid, field, r, 6) + get(pid, field, r, 7))
            )
            if p.strip():
                phones.append(m.text(p))
    addresses = []
    for r in range(1, reps(pid, 11) + 1):
        a = {
            "line": [x for x in (m.text(get(pid, 11, r, 1)), m.text(get(pid, 11, r, 2))) if x.strip()],
            "city": m.text(get(pid, 11, r, 3)),
            "state": m.text(get(pid, 11, r, 4)),
            "postalCode": get(pid, 11, r, 5),
            "country": get(pid, 11, r, 6),
        }
        a = {k: v for k, v in a.items() if v}
        if a:
            addresses.append(a)
    return patient(idents, names, get(pid, 8) or None, birth, phones, addresses, "PID")


def _date(value: str, element: str, date_only: bool = False, tz: str = "+08:00") -> str | None:
    """An HL7 DTM (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]) as FHIR date or dateTime."""
    value = value.strip()
    if not value:
        return None
    match = re.fullmatch(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,4})?([+-]\d{4})?", value)
    if not match:
        raise Rejected("map", f"{element}: '{value[:40]}' is not an HL7 date/time", element)
    y, mo, d, h, mi, s, frac, zone = match.groups()
    try:
        import datetime

        datetime.date(int(y), int(mo or 1), int(d or 1))
        if h and (int(h) > 23 or int(mi or 0) > 59 or int(s or 0) > 59):
            raise ValueError("time out of range")
    except ValueError as exc:
        raise Rejected("map", f"{element}: '{value}' is not a real date ({exc})", element) from None
    out = y + (f"-{mo}" if mo else "") + (f"-{d}" if mo and d else "")
    if date_only or not h:
        return out
    zone = f"{zone[:3]}:{zone[3:]}" if zone else tz
    return f"{out}T{h}:{mi or '00'}:{s or '00'}{frac or ''}{zone}"


def _cwe(m: Message, seg, field: int, element: str, unit: Unit, rep: int = 1) -> dict | None:
    """A coded field (CE/CWE: code^text^system^alt code^alt text^alt system) as a CodeableConcept."""
    code, text, sysname = (m.text(get(seg, field, rep, c)) for c in (1, 2, 3))
    if not code and not text:
        return None
    codings = []
    if code:
        codings += coding(m.mapping, m.mapping.v2_system(sysname), code, text or None, element, unit)
    alt, alt_text, alt_sys = (m.text(get(seg, field, rep, c)) for c in (4, 5, 6))
    if alt:
        for c in coding(m.mapping, m.mapping.v2_system(alt_sys), alt, alt_text or None, element, unit):
            if c not in codings:
                codings.append(c)
    out: dict = {}
    if codings:
        out["coding"] = codings
    if text:
        out["text"] = text
    return out


def _encounter(m: Message, unit: Unit) -> str | None:
    pv1 = next(iter(m.segments("PV1")), None)
    if pv1 is None or not any(get(pv1, f) for f in (2, 3, 19, 44)):
        return None
    cls = PATIENT_CLASS.get(get(pv1, 2), ("AMB", "ambulatory"))
    visit = m.text(get(pv1, 19, 1, 1))
    tz = m.mapping.timezone
    start, end = _date(get(pv1, 44), "PV1-44", tz=tz), _date(get(pv1, 45), "PV1-45", tz=tz)
    status = "finished" if end or m.event == "A03" else "in-progress" if m.type == "ADT" else "unknown"
    enc: dict = {
        "resourceType": "Encounter",
        "status": status,
        "class": {"system": ACT_CODE, "code": cls[0], "display": cls[1]},
        "subject": {"reference": f"{PATIENT_REF}0"},
        "serviceProvider": m.mapping.org_ref(),
    }
    if visit:
        enc["identifier"] = [{"system": m.mapping.local_system("visit"), "value": visit}]
    service = _cwe(m, pv1, 10, "PV1-10", unit)
    if service:
        enc["serviceType"] = service
    if start or end:
        enc["period"] = {k: v for k, v in (("start", start), ("end", end)) if v}
    where = m.text(get(pv1, 3, 1, 1))
    if where:
        enc["location"] = [
            {"location": {"display": " ".join(filter(None, [where, get(pv1, 3, 1, 2), get(pv1, 3, 1, 3)]))}}
        ]
    key = f"visit|{visit}" if visit else f"msg|{m.control_id}|PV1"
    unit.records.append(Record(enc, source_key=f"hl7v2|{key}", local_ref=key))
    return f"{RECORD_REF}{key}"


def _condition(m: Message, dg1, i: int, encounter: str | None, unit: Unit) -> Record:
    code = _cwe(m, dg1, 3, "DG1-3", unit) or ({"text": m.text(get(dg1, 4))} if get(dg1, 4) else None)
    if not code:
        raise Rejected("map", "DG1 without a diagnosis code (DG1-3) or description (DG1-4)", f"DG1[{i}]-3")
    cond: dict = {
        "resourceType": "Condition",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "encounter-diagnosis",
                    }
                ]
            }
        ],
        "code": code,
        "subject": {"reference": f"{PATIENT_REF}0"},
    }
    if encounter:
        cond["encounter"] = {"reference": encounter}
    onset = _date(get(dg1, 5), "DG1-5", tz=m.mapping.timezone)
    if onset:
        cond["recordedDate"] = onset
    first = (code.get("coding") or [{}])[-1].get("code") or code.get("text")
    return Record(cond, source_key=f"hl7v2|dx|{m.control_id}|{get(dg1, 1) or i}|{first}")


def _referral(m: Message, unit: Unit) -> Record:
    rf1 = next(iter(m.segments("RF1")), None)
    if rf1 is None:
        raise Rejected("map", "REF^I12 without an RF1 segment", "RF1")
    status = {
        "P": "active",
        "A": "active",
        "R": "revoked",
        "E": "revoked",
        "G": "active",
        "H": "on-hold",
    }.get(get(rf1, 1), "active")
    priority = {"S": "stat", "A": "asap", "R": "routine"}.get(get(rf1, 2))
    sr: dict = {
        "resourceType": "ServiceRequest",
        "status": status,
        "intent": "order",
        "category": [
            {
                "coding": [
                    {"system": "http://snomed.info/sct", "code": "3457005", "display": "Patient referral"}
                ]
            }
        ],
        "subject": {"reference": f"{PATIENT_REF}0"},
        "requester": m.mapping.org_ref(),
    }
    if priority:
        sr["priority"] = priority
    ref_id = m.text(get(rf1, 6, 1, 1))
    if ref_id:
        sr["identifier"] = [{"system": m.mapping.local_system("referral"), "value": ref_id}]
    authored = _date(get(rf1, 7) or get(rf1, 9), "RF1-7", tz=m.mapping.timezone)
    if authored:
        sr["authoredOn"] = authored
    kind = _cwe(m, rf1, 3, "RF1-3", unit)
    if kind:
        sr["code"] = kind
    reasons = []
    for i, dg1 in enumerate(m.segments("DG1"), 1):
        c = _cwe(m, dg1, 3, f"DG1[{i}]-3", unit)
        if c:
            reasons.append(c)
    if reasons:
        sr["reasonCode"] = reasons
    notes = [m.text(get(rf1, f)) for f in (21,) if get(rf1, f)]
    notes += [m.text(get(n, 3)) for n in m.segments("NTE") if get(n, 3).strip()]
    if notes:
        sr["note"] = [{"text": n.strip()} for n in notes]
    key = f"ref|{ref_id}" if ref_id else f"ref|{m.control_id}"
    return Record(sr, source_key=f"hl7v2|{key}")


def _results(m: Message, unit: Unit, encounter: str | None, lab: bool) -> None:
    """OBR groups and their OBX: one DiagnosticReport per OBR (ORU), one Observation per OBX."""
    groups: list[tuple[object, list]] = []
    current = None
    for seg in m.msg:
        sid = str(seg[0])
        if sid == "OBR":
            current = (seg, [])
            groups.append(current)
        elif sid == "OBX":
            if current is None:
                current = (None, [])
                groups.append(current)
            current[1].append(seg)
    tz = m.mapping.timezone
    for g, (obr, obxs) in enumerate(groups, 1):
        filler = (m.text(get(obr, 3, 1, 1)) or m.text(get(obr, 2, 1, 1))) if obr is not None else ""
        order_key = f"order|{filler}" if filler else f"msg|{m.control_id}|{g}"
        obr_when = _date(get(obr, 7), f"OBR[{g}]-7", tz=tz) if obr is not None else None
        refs = []
        for k, obx in enumerate(obxs, 1):
            rec = _observation(m, obx, f"OBX[{k}]" if len(groups) == 1 else f"OBR[{g}].OBX[{k}]", unit)
            rec.resource["subject"] = {"reference": f"{PATIENT_REF}0"}
            if encounter:
                rec.resource["encounter"] = {"reference": encounter}
            if lab:
                rec.resource["category"] = [
                    {"coding": [{"system": OBS_CATEGORY, "code": "laboratory", "display": "Laboratory"}]}
                ]
            if "effectiveDateTime" not in rec.resource and obr_when:
                rec.resource["effectiveDateTime"] = obr_when
            code = get(obx, 3, 1, 1)
            key = f"{order_key}|{get(obx, 1) or k}|{code}|{get(obx, 4)}"
            rec.source_key = f"hl7v2|obx|{key}"
            rec.local_ref = f"obx|{key}"
            unit.records.append(rec)
            refs.append({"reference": f"{RECORD_REF}obx|{key}"})
        if lab and obr is not None:
            code = _cwe(m, obr, 4, f"OBR[{g}]-4", unit) or {"text": "检验报告"}
            report: dict = {
                "resourceType": "DiagnosticReport",
                "status": OBR_STATUS.get(get(obr, 25), "final" if get(obr, 25) == "" else "unknown"),
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                                "code": "LAB",
                                "display": "Laboratory",
                            }
                        ]
                    }
                ],
                "code": code,
                "subject": {"reference": f"{PATIENT_REF}0"},
                "performer": [m.mapping.org_ref()],
            }
            if filler:
                report["identifier"] = [{"system": m.mapping.local_system("filler-order"), "value": filler}]
            if encounter:
                report["encounter"] = {"reference": encounter}
            if obr_when:
                report["effectiveDateTime"] = obr_when
            issued = _date(get(obr, 22), f"OBR[{g}]-22", tz=tz)
            if issued and "T" in issued:
                report["issued"] = issued
            if refs:
                report["result"] = refs
            unit.records.append(Record(report, source_key=f"hl7v2|report|{order_key}"))


def _number(value: str, element: str) -> decimal.Decimal:
    match = _NUMBER.match(value)
    if not match:
        raise Rejected("map", f"{element}: '{value[:40]}' is not a number (OBX-2 says NM)", element)
    return decimal.Decimal(match.group(1))


def _observation(m: Message, obx, where: str, unit: Unit) -> Record:
    obs: dict = {"resourceType": "Observation"}
    code = _cwe(m, obx, 3, f"{where}-3", unit)
    if not code:
        raise Rejected("map", f"{where}: OBX-3 (the observation's code) is empty", f"{where}-3")
    status_code = get(obx, 11)
    status = OBX_STATUS.get(status_code)
    if status_code and status is None:
        raise Rejected("map", f"{where}: '{status_code}' is not an OBX-11 result status", f"{where}-11")
    obs["status"] = status or "final"
    obs["code"] = code
    vtype = get(obx, 2).upper()
    n = reps(obx, 5)
    values = [get(obx, 5, r, 1) for r in range(1, n + 1)]
    unit_text = m.text(get(obx, 6, 1, 1))
    unit_sys = get(obx, 6, 1, 3).upper()
    element = f"{where}-5"
    if any(v.strip() for v in values) or vtype == "SN":
        if vtype == "NM" and n == 1:
            q: dict = {"value": _number(values[0], element)}
            if unit_text:
                q["unit"] = unit_text
                if unit_sys in ("UCUM", "ANSI+", "ISO+"):
                    q["system"], q["code"] = UCUM, unit_text
            obs["valueQuantity"] = q
        elif vtype == "SN":
            comparator, num, sep, num2 = (get(obx, 5, 1, c) for c in (1, 2, 3, 4))
            if num and not sep and not num2:
                q = {"value": _number(num, element)}
                if comparator in ("<", "<=", ">=", ">"):
                    q["comparator"] = comparator
                elif comparator:
                    raise Rejected("map", f"{element}: '{comparator}' is not an SN comparator", element)
                if unit_text:
                    q["unit"] = unit_text
                obs["valueQuantity"] = q
            else:
                obs["valueString"] = f"{comparator}{num}{sep}{num2}".strip()
        elif vtype in ("CE", "CWE", "CNE", "CF") and n == 1:
            value = _cwe(m, obx, 5, element, unit)
            if value:
                obs["valueCodeableConcept"] = value
        elif vtype in ("DT", "DTM", "TS") and n == 1:
            obs["valueDateTime"] = _date(values[0], element, tz=m.mapping.timezone)
        else:
            # ST, TX, FT, repeated values, and the types FHIR has no direct value for: the text as sent.
            rep_sep = m.msg.separators[2] if len(m.msg.separators) > 2 else "~"
            obs["valueString"] = "\n".join(m.text(v) for v in str(obx[5]).split(rep_sep))
            if vtype not in ("ST", "TX", "FT", ""):
                unit.notes.append(f"{element}: {vtype} value kept as text")
    ref_range = m.text(get(obx, 7))
    if ref_range:
        rr: dict = {"text": ref_range}
        match = _RANGE.match(ref_range)
        if match:
            for bound, v in (("low", match.group(1)), ("high", match.group(2))):
                rr[bound] = {"value": decimal.Decimal(v), **({"unit": unit_text} if unit_text else {})}
        obs["referenceRange"] = [rr]
    flags = []
    for r in range(1, reps(obx, 8) + 1):
        flag = get(obx, 8, r, 1).strip()
        if flag:
            system = INTERPRETATION if flag in V3_FLAGS else m.mapping.local_system("abnormal-flag")
            flags.append({"coding": [{"system": system, "code": flag}]})
    if flags:
        obs["interpretation"] = flags
    when = _date(get(obx, 14), f"{where}-14", tz=m.mapping.timezone)
    if when:
        obs["effectiveDateTime"] = when
    return Record(obs)


# --------------------------------------------------------------------------- acknowledgements


def ack(unit: Unit | None, code: str, exc: Rejected | None, piece: Piece | None = None) -> str | None:
    """The ACK for one message: AA, or AE/AR with the reason in MSA-3 and the element in ERR."""
    if piece is None:
        return None
    try:
        text = piece.raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace")
        msh_line = text.split("\r", 1)[0]
        msg = hl7.parse(msh_line + "\r")
        out = msg.create_ack(code)
    except Exception:
        msa = f"MSA|{code}|"
        return f"MSH|^~\\&|XIETONG||||||ACK|{code}|P|2.5\r{msa}\r"
    lines = [ln for ln in str(out).split("\r") if ln]
    if exc is not None:
        reason = msg.escape(exc.reason[:200])
        lines = [ln + f"|{reason}" if ln.startswith("MSA|") else ln for ln in lines]
        lines.append(f"ERR||{msg.escape(exc.element or '')}|{'100' if code == 'AR' else '207'}|E")
    return "\r".join(lines) + "\r"
