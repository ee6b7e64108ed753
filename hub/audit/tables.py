"""The audit chain: one row per AuditEvent (stored in res_auditevent), in order, each holding the
hash of its predecessor; a one-row head serialises writers; signed daily checkpoints."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, SmallInteger, String, Table, Text

from hub.models import PID, UTCDateTime, metadata

audit_chain = Table(
    "audit_chain",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("pid", PID, nullable=False, unique=True),  # res_auditevent.pid
    Column("recorded", UTCDateTime, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    # How ``entry_hash`` was computed (``hub.audit.chain``): 1 over the canonical body itself, 2 over
    # the canonical body's SHA-256 (the digest its append recorded, so that linking reads no bodies).
    Column("format", SmallInteger, nullable=False, server_default="1"),
)

# The chain's head: one row, locked by every writer (SELECT ... FOR UPDATE) so that the chain is
# one line whatever the concurrency.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("entry_hash", String(64), nullable=False),
)

# AuditEvents stored but not yet chained: written in the transaction of the event itself, removed
# in the transaction that chains it. The chainer (``hub.audit.chain.link_pending``) links them in
# batches, so that request transactions never wait on the head.
audit_pending = Table(
    "audit_pending",
    metadata,
    Column("pid", PID, primary_key=True, autoincrement=False),  # res_auditevent.pid
    # SHA-256 (hex) of the event's canonical body, recorded by its append; NULL for events stored
    # before there was this column (the chainer reads their bodies and links them in format 1).
    Column("digest", String(64), nullable=True),
)

audit_checkpoint = Table(
    "audit_checkpoint",
    metadata,
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD (UTC) the checkpoint closes
    Column("seq", BigInteger, nullable=False),
    Column("entry_hash", String(64), nullable=False),
    Column("signature", Text, nullable=False),  # compact JWS by the hub key over {day, seq, entry_hash}
    Column("created_at", UTCDateTime, nullable=False),
)

# What has been disclosed to whom (AUD-02): a record version crosses from its institution to another
# once for a purpose, and that disclosure is the BALP export/import pair. Every later read of the
# same version by that institution for that purpose is recorded as an access (who, when, which
# records), not as a new disclosure. ``reference`` is ``Type/id/_history/version``.
audit_disclosure = Table(
    "audit_disclosure",
    metadata,
    Column("recipient", String(64), primary_key=True),
    Column("purpose", String(64), primary_key=True),
    Column("reference", String(200), primary_key=True),
)
