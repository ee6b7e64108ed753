"""FHIR search over the index tables.

A query is parsed into SQL conditions on the type's table (hot columns) and ``pid IN (...)``
subqueries on the shared index tables, then run in two phases: phase 1 finds the page of ``pid``s
from indexes alone (ORDER BY ... LIMIT count+1), phase 2 fetches the bodies of that page.
Nothing is filtered in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
from sqlalchemy import (
    ARRAY,
    String,
    and_,
    any_,
    bindparam,
    column,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean

from hub.auth.tenancy import SYSTEM_POLICY, Policy
from hub.errors import BadRequest, NotSupported
from hub.fhir import dates
from hub.fhir.extract import h64, normalise, parse_reference, ref_keys, references, token_hashes
from hub.fhir.registry import DATE, REFERENCE, STRING, TOKEN, TYPES, URI, Param, ResourceType
from hub.models import HashList, idx_date, idx_ref, idx_string, idx_token, resource_tables

CONTROL = {
    "_count",
    "_offset",
    "_sort",
    "_include",
    "_revinclude",
    "_total",
    "_summary",
    "_format",
    "_pretty",
}
DATE_PREFIXES = ("eq", "ne", "lt", "gt", "le", "ge", "sa", "eb")
MAX_INCLUDES = 1000


@dataclass
class Cond:
    """One search condition, in the two forms a query may need."""

    sql: Any  # as the planner likes it: a hot column, or ``pid IN (index rows)``
    probe: Any  # the same rows, checked per row: a correlated EXISTS it neither hashes nor joins
    # The token index rows that hold exactly the matches, each (column, hash) read in sort_date order
    # (``sort_date`` is a copy of the type's date): what a page sorted by that date can be walked from.
    drive: list[tuple[Any, int]] | None = None


@dataclass
class Query:
    rt: ResourceType
    conditions: list[Cond] = field(default_factory=list)
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (param, descending)
    count: int = 20
    offset: int = 0
    includes: list[tuple[str, str, str | None]] = field(default_factory=list)  # (type, param, target)
    revincludes: list[tuple[str, str]] = field(default_factory=list)
    total: str = "none"
    summary_count: bool = False
    policy: Policy = SYSTEM_POLICY  # whose search: tenancy filters and scopes apply to everything returned
    used: list[tuple[str, str]] = field(default_factory=list)  # the parameters applied, for links
    ignored: list[str] = field(default_factory=list)


@dataclass
class Match:
    pid: int
    type: str
    id: str
    body: str
    mode: str = "match"
    tenant: str | None = None
    patient: str | None = None
    version: int | None = None


@dataclass
class Result:
    matches: list[Match]
    includes: list[Match]
    has_next: bool
    total: int | None
    query: Query


def split_unescaped(value: str, sep: str) -> list[str]:
    parts, cur, i = [], [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            cur.append(value[i + 1])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def whole_number(name: str, value: str, low: int, high: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, not '{value}'", [name]) from None
    if not low <= n <= high:
        raise BadRequest(f"{name} must be between {low} and {high}, not {n}", [name])
    return n


def parse(
    rt: ResourceType,
    params: list[tuple[str, str]],
    lenient: bool = False,
    default_count: int = 20,
    max_count: int = 1000,
    policy: Policy = SYSTEM_POLICY,
) -> Query:
    policy.require(rt.name, "search")
    q = Query(rt, count=default_count, policy=policy)
    table = resource_tables[rt.name]
    for raw_name, value in params:
        if any(ord(c) < 32 for c in raw_name + value):
            raise BadRequest(f"search parameter {raw_name[:40]!r} holds a control character", [raw_name[:40]])
        name, _, modifier = raw_name.partition(":")
        if name in CONTROL:
            _control(q, name, modifier, value, max_count)
            continue
        if "." in name:
            _refuse(q, lenient, raw_name, f"chained search ('{raw_name}') is not supported")
            continue
        param = rt.param(name)
        if param is None:
            _refuse(q, lenient, raw_name, f"unknown search parameter '{name}' for {rt.name}")
            continue
        if value == "":
            continue
        q.conditions.append(_condition(rt, table, param, modifier, value))
        q.used.append((raw_name, value))
    return q


def _refuse(q: Query, lenient: bool, name: str, message: str) -> None:
    if not lenient:
        raise BadRequest(message + " (send 'Prefer: handling=lenient' to ignore it)", [name])
    q.ignored.append(name)


def _control(q: Query, name: str, modifier: str, value: str, max_count: int) -> None:
    if name == "_count":
        q.count = whole_number("_count", value, 0, max_count)
    elif name == "_offset":
        q.offset = whole_number("_offset", value, 0, 10_000_000)
    elif name == "_sort":
        for item in value.split(","):
            desc = item.startswith("-")
            pname = item[1:] if desc else item
            if pname not in ("_id", "_lastUpdated") and (
                q.rt.param(pname) is None or q.rt.param(pname).type not in (DATE, STRING)
            ):
                raise BadRequest(
                    f"cannot sort {q.rt.name} by '{pname}': sort by _id, _lastUpdated, "
                    "or a date or string parameter",
                    ["_sort"],
                )
            q.sort.append((pname, desc))
    elif name == "_include":
        if modifier:
            raise NotSupported(f"_include:{modifier} is not supported", ["_include"])
        q.includes.extend(_include_spec(q.rt, value))
    elif name == "_revinclude":
        if modifier:
            raise NotSupported(f"_revinclude:{modifier} is not supported", ["_revinclude"])
        parts = value.split(":")
        src = TYPES.get(parts[0])
        p = src.param(parts[1]) if src and len(parts) >= 2 else None
        if p is None or p.type != REFERENCE:
            raise BadRequest(
                f"_revinclude '{value}' does not name a reference parameter (Type:param)", ["_revinclude"]
            )
        q.revincludes.append((parts[0], parts[1]))
    elif name == "_total":
        if value not in ("none", "estimate", "accurate"):
            raise BadRequest("_total must be none, estimate or accurate", ["_total"])
        q.total = value
    elif name == "_summary":
        if value == "count":
            q.summary_count = True
        elif value != "false":
            raise NotSupported(f"_summary={value} is not supported (count and false are)", ["_summary"])
    elif name == "_format":
        if "json" not in value:
            raise NotSupported(f"_format={value}: this server speaks JSON only", ["_format"])
        return
    else:
        return
    if name != "_offset":
        q.used.append((name + (":" + modifier if modifier else ""), value))


def _include_spec(rt: ResourceType, value: str) -> list[tuple[str, str, str | None]]:
    parts = value.split(":")
    if parts[0] != rt.name or len(parts) not in (2, 3):
        raise BadRequest(f"_include '{value}' must be {rt.name}:param[:TargetType]", ["_include"])
    if parts[1] == "*":
        return [(rt.name, p.name, None) for p in rt.params.values() if p.type == REFERENCE]
    p = rt.param(parts[1])
    if p is None or p.type != REFERENCE:
        raise BadRequest(
            f"_include '{value}': {parts[1]} is not a reference parameter of {rt.name}", ["_include"]
        )
    return [(rt.name, parts[1], parts[2] if len(parts) == 3 else None)]


# ----- conditions -----


def _hot(cond) -> Cond:
    """A condition on the type's own columns: the same in both forms."""
    return Cond(cond, cond)


def _in_index(table, sub, negate: bool = False, drive=None) -> Cond:
    """``pid IN (sub)``, ``sub`` selecting the ``pid`` of one index table."""
    pid = sub.selected_columns[0]
    cond = table.c.pid.in_(sub)
    # OFFSET: PostgreSQL keeps such an EXISTS a subplan run per row (see ``Policy.linked``).
    probe = sub.where(pid == table.c.pid).correlate(table).offset(0).exists()
    if negate:
        return Cond(not_(cond), not_(probe))
    return Cond(cond, probe, drive)


def _condition(rt: ResourceType, table, param: Param, modifier: str, value: str) -> Cond:
    values = split_unescaped(value, ",")
    if param.name == "_id":
        if modifier:
            raise NotSupported(f"_id:{modifier} is not supported", ["_id"])
        return _hot(table.c.fhir_id.in_(values))
    if param.name == "_lastUpdated":
        return _hot(
            or_(*[_date_cond(table.c.last_updated, table.c.last_updated, v, "_lastUpdated") for v in values])
        )
    if param.type in (TOKEN, URI):
        return _token_cond(rt, table, param, modifier, values)
    if param.type == STRING:
        return _string_cond(rt, table, param, modifier, values)
    if param.type == DATE:
        if modifier:
            raise NotSupported(f"{param.name}:{modifier} is not supported", [param.name])
        if param.name == rt.date_param:
            return _hot(
                or_(*[_date_cond(table.c.date_low, table.c.date_high, v, param.name) for v in values])
            )
        hid = h64(rt.name, param.name)
        sub = select(idx_date.c.pid).where(
            idx_date.c.hash_identity == hid,
            or_(*[_date_cond(idx_date.c.low, idx_date.c.high, v, param.name) for v in values]),
        )
        return _in_index(table, sub)
    if param.type == REFERENCE:
        return _reference_cond(rt, table, param, modifier, values)
    raise NotSupported(f"search by {param.type} parameters is not supported", [param.name])


def _token_cond(rt, table, param, modifier, values):
    if modifier not in ("", "not"):
        raise NotSupported(f"{param.name}:{modifier} is not supported (:not is)", [param.name])
    with_system, without = [], []
    for v in values:
        parts = split_unescaped(v.replace("\\,", ","), "|") if param.type == TOKEN else [v]
        if len(parts) == 1:
            if param.type == URI:
                with_system.append(token_hashes(rt.name, param.name, None, parts[0])[0])
            else:
                without.append(token_hashes(rt.name, param.name, None, parts[0])[1])
        elif len(parts) == 2:
            system, code = parts
            if not code:
                raise NotSupported(
                    f"{param.name}={v}: search by system alone ('system|') is not "
                    "supported; give system|code",
                    [param.name],
                )
            with_system.append(token_hashes(rt.name, param.name, system or None, code)[0])
        else:
            raise BadRequest(f"{param.name}={v} is not a token (system|code)", [param.name])
    if rt.codes_in_row:
        has = HasCode(table.c.codes, [*with_system, *without])
        return _hot(not_(has) if modifier == "not" else has)
    ors = []
    if with_system:
        ors.append(idx_token.c.hash_sys_value.in_(with_system))
    if without:
        ors.append(idx_token.c.hash_value.in_(without))
    sub = select(idx_token.c.pid).where(or_(*ors))
    drive = [(idx_token.c.hash_sys_value, h) for h in dict.fromkeys(with_system)]
    drive += [(idx_token.c.hash_value, h) for h in dict.fromkeys(without)]
    return _in_index(table, sub, negate=modifier == "not", drive=drive)


class HasCode(ColumnElement):
    """True when the row's ``codes`` list (``ResourceType.codes_in_row``) holds one of ``hashes``;
    never NULL, so that ``:not`` keeps the rows without codes. PostgreSQL: ``codes && array``;
    SQLite: both JSON lists walked with ``json_each``. The hashes are one parameter either way."""

    inherit_cache = True
    type = Boolean()
    _traverse_internals = [
        ("col", InternalTraversal.dp_clauseelement),
        ("hashes", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, col, hashes: list[int]):
        self.col = col
        self.hashes = bindparam(None, list(hashes), type_=HashList())


@compiles(HasCode, "postgresql")
def _has_code_pg(element, compiler, **kw):
    col, hashes = compiler.process(element.col, **kw), compiler.process(element.hashes, **kw)
    return f"COALESCE({col} && CAST({hashes} AS BIGINT[]), false)"


class HasRef(HasCode):
    """True when the row's ``refs`` list (``ResourceType.codes_in_row``) holds one of ``hashes``.
    PostgreSQL: a bare ``refs && array``, which its GIN index serves (a reference takes no ``:not``,
    so NULL, a row without references, may stay NULL)."""

    inherit_cache = True


@compiles(HasRef, "postgresql")
def _has_ref_pg(element, compiler, **kw):
    col, hashes = compiler.process(element.col, **kw), compiler.process(element.hashes, **kw)
    return f"{col} && CAST({hashes} AS BIGINT[])"


@compiles(HasCode)
@compiles(HasRef)
def _has_code_json(element, compiler, **kw):
    col, hashes = compiler.process(element.col, **kw), compiler.process(element.hashes, **kw)
    return (
        f"EXISTS (SELECT 1 FROM json_each({col}) AS c "
        f"WHERE c.value IN (SELECT w.value FROM json_each({hashes}) AS w))"
    )


def _string_cond(rt, table, param, modifier, values):
    if modifier not in ("", "exact", "contains"):
        raise NotSupported(
            f"{param.name}:{modifier} is not supported (:exact and :contains are)", [param.name]
        )
    hid = h64(rt.name, param.name)
    ors = []
    for v in values:
        if modifier == "exact":
            ors.append(and_(idx_string.c.value_norm == normalise(v), idx_string.c.value_exact == v))
        elif modifier == "contains":
            ors.append(idx_string.c.value_norm.contains(normalise(v), autoescape=True))
        else:
            n = normalise(v)
            ors.append(and_(idx_string.c.value_norm >= n, idx_string.c.value_norm < n + "\uffff"))
    sub = select(idx_string.c.pid).where(idx_string.c.hash_identity == hid, or_(*ors))
    return _in_index(table, sub)


def _date_cond(low_col, high_col, value: str, name: str):
    prefix = value[:2] if value[:2] in DATE_PREFIXES else "eq"
    raw = value[2:] if value[:2] in DATE_PREFIXES else value
    if value[:2] == "ap":
        raise NotSupported("the 'ap' date prefix is not supported", [name])
    try:
        lo, hi = dates.parse_range(raw)
    except dates.BadDate as exc:
        raise BadRequest(f"{name}: {exc}", [name]) from None
    eq = and_(low_col >= lo, high_col <= hi)
    return {
        "eq": eq,
        "ne": not_(eq),
        "lt": low_col < lo,
        "le": low_col <= hi,
        "gt": high_col > hi,
        "ge": high_col >= lo,
        "sa": low_col > hi,
        "eb": high_col < lo,
    }[prefix]


def _reference_cond(rt, table, param, modifier, values):
    if modifier and modifier not in TYPES:
        raise NotSupported(f"{param.name}:{modifier} is not supported (a type modifier is)", [param.name])
    wanted: list[tuple[str | None, str]] = []
    for v in values:
        parsed = parse_reference(v, absolute=True)
        if parsed:
            wanted.append(parsed)
        elif "/" in v or "?" in v:
            raise BadRequest(f"{param.name}={v} is not a reference (Type/id or id)", [param.name])
        else:
            wanted.append((modifier or None, v))
    if param.name == rt.patient_param:
        ids = [i for t, i in wanted if t in (None, "Patient")]
        return _hot(table.c.patient.in_(ids))
    if rt.codes_in_row:
        keys = [ref_keys(rt.name, param.name, t, i)[0 if t else 1] for t, i in wanted]
        return _hot(HasRef(table.c.refs, keys))
    hid = h64(rt.name, param.name)
    ors = []
    for t, i in wanted:
        cond = idx_ref.c.target_id == i
        if t:
            cond = and_(cond, idx_ref.c.target_type == t)
        ors.append(cond)
    sub = select(idx_ref.c.pid).where(idx_ref.c.hash_identity == hid, or_(*ors))
    return _in_index(table, sub)


# ----- execution -----


def _sort_key(rt: ResourceType, table, pname: str):
    if pname == "_id":
        return table.c.fhir_id
    if pname == "_lastUpdated":
        return table.c.last_updated
    if pname == rt.date_param:
        return table.c.date_low
    p = rt.param(pname)
    hid = h64(rt.name, pname)
    if p.type == DATE:
        return (
            select(func.min(idx_date.c.low))
            .where(idx_date.c.pid == table.c.pid, idx_date.c.hash_identity == hid)
            .scalar_subquery()
        )
    return (
        select(func.min(idx_string.c.value_norm))
        .where(idx_string.c.pid == table.c.pid, idx_string.c.hash_identity == hid)
        .scalar_subquery()
    )


def where_clause(q: Query, per_row: bool = True, probes: bool = False, leave_out: Cond | None = None):
    """The query's conditions and the caller's read filter (``per_row``: see ``Policy.linked``);
    ``probes``: every condition checked per row (for a page walked in an index's order), but
    ``leave_out``, the condition that index answers."""
    table = resource_tables[q.rt.name]
    visible = q.policy.read_filter(q.rt, per_row)
    conds = [c.probe if probes else c.sql for c in q.conditions if c is not leave_out]
    return and_(table.c.deleted.is_(False), *conds, *([visible] if visible is not None else []))


def count(conn: Connection, q: Query) -> int:
    table = resource_tables[q.rt.name]
    return conn.execute(
        select(func.count()).select_from(table).where(where_clause(q, per_row=False))
    ).scalar_one()


def run(conn: Connection, q: Query) -> Result:
    # _count=0 is _summary=count (FHIR search 3.1.1.5.7).
    total = count(conn, q) if (q.summary_count or q.count == 0 or q.total != "none") else None
    if q.summary_count or q.count == 0:
        return Result([], [], False, total, q)
    page = _page(conn, q)
    has_next = len(page) > q.count
    page = page[: q.count]
    matches = _fetch_by_pid(conn, q.policy, q.rt.name, page)
    if total is None and not has_next:
        total = q.offset + len(matches)  # known for free on the last page
    includes = _includes(conn, q, matches) if (q.includes or q.revincludes) and matches else []
    return Result(matches, includes, has_next, total, q)


def _pids(conn: Connection, query, limit: int, offset: int) -> list[int]:
    return conn.execute(query.limit(limit).offset(offset)).scalars().all()


def _walk(conn: Connection, q: Query, driver: Cond, desc: bool, want: int) -> list[int]:
    """The dated part of a page sorted by the type's date, walked from a token condition's index
    rows in ``sort_date`` order, every other condition and the read filter checked per row: the
    database reads about ``want`` / (share of that code's rows that match the rest) index entries,
    however many rows match in all. One walk per code of the condition, each with its own LIMIT
    (PostgreSQL would sort the union of the codes' rows rather than merge the ordered ranges),
    sent as one statement whose UNION merges the walks' few rows."""
    table = resource_tables[q.rt.name]
    where = where_clause(q, probes=True, leave_out=driver)
    d = idx_token.alias("drive")

    def order(cols):
        return (cols.sort_date.desc(), cols.pid.desc()) if desc else (cols.sort_date.asc(), cols.pid.asc())

    walks = [
        select(d.c.sort_date, d.c.pid)
        .distinct()  # one code under two systems: adjacent in this order
        .select_from(d.join(table, table.c.pid == d.c.pid))
        .where(d.c[col.name] == h, d.c.sort_date.is_not(None), where)
        .order_by(*order(d.c))
        .limit(q.offset + want)
        for col, h in driver.drive
    ]
    if len(walks) == 1:
        query = walks[0]
    else:
        # UNION drops a row that two codes both walked (the same pid, the same sort_date).
        merged = union(*(w.subquery().select() for w in walks)).subquery()
        query = select(merged.c.sort_date, merged.c.pid).order_by(*order(merged.c))
    return [pid for _, pid in conn.execute(query.offset(q.offset).limit(want))]


def _page(conn: Connection, q: Query) -> list[int]:
    """Phase 1: the ``pid``s of the page and one more (whether there is a next page), in order.

    Missing sort values come last in both directions, as on PostgreSQL and SQLite alike. Sorted by
    the type's date alone (a worklist's "oldest first"), the rows that have a date are read in its
    index's order and those without one after them, in a second query only when the page is not
    full: an ORDER BY led by "date IS NULL" would make the database find and sort every match
    before returning the first.
    """
    table = resource_tables[q.rt.name]
    want = q.count + 1
    desc = bool(q.sort) and q.sort[-1][1]
    tie = table.c.pid.desc() if desc else table.c.pid.asc()
    if len(q.sort) == 1 and q.sort[0][0] == q.rt.date_param:
        key = table.c.date_low
        driver = next((c for c in q.conditions if c.drive), None)
        if driver is not None:
            page = _walk(conn, q, driver, desc, want)
        else:
            dated = select(table.c.pid).where(where_clause(q), key.is_not(None))
            page = _pids(conn, dated.order_by(key.desc() if desc else key.asc(), tie), want, q.offset)
        if len(page) == want:
            return page
        if page or q.offset == 0:
            n_dated = q.offset + len(page)
        else:  # the page starts past the dated rows: how far past
            n_dated = conn.execute(
                select(func.count())
                .select_from(table)
                .where(where_clause(q, per_row=False), key.is_not(None))
            ).scalar_one()
        undated = select(table.c.pid).where(where_clause(q), key.is_(None)).order_by(tie)
        return page + _pids(conn, undated, want - len(page), max(0, q.offset - n_dated))
    order = []
    for pname, descending in q.sort:
        key = _sort_key(q.rt, table, pname)
        if pname not in ("_id", "_lastUpdated"):  # those are never missing
            order.append(key.is_(None))
        order.append(key.desc() if descending else key.asc())
    order.append(tie)
    return _pids(conn, select(table.c.pid).where(where_clause(q)).order_by(*order), want, q.offset)


def one_of(conn: Connection, col, values):
    """``col IN (values)``; on PostgreSQL ``col = ANY(array)``: one parameter however many values,
    so the statement's text is the same for every page (SQLAlchemy does not expand it into one
    parameter per value, nor psycopg split a long text again, for each request)."""
    if conn.dialect.name == "postgresql":
        return col == any_(bindparam(None, list(values), type_=ARRAY(col.type)))
    return col.in_(values)


def _visible(policy: Policy, rtype: str):
    """The read filter of ``rtype`` for an included resource, or False when the scopes exclude the type."""
    if not policy.permits(rtype, "read"):
        return False
    cond = policy.read_filter(TYPES[rtype])
    return true() if cond is None else cond


def _fetch_by_pid(conn, policy: Policy, rtype: str, pids: list[int], mode: str = "match") -> list[Match]:
    visible = _visible(policy, rtype)
    if not pids or visible is False:
        return []
    table = resource_tables[rtype]
    rows = conn.execute(
        select(
            table.c.pid, table.c.fhir_id, table.c.body, table.c.tenant, table.c.patient, table.c.version
        ).where(one_of(conn, table.c.pid, pids), table.c.deleted.is_(False), visible)
    ).all()
    by_pid = {
        r.pid: Match(r.pid, rtype, r.fhir_id, r.body, mode, r.tenant, r.patient, r.version) for r in rows
    }
    return [by_pid[p] for p in pids if p in by_pid]


def fetch_by_ids(conn, policy: Policy, wanted: dict[str, set[str]], mode: str = "include") -> list[Match]:
    """The records of several types by id that the caller may read, in one statement (a UNION ALL of
    one SELECT per type, each under that type's read filter): one round trip however many types a
    page includes. Ordered by type, then id."""
    parts = []
    for rtype, ids in sorted(wanted.items()):
        if not ids or rtype not in resource_tables:
            continue
        visible = _visible(policy, rtype)
        if visible is False:
            continue
        table = resource_tables[rtype]
        parts.append(
            select(
                literal(rtype, String).label("rtype"),
                table.c.pid,
                table.c.fhir_id,
                table.c.body,
                table.c.tenant,
                table.c.patient,
                table.c.version,
            ).where(one_of(conn, table.c.fhir_id, sorted(ids)), table.c.deleted.is_(False), visible)
        )
    if not parts:
        return []
    query = parts[0] if len(parts) == 1 else union_all(*parts)
    rows = conn.execute(query.order_by(column("rtype"), column("fhir_id"))).all()
    return [Match(r.pid, r.rtype, r.fhir_id, r.body, mode, r.tenant, r.patient, r.version) for r in rows]


def _includes(conn: Connection, q: Query, matches: list[Match]) -> list[Match]:
    pids = [m.pid for m in matches]
    wanted: dict[str, set[str]] = {}
    targets: dict[int, set[str | None]] = {}  # reference parameter's hash -> the target types asked for
    for _src, pname, target in q.includes:
        if pname == q.rt.patient_param:  # the hot column, fetched with the matches
            if target in (None, "Patient"):
                wanted.setdefault("Patient", set()).update(m.patient for m in matches if m.patient)
            continue
        targets.setdefault(h64(q.rt.name, pname), set()).add(target)
    if targets:
        if q.rt.codes_in_row:  # the references are in the records themselves
            rows = {r for m in matches for r in references(q.rt, orjson.loads(m.body)) if r[0] in targets}
        else:
            rows = conn.execute(
                select(idx_ref.c.hash_identity, idx_ref.c.target_type, idx_ref.c.target_id).where(
                    one_of(conn, idx_ref.c.pid, pids), idx_ref.c.hash_identity.in_(sorted(targets))
                )
            )
        for hid, ttype, tid in rows:
            if None in targets[hid] or ttype in targets[hid]:
                wanted.setdefault(ttype, set()).add(tid)
    seen = {(m.type, m.id) for m in matches}
    out: list[Match] = []
    for m in fetch_by_ids(conn, q.policy, wanted):
        if (m.type, m.id) not in seen:
            seen.add((m.type, m.id))
            out.append(m)
    ids = [m.id for m in matches]
    for src, pname in q.revincludes:
        srt = TYPES[src]
        stable = resource_tables[src]
        if pname == srt.patient_param:
            if q.rt.name != "Patient":
                continue
            sub = select(stable.c.pid).where(stable.c.patient.in_(ids), stable.c.deleted.is_(False))
        elif srt.codes_in_row:
            sub = select(stable.c.pid).where(
                HasRef(stable.c.refs, [ref_keys(src, pname, q.rt.name, i)[0] for i in ids])
            )
        else:
            sub = select(idx_ref.c.pid).where(
                idx_ref.c.hash_identity == h64(src, pname),
                idx_ref.c.target_type == q.rt.name,
                idx_ref.c.target_id.in_(ids),
            )
        src_pids = conn.execute(sub.limit(MAX_INCLUDES)).scalars().all()
        for m in _fetch_by_pid(conn, q.policy, src, list(dict.fromkeys(src_pids)), mode="include"):
            if (m.type, m.id) not in seen:
                seen.add((m.type, m.id))
                out.append(m)
    return out[:MAX_INCLUDES]


def search(
    conn: Connection,
    rt: ResourceType,
    params: list[tuple[str, str]],
    lenient: bool = False,
    default_count: int = 20,
    max_count: int = 1000,
    policy: Policy = SYSTEM_POLICY,
) -> Result:
    return run(conn, parse(rt, params, lenient, default_count, max_count, policy))


def resolve_conditional(
    conn: Connection, rt: ResourceType, criteria: str, policy: Policy = SYSTEM_POLICY
) -> list[Match]:
    """Matches of conditional criteria (``identifier=s|v``), for If-None-Exist and conditional updates."""
    if criteria.startswith(f"{rt.name}?"):  # 'Patient?identifier=...' is a common way to write it
        criteria = criteria[len(rt.name) :]
    pairs = parse_qsl(criteria.lstrip("?"), keep_blank_values=True)
    if not pairs:
        raise BadRequest(f"conditional criteria '{criteria}' are empty")
    q = parse(rt, pairs, lenient=False, default_count=2, policy=policy)
    q.count = 2
    return run(conn, q).matches
