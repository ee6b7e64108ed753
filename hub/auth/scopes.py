"""SMART App Launch v2 scopes (AUTH-01): parse, normalise, compare, and decide.

A scope is ``<patient|user|system>/<ResourceType|*>.<ops>[?<search parameters>]`` where ``ops`` is a
non-empty subset of ``c r u d s`` written in that order (``.rs``, ``.cruds``, ``.cud``). The SMART v1
suffixes are accepted and mapped: ``.read`` is ``.rs``, ``.write`` is ``.cud`` and ``.*`` is
``.cruds``. Anything else (``.dus``, ``.rr``, ``.sr``, ``.``) is refused. Write does not imply
read. ``str(scope)`` is the normalised v2 form, which is what the hub stores and issues.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

OPS = "cruds"
CONTEXTS = ("patient", "user", "system")
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_V2 = re.compile(r"^c?r?u?d?s?$")
_TYPE = re.compile(r"^(\*|[A-Z][A-Za-z]{0,63})$")


class ScopeError(ValueError):
    """A scope string that is not a SMART v2 (or v1) resource scope."""


@dataclass(frozen=True)
class Scope:
    context: str  # patient | user | system
    type: str  # a resource type, or "*"
    ops: frozenset  # subset of {"c", "r", "u", "d", "s"}
    query: str | None = None  # granular constraint, search syntax without the "?"

    def __str__(self) -> str:
        text = f"{self.context}/{self.type}.{''.join(o for o in OPS if o in self.ops)}"
        return f"{text}?{self.query}" if self.query else text

    def grants(self, rtype: str, op: str) -> bool:
        """Whether this scope grants ``op`` on ``rtype`` (ignoring any query constraint)."""
        return op in self.ops and self.type in ("*", rtype)

    def covers(self, other: Scope) -> bool:
        """Whether everything ``other`` grants is also granted by this scope."""
        return (
            self.context == other.context
            and self.type in ("*", other.type)
            and other.ops <= self.ops
            and (self.query is None or self.query == other.query)
        )


@functools.lru_cache(maxsize=4096)
def parse_scope(text: str) -> Scope:
    """One scope string -> Scope; raises ScopeError with a message naming what is wrong.

    Cached: every interaction checks the caller's scopes, and a Scope is immutable."""
    if not isinstance(text, str) or not text or any(ch.isspace() for ch in text):
        raise ScopeError(f"'{text}' is not a scope (scopes are separated by spaces)")
    body, sep, query = text.partition("?")
    if sep and not _valid_query(query):
        raise ScopeError(f"'{text}': the part after '?' must be search parameters (name=value&...)")
    context, slash, rest = body.partition("/")
    if not slash:
        raise ScopeError(f"'{text}' is not a resource scope (<patient|user|system>/<Type|*>.<cruds>)")
    if context not in CONTEXTS:
        raise ScopeError(f"'{text}': the context must be patient, user or system, not '{context}'")
    rtype, dot, suffix = rest.partition(".")
    if not dot:
        raise ScopeError(f"'{text}' has no permissions suffix (.rs, .cruds, ...)")
    if not _TYPE.match(rtype):
        raise ScopeError(f"'{text}': '{rtype}' is not a resource type or '*'")
    if suffix in _V1:
        ops = _V1[suffix]
    elif suffix and _V2.match(suffix):
        ops = suffix
    else:
        raise ScopeError(
            f"'{text}': '.{suffix}' is not a permission suffix; use a subset of c r u d s in that "
            "order (e.g. .rs, .cud, .cruds) or .read, .write, .*"
        )
    return Scope(context, rtype, frozenset(ops), query if sep else None)


def _valid_query(query: str) -> bool:
    if not query:
        return False
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return False
    return all(name and value for name, value in pairs)


def parse_scopes(text: str | None) -> tuple[Scope, ...]:
    """A space-separated scope string -> Scopes, in order, duplicates dropped."""
    out: list[Scope] = []
    for part in (text or "").split():
        scope = parse_scope(part)
        if scope not in out:
            out.append(scope)
    return tuple(out)


def format_scopes(scopes) -> str:
    return " ".join(str(s) for s in scopes)


def allows(scopes, rtype: str, op: str) -> bool:
    """Whether any of ``scopes`` (Scope objects or strings) grants ``op`` (c r u d s) on ``rtype``.

    A scope with a query constraint counts: it grants the operation on the resources that match
    its search parameters; ``constraints`` tells the caller which those are.
    """
    if op not in OPS or len(op) != 1:
        raise ValueError(f"op must be one of c r u d s, not {op!r}")
    return any(s.grants(rtype, op) for s in _as_scopes(scopes))


def constraints(scopes, rtype: str, op: str) -> list[str] | None:
    """The query constraints under which ``op`` on ``rtype`` is granted.

    ``None`` means unconstrained (some granting scope has no query); otherwise a list of
    alternative search-parameter strings (a resource is allowed when it matches any of them). An
    empty list means not granted at all.
    """
    granting = [s for s in _as_scopes(scopes) if s.grants(rtype, op)]
    if any(s.query is None for s in granting):
        return None
    return [s.query for s in granting]


def _as_scopes(scopes) -> tuple[Scope, ...]:
    if isinstance(scopes, str):
        return parse_scopes(scopes)
    return tuple(s if isinstance(s, Scope) else parse_scope(s) for s in scopes)
