"""Tables of machine clients, used assertion ids, and people's accounts."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from hub.models import UTCDateTime, metadata

auth_client = Table(
    "auth_client",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("organization_id", String(64), nullable=True),  # FHIR Organization id; None for the office
    Column("role", String(32), nullable=False),
    Column("scopes", Text, nullable=False),  # space-separated SMART v2 scopes
    Column("jwks", Text, nullable=True),  # the client's public JWKS (JSON), or
    Column("jwks_url", String(2000), nullable=True),  # where to fetch it
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Client assertion ids already used (replay protection), kept until the assertion has expired.
auth_jti = Table(
    "auth_jti",
    metadata,
    Column("iss", String(64), nullable=False),
    Column("jti", String(200), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("iss", "jti"),
)
Index(None, auth_jti.c.expires_at)

auth_user = Table(
    "auth_user",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(255), nullable=False),  # argon2id
    Column("role", String(32), nullable=False),
    Column("organization_id", String(64), nullable=True),
    Column("practitioner_role_id", String(64), nullable=True),  # the PractitionerRole the person acts as
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime, nullable=True),
)

# Who may read other institutions' records about a patient, and why: derived from referrals
# (Task, ServiceRequest), family-doctor contracts (EpisodeOfCare), Consents and the identifiers an
# institution holds on a Patient. Rewritten, in the same transaction, whenever its source changes.
access_link = Table(
    "access_link",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("organization_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("purposes", String(300), nullable=False),  # space-separated hub purpose-of-use codes
    Column("source_type", String(64), nullable=False),
    Column("source_id", String(64), nullable=False),
    Column("valid_from", UTCDateTime, nullable=True),
    Column("valid_to", UTCDateTime, nullable=True),
)
# The tenancy probe (``Policy.linked``): one institution's links to one patient, answered from the
# index alone (organization and patient, then what the probe checks of each link).
Index(
    "ix_access_link_probe",
    access_link.c.organization_id,
    access_link.c.patient_id,
    access_link.c.valid_from,
    access_link.c.valid_to,
    access_link.c.purposes,
)
Index(None, access_link.c.source_type, access_link.c.source_id)
