"""The store's tables, generated from ``hub.fhir.registry`` (design: per-type current tables with hot
columns, shared index tables keyed by a global ``pid``, one history table holding every version).

Schema changes are Alembic migrations in ``migrations/``; this module is what they are checked
against (``tests/integration/test_migrations.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Sequence,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import TypeDecorator

from hub.fhir.registry import TYPES

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

PID = BigInteger().with_variant(Integer, "sqlite")
pid_seq = Sequence("pid_seq", metadata=metadata, cache=100)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes; on SQLite stored as fixed-width text so that text order is time order."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.strftime("%Y-%m-%dT%H:%M:%S.%f").rjust(26, "0")
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
        return value.astimezone(UTC)


class HashList(TypeDecorator):
    """A list of 64-bit hashes (a row's tokens or references, ``ResourceType.codes_in_row``): a ``BIGINT[]``
    on PostgreSQL, JSON text on SQLite (searched there with ``json_each``)."""

    impl = ARRAY(BigInteger)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(ARRAY(BigInteger))

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name != "sqlite":
            return value
        return orjson.dumps(value).decode()

    def process_result_value(self, value, dialect):
        if isinstance(value, str):
            return orjson.loads(value)
        return value


# SQLite has no sequences: a one-row counter, safe there because SQLite has a single writer.
pid_counter = Table(
    "pid_counter",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("value", PID, nullable=False),
)

resource_tables: dict[str, Table] = {}
for _rt in TYPES.values():
    cols = [
        Column("pid", PID, primary_key=True, autoincrement=False),
        Column("fhir_id", String(64), nullable=False, unique=True),
        Column("version", Integer, nullable=False),
        Column("last_updated", UTCDateTime, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        # The institution that wrote the current version (tenancy).
        Column("tenant", String(64), nullable=True),
        Column("patient", String(64), nullable=True),
        Column("date_low", UTCDateTime, nullable=True),
        Column("date_high", UTCDateTime, nullable=True),
        Column("body", Text, nullable=False),
    ]
    if _rt.codes_in_row:
        # Each token's (with system, without) hashes, in that order, pair after pair; each
        # reference's (with the target's type, without) in ``refs``.
        cols.append(Column("codes", HashList, nullable=True))
        cols.append(Column("refs", HashList, nullable=True))
    t = Table(_rt.table, metadata, *cols)
    if _rt.codes_in_row:
        Index(None, t.c.refs, postgresql_using="gin")
    Index(None, t.c.last_updated)
    if _rt.patient_param:
        Index(None, t.c.patient, t.c.date_low)
    if _rt.date_param:
        Index(None, t.c.date_low)
        Index(None, t.c.date_high)
    resource_tables[_rt.name] = t

idx_token = Table(
    "idx_token",
    metadata,
    Column("pid", PID, nullable=False),
    Column("hash_sys_value", BigInteger, nullable=False),
    Column("hash_value", BigInteger, nullable=False),
    Column("sort_date", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("pid", "hash_sys_value"),
)
Index(None, idx_token.c.hash_sys_value, idx_token.c.sort_date, idx_token.c.pid)
Index(None, idx_token.c.hash_value, idx_token.c.sort_date, idx_token.c.pid)

idx_string = Table(
    "idx_string",
    metadata,
    Column("pid", PID, nullable=False),
    Column("hash_identity", BigInteger, nullable=False),
    Column("value_norm", String(512), nullable=False),
    Column("value_exact", String(512), nullable=False),
)
Index(None, idx_string.c.hash_identity, idx_string.c.value_norm, idx_string.c.pid)
Index(None, idx_string.c.pid)

idx_date = Table(
    "idx_date",
    metadata,
    Column("pid", PID, nullable=False),
    Column("hash_identity", BigInteger, nullable=False),
    Column("low", UTCDateTime, nullable=False),
    Column("high", UTCDateTime, nullable=False),
)
Index(None, idx_date.c.hash_identity, idx_date.c.low, idx_date.c.high, idx_date.c.pid)
Index(None, idx_date.c.hash_identity, idx_date.c.high, idx_date.c.pid)
Index(None, idx_date.c.pid)

idx_ref = Table(
    "idx_ref",
    metadata,
    Column("pid", PID, nullable=False),
    Column("hash_identity", BigInteger, nullable=False),
    Column("target_type", String(64), nullable=False),
    Column("target_id", String(64), nullable=False),
)
Index(None, idx_ref.c.hash_identity, idx_ref.c.target_id, idx_ref.c.pid)
Index(None, idx_ref.c.pid)

resource_history = Table(
    "resource_history",
    metadata,
    Column("pid", PID, nullable=False),
    Column("version", Integer, nullable=False),
    Column("res_type", String(64), nullable=False),
    Column("fhir_id", String(64), nullable=False),
    Column("last_updated", UTCDateTime, nullable=False),
    Column("method", String(8), nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("body", Text, nullable=True),
    PrimaryKeyConstraint("pid", "version"),
)
Index(None, resource_history.c.res_type, resource_history.c.last_updated)
Index(None, resource_history.c.last_updated)

INDEX_TABLES = (idx_token, idx_string, idx_date, idx_ref)

# Tables of other packages share this metadata (and so the migrations' comparison).
from adapters import tables as _adapter_tables  # noqa: E402,F401
from hub.audit import tables as _audit_tables  # noqa: E402,F401
from hub.auth import tables as _auth_tables  # noqa: E402,F401
from hub.empi import tables as _empi_tables  # noqa: E402,F401
from hub.notify import tables as _notify_tables  # noqa: E402,F401
from hub.referrals import tables as _referral_tables  # noqa: E402,F401
