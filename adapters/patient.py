"""A source's patient as a hub Patient: identifiers normalised to the hub's systems, names, gender.

Shared by the three adapters so that the same person arrives in the same shape whatever the format;
the EMPI then decides which hub Patient it is.
"""

from __future__ import annotations

from .identifiers import IdentifierError, normalise_resident_id
from .mapping import V2_0203, Mapping
from .pipeline import Rejected

GENDERS = {
    "M": "male",
    "F": "female",
    "O": "other",
    "U": "unknown",
    "A": "other",
    "N": "unknown",
    "male": "male",
    "female": "female",
    "other": "other",
    "unknown": "unknown",
    "男": "male",
    "女": "female",
}


def identifier(mapping: Mapping, kind: str, value: str, element: str) -> dict:
    """A hub identifier of one kind; a resident ID card number is normalised and validated."""
    value = value.strip()
    system, type_code, text = mapping.identifier_system(kind)
    if kind == "resident-id":
        # separators removed, x -> X, a legacy 15-digit number converted; checksum and birth date checked
        try:
            value = normalise_resident_id(value)
        except IdentifierError as exc:
            raise Rejected("validate", f"{element}: {exc.problem}", element) from None
    out = {
        "use": "official" if kind == "resident-id" else "usual",
        "type": {"coding": [{"system": V2_0203, "code": type_code}], "text": text},
        "system": system,
        "value": value,
    }
    if kind == "mrn" and mapping.organization_id:
        out["assigner"] = mapping.org_ref()
    return out


def local_identifier(mapping: Mapping, label: str, value: str, type_code: str | None = None) -> dict:
    """An identifier the mapping does not know (a US SSN in a test feed, a card number): kept, scoped."""
    out: dict = {"system": mapping.local_system(f"identifier-{label}"), "value": value.strip()}
    if type_code:
        out["type"] = {"coding": [{"system": V2_0203, "code": type_code}]}
    return out


def name(family: str | None, given: list[str] | None = None, text: str | None = None) -> dict | None:
    family = (family or "").strip()
    given = [g.strip() for g in given or [] if g and g.strip()]
    if not family and not given and not text:
        return None
    out: dict = {"use": "official"}
    if family:
        out["family"] = family
    if given:
        out["given"] = given
    if text or _is_han(family + "".join(given)):
        out["text"] = text or family + "".join(given)  # 张伟: family name first, no space
    return out


def _is_han(s: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in s)


def patient(
    identifiers: list[dict],
    names: list[dict],
    gender: str | None,
    birth_date: str | None,
    phones: list[str] = (),
    addresses: list[dict] = (),
    element: str = "patient",
) -> dict:
    if not identifiers:
        raise Rejected("map", f"{element}: the patient carries no identifier", element)
    res: dict = {"resourceType": "Patient", "identifier": identifiers}
    if names:
        res["name"] = names
    if gender:
        g = GENDERS.get(gender.strip())
        if g is None:
            raise Rejected("map", f"{element}: '{gender}' is not a known administrative gender", element)
        res["gender"] = g
    if birth_date:
        res["birthDate"] = birth_date
    telecom = [{"system": "phone", "value": p.strip()} for p in phones if p and p.strip()]
    if telecom:
        res["telecom"] = telecom
    if addresses:
        res["address"] = addresses
    return res
