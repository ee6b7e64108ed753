"""Code systems, extensions and profiles the referral workflow writes (under the canonical base)."""

from __future__ import annotations

from hub.fhir.validation import canonical

ICD10_CN = "http://hl7.org/fhir/sid/icd-10-cn"
HL7_TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code"


def cs(name: str) -> str:
    return canonical("CodeSystem", name)


def profile(name: str) -> str:
    return canonical("StructureDefinition", name)


def extension(name: str) -> str:
    return canonical("StructureDefinition", name)


SR_PROFILE = "xt-referral-servicerequest"
TASK_PROFILE = "xt-referral-task"
DIRECTION, CHANNEL = "referral-direction", "referral-channel"
DECLINE_REASON = "decline-reason"
BUSINESS_STATUS = "task-business-status"
OUTPUT_TYPE = "referral-output"
INSTITUTION_LEVEL = "institution-level"
EPISODE_TYPE = "episodeofcare-type"
FAMILY_DOCTOR_CONTRACT = "family-doctor-contract"
COMMUNICATION_CATEGORY = "referral-communication"


def claims(resource: dict, name: str) -> bool:
    """The resource claims the hub profile ``name`` (any version)."""
    want = profile(name)
    return any(
        isinstance(p, str) and p.split("|", 1)[0] == want
        for p in (resource.get("meta") or {}).get("profile", ())
    )


def ext_code(resource: dict, name: str) -> str | None:
    for x in resource.get("extension") or ():
        if x.get("url") == extension(name):
            return x.get("valueCode") or (x.get("valueCoding") or {}).get("code")
    return None


def set_ext_code(resource: dict, name: str, code: str) -> None:
    url = extension(name)
    rest = [x for x in resource.get("extension") or () if x.get("url") != url]
    resource["extension"] = [*rest, {"url": url, "valueCode": code}]


def coding(name: str, code: str, display: str | None = None) -> dict:
    out = {"system": cs(name), "code": code}
    if display:
        out["display"] = display
    return out


def has_code(concept: dict | None, name: str, code: str) -> bool:
    return any(
        c.get("system") == cs(name) and c.get("code") == code for c in (concept or {}).get("coding") or ()
    )


def code_in(concept: dict | None, name: str) -> str | None:
    for c in (concept or {}).get("coding") or ():
        if c.get("system") == cs(name):
            return c.get("code")
    return None
