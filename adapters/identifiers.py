"""Patient identifiers as the hub keeps them (SEC-05, CODE-02, CODE-04).

- 居民身份证号 (resident ID card number): validated with ``python-stdnum`` ``cn.ric`` (length,
  birth date, ISO 7064 MOD 11-2 check character), normalised to the 18-character form with an
  upper-case ``X`` and no spaces; a legacy 15-digit number is converted (``19`` inserted, check
  character computed). System ``urn:oid:2.16.156.10011.1.3``, type v2-0203 ``NNCHN``.
- 医保 numbers (the NHSA personal number ``psn_no``, the insurance card number): their own systems,
  never validated with the resident-ID rule.
- Each institution's MRN (病案号 / 门诊号): one system per institution, type v2-0203 ``MR``, with
  ``assigner`` = the institution (which gives that institution its tenancy link to the patient).

Pure functions: no database, no network. Errors name the element at fault and never echo a
resident ID number in full.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum.cn import ric

from hub.fhir.validation import RESIDENT_ID_SYSTEM, canonical_base, mask_identifier, resident_id_problem

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
NNCHN, MR, SN = "NNCHN", "MR", "SN"

_SEPARATORS = re.compile(r"[\s\-\u3000]+")


class IdentifierError(ValueError):
    """An identifier the hub cannot accept: ``problem`` says why (never the full number)."""

    def __init__(self, problem: str, element: str = "identifier"):
        super().__init__(problem)
        self.problem = problem
        self.element = element


def sid(kind: str) -> str:
    """A hub identifier system where no national URI exists (``<canonical base>/sid/<kind>``)."""
    return f"{canonical_base()}/sid/{kind}"


def mrn_system(org_id: str) -> str:
    """The MRN system of one institution (by its Organization id)."""
    return sid(f"mrn/{org_id}")


def insurance_system() -> str:
    """医保人员编号 (NHSA personal number, ``psn_no``)."""
    return sid("nhsa-psn-no")


def insurance_card_system() -> str:
    """医保卡号 (the social-security / insurance card number)."""
    return sid("nhsa-card-no")


# --------------------------------------------------------------------------- resident ID


def normalise_resident_id(value: str) -> str:
    """The 18-character form: separators removed, ``x`` upper-cased, a 15-digit number converted.

    Raises ``IdentifierError`` when the result is not a valid number (checksum, birth date, length).
    """
    if not isinstance(value, str):
        raise IdentifierError("the resident ID card number must be a string")
    number = _SEPARATORS.sub("", value).upper()
    if len(number) == 15 and number.isdigit():
        number = from_legacy(number)
    problem = resident_id_problem(number)
    if problem:
        raise IdentifierError(f"resident ID card number {mask_identifier(number)}: {problem}")
    return number


def from_legacy(number: str) -> str:
    """A legacy 15-digit number (2-digit year, no check character) in its 18-character form."""
    if len(number) != 15 or not number.isdigit():
        raise IdentifierError("a legacy resident ID card number has 15 digits")
    body = number[:6] + "19" + number[6:]
    return body + ric.calc_check_digit(body + "0")  # stdnum ignores the last character given


def resident_id_gender(number: str) -> str:
    """``male`` or ``female`` from the sequence code's parity (odd = male)."""
    return "male" if int(number[16]) % 2 else "female"


def resident_id_birth_date(number: str) -> str:
    return ric.get_birth_date(number).isoformat()


def resident_id(value: str, use: str = "official") -> dict:
    """A ``Patient.identifier`` for a resident ID card number (validated and normalised)."""
    return {
        "use": use,
        "type": {"coding": [{"system": V2_0203, "code": NNCHN}], "text": "居民身份证"},
        "system": RESIDENT_ID_SYSTEM,
        "value": normalise_resident_id(value),
    }


# --------------------------------------------------------------------------- other identifiers


def mrn(value: str, org_id: str, system: str | None = None) -> dict:
    """One institution's medical record number, assigned by that institution."""
    value = (value or "").strip()
    if not value:
        raise IdentifierError("the medical record number is empty")
    return {
        "use": "usual",
        "type": {"coding": [{"system": V2_0203, "code": MR}], "text": "病案号"},
        "system": system or mrn_system(org_id),
        "value": value,
        "assigner": {"reference": f"Organization/{org_id}"},
    }


def insurance_number(value: str, system: str | None = None) -> dict:
    """A 医保 number: kept as its own identifier, never checked with the resident-ID rule."""
    value = _SEPARATORS.sub("", value or "")
    if not value:
        raise IdentifierError("the medical-insurance number is empty")
    return {
        "use": "secondary",
        "type": {"coding": [{"system": V2_0203, "code": SN}], "text": "医保人员编号"},
        "system": system or insurance_system(),
        "value": value,
    }


def is_mrn(identifier: dict) -> bool:
    codes = {c.get("code") for c in ((identifier.get("type") or {}).get("coding") or [])}
    return MR in codes or (identifier.get("system") or "").startswith(sid("mrn/"))


@dataclass(frozen=True)
class Normalised:
    identifiers: list[dict]
    problems: list[tuple[str, str]]  # (element, problem): what was wrong, for the quarantine


def normalise_identifiers(identifiers: list[dict] | None, source_org: str | None = None) -> Normalised:
    """Resident ID numbers normalised (``x`` -> ``X``, spaces removed, 15 -> 18 digits); MRNs given
    their assigner. A resident ID number that is not valid is reported and left out: it is not an
    identifier of this person that the hub can rely on, and it must not match anyone.
    """
    out: list[dict] = []
    problems: list[tuple[str, str]] = []
    for i, ident in enumerate(identifiers or []):
        ident = dict(ident)
        where = f"Patient.identifier[{i}]"
        if ident.get("system") == RESIDENT_ID_SYSTEM:
            try:
                ident["value"] = normalise_resident_id(ident.get("value") or "")
            except IdentifierError as exc:
                problems.append((f"{where}.value", exc.problem))
                continue
            if not ident.get("type"):
                ident["type"] = {"coding": [{"system": V2_0203, "code": NNCHN}], "text": "居民身份证"}
        elif isinstance(ident.get("value"), str):
            ident["value"] = ident["value"].strip()
        if source_org and is_mrn(ident) and not ident.get("assigner"):
            ident["assigner"] = {"reference": f"Organization/{source_org}"}
        if not ident.get("value"):
            problems.append((f"{where}.value", "the identifier has no value"))
            continue
        out.append(ident)
    return Normalised(out, problems)
