"""The disclosure ledger (AUD-02): a record version crosses to another institution once per purpose.

BALP records a disclosure -- data leaving its custodian for another organisation -- as an export
event at the source and an import event at the recipient. The first time a version of a record is
read by an institution other than the one that wrote it, for a purpose, that is a disclosure and
gets its pair; later reads of the same version by the same institution for the same purpose are
accesses of data it already holds, each recorded by its own access event (who, when, which records,
the query), not new disclosures. A new version, another institution or another purpose is a new
disclosure.

``claim`` inserts the versions being read into ``audit_disclosure`` in the transaction that writes
their events and returns those that were not there. Two transactions that claim the same version at
once: the second waits for the first and finds it there (PostgreSQL: the primary key; SQLite: one
writer at a time), so exactly one of them writes the pair.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from hub.audit.tables import audit_disclosure
from hub.auth.principal import Principal


def claim(conn, principal: Principal, references: list[str]) -> set[str]:
    """The ``references`` (``Type/id/_history/v``) not yet disclosed to the principal's institution
    for its purpose, now recorded as disclosed (in ``conn``'s transaction)."""
    refs = sorted(set(references))
    if not refs or principal.organization is None:
        return set(refs)
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    stmt = (
        dialect.insert(audit_disclosure)
        .values(
            [
                {"recipient": principal.organization, "purpose": principal.purpose, "reference": r}
                for r in refs
            ]
        )
        .on_conflict_do_nothing()
        .returning(audit_disclosure.c.reference)
    )
    return set(conn.execute(stmt).scalars())
