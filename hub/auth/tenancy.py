"""Tenancy: what a caller may read and write, as SQL filters and checks the store applies.

Every row has a ``tenant``, the institution that wrote it. An institution reads its own rows; it
reads another institution's rows about a patient only while an access link gives it that patient
for the purpose of the request. Directory resources (organizations, practitioners, services,
schedules, terminology) are shared by the alliance. Regulators read everything and write nothing.
What a caller may not see does not exist for it: a 404, never a 403 that confirms the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import and_, delete, literal, or_, select

from hub.auth.principal import ADMIN, REGULATOR, Principal, system
from hub.auth.scopes import allows
from hub.auth.tables import access_link
from hub.db import insert_rows
from hub.errors import Forbidden, MethodNotAllowed, NotFound
from hub.fhir import dates
from hub.fhir.extract import parse_reference
from hub.fhir.registry import ResourceType
from hub.models import resource_tables

# Shared by every member of the alliance: who and where, not about a patient.
DIRECTORY = frozenset(
    {
        "Organization",
        "OrganizationAffiliation",
        "Practitioner",
        "PractitionerRole",
        "HealthcareService",
        "Location",
        "Endpoint",
        "Schedule",
        "Slot",
        "Medication",
        "Questionnaire",
        "SubscriptionTopic",
        "CodeSystem",
        "ValueSet",
        "ConceptMap",
        "StructureDefinition",
    }
)
# Readable only by the institution that wrote them (and regulators): they tell what an
# institution did or subscribes to, not what is known about a patient.
OWN_ONLY = frozenset({"AuditEvent", "Subscription", "Binary"})

# What the record behind a link lets the linked institution do with the patient's records.
CARE = ("treatment", "referral", "consultation", "result-recognition")
REFERRAL_AFTERCARE = timedelta(days=30)  # a closed referral still lets both sides read the return
V3_PURPOSE = {
    "TREAT": "treatment",
    "ETREAT": "emergency",
    "HOPERAT": "operations",
    "PATRQT": "patient-request",
    "HRESCH": "statistics",
    "HMARKT": None,
    "HPAYMT": None,
}
OPEN_TASK = {"requested", "received", "accepted", "ready", "in-progress", "on-hold"}
CLOSED_TASK = {"completed"}
OPEN_REQUEST = {"active", "on-hold"}

# Written by the hub only (the audit trail); read and searched through the API.
READ_ONLY = frozenset({"AuditEvent"})

OPS = {"read": "r", "vread": "r", "history": "r", "search": "s", "create": "c", "update": "u", "delete": "d"}


@dataclass(frozen=True)
class Link:
    organization: str
    patient: str
    purposes: tuple[str, ...]
    valid_from: datetime | None = None
    valid_to: datetime | None = None


# ----- links derived from records (pure) -----


def links_of(rtype: str, resource: dict, org_of) -> list[Link]:
    """The access links a record creates. ``org_of(reference) -> org id | None`` resolves a
    reference to an Organization, PractitionerRole, HealthcareService or CareTeam to its institution."""
    derive = _DERIVE.get(rtype)
    return derive(resource, org_of) if derive else []


def _patient(ref: dict | None) -> str | None:
    parsed = parse_reference((ref or {}).get("reference", ""))
    return parsed[1] if parsed and parsed[0] == "Patient" else None


def _orgs(refs, org_of) -> set[str]:
    out = set()
    for ref in refs:
        org = org_of((ref or {}).get("reference", ""))
        if org:
            out.add(org)
    return out


def _when(value: str | None, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        return dates.parse_range(value)[1 if end else 0]
    except dates.BadDate:
        return None


def _task_links(task: dict, org_of) -> list[Link]:
    patient = _patient(task.get("for"))
    status = task.get("status")
    if not patient or (status not in OPEN_TASK and status not in CLOSED_TASK):
        return []
    until = None
    if status in CLOSED_TASK:
        closed = _when(task.get("lastModified")) or dates.now_utc()
        until = closed + REFERRAL_AFTERCARE
    orgs = _orgs([task.get("requester"), task.get("owner")], org_of)
    return [Link(o, patient, CARE, _when(task.get("authoredOn")), until) for o in sorted(orgs)]


def _request_links(sr: dict, org_of) -> list[Link]:
    patient = _patient(sr.get("subject"))
    status = sr.get("status")
    if not patient or status not in OPEN_REQUEST | {"completed"}:
        return []
    until = None
    if status == "completed":
        until = (_when(sr.get("meta", {}).get("lastUpdated")) or dates.now_utc()) + REFERRAL_AFTERCARE
    orgs = _orgs([sr.get("requester"), *(sr.get("performer") or [])], org_of)
    return [Link(o, patient, CARE, None, until) for o in sorted(orgs)]


def _episode_links(ep: dict, org_of) -> list[Link]:
    patient = _patient(ep.get("patient"))
    if not patient or ep.get("status") not in ("active", "onhold", "waitlist"):
        return []
    org = org_of((ep.get("managingOrganization") or {}).get("reference", ""))
    if not org:
        return []
    period = ep.get("period") or {}
    return [
        Link(
            org,
            patient,
            (*CARE, "family-doctor"),
            _when(period.get("start")),
            _when(period.get("end"), end=True),
        )
    ]


def _consent_links(consent: dict, org_of) -> list[Link]:
    patient = _patient(consent.get("patient"))
    provision = consent.get("provision") or {}
    if not patient or consent.get("status") != "active" or provision.get("type", "permit") != "permit":
        return []
    purposes = set()
    for coding in provision.get("purpose") or []:
        code = coding.get("code")
        purposes.add(
            V3_PURPOSE.get(code, code) if coding.get("system", "").endswith("v3-ActReason") else code
        )
    purposes.discard(None)
    orgs = _orgs([a.get("reference") for a in provision.get("actor") or []], org_of)
    period = provision.get("period") or {}
    return [
        Link(
            o,
            patient,
            tuple(sorted(purposes)) or CARE,
            _when(period.get("start")),
            _when(period.get("end"), end=True),
        )
        for o in sorted(orgs)
    ]


def _patient_links(patient: dict, org_of) -> list[Link]:
    """An institution that holds its own identifier on the hub Patient treats that person."""
    pid = patient.get("id")
    orgs = _orgs([i.get("assigner") for i in patient.get("identifier") or []], org_of)
    return [Link(o, pid, (*CARE, "family-doctor")) for o in sorted(orgs)] if pid else []


_DERIVE = {
    "Task": _task_links,
    "ServiceRequest": _request_links,
    "EpisodeOfCare": _episode_links,
    "Consent": _consent_links,
    "Patient": _patient_links,
}
LINK_SOURCES = frozenset(_DERIVE)


# ----- the policy a store applies -----


class Policy:
    """What one principal may do, as checks and SQL filters; built per request."""

    def __init__(self, principal: Principal, now: datetime | None = None):
        self.principal = principal
        self.now = now or dates.now_utc()
        self._filters: dict[tuple[str, bool], object] = {}  # built once per request

    @property
    def reads_everything(self) -> bool:
        p = self.principal
        return p.kind == "system" or p.role in (REGULATOR, ADMIN)

    @property
    def organization(self) -> str | None:
        return self.principal.organization

    def require(self, rtype: str, interaction: str) -> None:
        """The principal's scopes allow this interaction on this type (else 403)."""
        p = self.principal
        if p.kind == "system":
            return
        op = OPS[interaction]
        if rtype in READ_ONLY and op in "cud":
            raise MethodNotAllowed(
                f"{rtype} records are written by the hub itself; they cannot be created, "
                "changed or deleted through the API"
            )
        if p.role == REGULATOR and op not in "rs":
            raise Forbidden("regulators read; they do not write")
        if not allows(p.scopes, rtype, op):
            raise Forbidden(
                f"the granted scopes do not allow {interaction} of {rtype} "
                f"(needs a scope like system/{rtype}.{op})"
            )

    def permits(self, rtype: str, interaction: str) -> bool:
        try:
            self.require(rtype, interaction)
        except Forbidden:
            return False
        return True

    def linked(self, patient, per_row: bool = True):
        """SQL: this institution has a live link to ``patient`` (a column of the row being filtered)
        for the request's purpose.

        A correlated EXISTS that the access-link index answers per row. ``per_row`` keeps PostgreSQL
        from hashing every link the institution holds instead (about 50,000 at a tertiary hospital
        with 100,000 referrals) before the first row: right for a page under LIMIT and for reads by
        id. ``per_row=False`` leaves it the choice, for counts and scans over all that is visible.
        """
        a = access_link
        purpose = f"% {_like_escaped(self.principal.purpose)} %"
        q = select(_ONE).where(
            a.c.organization_id == self.organization,
            a.c.patient_id == patient,
            _PADDED_PURPOSES.like(purpose, "/"),
            or_(_NO_START, a.c.valid_from <= self.now),
            or_(_NO_END, a.c.valid_to > self.now),
        )
        if per_row:
            # An EXISTS with an OFFSET is neither pulled up into a join nor hashed (PostgreSQL).
            q = q.offset(0)
        return q.exists()

    def read_filter(self, rt: ResourceType, per_row: bool = True):
        """A SQL condition on the type's table selecting what the principal may read; None: all.

        ``per_row``: see ``linked``; the rows selected are the same either way.
        """
        key = (rt.name, per_row)
        if key not in self._filters:
            self._filters[key] = self._read_filter(rt, per_row)
        return self._filters[key]

    def _read_filter(self, rt: ResourceType, per_row: bool):
        if self.reads_everything or rt.name in DIRECTORY:
            return None
        t = resource_tables[rt.name]
        own = t.c.tenant == self.organization
        if rt.name in OWN_ONLY:
            return own
        if rt.name == "Patient":
            return or_(own, self.linked(t.c.fhir_id, per_row).correlate(t))
        if rt.patient_param:
            return or_(own, and_(t.c.patient.is_not(None), self.linked(t.c.patient, per_row).correlate(t)))
        return own

    def check_write(self, rt: ResourceType, current_tenant: str | None, exists: bool) -> None:
        """Only the institution that wrote a record changes it (the office's admin may change any)."""
        p = self.principal
        if p.kind == "system" or p.role == ADMIN or not exists:
            return
        if current_tenant != self.organization:
            raise Forbidden(
                f"this {rt.name} belongs to another institution; only it may change it "
                "(or record a new version through the referral workflow)"
            )

    def tenant_for_write(self) -> str | None:
        return self.organization

    def hidden(self, rtype: str, fid: str) -> NotFound:
        return NotFound(f"{rtype}/{fid} is not known")


SYSTEM_POLICY = Policy(system("store"))

# The parts of ``Policy.linked`` that are the same for every caller, built once (SQL expressions are
# immutable; building them again for every filter of every request was most of its cost).
_ONE = literal(1)
_PADDED_PURPOSES = literal(" ") + access_link.c.purposes + literal(" ")
_NO_START = access_link.c.valid_from.is_(None)
_NO_END = access_link.c.valid_to.is_(None)


def _like_escaped(text: str) -> str:
    """``text`` matched literally by LIKE ... ESCAPE '/'."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def replace_links(conn, rtype: str, fid: str, links: list[Link]) -> None:
    conn.execute(
        delete(access_link).where(access_link.c.source_type == rtype, access_link.c.source_id == fid)
    )
    add_links(conn, [(rtype, fid, links)])


def add_links(conn, sources: list[tuple[str, str, list[Link]]]) -> None:
    """The links of records that have none yet (just created: ``(type, id, links)``), in one insert."""
    rows = [
        {
            "organization_id": link.organization,
            "patient_id": link.patient,
            "purposes": " ".join(link.purposes),
            "source_type": rtype,
            "source_id": fid,
            "valid_from": link.valid_from,
            "valid_to": link.valid_to,
        }
        for rtype, fid, links in sources
        for link in links
    ]
    insert_rows(conn, [(access_link, rows)])  # one statement on PostgreSQL, not one per link


def org_resolver(conn):
    """``reference -> institution id`` for Organization, PractitionerRole, HealthcareService, CareTeam."""
    fields = {
        "PractitionerRole": "organization",
        "HealthcareService": "providedBy",
        "CareTeam": "managingOrganization",
    }
    cache: dict[str, str | None] = {}

    def org_of(ref: str) -> str | None:
        if ref in cache:
            return cache[ref]
        parsed = parse_reference(ref)
        result = None
        if parsed and parsed[0] == "Organization":
            result = parsed[1]
        elif parsed and parsed[0] in fields:
            t = resource_tables[parsed[0]]
            body = conn.execute(
                select(t.c.body).where(t.c.fhir_id == parsed[1], t.c.deleted.is_(False))
            ).scalar()
            if body:
                target = orjson.loads(body).get(fields[parsed[0]])
                target = target[0] if isinstance(target, list) and target else target
                inner = parse_reference((target or {}).get("reference", ""))
                result = inner[1] if inner and inner[0] == "Organization" else None
        cache[ref] = result
        return result

    return org_of
