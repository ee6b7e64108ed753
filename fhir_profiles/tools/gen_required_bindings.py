"""Generate ``fhir_profiles/r4b-required-bindings.json`` from the official FHIR R4B core package.

fhir.resources checks types and cardinality but not the codes of ``required`` bindings
(``ServiceRequest.status = "bogus"`` parses). The hub validator (hub/fhir/validation.py) checks
them from the data file this script writes, so that the code lists come from HL7's own
StructureDefinitions, ValueSets and CodeSystems, never from someone's memory.

Usage (from the repository root)::

    python fhir_profiles/tools/gen_required_bindings.py                 # runs `npm pack` in a temp dir
    python fhir_profiles/tools/gen_required_bindings.py --package DIR   # an unpacked package/ folder or .tgz

What goes into the file:

* ``bindings``: element path -> sorted allowed codes, for every ``code``-typed element with a
  required binding whose ValueSet expands from the package alone (resources and data types,
  nested backbone paths included, e.g. ``Task.restriction...``, ``ContactPoint.system``).
* ``codedBindings``: the same for ``Coding`` / ``CodeableConcept`` elements, as system -> codes;
  the validator only refuses a coding whose system belongs to the ValueSet but whose code does
  not (conservative: a coding from another system is left alone).
* ``skipped``: required bindings that are NOT checked, with the reason (ValueSets that include all
  of an external code system such as mime types, currencies or UCUM). Nobody should assume
  these are enforced.
* ``elements``: the complex-typed elements the validator must descend into to reach a checked
  binding or an Identifier (pruned: a branch that can never hold one is not listed). Values are
  type names; ``BackboneElement`` means the children are defined inline under that path, and
  ``Resource`` means a nested resource (``contained``, ``Bundle.entry.resource``).
  ``extension`` / ``modifierExtension`` are not listed: the validator walks them on every
  element it visits.
* ``contentReferences``: element path -> the path whose definition it reuses
  (``Questionnaire.item.item`` -> ``Questionnaire.item``).
* ``valueSets``: element path -> the bound ValueSet canonical, for diagnostics.
* ``resourceTypes``: the concrete resource types the walker starts from.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "hl7.fhir.r4b.core"
VERSION = "4.3.0"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "fhir_profiles" / "r4b-required-bindings.json"

# Data types the validator needs to visit although they hold no required binding of their own:
# Identifier carries the resident ID card rule (SEC-05).
HOOKED_TYPES = {"Identifier"}
INLINE = {"BackboneElement", "Element"}


class Skip(Exception):
    """A ValueSet that cannot be expanded from the package alone."""


def fetch_package(workdir: Path) -> Path:
    subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"], cwd=workdir, check=True, capture_output=True
    )
    tgz = next(workdir.glob(f"{PACKAGE}-{VERSION}.tgz"))
    return unpack(tgz, workdir)


def unpack(tgz: Path, workdir: Path) -> Path:
    with tarfile.open(tgz) as tar:
        tar.extractall(workdir, filter="data")
    return workdir / "package"


def load_package(folder: Path) -> tuple[dict, dict, dict]:
    sds, valuesets, codesystems = {}, {}, {}
    for f in sorted(folder.glob("*.json")):
        prefix = f.name.split("-", 1)[0]
        if prefix not in ("StructureDefinition", "ValueSet", "CodeSystem"):
            continue
        res = json.loads(f.read_text(encoding="utf-8"))
        {"StructureDefinition": sds, "ValueSet": valuesets, "CodeSystem": codesystems}[prefix][res["url"]] = (
            res
        )
    return sds, valuesets, codesystems


class Expander:
    def __init__(self, valuesets: dict, codesystems: dict):
        self.valuesets = valuesets
        self.codesystems = codesystems

    def expand(self, url: str, seen: tuple[str, ...] = ()) -> dict[str, set[str]]:
        url = url.split("|", 1)[0]
        if url in seen:
            raise Skip(f"ValueSet {url} includes itself")
        vs = self.valuesets.get(url)
        if vs is None:
            raise Skip(f"ValueSet {url} is not in {PACKAGE}")
        compose = vs.get("compose")
        if not compose:
            raise Skip(f"ValueSet {url} has no compose")
        out: dict[str, set[str]] = {}
        for inc in compose.get("include", []):
            for system, codes in self._part(inc, seen + (url,)).items():
                out.setdefault(system, set()).update(codes)
        for exc in compose.get("exclude", []):
            for system, codes in self._part(exc, seen + (url,)).items():
                out.get(system, set()).difference_update(codes)
        return {s: c for s, c in out.items() if c}

    def _part(self, inc: dict, seen: tuple[str, ...]) -> dict[str, set[str]]:
        result: dict[str, set[str]] | None = None
        for vs_url in inc.get("valueSet", []):
            sub = self.expand(vs_url, seen)
            result = sub if result is None else {s: c & sub[s] for s, c in result.items() if s in sub}
        system = inc.get("system")
        if system is None:
            return result or {}
        if "concept" in inc:
            codes = {c["code"] for c in inc["concept"]}
        else:
            codes = self._system_codes(system, inc.get("filter", []))
        if result is not None:
            codes &= result.get(system, set())
        return {system: codes}

    def _system_codes(self, system: str, filters: list[dict]) -> set[str]:
        cs = self.codesystems.get(system)
        if cs is None:
            raise Skip(f"code system {system} is not in {PACKAGE} (external, not enumerable here)")
        if cs.get("content") != "complete":
            raise Skip(f"code system {system} has content={cs.get('content')!r} in {PACKAGE}")
        tree = cs.get("concept", [])
        if not filters:
            return set(_codes(tree))
        codes: set[str] | None = None
        for flt in filters:
            if flt.get("property") != "concept" or flt.get("op") not in ("is-a", "descendent-of"):
                raise Skip(f"filter {flt} on {system} is not supported by this generator")
            node = _find(tree, flt["value"])
            if node is None:
                raise Skip(f"filter value {flt['value']} not found in {system}")
            found = set(_codes(node.get("concept", [])))
            if flt["op"] == "is-a":
                found.add(node["code"])
            codes = found if codes is None else codes & found
        return codes or set()


def _codes(concepts: list[dict]):
    for c in concepts:
        yield c["code"]
        yield from _codes(c.get("concept", []))


def _find(concepts: list[dict], code: str) -> dict | None:
    for c in concepts:
        if c["code"] == code:
            return c
        hit = _find(c.get("concept", []), code)
        if hit is not None:
            return hit
    return None


def choice_key(path: str) -> bool:
    return path.endswith("[x]")


def generate(folder: Path) -> dict:
    sds, valuesets, codesystems = load_package(folder)
    expander = Expander(valuesets, codesystems)

    complex_types: dict[str, dict] = {}
    resources: dict[str, dict] = {}
    for sd in sds.values():
        if sd.get("derivation") != "specialization" or sd.get("abstract"):
            continue
        if sd["kind"] == "complex-type" and sd["type"] not in INLINE:
            complex_types[sd["type"]] = sd
        elif sd["kind"] == "resource":
            resources[sd["type"]] = sd

    bindings: dict[str, list[str]] = {}
    coded: dict[str, dict] = {}
    skipped: dict[str, dict] = {}
    value_sets: dict[str, str] = {}
    content_refs: dict[str, str] = {}
    # structure (type name or backbone path) -> {element path: [child type names]}
    children: dict[str, dict[str, list[str]]] = {}
    has_binding: set[str] = set(HOOKED_TYPES)

    for sd in list(complex_types.values()) + list(resources.values()):
        root = sd["type"]
        children.setdefault(root, {})
        for el in sd["snapshot"]["element"][1:]:
            path = el["path"]
            parent, _, name = path.rpartition(".")
            if name in ("extension", "modifierExtension"):
                continue
            children.setdefault(parent, {})
            if "contentReference" in el:
                content_refs[path] = el["contentReference"].split("#", 1)[1]
                children[parent][path] = ["#" + content_refs[path]]
                continue
            types = [t["code"] for t in el.get("type", [])]
            binding = el.get("binding") or {}
            if (
                binding.get("strength") == "required"
                and types
                and set(types) <= {"code", "Coding", "CodeableConcept"}
            ):
                vs_url = binding["valueSet"].split("|", 1)[0]
                kind = types[0] if len(types) == 1 else "/".join(types)
                try:
                    expansion = expander.expand(vs_url)
                    if not expansion:
                        raise Skip(f"ValueSet {vs_url} expands to nothing")
                except Skip as why:
                    skipped[path] = {"valueSet": vs_url, "type": kind, "reason": str(why)}
                    continue
                value_sets[path] = vs_url
                if types == ["code"]:
                    bindings[path] = sorted(set().union(*expansion.values()))
                else:
                    coded[path] = {
                        "type": kind,
                        "systems": {s: sorted(c) for s, c in sorted(expansion.items())},
                    }
                has_binding.add(parent)
                continue
            kids = []
            for t in types:
                if t in INLINE:
                    kids.append("BackboneElement")
                elif t in complex_types or t == "Resource":
                    kids.append(t)
            if kids:
                children[parent][path] = kids

    def target(path: str, kid: str) -> str:
        if kid == "BackboneElement":
            return path
        if kid.startswith("#"):
            return kid[1:]
        return kid

    # Fixed point: a structure is interesting when it holds a checked binding, is hooked, or
    # has a child of an interesting structure. Resources are always visited.
    interesting = set(has_binding) | set(resources) | {"Resource"}
    changed = True
    while changed:
        changed = False
        for struct, kids in children.items():
            if struct in interesting:
                continue
            for path, types in kids.items():
                if any(target(path, k) in interesting for k in types):
                    interesting.add(struct)
                    changed = True
                    break

    elements: dict[str, list[str]] = {}
    for struct, kids in children.items():
        if struct not in interesting:
            continue
        for path, types in kids.items():
            if types[0].startswith("#"):
                if types[0][1:] in interesting:
                    elements[path] = types
                continue
            keep = [k for k in types if target(path, k) in interesting]
            if keep:
                elements[path] = keep

    # Keep only content references the walker can use.
    content_refs = {p: t for p, t in content_refs.items() if p in elements}
    return {
        "source": f"{PACKAGE}@{VERSION}",
        "generatedBy": "fhir_profiles/tools/gen_required_bindings.py",
        "notes": [
            "bindings: code-typed elements with a required binding, path -> allowed codes",
            "codedBindings: Coding/CodeableConcept with a required binding; only codings whose "
            "system is listed are checked",
            "skipped: required bindings NOT checked by the hub validator, with the reason",
            "elements: complex elements walked to reach a checked binding or an Identifier; "
            "extension/modifierExtension are walked on every visited element",
        ],
        "counts": {
            "bindings": len(bindings),
            "codedBindings": len(coded),
            "skipped": len(skipped),
            "resourceTypes": len(resources),
            "dataTypes": len(complex_types),
        },
        "resourceTypes": sorted(resources),
        "bindings": dict(sorted(bindings.items())),
        "codedBindings": dict(sorted(coded.items())),
        "skipped": dict(sorted(skipped.items())),
        "valueSets": dict(sorted(value_sets.items())),
        "elements": dict(sorted(elements.items())),
        "contentReferences": dict(sorted(content_refs.items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--package",
        type=Path,
        help="unpacked package/ folder or the .tgz (default: npm pack into a temp dir)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.package is None:
            folder = fetch_package(Path(tmp))
        elif args.package.is_file():
            folder = unpack(args.package, Path(tmp))
        else:
            folder = args.package
        data = generate(folder)
    args.out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    c = data["counts"]
    print(
        f"{args.out}: {c['bindings']} code bindings, {c['codedBindings']} coded bindings, "
        f"{c['skipped']} skipped, {len(data['elements'])} walked elements",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
