"""From request bytes to a resource the store may keep: JSON, FHIR R4B structure, hub rules.

Order matters for the status code: bad JSON or a body that is not a FHIR resource of the
expected type is 400; a well-formed resource that breaks a hub profile or binding is 422.
"""

from __future__ import annotations

import decimal
import json
import re

import orjson
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.fhirresourcemodel import FHIRResourceModel
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from pydantic import ValidationError

from hub.errors import BadRequest, Issue, Unprocessable
from hub.fhir.extract import ID_RE
from hub.fhir.primitives import check_json_types
from hub.fhir.validation import validate_resource

_MESSAGES = {
    "extra_forbidden": "is not an element of {type} (unknown element)",
    "missing": "is required",
}


# A \u escape of a control character other than tab, LF and CR, not itself escaped. FHIR strings
# may not hold them (and PostgreSQL cannot store NUL); raw control bytes are already invalid JSON.
_CONTROL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u00(?:0[0-8BbCcEeFf]|1[0-9A-Fa-f])")


# A number whose text a float would not give back: a trailing zero in the fraction, an exponent,
# or more digits than a double holds. FHIR decimals keep their precision ("1.00" is not "1.0").
# ``_PRECISE_NUMBER`` says it in one pattern; ``precise`` finds the same bodies four times faster.
_PRECISE_NUMBER = re.compile(rb"\d\.\d*0(?![\d.])|\d[eE][+-]?\d|\d{16,}")
# Its first branch led by the dot: a pattern that starts with a literal is searched for that byte
# (a few microseconds for a Bundle), one that starts with ``\d`` is tried at every digit.
_TRAILING_ZERO = re.compile(rb"\.(?<=\d\.)\d*0(?![\d.])")
# The other two on the body with every digit made ``0``, ``E`` made ``e`` and ``-`` made ``+``: plain
# substring searches then.
_NUMBER_SHAPE = bytes.maketrans(b"0123456789Ee-", b"0000000000ee+")


def precise(data: bytes) -> bool:
    """``_PRECISE_NUMBER.search(data)`` is not None (anywhere in the body, strings included)."""
    if _TRAILING_ZERO.search(data):
        return True
    shape = data.translate(_NUMBER_SHAPE)
    return b"0e0" in shape or b"0e+0" in shape or b"0000000000000000" in shape


def parse_json(data: bytes) -> dict:
    """The JSON object of a request body; decimals that a float would change are kept as ``Decimal``."""
    if not data or not data.strip():
        raise BadRequest("the request body is empty; a FHIR JSON resource was expected")
    value = _loads(data)
    # The pattern scans the whole body (a third of a millisecond for a 5 kB Bundle); what it looks
    # for always holds the literal ``\u00``, which a plain substring search finds or rules out at once.
    bad = _CONTROL_ESCAPE.search(data) if b"\\u00" in data else None
    if bad:
        raise BadRequest(
            f"the body holds the control character {bad.group().decode()[-6:]}; FHIR strings "
            "may not contain characters below U+0020 other than tab, CR and LF"
        )
    if not isinstance(value, dict):
        raise BadRequest("the request body must be a JSON object (a FHIR resource)")
    return value


def _loads(data: bytes):
    if precise(data):  # then json.loads' answer, whether or not orjson takes the body too
        try:
            return json.loads(data, parse_float=decimal.Decimal)
        except ValueError:
            pass  # not JSON: orjson's message says where, as for any other body
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        try:  # integers past 64 bits, which orjson refuses and a FHIR decimal may be
            return json.loads(data, parse_float=decimal.Decimal)
        except ValueError:
            raise BadRequest(f"the request body is not valid JSON: {exc}") from None


def check_id(fid: str, where: str = "id") -> str:
    if not ID_RE.match(fid or ""):
        raise BadRequest(f"'{fid[:70]}' is not a valid FHIR id (1-64 of A-Z a-z 0-9 - .)", [where])
    return fid


def _path(rtype: str, loc: tuple) -> str:
    out = rtype
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in ("function-after", "function-before", "function-wrap") and "[" not in str(part):
            out += f".{part}"
    return out


class Validated:
    """Elements that ``fhir.resources`` has validated before, as parts of records of a type: an
    element of a later record that is the same JSON, under the same name in a record of the same
    type, is given to the model as the validated element it became (pydantic takes a model instance
    of the field's class as it is), instead of being validated again.

    Validation is a function of the JSON alone: an element the model accepted once, it accepts
    again, and what it made of it is what it would make again; the record's own checks (required
    elements, one value of a choice, no unknown element) still run on the record. Elements that
    repeat from record to record (a lab's codes, units and reference ranges, the patient a Bundle's
    results name) are then validated once. Numbers are told apart by their JSON type (``5``,
    ``5.0``, ``Decimal("5.0")`` are three keys); an element whose JSON cannot be written (an
    integer past 64 bits) is validated in place; primitive extensions (``_name``) and contained
    resources are always validated in place.

    At most ``limit`` elements are kept (a thousand of a lab feed's take about 6 MB). When it is
    reached, the elements not met again since they were kept (a patient's name, a result's value)
    are forgotten, and those that repeat are kept: all are forgotten if those are more than half."""

    def __init__(self, limit: int = 1024):
        self.limit = limit
        self._elements: dict[tuple[str, str, bytes], list] = {}  # key -> [element, times met again]

    def model_validate(self, model, rtype: str, resource: dict):
        """``model.model_validate(resource)``, with the elements validated before in place."""
        known = self._elements
        data = resource
        new = []
        for key, value in resource.items():
            if type(value) is not dict and type(value) is not list or key[:1] == "_" or key == "contained":
                continue
            try:
                text = orjson.dumps(value, default=_tagged_decimal)
            except TypeError:
                continue
            seen = known.get((rtype, key, text))
            if seen is None:
                new.append((key, text))
                continue
            seen[1] += 1
            if data is resource:
                data = dict(resource)
            data[key] = seen[0]
        validated = model.model_validate(data)
        if not new:
            return validated
        if len(known) + len(new) > self.limit:
            known = self._forget()
        names = _attribute_names(model)
        for key, text in new:
            element = getattr(validated, names.get(key, ""), None)
            if _element(element):
                known[(rtype, key, text)] = [element, 0]
        return validated

    def _forget(self) -> dict:
        kept = {k: seen for k, seen in self._elements.items() if seen[1]}
        if len(kept) > self.limit // 2:
            kept = {}
        for seen in kept.values():
            seen[1] = 0
        self._elements = kept
        return kept


def _tagged_decimal(value):
    """A ``Decimal`` in an element's key: not the JSON number it is written as (a float of the same
    text is another key), and nothing JSON writes starts with ``D``."""
    if isinstance(value, decimal.Decimal):
        return orjson.Fragment(b"D" + str(value).encode())
    raise TypeError


_NAMES: dict[type, dict[str, str]] = {}


def _attribute_names(model) -> dict[str, str]:
    """``{JSON name: attribute}`` of a model's elements."""
    names = _NAMES.get(model)
    if names is None:
        names = _NAMES[model] = {(f.alias or n): n for n, f in model.model_fields.items()}
    return names


def _element(value) -> bool:
    """A validated element (or list of them), not a resource (contained, or a Bundle's entry's)."""
    if isinstance(value, list):
        return bool(value) and all(_element(v) for v in value)
    return isinstance(value, FHIRAbstractModel) and not isinstance(value, FHIRResourceModel)


def check_structure(resource: dict, expected: str | None = None, validated: Validated | None = None) -> str:
    """The resource parses as FHIR R4B (of the ``expected`` type); returns its type. ``validated``:
    elements validated before are not validated again (``Validated``)."""
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise BadRequest("the resource has no resourceType", ["resourceType"])
    if expected and rtype != expected:
        raise BadRequest(f"the body is a {rtype}, but this endpoint takes a {expected}", ["resourceType"])
    try:
        model = get_fhir_model_class(rtype)
    except (ValueError, KeyError):
        raise BadRequest(f"'{rtype}' is not a FHIR R4B resource type", ["resourceType"]) from None
    try:
        if validated is None:
            model.model_validate(resource)
        else:
            validated.model_validate(model, rtype, resource)
    except ValidationError as exc:
        issues = []
        for err in exc.errors()[:50]:
            path = _path(rtype, err["loc"])
            msg = _MESSAGES.get(err["type"], "").format(type=rtype) or err["msg"]
            issues.append(Issue(f"{path}: {msg}", "structure", "error", (path,)))
        raise BadRequest(issues=issues) from None
    except (ValueError, TypeError) as exc:  # fhir.resources raises these for some malformed input
        raise BadRequest(f"{rtype}: {exc}", [rtype]) from None
    issues = check_json_types(resource)
    if issues:
        raise BadRequest(issues=issues)
    return rtype


def check_rules(resource: dict, prefix: str = "") -> None:
    """The hub's own rules: required bindings, hub profiles, identifier checks."""
    issues = [i for i in validate_resource(resource) if i.severity in ("error", "fatal")]
    if issues:
        raise Unprocessable(issues=_prefixed(issues, prefix))


def _prefixed(issues: list[Issue], prefix: str) -> list[Issue]:
    """Expressions of an entry's issues as paths in the enclosing Bundle (``Patient.x`` -> ``prefix + x``)."""
    if not prefix:
        return issues
    return [
        Issue(
            i.diagnostics,
            i.code,
            i.severity,
            tuple(prefix + e.partition(".")[2] if "." in e else prefix.rstrip(".") for e in i.expression),
        )
        for i in issues
    ]


def check_resource(resource: dict, expected: str | None = None, validated: Validated | None = None) -> str:
    rtype = check_structure(resource, expected, validated)
    check_rules(resource)
    return rtype
