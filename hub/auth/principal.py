"""The caller of a request, as every layer below the views sees it."""

from __future__ import annotations

from dataclasses import dataclass, field

# Roles. Machine clients are "institution" systems, or the alliance office's "regulator" and
# "admin" clients; people have one of the user roles, each bound to an institution.
INSTITUTION, REGULATOR, ADMIN = "institution", "regulator", "admin"
REFERRAL_DESK, SPECIALIST, FAMILY_DOCTOR, INSTITUTION_ADMIN = (
    "referral-desk",
    "specialist",
    "family-doctor",
    "institution-admin",
)
CLIENT_ROLES = (INSTITUTION, REGULATOR, ADMIN)
USER_ROLES = (REFERRAL_DESK, SPECIALIST, FAMILY_DOCTOR, INSTITUTION_ADMIN, REGULATOR)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a machine client or a signed-in person, acting for one institution.

    ``organization`` is the FHIR id of the Organization the caller acts for (None only for the
    alliance office's regulator and admin principals). ``scopes`` are SMART v2 scope strings.
    ``jti`` is the access token's id (what the audit trail records; never the token itself).
    """

    kind: str  # "client" | "user" | "system"
    id: str  # client_id, user name, or the name of a background job
    organization: str | None
    role: str
    scopes: tuple[str, ...] = ()
    jti: str | None = None
    purpose: str = "treatment"  # purpose of use (hub code system purpose-of-use)
    name: str | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_regulator(self) -> bool:
        return self.role == REGULATOR

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


def system(job: str) -> Principal:
    """Background jobs (timers, delivery workers) ask for the system principal by name."""
    return Principal("system", job, None, ADMIN, ("system/*.cruds",))
