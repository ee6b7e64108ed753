"""Index rows of a resource, from the search parameters declared in ``hub.fhir.registry``.

Pure functions: a resource dict in, the rows to store out. Hashes key the shared index tables
(``h64(type, param, ...)``) so that one index serves every type without text columns.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import xxhash

from hub.errors import Unprocessable
from hub.fhir import dates
from hub.fhir.registry import (
    COLUMN_PARAMS,
    COMMON_PARAMS,
    DATE,
    REFERENCE,
    STRING,
    TOKEN,
    URI,
    ResourceType,
)

ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def h64(*parts: str) -> int:
    """A signed 64-bit hash of the parts (fits a BIGINT on every database)."""
    v = xxhash.xxh3_64_intdigest("\x1f".join(parts).encode())
    return v - (1 << 64) if v >= 1 << 63 else v


@lru_cache(maxsize=4096)
def _h(rtype: str, param: str) -> int:
    """``h64(type, param)``, the identity of a (type, parameter) pair, computed once."""
    return h64(rtype, param)


@lru_cache(maxsize=16384)
def token_hashes(rtype: str, param: str, system: str | None, code: str) -> tuple[int, int]:
    """(hash_sys_value, hash_value): with the system ('' when it has none) and without. Cached: the
    same codes recur on every record (statuses, LOINC codes, an AuditEvent's type and action)."""
    return h64(rtype, param, system or "", code), h64(rtype, param, code)


@lru_cache(maxsize=16384)
def normalise(text: str) -> str:
    """Case- and accent-insensitive form used for string search (cached: names and places recur)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


@dataclass
class IndexRows:
    patient: str | None = None
    date_low: datetime | None = None
    date_high: datetime | None = None
    tokens: set[tuple[int, int]] = field(default_factory=set)
    strings: set[tuple[int, str, str]] = field(default_factory=set)
    dates: set[tuple[int, datetime, datetime]] = field(default_factory=set)
    refs: set[tuple[int, str, str]] = field(default_factory=set)
    # A ``codes_in_row`` type's tokens, kept in its row: (with system, without) hashes, pair after
    # pair in the order of the first; ``tokens`` is then empty.
    codes: list[int] | None = None
    # Its references, kept in its row too (``ref_keys``): (with the target's type, without) hashes,
    # pair after pair in the order of the first; ``refs`` is then empty.
    ref_keys: list[int] | None = None


DATE_CHOICES = ("Date", "DateTime", "Instant", "Period")


@lru_cache(maxsize=4096)
def _steps(path: str) -> tuple[tuple[str, bool, tuple[str, str] | None], ...]:
    """A dotted path parsed once: per segment (name or choice prefix, is a choice, filter)."""
    out = []
    for segment in path.split("."):
        filt = None
        if "[" in segment and not segment.endswith("[x]"):
            segment, cond = segment[:-1].split("[", 1)
            filt = tuple(cond.split("=", 1))
        if segment.endswith("[x]"):
            out.append((segment[:-3], True, filt))
        else:
            out.append((segment, False, filt))
    return tuple(out)


def walk(node, path: str, choices: tuple[str, ...] | None = None):
    """Values at a dotted element path (lists are flattened; ``x[x]`` is a choice element, of which
    only the ``choices`` types are taken when given: ``onsetString`` is no date)."""
    current = [node]
    for segment, choice, filt in _steps(path):
        nxt: list = []
        if not choice and filt is None:  # the common step: a plain element name
            for item in current:
                if type(item) is dict:
                    v = item.get(segment)
                    if v is None:
                        continue
                    if type(v) is list:
                        nxt += v
                    else:
                        nxt.append(v)
        else:
            for item in current:
                if isinstance(item, dict):
                    nxt += _step(item, segment, choice, filt, choices)
        if not nxt:
            return nxt
        current = nxt
    return current


def _step(item: dict, segment: str, choice: bool, filt, choices) -> list:
    """One step of ``walk`` that is a choice element or carries a filter."""
    if choice:
        n = len(segment)
        values = [
            v
            for k, v in item.items()
            if k.startswith(segment)
            and len(k) > n
            and k[n].isupper()
            and (choices is None or k[n:] in choices)
        ]
    else:
        v = item.get(segment)
        values = [] if v is None else [v]
    out = []
    for v in values:
        if isinstance(v, list):
            if filt is None:
                out.extend(v)
            else:
                out.extend(one for one in v if isinstance(one, dict) and one.get(filt[0]) == filt[1])
        elif filt is None or (isinstance(v, dict) and v.get(filt[0]) == filt[1]):
            out.append(v)
    return out


@lru_cache(maxsize=16384)
def parse_reference(ref: str, absolute: bool = False) -> tuple[str, str] | None:
    """``Type/id`` or ``Type/id/_history/v`` -> (type, id); None for anything else (contained,
    ``urn:``, conditional, malformed). An absolute URL is another server's resource unless
    ``absolute`` says the caller has checked it is this server's. Cached: the same patients,
    organizations and practitioners are referred to by record after record."""
    if not ref or ref.startswith(("#", "urn:")) or "?" in ref:
        return None
    if "://" in ref and not absolute:
        return None
    parts = ref.rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) < 2 or not (len(parts) == 2 or absolute):
        return None
    rtype, fid = parts[-2], parts[-1]
    if not (rtype[:1].isupper() and rtype.isalnum() and len(rtype) <= 64 and ID_RE.match(fid)):
        return None
    return rtype, fid


def _tokens(value, telecom: bool) -> list[tuple[str | None, str]]:
    """(system, code) pairs of a token value; ``telecom``: the parameter indexes ContactPoints."""
    if isinstance(value, bool):
        return [(None, "true" if value else "false")]
    if isinstance(value, str | int):
        return [(None, str(value))]
    if not isinstance(value, dict):
        return []
    if "coding" in value or "text" in value and "system" not in value and "value" not in value:
        return [(c.get("system"), c["code"]) for c in value.get("coding", []) if c.get("code")]
    if telecom:
        return [(None, value["value"])] if value.get("value") else []
    if "value" in value:  # Identifier
        return [(value.get("system"), value["value"])]
    if "code" in value:  # Coding
        return [(value.get("system"), value["code"])]
    return []


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, dict):
        return []
    out = []
    for key in (
        "text",
        "family",
        "given",
        "prefix",
        "suffix",
        "line",
        "city",
        "district",
        "state",
        "postalCode",
        "country",
    ):
        v = value.get(key)
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, list):
            out.extend(x for x in v if isinstance(x, str))
    return out


def _date_ranges(value) -> list[tuple[datetime, datetime]]:
    if isinstance(value, str):
        return [dates.parse_range(value)]
    if isinstance(value, dict):
        r = dates.period_range(value)
        return [r] if r else []
    return []


def ref_keys(rtype: str, param: str, target_type: str, target_id: str) -> tuple[int, int]:
    """The two hashes a ``codes_in_row`` type keeps for a reference (``IndexRows.ref_keys``): with the
    target's type and without it, as a token with the type for its system (``Patient/1`` is
    ``Patient|1``), so that ``entity=Patient/1``, ``entity:Patient=1`` and ``entity=1`` each test one."""
    return token_hashes(rtype, param, target_type, target_id)


def extract(rtype: ResourceType, resource: dict) -> IndexRows:
    """Index rows; a date the index cannot place (a period ending before it starts) is ``Unprocessable``."""
    try:
        return _extract(rtype, resource)
    except dates.BadDate as exc:
        raise Unprocessable(f"{rtype.name}: {exc}", [rtype.name]) from None


def references(rtype: ResourceType, resource: dict) -> set[tuple[int, str, str]]:
    """A record's references as ``idx_ref`` would hold them, ``(h64(type, param), target type, id)``,
    also for a type that keeps them in its row (to follow them: ``_include``)."""
    try:
        return _extract(rtype, resource, in_row=False).refs
    except dates.BadDate:  # stored records were indexed once; a date is no reason to lose a reference
        return set()


@dataclass(frozen=True)
class _Step:
    """How one search parameter of a type is indexed, worked out once per type."""

    name: str
    kind: str  # TOKEN (and URI), STRING, DATE, REFERENCE
    paths: tuple[str, ...]
    choices: tuple[str, ...] | None  # for DATE: the choice types a path takes
    hid: int  # h64(type, param)
    telecom: bool  # a token parameter over ContactPoints (its value, never a system)
    strip: bool  # a token whose codes are stripped (phone numbers)
    column: str | None  # "date": the type's date column; "patient": its patient column
    targets: tuple[str, ...]


_PLANS: dict[str, tuple[_Step, ...]] = {}
_PARAM_NAMES: dict[str, dict[int, str]] = {}  # per type: h64(type, param) -> the parameter's name


def _plan(rtype: ResourceType) -> tuple[_Step, ...]:
    """The parameters a type's records are indexed by, each with what indexing it needs."""
    plan = _PLANS.get(rtype.name)
    if plan is None:
        params = [*rtype.params.values()] + [p for p in COMMON_PARAMS.values() if p.name not in COLUMN_PARAMS]
        plan = _PLANS[rtype.name] = tuple(
            _Step(
                name=p.name,
                kind=TOKEN if p.type == URI else p.type,
                paths=p.paths,
                choices=DATE_CHOICES if p.type == DATE else None,
                hid=_h(rtype.name, p.name),
                telecom=any(path.startswith("telecom") for path in p.paths),
                strip=p.name == "phone",
                column=(
                    "date"
                    if p.type == DATE and p.name == rtype.date_param
                    else "patient"
                    if p.type == REFERENCE and p.name == rtype.patient_param
                    else None
                ),
                targets=p.targets,
            )
            for p in params
        )
    return plan


def index_tables(rtype: ResourceType) -> frozenset[str]:
    """The index tables a type's records can have rows in (``token``, ``string``, ``date``, ``ref``):
    a statement that stores records of the type need not touch the others."""
    kinds = set()
    for step in _plan(rtype):
        if step.column is not None:
            continue
        if step.kind == TOKEN and not rtype.codes_in_row:
            kinds.add("token")
        elif step.kind == STRING:
            kinds.add("string")
        elif step.kind == DATE:
            kinds.add("date")
        elif step.kind == REFERENCE and not rtype.codes_in_row:
            kinds.add("ref")
    return frozenset(kinds)


def _extract(rtype: ResourceType, resource: dict, in_row: bool = True) -> IndexRows:
    rows = IndexRows()
    name = rtype.name
    for step in _plan(rtype):
        paths = step.paths
        if len(paths) == 1:
            values = walk(resource, paths[0], step.choices)
        else:
            values = [v for path in paths for v in walk(resource, path, step.choices)]
        if not values:
            continue
        kind = step.kind
        if kind == TOKEN:
            add = rows.tokens.add
            for v in values:
                for system, code in _tokens(v, step.telecom):
                    add(token_hashes(name, step.name, system, code.strip() if step.strip else code))
        elif kind == REFERENCE:
            targets = [
                t
                for v in values
                if isinstance(v, dict)
                for t in [parse_reference(v.get("reference", ""))]
                if t
            ]
            if step.targets:
                targets = [t for t in targets if t[0] in step.targets]
            if step.column == "patient":
                rows.patient = targets[0][1] if targets else None
            else:
                hid = step.hid
                rows.refs.update((hid, tt, tid) for tt, tid in targets)
        elif kind == STRING:
            hid = step.hid
            for v in values:
                for text in _strings(v):
                    rows.strings.add((hid, normalise(text), text))
        elif kind == DATE:
            ranges = [r for v in values for r in _date_ranges(v)]
            if not ranges:
                continue
            if step.column == "date":
                rows.date_low = min(r[0] for r in ranges)
                rows.date_high = max(r[1] for r in ranges)
            else:
                hid = step.hid
                rows.dates.update((hid, lo, hi) for lo, hi in ranges)
    if rtype.codes_in_row and in_row:
        rows.codes = [h for pair in sorted(rows.tokens) for h in pair]
        rows.tokens = set()
        names = _PARAM_NAMES.get(name) or _PARAM_NAMES.setdefault(name, {s.hid: s.name for s in _plan(rtype)})
        pairs = sorted({ref_keys(name, names[hid], tt, tid) for hid, tt, tid in rows.refs})
        rows.ref_keys = [h for pair in pairs for h in pair]
        rows.refs = set()
    return rows
