"""The hub validator: what ``fhir.resources`` does not check.

Input is a resource dict that ``fhir.resources.R4B`` has already accepted (types and
cardinality of the base spec are right). On top of that this module checks:

a. **Required bindings** of the R4B core spec, from ``fhir_profiles/r4b-required-bindings.json``
   (generated from the official ``hl7.fhir.r4b.core`` 4.3.0 package by
   ``fhir_profiles/tools/gen_required_bindings.py``): every ``code`` element and every
   expandable ``Coding``/``CodeableConcept`` with a required binding, in resources, backbone
   elements, data types (``ContactPoint.system``, ``Identifier.use`` ...), extensions, contained
   resources and Bundle entries. Bindings listed under ``skipped`` there (mime types, currencies,
   UCUM ...) are NOT checked.
b. **Hub profiles** ``xt-referral-servicerequest`` and ``xt-referral-task``, when
   ``meta.profile`` names them: cardinality, fixed / pattern values, reference target types,
   extension slices and required bindings to hub ValueSets are read from the profiles'
   differentials in ``fhir_profiles/``; the two invariants a differential cannot execute
   without a FHIRPath engine (``xt-sr-1``, ``xt-task-1``) are implemented here by key.
c. **Identifier rules**: an identifier with system ``urn:oid:2.16.156.10011.1.3`` (居民身份证,
   SEC-05) must be an 18-character resident ID card number with a valid check character and
   birth date, upper-case ``X``. The number is never echoed: diagnostics mask all but the last 4.

Diagnoses on referrals use ONE system URI, ``http://hl7.org/fhir/sid/icd-10-cn`` for ICD-10
疾病分类与代码国家临床版2.0 (the edition goes in ``Coding.version``); it is read from the hub
ValueSet ``referral-reason-icd10cn``, see ``ICD10_CN_SYSTEM``.

The canonical base of the hub's own profiles is configurable (``set_canonical_base``); the JSON
files are written with the default base and rewritten on load.
"""

from __future__ import annotations

import datetime
import json
import re
import threading
from collections.abc import Callable
from pathlib import Path

from stdnum import numdb
from stdnum.cn import ric
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError

from hub.errors import Issue, Unprocessable

__all__ = [
    "DEFAULT_CANONICAL_BASE",
    "ICD10_CN_SYSTEM",
    "REFERRAL_SERVICEREQUEST",
    "REFERRAL_TASK",
    "RESIDENT_ID_SYSTEM",
    "canonical",
    "canonical_base",
    "check_resource",
    "mask_identifier",
    "reference_type",
    "resident_id_problem",
    "set_canonical_base",
    "validate_resource",
]

DEFAULT_CANONICAL_BASE = "http://xietong.example/fhir"
RESIDENT_ID_SYSTEM = "urn:oid:2.16.156.10011.1.3"
ICD10_CN_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cn"
REFERRAL_SERVICEREQUEST = "xt-referral-servicerequest"
REFERRAL_TASK = "xt-referral-task"

PROFILES_DIR = Path(__file__).resolve().parents[2] / "fhir_profiles"
BINDINGS_FILE = PROFILES_DIR / "r4b-required-bindings.json"
CORE_SD = "http://hl7.org/fhir/StructureDefinition/"

_lock = threading.Lock()
_base = DEFAULT_CANONICAL_BASE
_hub: _HubProfiles | None = None
_core: dict[str, _Node] | None = None


# --------------------------------------------------------------------------- canonical base


def canonical_base() -> str:
    return _base


def set_canonical_base(url: str) -> None:
    """Use ``url`` as the canonical base of the hub's profiles, code systems and extensions."""
    global _base, _hub
    url = url.rstrip("/")
    if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", url):
        raise ValueError(f"canonical base must be an absolute http(s) URL, got {url!r}")
    with _lock:
        if url != _base:
            _base = url
            _hub = None


def canonical(kind: str, name: str) -> str:
    """``canonical("StructureDefinition", "xt-referral-task")`` under the configured base."""
    return f"{_base}/{kind}/{name}"


# --------------------------------------------------------------------------- public API


def validate_resource(resource: dict) -> list[Issue]:
    """Issues (severity ``error`` for violations) of one resource already parsed by fhir.resources."""
    issues: list[Issue] = []
    _walk_resource(resource, resource.get("resourceType", "Resource"), issues)
    return issues


def check_resource(resource: dict) -> None:
    """Raise ``Unprocessable`` naming every violation, or return quietly."""
    issues = validate_resource(resource)
    if any(i.severity in ("error", "fatal") for i in issues):
        raise Unprocessable(issues[0].diagnostics, issues[0].expression, issues)


# --------------------------------------------------------------------------- resident ID (SEC-05)


def mask_identifier(value: str) -> str:
    """All but the last 4 characters masked (``**************002X``)."""
    keep = value[-4:] if len(value) > 4 else ""
    return "*" * (len(value) - len(keep)) + keep


def resident_id_problem(value: str, today: datetime.date | None = None) -> str | None:
    """What is wrong with a 居民身份证号, or None. Never includes the number itself."""
    if value != value.strip() or " " in value or "-" in value:
        return "must be written without spaces or separators"
    try:
        number = ric.validate(value)
    except InvalidLength:
        if len(value) == 15 and value.isdigit():
            return "legacy 15-digit number: convert it to the 18-digit form"
        return f"wrong length: {len(value)} characters, expected 18"
    except InvalidFormat:
        return "the first 17 characters must be digits"
    except InvalidChecksum:
        return "bad checksum: the check character (ISO 7064 MOD 11-2) does not match"
    except InvalidComponent:
        try:
            ric.get_birth_date(value)
        except (InvalidComponent, ValueError):
            return "bad birth date: characters 7-14 are not a real date (YYYYMMDD)"
        # stdnum also rejects an address code that did not exist in the birth year, but the code
        # is that of the first registration, which can be later (e.g. 浦东新区 310115 only
        # exists from 1992, yet residents born earlier hold 310115 numbers): only an unknown
        # province is an error.
        if not numdb.get("cn/loc").info(value[:2])[0][1]:
            return "bad address code: the first 2 digits are not a GB/T 2260 province"
        number = ric.compact(value)
    except ValidationError:
        return "not a valid resident ID card number"
    if ric.get_birth_date(number) > (today or datetime.date.today()):
        return "bad birth date: in the future"
    if number != value:
        return "the check character must be an upper-case X"
    return None


def _check_identifier(ident: dict, path: str, issues: list[Issue]) -> None:
    if ident.get("system") != RESIDENT_ID_SYSTEM:
        return
    value = ident.get("value")
    if not isinstance(value, str):
        return
    problem = resident_id_problem(value)
    if problem:
        issues.append(
            Issue(
                f"resident ID card number {mask_identifier(value)}: {problem}",
                "value",
                "error",
                (f"{path}.value",),
            )
        )


# --------------------------------------------------------------------------- core bindings

_CODE, _CODED, _NODE, _RESOURCE = range(4)


class _Node:
    """One structure (resource, data type or backbone element): JSON key -> (kind, payload, name)."""

    __slots__ = ("children", "hook")

    def __init__(self) -> None:
        self.children: dict[str, tuple] = {}
        self.hook: Callable[[dict, str, list[Issue]], None] | None = None


def _compile_core() -> dict[str, _Node]:
    data = json.loads(BINDINGS_FILE.read_text(encoding="utf-8"))
    nodes: dict[str, _Node] = {}
    by_parent: dict[str, list[tuple[str, str, object]]] = {}
    for path, codes in data["bindings"].items():
        by_parent.setdefault(path.rpartition(".")[0], []).append(
            (path, "code", (frozenset(codes), data["valueSets"][path]))
        )
    for path, spec in data["codedBindings"].items():
        systems = {s: frozenset(c) for s, c in spec["systems"].items()}
        by_parent.setdefault(path.rpartition(".")[0], []).append(
            (path, "coded", (systems, data["valueSets"][path]))
        )
    for path, types in data["elements"].items():
        by_parent.setdefault(path.rpartition(".")[0], []).append((path, "element", types))

    def node(struct: str) -> _Node:
        if struct in nodes:
            return nodes[struct]
        n = nodes[struct] = _Node()
        for path, what, payload in by_parent.get(struct, ()):
            name = path.rpartition(".")[2]
            if what == "code":
                n.children[name] = (_CODE, payload, name)
            elif what == "coded":
                n.children[name] = (_CODED, payload, name)
            elif name.endswith("[x]"):
                base = name[:-3]
                for t in payload:
                    n.children[base + t[0].upper() + t[1:]] = (_NODE, node(t), f"{base}.ofType({t})")
            else:
                t = payload[0]
                if t == "Resource":
                    n.children[name] = (_RESOURCE, None, name)
                elif t == "BackboneElement":
                    n.children[name] = (_NODE, node(path), name)
                elif t.startswith("#"):
                    n.children[name] = (_NODE, node(t[1:]), name)
                else:
                    n.children[name] = (_NODE, node(t), name)
        return n

    compiled = {rt: node(rt) for rt in data["resourceTypes"]}
    ext = node("Extension")
    for n in list(nodes.values()):
        n.children.setdefault("extension", (_NODE, ext, "extension"))
        n.children.setdefault("modifierExtension", (_NODE, ext, "modifierExtension"))
    node("Identifier").hook = _check_identifier
    return compiled


def _core_nodes() -> dict[str, _Node]:
    global _core
    if _core is None:
        with _lock:
            if _core is None:
                _core = _compile_core()
    return _core


def _walk_resource(res: dict, path: str, issues: list[Issue]) -> None:
    rt = res.get("resourceType")
    node = (_core or _core_nodes()).get(rt)
    if node is not None:
        _walk(res, node, path, issues)
    meta = res.get("meta")
    if meta and meta.get("profile"):
        _check_hub_profiles(res, meta["profile"], path, issues)


def _walk(obj: dict, node: _Node, path: str, issues: list[Issue]) -> None:
    if node.hook is not None:
        node.hook(obj, path, issues)
    children = node.children
    for key, value in obj.items():
        entry = children.get(key)
        if entry is None:
            continue
        if value.__class__ is list:
            for i, item in enumerate(value):
                _visit(entry, item, f"{path}.{entry[2]}[{i}]", issues)
        else:
            _visit(entry, value, f"{path}.{entry[2]}", issues)


def _visit(entry: tuple, value, path: str, issues: list[Issue]) -> None:
    kind, payload = entry[0], entry[1]
    if kind == _NODE:
        if value.__class__ is dict:
            _walk(value, payload, path, issues)
    elif kind == _CODE:
        codes, vs = payload
        if value.__class__ is str and value not in codes:
            issues.append(
                Issue(
                    f"{value!r} is not in the required value set {vs} ({_show(codes)})",
                    "code-invalid",
                    "error",
                    (path,),
                )
            )
    elif kind == _RESOURCE:
        if value.__class__ is dict:
            _walk_resource(value, path, issues)
    elif value.__class__ is dict:  # _CODED
        systems, vs = payload
        codings = value.get("coding") if "coding" in value else None
        for j, coding in enumerate(codings or ()):
            _check_coding(coding, systems, vs, f"{path}.coding[{j}]", issues)
        if codings is None and "code" in value:
            _check_coding(value, systems, vs, path, issues)


def _check_coding(coding: dict, systems: dict, vs: str, path: str, issues: list[Issue]) -> None:
    codes = systems.get(coding.get("system"))
    if codes is not None and coding.get("code") not in codes:
        issues.append(
            Issue(
                f"{coding.get('code')!r} is not in the required value set {vs} ({_show(codes)})",
                "code-invalid",
                "error",
                (f"{path}.code",),
            )
        )


def _show(codes) -> str:
    ordered = sorted(codes)
    if len(ordered) > 12:
        return "allowed: " + ", ".join(ordered[:12]) + f", ... ({len(ordered)} codes)"
    return "allowed: " + ", ".join(ordered)


# --------------------------------------------------------------------------- hub profiles

_REF = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[A-Za-z0-9\-.]{1,64})?$")
_DOC_KEYS = {
    "id",
    "path",
    "short",
    "definition",
    "comment",
    "requirements",
    "alias",
    "mustSupport",
    "isModifier",
    "isSummary",
    "label",
}


class _ProfileError(RuntimeError):
    """A hub profile uses a construct this validator does not enforce (so it must not ship)."""


class _Profile:
    def __init__(self, url: str, type_: str):
        self.url = url
        self.type = type_
        self.rules: list[Callable[[dict, str, list[Issue]], None]] = []

    def check(self, res: dict, path: str, issues: list[Issue]) -> None:
        for rule in self.rules:
            rule(res, path, issues)


class _HubProfiles:
    """The hub's conformance resources, compiled for one canonical base."""

    def __init__(self, base: str):
        self.base = base
        self.codesystems: dict[str, frozenset[str]] = {}
        self.valuesets: dict[str, dict[str, frozenset[str] | None]] = {}
        self.sds: dict[str, dict] = {}
        for f in sorted(PROFILES_DIR.glob("*.json")):
            text = f.read_text(encoding="utf-8")
            if '"resourceType"' not in text[:200]:
                continue  # r4b-required-bindings.json and other data files
            res = json.loads(text.replace(DEFAULT_CANONICAL_BASE, base))
            kind = res["resourceType"]
            if kind == "CodeSystem":
                self.codesystems[res["url"]] = frozenset(_cs_codes(res.get("concept", [])))
            elif kind == "ValueSet":
                self.valuesets[res["url"]] = res
            elif kind == "StructureDefinition":
                self.sds[res["url"]] = res
        self.expansions = {url: self._expand(vs) for url, vs in self.valuesets.items()}
        self.profiles = {
            url: self._compile_profile(sd)
            for url, sd in self.sds.items()
            if sd["kind"] == "resource" and sd.get("derivation") == "constraint"
        }

    def _expand(self, vs: dict) -> dict[str, frozenset[str] | None]:
        """system -> codes; None when the system is external (only its URI is known here)."""
        out: dict[str, frozenset[str] | None] = {}
        for inc in vs.get("compose", {}).get("include", []):
            system = inc["system"]
            if "concept" in inc:
                out[system] = frozenset(c["code"] for c in inc["concept"])
            else:
                out[system] = self.codesystems.get(system)
        return out

    def _codes(self, vs_url: str) -> frozenset[str]:
        exp = self.expansions.get(vs_url.split("|", 1)[0])
        if exp is None or any(c is None for c in exp.values()):
            raise _ProfileError(f"required binding to {vs_url}, which is not a hub ValueSet")
        return frozenset().union(*exp.values())

    def _compile_profile(self, sd: dict) -> _Profile:
        type_ = sd["type"]
        prof = _Profile(sd["url"], type_)
        for el in sd["differential"]["element"]:
            path = el["path"]
            if path == type_:
                _unsupported(el, {"constraint"})
                for con in el.get("constraint", []):
                    prof.rules.append(self._invariant(con["key"], type_, el))
                continue
            parts = path.split(".")
            if len(parts) != 2 or parts[1].endswith("[x]"):
                raise _ProfileError(f"{sd['url']}: differential path {path} is not supported")
            name = parts[1]
            if "sliceName" in el:
                prof.rules.append(self._slice(el, name))
                continue
            _unsupported(
                el, {"min", "max", "type", "binding", "constraint", "slicing"}, prefixes=("fixed", "pattern")
            )
            prof.rules.append(_cardinality(name, el.get("min", 0), el.get("max", "*")))
            for key, fixed in el.items():
                if key.startswith(("fixed", "pattern")):
                    prof.rules.append(_fixed(name, fixed, key.startswith("fixed")))
            targets = _targets(el)
            if targets:
                prof.rules.append(_reference_targets(name, targets))
            binding = el.get("binding")
            if binding and binding["strength"] == "required":
                prof.rules.append(
                    _required_binding(name, self._codes(binding["valueSet"]), binding["valueSet"])
                )
            for con in el.get("constraint", []):
                prof.rules.append(self._invariant(con["key"], name, el))
        return prof

    def _slice(self, el: dict, name: str) -> Callable:
        _unsupported(el, {"sliceName", "min", "max", "type"}, prefixes=("pattern",))
        lo, hi = el.get("min", 0), el.get("max", "*")
        if name in ("extension", "modifierExtension"):
            (ext_url,) = el["type"][0]["profile"]
            return self._extension_slice(name, ext_url, lo, hi)
        patterns = [v for k, v in el.items() if k.startswith("pattern")]
        if len(patterns) != 1:
            raise _ProfileError(f"slice {el['id']}: only pattern-discriminated slices are supported")
        return _pattern_slice(name, patterns[0], lo, hi)

    def _extension_slice(self, name: str, url: str, lo: int, hi: str) -> Callable:
        sd = self.sds.get(url)
        if sd is None:
            raise _ProfileError(f"extension {url} is not defined in fhir_profiles/")
        value_keys: tuple[str, ...] = ()
        value_min = 0
        codes: frozenset[str] | None = None
        vs_url = ""
        nested_max = "*"
        for el in sd["differential"]["element"]:
            p = el["path"]
            if p == "Extension.value[x]":
                value_keys = tuple("value" + t["code"][0].upper() + t["code"][1:] for t in el["type"])
                value_min = el.get("min", 0)
                b = el.get("binding")
                if b and b["strength"] == "required":
                    codes, vs_url = self._codes(b["valueSet"]), b["valueSet"]
            elif p == "Extension.extension":
                nested_max = el.get("max", "*")
            elif p not in ("Extension", "Extension.url"):
                raise _ProfileError(f"{url}: differential path {p} is not supported")
        expr = f"{name}('{url}')"

        def rule(res: dict, path: str, issues: list[Issue]) -> None:
            found = [e for e in res.get(name, ()) if e.get("url") == url]
            where = f"{path}.{expr}"
            if len(found) < lo:
                issues.append(
                    Issue(f"{where}: the extension is required (min {lo})", "required", "error", (where,))
                )
            if hi != "*" and len(found) > int(hi):
                issues.append(
                    Issue(
                        f"{where}: at most {hi} allowed, found {len(found)}", "structure", "error", (where,)
                    )
                )
            for ext in found:
                present = [k for k in ext if k.startswith("value")]
                if nested_max == "0" and ext.get("extension"):
                    issues.append(
                        Issue(f"{where}: nested extensions are not allowed", "structure", "error", (where,))
                    )
                if any(k not in value_keys for k in present):
                    issues.append(
                        Issue(
                            f"{where}: the value must be one of {', '.join(value_keys)}",
                            "structure",
                            "error",
                            (f"{where}.value",),
                        )
                    )
                elif not present and value_min:
                    issues.append(
                        Issue(f"{where}: the value is required", "required", "error", (f"{where}.value",))
                    )
                elif codes is not None and present and ext[present[0]] not in codes:
                    issues.append(
                        Issue(
                            f"{where}: {ext[present[0]]!r} is not in {vs_url} ({_show(codes)})",
                            "code-invalid",
                            "error",
                            (f"{where}.value",),
                        )
                    )

        return rule

    def _invariant(self, key: str, name: str, el: dict) -> Callable:
        factory = _INVARIANTS.get(key)
        if factory is None:
            raise _ProfileError(f"invariant {key} has no implementation in hub/fhir/validation.py")
        return factory(self, name, el)


def _unsupported(el: dict, allowed: set[str], prefixes: tuple[str, ...] = ()) -> None:
    for key in el:
        if key not in allowed and key not in _DOC_KEYS and not (prefixes and key.startswith(prefixes)):
            raise _ProfileError(
                f"differential element {el['id']}: {key} is not enforced by the hub validator"
            )


def _cs_codes(concepts: list[dict]):
    for c in concepts:
        yield c["code"]
        yield from _cs_codes(c.get("concept", []))


def _targets(el: dict) -> frozenset[str]:
    out = set()
    for t in el.get("type", []):
        if t["code"] != "Reference":
            continue
        for tp in t.get("targetProfile", []):
            if not tp.startswith(CORE_SD):
                raise _ProfileError(f"{el['id']}: target profile {tp} is not a core resource type")
            out.add(tp[len(CORE_SD) :])
    return frozenset(out)


def _values(res: dict, name: str) -> list:
    v = res.get(name)
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _indexed(res: dict, name: str, path: str) -> list[tuple[str, object]]:
    v = res.get(name)
    if v is None:
        return []
    if isinstance(v, list):
        return [(f"{path}.{name}[{i}]", item) for i, item in enumerate(v)]
    return [(f"{path}.{name}", v)]


def _cardinality(name: str, lo: int, hi: str) -> Callable:
    def rule(res: dict, path: str, issues: list[Issue]) -> None:
        n = len(_values(res, name))
        if n == 0 and f"_{name}" in res:
            n = 1  # a primitive present only through its extension (e.g. data-absent-reason)
        if n < lo:
            issues.append(
                Issue(
                    f"{path}.{name} is required by this profile (min {lo})",
                    "required",
                    "error",
                    (f"{path}.{name}",),
                )
            )
        if hi != "*" and n > int(hi):
            issues.append(
                Issue(
                    f"{path}.{name}: at most {hi} allowed by this profile, found {n}",
                    "structure",
                    "error",
                    (f"{path}.{name}",),
                )
            )

    return rule


def _fixed(name: str, expected, exact: bool) -> Callable:
    def rule(res: dict, path: str, issues: list[Issue]) -> None:
        for where, value in _indexed(res, name, path):
            if not (value == expected if exact else _matches(value, expected)):
                issues.append(Issue(f"{where} must be {_brief(expected)}", "value", "error", (where,)))

    return rule


def _brief(value) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _matches(value, pattern) -> bool:
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            k in value and _matches(value[k], p) for k, p in pattern.items()
        )
    if isinstance(pattern, list):
        return isinstance(value, list) and all(any(_matches(v, p) for v in value) for p in pattern)
    return value == pattern


def _pattern_slice(name: str, pattern, lo: int, hi: str) -> Callable:
    def rule(res: dict, path: str, issues: list[Issue]) -> None:
        n = sum(1 for v in _values(res, name) if _matches(v, pattern))
        where = f"{path}.{name}"
        if n < lo:
            issues.append(Issue(f"{where} must contain {_brief(pattern)}", "required", "error", (where,)))
        if hi != "*" and n > int(hi):
            issues.append(
                Issue(
                    f"{where}: {_brief(pattern)} at most {hi} times, found {n}",
                    "structure",
                    "error",
                    (where,),
                )
            )

    return rule


def reference_type(ref: dict, resource: dict | None = None) -> str | None:
    """The resource type a Reference points at, or None when it cannot be told from the reference."""
    if ref.get("type"):
        return ref["type"]
    target = ref.get("reference")
    if not isinstance(target, str):
        return None
    if target.startswith("#"):
        for c in (resource or {}).get("contained", ()):
            if c.get("id") == target[1:]:
                return c.get("resourceType")
        return None
    m = _REF.search(target)
    return m.group(1) if m else None


def _reference_targets(name: str, targets: frozenset[str]) -> Callable:
    allowed = ", ".join(sorted(targets))

    def rule(res: dict, path: str, issues: list[Issue]) -> None:
        for where, ref in _indexed(res, name, path):
            if not isinstance(ref, dict):
                continue
            rt = reference_type(ref, res)
            if rt is None:
                target = ref.get("reference")
                if isinstance(target, str) and target.startswith("urn:"):
                    continue  # a Bundle-local reference, resolved and checked with the transaction
                issues.append(
                    Issue(
                        f"{where}: cannot tell the target type; give Reference.type ({allowed})",
                        "structure",
                        "error",
                        (where,),
                    )
                )
            elif rt not in targets:
                issues.append(
                    Issue(f"{where} must reference {allowed}, not {rt}", "structure", "error", (where,))
                )

    return rule


def _required_binding(name: str, codes: frozenset[str], vs: str) -> Callable:
    def rule(res: dict, path: str, issues: list[Issue]) -> None:
        for where, value in _indexed(res, name, path):
            if isinstance(value, str):
                ok = value in codes
            elif isinstance(value, dict):
                ok = any(c.get("code") in codes for c in value.get("coding", ()))
            else:
                continue
            if not ok:
                issues.append(
                    Issue(f"{where}: not in {vs} ({_show(codes)})", "code-invalid", "error", (where,))
                )

    return rule


def _inv_reason_coded_or_text(hub: _HubProfiles, name: str, el: dict) -> Callable:
    """xt-sr-1: every reasonCode has a coding from the bound ICD-10 CN system, or text."""
    vs = el["binding"]["valueSet"]
    systems = frozenset(hub.expansions[vs])
    human = el["constraint"][0]["human"]

    def rule(res: dict, path: str, issues: list[Issue]) -> None:
        for where, cc in _indexed(res, name, path):
            if not isinstance(cc, dict) or cc.get("text"):
                continue
            if not any(c.get("system") in systems and c.get("code") for c in cc.get("coding", ())):
                issues.append(
                    Issue(
                        f"{where}: xt-sr-1 {human}; expected a coding with system "
                        f"{', '.join(sorted(systems))}",
                        "invariant",
                        "error",
                        (where,),
                    )
                )

    return rule


def _inv_task_based_on(hub: _HubProfiles, name: str, el: dict) -> Callable:
    """xt-task-1: a referral Task is basedOn (or focuses on) the referral ServiceRequest."""
    human = el["constraint"][0]["human"]

    def rule(res: dict, path: str, issues: list[Issue]) -> None:
        if not res.get("basedOn") and not res.get("focus"):
            issues.append(
                Issue(
                    f"{path}: xt-task-1 {human}", "invariant", "error", (f"{path}.basedOn", f"{path}.focus")
                )
            )

    return rule


_INVARIANTS: dict[str, Callable[[_HubProfiles, str, dict], Callable]] = {
    "xt-sr-1": _inv_reason_coded_or_text,
    "xt-task-1": _inv_task_based_on,
}


def _hub_profiles() -> _HubProfiles:
    global _hub
    hub = _hub
    if hub is None:
        with _lock:
            if _hub is None:
                _hub = _HubProfiles(_base)
            hub = _hub
    return hub


def _check_hub_profiles(res: dict, claimed: list, path: str, issues: list[Issue]) -> None:
    prefix = _base + "/StructureDefinition/"
    for url in claimed:
        if not isinstance(url, str) or not url.startswith(prefix):
            continue
        url = url.split("|", 1)[0]
        profile = _hub_profiles().profiles.get(url)
        if profile is None:
            issues.append(
                Issue(
                    f"{path}.meta.profile: {url} is not a profile of this hub; not checked",
                    "not-supported",
                    "warning",
                    (f"{path}.meta.profile",),
                )
            )
        elif profile.type != res.get("resourceType"):
            issues.append(
                Issue(
                    f"{path}.meta.profile: {url} is a profile of {profile.type}",
                    "invalid",
                    "error",
                    (f"{path}.meta.profile",),
                )
            )
        else:
            profile.check(res, path, issues)
