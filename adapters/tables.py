"""The intake's own tables: what arrived (the ledger), what it became (records) and what could not be
stored (the quarantine). Nothing that arrives is lost: every unit ends in the ledger as stored or
quarantined, and a quarantined unit keeps its raw bytes until a person replays or discards it."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, LargeBinary, String, Table, Text, UniqueConstraint

from hub.models import UTCDateTime, metadata

# One row per unit received (an HL7 message, a CSV row, a FHIR resource or Bundle), keyed by the
# hash of its bytes: the same unit sent again is recognised and stores nothing twice.
intake_ledger = Table(
    "intake_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("institution", String(64), nullable=False),
    Column("format", String(16), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("source", String(512), nullable=False),  # file name and position, or the request
    Column("message_id", String(200), nullable=True),  # MSH-10, Bundle.id, CSV row key
    Column("outcome", String(16), nullable=False),  # stored | quarantined
    Column("patient_id", String(64), nullable=True),
    Column("records", Integer, nullable=False, default=0),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("institution", "format", "content_hash"),
)

# Which hub resource a source record became: a resent or corrected record updates it, not a twin.
intake_record = Table(
    "intake_record",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("institution", String(64), nullable=False),
    Column("source_key", String(300), nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("fhir_id", String(64), nullable=False),
    Column("content_hash", String(64), nullable=False),
    UniqueConstraint("institution", "source_key"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("institution", String(64), nullable=False),
    Column("format", String(16), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("source", String(512), nullable=False),
    Column("message_id", String(200), nullable=True),
    Column("raw", LargeBinary, nullable=False),  # the bytes as they arrived
    Column("stage", String(16), nullable=False),  # parse | map | validate | link | store
    Column("reason", Text, nullable=False),
    Column("element", String(300), nullable=True),  # PID-3, OBX-5, Observation.code, column 姓名
    Column("status", String(16), nullable=False),  # open | replayed | discarded
    Column("attempts", Integer, nullable=False, default=1),
    Column("received_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
    UniqueConstraint("institution", "format", "content_hash"),
)
Index(None, quarantine.c.institution, quarantine.c.status)
