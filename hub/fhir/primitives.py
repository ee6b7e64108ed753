"""The JSON types of a FHIR R4B resource, checked against what the FHIR JSON format requires.

``fhir.resources`` validates in pydantic's lax mode: ``"active": "yes"`` becomes ``True``,
``"multipleBirthInteger": "2"`` becomes ``2`` and a decimal ``"1.5"`` becomes ``Decimal("1.5")``.
The hub stores the client's JSON as sent, so it must also refuse what the model coerced:

- boolean: JSON ``true``/``false``;
- integer, positiveInt, unsignedInt, integer64: a JSON number without fraction;
- decimal: a JSON number;
- every other primitive (string, code, id, uri, url, canonical, oid, uuid, markdown, xhtml,
  base64Binary, date, dateTime, instant, time): a JSON string;
- complex elements and the ``_element`` primitive extensions: JSON objects;
- elements of max cardinality ``*``: JSON arrays, never a bare value; the others never arrays.
  ``null`` is allowed only inside the arrays of a repeating primitive and its ``_element``
  sibling, where it pads the position whose value (or extension) is absent;
- resources (``contained``, ``Bundle.entry.resource``, ``Parameters.parameter.resource`` ...):
  checked by the model of their own ``resourceType``.

What each element must be comes from the R4B model classes, compiled once per class into a plain
dict ``{json_key: (kind, is_list, child_model_or_None, allowed_python_types)}``; the check itself
is a walk of the JSON with that map, without pydantic. Keys the map does not know (unknown
elements, ``resourceType``, ``fhir_comments``) are skipped: the model validation refuses those.
"""

from __future__ import annotations

import base64
import binascii
import decimal
import types
import typing

from fhir.resources.R4B import get_fhir_model_class
from fhir_core.constraints import FHIR_PRIMITIVES_MAPS
from fhir_core.types import FhirBase, FhirElementOrResourceBase

from hub.errors import Issue

__all__ = ["check_json_types", "spec_for"]

# JSON kinds, by FHIR primitive type.
BOOLEAN, INTEGER, NUMBER, STRING, BASE64 = "boolean", "integer", "decimal", "string", "base64Binary"
OBJECT, RESOURCE, PRIMITIVE_EXT = "object", "resource", "primitive-extension"

_INTEGERS = frozenset({"integer", "integer64", "positiveInt", "unsignedInt"})
_STRINGS = frozenset(
    {
        "string",
        "code",
        "id",
        "uri",
        "url",
        "canonical",
        "oid",
        "uuid",
        "markdown",
        "xhtml",
        "date",
        "dateTime",
        "instant",
        "time",
    }
)

_NONE = type(None)
# Python types (as orjson/json load them) each kind accepts. bool is an int subclass, but type() is
# compared exactly, so True is neither an integer nor a decimal.
_ALLOWED = {
    BOOLEAN: frozenset({bool}),
    INTEGER: frozenset({int}),
    NUMBER: frozenset({int, float, decimal.Decimal}),  # Decimal: json.loads(parse_float=Decimal)
    STRING: frozenset({str}),
    BASE64: frozenset({str}),
    OBJECT: frozenset({dict}),
    RESOURCE: frozenset({dict}),
    PRIMITIVE_EXT: frozenset({dict}),
}
_EXPECTED = {
    BOOLEAN: "a JSON boolean",
    INTEGER: "a JSON number without fraction",
    NUMBER: "a JSON number",
    STRING: "a JSON string",
    BASE64: "a JSON string of base64 (RFC 4648, no white space)",
    OBJECT: "a JSON object",
    RESOURCE: "a JSON object (a resource)",
    PRIMITIVE_EXT: "a JSON object (the primitive's id/extension)",
}

# Fields of the models that are no FHIR element. (json_schema_extra "element_property" cannot tell:
# it is False on fhir_comments but also on FHIRPrimitiveExtension's real id and extension.)
_NOT_FHIR = frozenset({"fhir_comments"})

Entry = tuple[str, bool, typing.Any, frozenset]
_SPECS: dict[type, dict[str, Entry]] = {}
_RESOURCES: dict[str, type] = {}
ECHO = 40


# -- compiling the map ----------------------------------------------------------------------------


def _strip_optional(ann):
    """``X | None`` / ``Optional[X]`` -> X (a Union of several non-None members stays as it is)."""
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not _NONE]
        if len(args) == 1:
            return args[0]
    return ann


def _primitive_name(ann) -> str | None:
    """The FHIR primitive type of a fhir_core annotation (``Annotated[int, PositiveInt()]``...)."""
    if typing.get_origin(ann) is typing.Annotated:
        base, *meta = typing.get_args(ann)
        for marker in meta:
            name = FHIR_PRIMITIVES_MAPS.get(type(marker))
            if name:
                return name
        ann = base  # UuidType is Annotated[uuid.UUID, UuidVersion(4)]: the base type names it
    try:
        return FHIR_PRIMITIVES_MAPS.get(ann)  # bare ``bool`` is BooleanType
    except TypeError:  # unhashable annotation
        return None


def _kind_of(ann) -> tuple[str, type | None] | None:
    """(kind, child model) of one (non-list) annotation; None when it is no FHIR type."""
    if typing.get_origin(ann) in (typing.Union, types.UnionType):  # FHIRResourceModel.id: Id | String
        found = {_kind_of(a) for a in typing.get_args(ann) if a is not _NONE}
        return found.pop() if len(found) == 1 else None
    if isinstance(ann, type) and issubclass(ann, FhirBase):
        model = ann.get_model_klass()
        if issubclass(ann, FhirElementOrResourceBase) and model.has_resource_base():
            return RESOURCE, model  # the abstract Resource: the value's resourceType decides
        return OBJECT, model
    name = _primitive_name(ann)
    if name is None:
        return None
    if name == "boolean":
        return BOOLEAN, None
    if name in _INTEGERS:
        return INTEGER, None
    if name == "decimal":
        return NUMBER, None
    if name in _STRINGS:
        return STRING, None
    if name == "base64Binary":
        return BASE64, None
    return None


def _compile(model: type) -> dict[str, Entry]:
    # Children are kept as classes, compiled when first met, so this never recurses. The dict is
    # published only once complete: another thread never sees half a map.
    spec: dict[str, Entry] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key in _NOT_FHIR:
            continue
        ann = _strip_optional(field.annotation)
        is_list = typing.get_origin(ann) is list
        if is_list:
            ann = _strip_optional(typing.get_args(ann)[0])
        found = _kind_of(ann)
        if found is None:
            continue  # not a FHIR type fhir.resources declares; nothing to check against
        kind, child = found
        if key.startswith("_") and kind == OBJECT:
            kind = PRIMITIVE_EXT
        allowed = _ALLOWED[kind]
        if is_list and kind == PRIMITIVE_EXT:
            allowed = allowed | {_NONE}  # "_given": [null, {...}]
        spec[key] = (kind, is_list, child, allowed)
    _SPECS[model] = spec
    return spec


def spec_for(model: type) -> dict[str, Entry]:
    """The compiled map of one model class: {json_key: (kind, is_list, child_model, allowed)}."""
    spec = _SPECS.get(model)
    return spec if spec is not None else _compile(model)


def _resource_model(rtype: str) -> type | None:
    model = _RESOURCES.get(rtype)
    if model is not None:
        return model
    try:
        model = get_fhir_model_class(rtype)
    except (ValueError, KeyError, ImportError, AttributeError):
        return None  # not cached: the names a client sends must not grow the cache
    if not (model.has_resource_base() and model.get_resource_type() == rtype):
        return None  # a datatype ("HumanName") is no resource
    _RESOURCES[rtype] = model
    return model


# -- checking -------------------------------------------------------------------------------------


def _describe(value) -> str:
    if value is None:
        return "null"
    t = type(value)
    if t is bool:
        return f"the boolean {'true' if value else 'false'}"
    if t is str:
        return f"the string '{value[:ECHO]}{'...' if len(value) > ECHO else ''}'"
    if t is int or t is float or t is decimal.Decimal:
        text = repr(value)
        return f"the number {text[:ECHO]}{'...' if len(text) > ECHO else ''}"
    if t is dict:
        return "an object"
    if t is list:
        return "an array"
    return f"a {t.__name__}"


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _issue(path: str, must: str, value) -> Issue:
    return Issue(f"{path} must be {must}, not {_describe(value)}", code="structure", expression=(path,))


def _null_padding(obj: dict, key: str, index: int) -> bool:
    """A null in a repeating primitive is allowed when ``_key`` holds an extension at that index."""
    ext = obj.get("_" + key)
    return type(ext) is list and index < len(ext) and type(ext[index]) is dict


def _check_resource(res: dict, path: str, out: list[Issue]) -> None:
    rtype = res.get("resourceType")
    if type(rtype) is not str:
        if "resourceType" in res:
            out.append(_issue(f"{path}.resourceType", "a JSON string", rtype))
        return
    model = _resource_model(rtype)
    if model is not None:  # an unknown resourceType is refused by the model validation
        _walk(res, _SPECS.get(model) or _compile(model), path, out)


def _walk(obj: dict, spec: dict[str, Entry], path: str, out: list[Issue]) -> None:
    for key, value in obj.items():
        entry = spec.get(key)
        if entry is None:
            continue
        kind, is_list, child, allowed = entry
        if is_list:
            if type(value) is not list:
                out.append(_issue(f"{path}.{key}", "a JSON array", value))
                continue
            for i, item in enumerate(value):
                t = type(item)
                if t not in allowed or (kind is BASE64 and not _is_base64(item)):
                    if item is None and child is None and _null_padding(obj, key, i):
                        continue
                    out.append(_issue(f"{path}.{key}[{i}]", _EXPECTED[kind], item))
                elif child is not None and t is dict:
                    if kind is RESOURCE:
                        _check_resource(item, f"{path}.{key}[{i}]", out)
                    else:
                        _walk(item, _SPECS.get(child) or _compile(child), f"{path}.{key}[{i}]", out)
        elif type(value) in allowed:
            if kind is BASE64 and not _is_base64(value):
                out.append(_issue(f"{path}.{key}", _EXPECTED[kind], value))
            elif child is not None:
                if kind is RESOURCE:
                    _check_resource(value, f"{path}.{key}", out)
                else:
                    _walk(value, _SPECS.get(child) or _compile(child), f"{path}.{key}", out)
        elif type(value) is list:
            out.append(_issue(f"{path}.{key}", f"a single value ({_EXPECTED[kind]})", value))
        else:
            out.append(_issue(f"{path}.{key}", _EXPECTED[kind], value))


def check_json_types(resource: dict) -> list[Issue]:
    """One Issue per element of ``resource`` whose JSON type is not the one FHIR JSON requires.

    Expressions are FHIRPath-like (``Bundle.entry[2].resource.active``); a resource of unknown
    type yields nothing (the model validation refuses it).
    """
    out: list[Issue] = []
    rtype = resource.get("resourceType")
    if type(rtype) is not str:
        if "resourceType" in resource:
            out.append(_issue("resourceType", "a JSON string", rtype))
        return out
    model = _resource_model(rtype)
    if model is not None:
        _walk(resource, _SPECS.get(model) or _compile(model), rtype, out)
    return out


if __name__ == "__main__":  # pragma: no cover - timing: python -W ignore -m hub.fhir.primitives [f.json]
    import sys
    import timeit

    import orjson

    samples = {
        "Observation (1 KB)": {
            "resourceType": "Observation",
            "id": "bp-1",
            "meta": {"lastUpdated": "2024-05-01T10:00:00Z"},
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "vital-signs",
                            "display": "Vital Signs",
                        }
                    ]
                }
            ],
            "code": {
                "coding": [
                    {"system": "http://loinc.org", "code": "85354-9", "display": "Blood pressure panel"}
                ],
                "text": "Blood pressure",
            },
            "subject": {"reference": "Patient/example"},
            "effectiveDateTime": "2024-05-01T09:30:00+08:00",
            "issued": "2024-05-01T10:00:00.000+08:00",
            "performer": [{"reference": "Practitioner/1"}],
            "component": [
                {
                    "code": {
                        "coding": [
                            {
                                "system": "http://loinc.org",
                                "code": "8480-6",
                                "display": "Systolic blood pressure",
                            }
                        ]
                    },
                    "valueQuantity": {
                        "value": 107,
                        "unit": "mmHg",
                        "system": "http://unitsofmeasure.org",
                        "code": "mm[Hg]",
                    },
                },
                {
                    "code": {
                        "coding": [
                            {
                                "system": "http://loinc.org",
                                "code": "8462-4",
                                "display": "Diastolic blood pressure",
                            }
                        ]
                    },
                    "valueQuantity": {
                        "value": 60.5,
                        "unit": "mmHg",
                        "system": "http://unitsofmeasure.org",
                        "code": "mm[Hg]",
                    },
                },
            ],
        },
    }
    for name in sys.argv[1:]:
        with open(name, "rb") as fh:
            samples[name] = orjson.loads(fh.read())
    for name, res in samples.items():
        assert check_json_types(res) == [], check_json_types(res)
        n, total = timeit.Timer(lambda res=res: check_json_types(res)).autorange()
        best = min(timeit.repeat(lambda res=res: check_json_types(res), number=n, repeat=5)) / n
        print(f"{name}: {len(orjson.dumps(res))} bytes, {best * 1e6:.1f} us per check")
