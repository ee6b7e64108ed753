"""The referral workflow's own rows: idempotency keys and each referral Task's clock.

The FHIR resources stay the record; these rows make the timers and statistics cheap queries and
make a retried submission find its first answer.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, PrimaryKeyConstraint, String, Table, Text

from hub.models import UTCDateTime, metadata

# A submission's Idempotency-Key, per institution: a retry answers with the referral it made.
referral_idempotency = Table(
    "referral_idempotency",
    metadata,
    Column("organization_id", String(64), nullable=False),
    Column("key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),  # sha256 of the submitted Bundle
    Column("task_id", String(64), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("response", Text, nullable=False),  # the first answer, given again to a retry
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("organization_id", "key"),
)

# One row per referral Task: who, which way, and its clock (due times move while it is paused).
referral_clock = Table(
    "referral_clock",
    metadata,
    Column("task_id", String(64), primary_key=True),
    Column("request_id", String(64), nullable=False),
    Column("requester_org", String(64), nullable=False),
    Column("owner_org", String(64), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("status", String(16), nullable=False),  # the Task's status
    Column("outcome", String(32), nullable=True),  # decline/cancel reason code, or "returned"
    Column("submitted_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=True),
    Column("accepted_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("ack_due_at", UTCDateTime, nullable=False),
    Column("accept_due_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("paused_at", UTCDateTime, nullable=True),  # awaiting information since
    Column("ack_overdue_at", UTCDateTime, nullable=True),
    Column("accept_overdue_at", UTCDateTime, nullable=True),
    Column("returned", Boolean, nullable=False, default=False),  # completed with a return package
)
Index(None, referral_clock.c.status, referral_clock.c.accept_due_at)
Index(None, referral_clock.c.status, referral_clock.c.expires_at)
Index(None, referral_clock.c.submitted_at)
# The worklists ($worklist): a party's referrals in a state, oldest or newest first.
Index(None, referral_clock.c.owner_org, referral_clock.c.status, referral_clock.c.submitted_at)
Index(None, referral_clock.c.requester_org, referral_clock.c.status, referral_clock.c.submitted_at)
