"""The EMPI index: each current hub Patient's normalised demographics and its blocking keys.

Rewritten from ``res_patient`` in the transaction that writes the Patient (``hub.empi.index``), so
that candidate search is a lookup on ``empi_key`` and never a scan of the patients.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, PrimaryKeyConstraint, String, Table, Text

from hub.models import PID, metadata

# One row per current Patient: what the scorer compares (``adapters.normalise.Demographics`` JSON).
empi_person = Table(
    "empi_person",
    metadata,
    Column("pid", PID, primary_key=True, autoincrement=False),  # res_patient.pid
    Column("fhir_id", String(64), nullable=False, unique=True),
    # False for a record that another replaced (merged) or that is not active: never a candidate.
    Column("candidate", Boolean, nullable=False),
    Column("features", Text, nullable=False),
)

# Blocking keys: b:<birth date>, n:<name syllables>, p:<phone>, r:<resident ID>, i:<identifier hash>.
empi_key = Table(
    "empi_key",
    metadata,
    Column("key", String(200), nullable=False),
    Column("pid", PID, nullable=False),
    PrimaryKeyConstraint("key", "pid"),
)
Index(None, empi_key.c.pid)
