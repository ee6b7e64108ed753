"""An institution's mapping: its identifier systems, its local code systems mapped to the standard
ones (as FHIR ConceptMaps), and the column layout of its CSV exports.

One YAML file per institution in ``adapters/mappings/``. The code maps become ConceptMap resources
in the store (readable by the whole alliance through ``/fhir/ConceptMap``); once stored, the stored
version is what the adapters use, so a corrected ConceptMap takes effect on the next replay.
A code with no entry in its map is never guessed: the local coding is kept and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"
CANONICAL = "http://xietong.example/fhir"
SID = f"{CANONICAL}/sid"

RESIDENT_ID_SYSTEM = "urn:oid:2.16.156.10011.1.3"
INSURANCE_SYSTEM = f"{SID}/nhsa-psn-no"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"

# Standard code systems a v2 coding-system name (CWE-3) denotes.
STANDARD_V2_SYSTEMS = {
    "LN": "http://loinc.org",
    "LOINC": "http://loinc.org",
    "I10": "http://hl7.org/fhir/sid/icd-10",
    "ICD10": "http://hl7.org/fhir/sid/icd-10",
    "I10C": "http://hl7.org/fhir/sid/icd-10-cn",
    "ICD10CN": "http://hl7.org/fhir/sid/icd-10-cn",
    "SCT": "http://snomed.info/sct",
    "SNM": "http://snomed.info/sct",
    "UCUM": "http://unitsofmeasure.org",
    "I9C": "http://hl7.org/fhir/sid/icd-9-cm",
}

# What a kind of identifier becomes in the hub: system (``{key}`` is the institution), v2-0203 type.
IDENTIFIER_KINDS = {
    "resident-id": (RESIDENT_ID_SYSTEM, "NNCHN", "居民身份证"),
    "insurance": (INSURANCE_SYSTEM, "SN", "医保人员编号"),
    "mrn": (SID + "/mrn/{key}", "MR", "病案号"),
}


class MappingError(Exception):
    """A mapping file that cannot be used (named file and key)."""


@dataclass
class CodeMap:
    """One local code system mapped to one standard system: a ConceptMap with one group."""

    id: str
    title: str
    source: str  # the local code system's URI
    target: str  # the standard system's URI
    v2_names: tuple[str, ...] = ()  # names of the local system in HL7 v2 CWE-3
    elements: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)
    # local code -> (target code, target display, local display)
    version: str = "1"

    @property
    def url(self) -> str:
        return f"{CANONICAL}/ConceptMap/{self.id}"

    def concept_map(self, publisher: str | None = None) -> dict:
        elements = []
        for code, (target, display, local) in self.elements.items():
            el: dict = {"code": code}
            if local:
                el["display"] = local
            tgt: dict = {"code": target, "equivalence": "equivalent"}
            if display:
                tgt["display"] = display
            el["target"] = [tgt]
            elements.append(el)
        cm = {
            "resourceType": "ConceptMap",
            "url": self.url,
            "identifier": {"system": f"{SID}/concept-map", "value": self.id},
            "version": self.version,
            "name": "".join(p.capitalize() for p in self.id.replace("_", "-").split("-")),
            "title": self.title,
            "status": "active",
            "sourceUri": self.source,
            "targetUri": self.target,
            "group": [{"source": self.source, "target": self.target, "element": elements}],
        }
        if publisher:
            cm["publisher"] = publisher
        if self.v2_names:
            cm["extension"] = [{"url": V2_NAME_EXTENSION, "valueString": n} for n in self.v2_names]
        return cm

    @classmethod
    def from_concept_map(cls, cm: dict) -> CodeMap:
        """The code map a stored (possibly corrected) ConceptMap holds."""
        groups = cm.get("group") or []
        if not groups:
            raise MappingError(f"ConceptMap {cm.get('url')} has no group")
        elements: dict = {}
        for group in groups:
            for el in group.get("element") or []:
                targets = [t for t in el.get("target") or [] if t.get("code")]
                if targets and targets[0].get("equivalence") not in ("unmatched", "disjoint"):
                    elements[el["code"]] = (targets[0]["code"], targets[0].get("display"), el.get("display"))
        url = cm.get("url", "")
        return cls(
            id=url.rsplit("/", 1)[-1],
            title=cm.get("title") or "",
            source=groups[0].get("source") or cm.get("sourceUri"),
            target=groups[0].get("target") or cm.get("targetUri"),
            v2_names=tuple(
                e["valueString"] for e in cm.get("extension") or [] if e.get("url") == V2_NAME_EXTENSION
            ),
            elements=elements,
            version=cm.get("version") or "1",
        )


V2_NAME_EXTENSION = f"{CANONICAL}/StructureDefinition/v2-coding-system-name"


@dataclass
class Translation:
    codings: list[dict]  # the standard coding first (when mapped), then the local coding as sent
    unmapped: tuple[str, str] | None = None  # (system, code) of a local code with no map entry


@dataclass
class Mapping:
    """What the adapters need to know about one institution."""

    key: str
    name: str
    organization: tuple[str, str] | None  # an identifier (system, value) of its Organization
    timezone: str = "+08:00"
    identifiers: dict = field(default_factory=dict)  # kind -> {v2_types, v2_authorities, systems}
    code_maps: list[CodeMap] = field(default_factory=list)
    csv: dict | None = None
    path: Path | None = None
    organization_id: str | None = None  # the Organization's id in this hub, once resolved
    hl7v2_encoding: str | None = None  # what the institution's v2 feeds are in when MSH-18 is silent

    def org_ref(self) -> dict:
        ref = {"reference": f"Organization/{self.organization_id}"} if self.organization_id else {}
        return {**ref, "display": self.name}

    def bound(self, organization_id: str) -> Mapping:
        return replace(self, organization_id=organization_id)

    def local_system(self, name: str) -> str:
        """The URI of a local code system with no map (v2 names, CSV columns): scoped to the institution."""
        safe = "".join(c if c.isalnum() or c in "-._" else "-" for c in name.strip()) or "local"
        return f"{SID}/code/{self.key}/{safe}"

    def code_map_for(self, system: str | None = None, v2_name: str | None = None) -> CodeMap | None:
        for cm in self.code_maps:
            if system is not None and cm.source == system:
                return cm
            if v2_name is not None and v2_name in cm.v2_names:
                return cm
        return None

    def code_map(self, cm_id: str) -> CodeMap:
        for cm in self.code_maps:
            if cm.id == cm_id:
                return cm
        raise MappingError(f"{self.key}: no code map '{cm_id}'")

    def translate(self, system: str, code: str, display: str | None = None) -> Translation:
        """A local coding -> the standard coding its map gives, keeping the local one."""
        local = {"system": system, "code": code}
        if display:
            local["display"] = display
        cm = self.code_map_for(system=system)
        if cm is None:
            return Translation([local])
        hit = cm.elements.get(code)
        if hit is None:
            return Translation([local], (system, code))
        target = {"system": cm.target, "code": hit[0]}
        if hit[1]:
            target["display"] = hit[1]
        return Translation([target, local])

    def v2_system(self, name: str | None) -> str:
        """The code system a v2 CWE-3 name denotes: a local system with a map, a standard one, or a
        local system of this institution."""
        name = (name or "").strip()
        cm = self.code_map_for(v2_name=name) if name else None
        if cm is not None:
            return cm.source
        if name.upper() in STANDARD_V2_SYSTEMS:
            return STANDARD_V2_SYSTEMS[name.upper()]
        return self.local_system(name or "local")

    def identifier_kind(
        self, v2_type: str | None = None, authority: str | None = None, system: str | None = None
    ) -> str | None:
        """Which kind of identifier (resident-id, insurance, mrn) a source identifier is, if known."""
        for kind, rule in self.identifiers.items():
            if system and system in (rule.get("systems") or ()):
                return kind
            if authority and authority in (rule.get("v2_authorities") or ()):
                return kind
        for kind, rule in self.identifiers.items():
            if v2_type and v2_type in (rule.get("v2_types") or ()):
                return kind
        return None

    def identifier_system(self, kind: str) -> tuple[str, str, str]:
        system, type_code, text = IDENTIFIER_KINDS[kind]
        return system.format(key=self.key), type_code, text

    def with_code_maps(self, code_maps: list[CodeMap]) -> Mapping:
        """This mapping with its code maps replaced by the stored ones (same ids)."""
        by_id = {cm.id: cm for cm in code_maps}
        return replace(self, code_maps=[by_id.get(cm.id, cm) for cm in self.code_maps])


DEFAULT_IDENTIFIERS = {
    "resident-id": {
        "v2_types": ["NNCHN", "RI", "CZ"],
        "v2_authorities": ["CHNRIC", "居民身份证", "2.16.156.10011.1.3"],
        "systems": [RESIDENT_ID_SYSTEM],
    },
    "insurance": {"v2_types": ["SN", "HC"], "v2_authorities": ["YB", "医保"], "systems": [INSURANCE_SYSTEM]},
    "mrn": {"v2_types": ["MR", "PI", "PT"]},
}


def default_mapping(key: str, name: str | None = None) -> Mapping:
    """An institution without a mapping file: standard identifier rules, no code maps."""
    return Mapping(key, name or key, None, identifiers=dict(DEFAULT_IDENTIFIERS))


def parse_mapping(data: dict, path: Path | None = None) -> Mapping:
    where = str(path or "mapping")
    try:
        key = str(data["institution"])
        org = data.get("organization")
        organization = (org["system"], str(org["value"])) if org else None
        identifiers = {**DEFAULT_IDENTIFIERS, **(data.get("identifiers") or {})}
        for kind in identifiers:
            if kind not in IDENTIFIER_KINDS:
                raise MappingError(f"{where}: identifiers.{kind} is not one of {sorted(IDENTIFIER_KINDS)}")
        code_maps = []
        for cm in data.get("codes") or []:
            elements = {}
            for code, target in (cm.get("map") or {}).items():
                if isinstance(target, str):
                    target = [target]
                elements[str(code)] = (
                    str(target[0]),
                    target[1] if len(target) > 1 else None,
                    target[2] if len(target) > 2 else None,
                )
            code_maps.append(
                CodeMap(
                    id=str(cm["id"]),
                    title=str(cm.get("title") or cm["id"]),
                    source=str(cm["source"]),
                    target=str(cm["target"]),
                    v2_names=tuple(str(n) for n in cm.get("v2_names") or ()),
                    elements=elements,
                    version=str(cm.get("version", "1")),
                )
            )
        return Mapping(
            key,
            str(data.get("name") or key),
            organization,
            str(data.get("timezone") or "+08:00"),
            identifiers,
            code_maps,
            data.get("csv"),
            path,
            hl7v2_encoding=(data.get("hl7v2") or {}).get("encoding"),
        )
    except (KeyError, TypeError, IndexError) as exc:
        raise MappingError(f"{where}: malformed mapping ({type(exc).__name__}: {exc})") from None


def load_file(path: Path) -> Mapping:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise MappingError(f"{path}: a mapping file is a YAML mapping")
    return parse_mapping(data, path)


def load_all(directory: Path | None = None) -> dict[str, Mapping]:
    """Every institution's mapping, by institution key."""
    out = {}
    for path in sorted((directory or MAPPINGS_DIR).glob("*.yaml")):
        m = load_file(path)
        out[m.key] = m
    return out
