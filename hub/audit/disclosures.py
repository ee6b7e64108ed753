"""The disclosure ledger (AUD-02): a record version crosses to another institution once per purpose.

BALP records a disclosure -- data leaving its custodian for another organisation -- as an export
event at the source and an import event at the recipient. The first time a version of a record is
read by an institution other than the one that wrote it, for a purpose, that is a disclosure and
gets its pair; later reads of the same version by the same institution for the same purpose are
accesses of data it already holds, each recorded by its own access event (who, when, which records,
the query), not new disclosures. A new version, another institution or another purpose is a new
disclosure.

``claim`` inserts the keys ``(recipient, purpose, Type/id/_history/version)`` being disclosed into
``audit_disclosure`` in the transaction that writes their events and returns those that were not
there. The group writer claims every waiting request's keys in one statement. Two transactions that
claim the same key at once: the second waits for the first and finds it there (PostgreSQL: the
primary key; SQLite: one writer at a time), so exactly one of them writes the pair.

The statement's text is fixed (the keys travel as one JSON parameter), so it is prepared once per
connection rather than compiled for every number of keys. Rows of the ledger are never removed,
so a process remembers the keys it has seen committed there (``Known``, bounded): a read of
versions its institution already holds -- a desk opening the same worklist again -- claims
nothing and needs no statement.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

import orjson

Key = tuple[str, str, str]  # recipient institution, purpose of use, Type/id/_history/version

_SQL = {
    "postgresql": (
        "INSERT INTO audit_disclosure (recipient, purpose, reference) "
        "SELECT k->>0, k->>1, k->>2 FROM jsonb_array_elements(%(keys)s::jsonb) AS k "
        "ON CONFLICT DO NOTHING RETURNING recipient, purpose, reference"
    ),
    # "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT, not to a join.
    "sqlite": (
        "INSERT INTO audit_disclosure (recipient, purpose, reference) "
        "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') "
        "FROM json_each(:keys) WHERE true "
        "ON CONFLICT DO NOTHING RETURNING recipient, purpose, reference"
    ),
}


class Known:
    """Keys seen committed in the ledger by this process, the most recently used ``size`` of them."""

    def __init__(self, size: int = 100_000):
        self.size = size
        self._keys: OrderedDict[Key, None] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, key: Key) -> bool:
        return key in self._keys

    def add(self, keys: Iterable[Key]) -> None:
        """``keys`` are in the ledger, committed (call after the commit, never before)."""
        with self._lock:
            for k in keys:
                self._keys[k] = None
                self._keys.move_to_end(k)
            while len(self._keys) > self.size:
                self._keys.popitem(last=False)


def claim(conn, keys: Iterable[Key], known: Known | None = None) -> set[Key]:
    """The ``keys`` not yet in the ledger, now recorded there (in ``conn``'s transaction); keys in
    ``known`` are in it already and are not sent."""
    todo = sorted(set(keys))  # one order for every transaction: concurrent claims cannot deadlock
    if known is not None:
        todo = [k for k in todo if k not in known]
    if not todo:
        return set()
    sql = _SQL["sqlite" if conn.dialect.name == "sqlite" else "postgresql"]
    rows = conn.exec_driver_sql(sql, {"keys": orjson.dumps(todo).decode()})
    return {tuple(r) for r in rows}
