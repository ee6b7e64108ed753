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
    Param,
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
        nxt = []
        for item in current:
            if not isinstance(item, dict):
                continue
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
                if v is None:
                    continue
                values = (v,)
            for v in values:
                if isinstance(v, list):
                    if filt is None:
                        nxt.extend(v)
                    else:
                        nxt.extend(one for one in v if isinstance(one, dict) and one.get(filt[0]) == filt[1])
                elif filt is None or (isinstance(v, dict) and v.get(filt[0]) == filt[1]):
                    nxt.append(v)
        if not nxt:
            return nxt
        current = nxt
    return current


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


def _tokens(value, param: Param) -> list[tuple[str | None, str]]:
    if isinstance(value, bool):
        return [(None, "true" if value else "false")]
    if isinstance(value, str | int):
        return [(None, str(value))]
    if not isinstance(value, dict):
        return []
    if "coding" in value or "text" in value and "system" not in value and "value" not in value:
        return [(c.get("system"), c["code"]) for c in value.get("coding", []) if c.get("code")]
    if param.paths and any(p.startswith("telecom") for p in param.paths):
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


def extract(rtype: ResourceType, resource: dict) -> IndexRows:
    """Index rows; a date the index cannot place (a period ending before it starts) is ``Unprocessable``."""
    try:
        return _extract(rtype, resource)
    except dates.BadDate as exc:
        raise Unprocessable(f"{rtype.name}: {exc}", [rtype.name]) from None


_PLANS: dict[str, tuple] = {}


def _plan(rtype: ResourceType) -> tuple:
    """The parameters a type's records are indexed by, with the choice types their paths take."""
    plan = _PLANS.get(rtype.name)
    if plan is None:
        params = [*rtype.params.values()] + [p for p in COMMON_PARAMS.values() if p.name not in COLUMN_PARAMS]
        plan = _PLANS[rtype.name] = tuple((p, DATE_CHOICES if p.type == DATE else None) for p in params)
    return plan


def _extract(rtype: ResourceType, resource: dict) -> IndexRows:
    rows = IndexRows()
    name = rtype.name
    for param, choices in _plan(rtype):
        paths = param.paths
        if len(paths) == 1:
            values = walk(resource, paths[0], choices)
        else:
            values = [v for path in paths for v in walk(resource, path, choices)]
        if not values:
            continue
        if param.type in (TOKEN, URI):
            for v in values:
                for system, code in _tokens(v, param):
                    code = code.strip() if param.name in ("phone",) else code
                    rows.tokens.add(token_hashes(name, param.name, system, code))
        elif param.type == STRING:
            hid = _h(name, param.name)
            for v in values:
                for s in _strings(v):
                    rows.strings.add((hid, normalise(s), s))
        elif param.type == DATE:
            ranges = [r for v in values for r in _date_ranges(v)]
            if not ranges:
                continue
            if param.name == rtype.date_param:
                rows.date_low = min(r[0] for r in ranges)
                rows.date_high = max(r[1] for r in ranges)
            else:
                hid = _h(name, param.name)
                rows.dates.update((hid, lo, hi) for lo, hi in ranges)
        elif param.type == REFERENCE:
            targets = [
                t
                for v in values
                if isinstance(v, dict)
                for t in [parse_reference(v.get("reference", ""))]
                if t
            ]
            if param.targets:
                targets = [t for t in targets if t[0] in param.targets]
            if param.name == rtype.patient_param:
                rows.patient = targets[0][1] if targets else None
            else:
                hid = _h(name, param.name)
                rows.refs.update((hid, tt, tid) for tt, tid in targets)
    return rows
