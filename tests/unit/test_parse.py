"""``hub.fhir.parse.parse_json``: which numbers come back as ``Decimal``, and how fast it decides.

``precise`` must find exactly the bodies the one-pattern ``_PRECISE_NUMBER`` finds (the primitive
checks rely on which numbers are ``Decimal``); ``parse_json`` must give what it gave when it parsed
every body with orjson first and then again with ``json.loads`` when the pattern matched.
"""

from __future__ import annotations

import copy
import decimal
import json
import random

import orjson
import pytest

from hub.errors import BadRequest
from hub.fhir.parse import _PRECISE_NUMBER, Validated, check_structure, parse_json, precise

TRICKY = [
    "1.0",
    "1.5",
    "1.50",
    "-0.0",
    "0.0",
    "0",
    "-0",
    "1e5",
    "1E5",
    "1e+5",
    "1E-05",
    "2.5e3",
    "1.0e3",
    "10",
    "100.",
    "1.05",
    "1.005",
    "1.10.0",
    "1.0.",
    "1.0.1",
    ".50",
    "0.1",
    "123456789012345",
    "1234567890123456",
    "12345678901234567890",
    "18446744073709551616",
    "9223372036854775807",
    "0.000000000000001",
    "3.141592653589793",
    "3.1415926535897930",
    "e5",
    "5e",
    "5e+",
    "5ex",
    "x1e5",
]


def old_parse_json(data: bytes):
    """What ``parse_json`` did before ``precise``: orjson, then json.loads if the pattern matched."""
    try:
        value = orjson.loads(data)
        if _PRECISE_NUMBER.search(data):
            value = json.loads(data, parse_float=decimal.Decimal)
    except orjson.JSONDecodeError:
        value = json.loads(data, parse_float=decimal.Decimal)
    return value


def same(a, b) -> bool:
    """Equal and of the same types all the way down (``1.0 == Decimal("1.0") == 1`` in Python)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, decimal.Decimal):
        return str(a) == str(b)
    if isinstance(a, float):
        return repr(a) == repr(b)
    return a == b


@pytest.mark.parametrize("number", TRICKY)
@pytest.mark.parametrize("where", ["number", "string", "key"])
def test_precise_finds_what_the_pattern_finds(number, where):
    body = {
        "number": f'{{"resourceType":"Observation","valueQuantity":{{"value":{number}}}}}',
        "string": f'{{"resourceType":"Observation","note":[{{"text":"{number}"}}]}}',
        "key": f'{{"resourceType":"Observation","{number}":1}}',
    }[where].encode()
    assert precise(body) == (_PRECISE_NUMBER.search(body) is not None)


def test_precise_finds_what_the_pattern_finds_in_random_text():
    rng = random.Random(20261123)
    alphabet = b'0123456789012345678900000.....eEeE+-+- x"{}:,'
    for _ in range(20000):
        data = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        assert precise(data) == (_PRECISE_NUMBER.search(data) is not None), data


def _json_number(text: str) -> bool:
    try:
        return isinstance(json.loads(text), int | float)
    except ValueError:
        return False


@pytest.mark.parametrize("number", [n for n in TRICKY if _json_number(n)])
def test_parse_json_gives_the_same_numbers_as_before(number):
    for text in (
        f'{{"resourceType":"Observation","valueQuantity":{{"value":{number}}},"x":2.5,"n":3}}',
        f'{{"resourceType":"Observation","valueQuantity":{{"value":2.5}},"note":[{{"text":"{number}"}}]}}',
        f'{{"resourceType":"Observation","valueQuantity":{{"value":{number}}}}}',
    ):
        data = text.encode()
        got, want = parse_json(data), old_parse_json(data)
        assert same(got, want), (text, got, want)


def test_decimals_keep_their_text_and_the_rest_of_the_body_follows_them():
    doc = parse_json(b'{"resourceType":"Observation","a":1.50,"b":2.5,"c":7,"d":"1.0"}')
    assert doc["a"] == decimal.Decimal("1.50") and str(doc["a"]) == "1.50"
    assert type(doc["b"]) is decimal.Decimal and type(doc["c"]) is int
    doc = parse_json(b'{"resourceType":"Observation","b":2.5,"c":7}')
    assert type(doc["b"]) is float and type(doc["c"]) is int
    doc = parse_json(b'{"resourceType":"Observation","big":18446744073709551616,"b":2.5}')
    assert doc["big"] == 18446744073709551616 and type(doc["b"]) is decimal.Decimal


@pytest.mark.parametrize(
    "data",
    [
        b'{"resourceType":"Observation","value":1.50',  # precise, and not JSON
        b'{"resourceType":"Observation","value":1.5',
        b'{"resourceType":"Observation","value":1.50,}',
        b'{"a":1.0} {"b":2}',
    ],
)
def test_bad_json_is_a_400_whether_or_not_it_holds_precise_numbers(data):
    with pytest.raises(BadRequest, match="not valid JSON"):
        parse_json(data)


# ----- Validated: elements validated before are not validated again -----

OBSERVATION = {
    "resourceType": "Observation",
    "status": "final",
    "category": [
        {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}
            ]
        }
    ],
    "code": {
        "coding": [
            {"system": "http://loinc.org", "code": "14771-0", "display": "Fasting glucose"},
            {"system": "http://his.yuxi-first.example/fhir/CodeSystem/lis-item", "code": "GLU"},
        ],
        "text": "空腹血糖",
    },
    "subject": {"reference": "Patient/p-1"},
    "effectiveDateTime": "2026-11-15T08:30:00+08:00",
    "valueQuantity": {
        "value": 5.1,
        "unit": "mmol/L",
        "system": "http://unitsofmeasure.org",
        "code": "mmol/L",
    },
    "interpretation": [{"coding": [{"code": "H"}]}],
    "referenceRange": [{"low": {"value": 3.9, "unit": "mmol/L"}, "high": {"value": 6.1, "unit": "mmol/L"}}],
    "component": [{"code": {"text": "a"}, "valueInteger": 2}],
    "note": [{"text": "fasting"}],
}
PATIENT = {
    "resourceType": "Patient",
    "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": "11010519491231002X"}],
    "name": [{"family": "王", "given": ["伟"]}],
    "telecom": [{"system": "phone", "value": "13900001234", "rank": 1}],
    "gender": "male",
    "birthDate": "1949-12-31",
    "address": [{"line": ["a", None], "_line": [None, {"extension": [{"url": "x", "valueString": "y"}]}]}],
}
REPLACEMENTS = [
    None,
    "",
    "x",
    0,
    1,
    -1,
    1.0,
    1.5,
    decimal.Decimal("1.50"),
    decimal.Decimal("2"),
    True,
    [],
    {},
    [None],
    [{}],
    {"bogus": 1},
    ["x"],
    [1.5],
]


def _paths(node, path=()):
    """Every element's path in a JSON tree, the root's excepted."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        yield (*path, k)
        yield from _paths(v, (*path, k))


def _replaced(doc, path, value, delete=False):
    out = copy.deepcopy(doc)
    node = out
    for k in path[:-1]:
        node = node[k]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = copy.deepcopy(value)
    return out


def _mutants(doc):
    for path in _paths(doc):
        if path == ("resourceType",):
            continue
        yield _replaced(doc, path, None, delete=True)
        for value in REPLACEMENTS:
            yield _replaced(doc, path, value)
        if isinstance(path[-1], str):  # an unknown element next to it
            yield _replaced(doc, (*path[:-1], path[-1] + "X"), 1)
    for name in ("", "_", "contained", "_code"):  # names no element has, or kept out of ``Validated``
        for value in ({"a": 1}, [{"a": 1}], [1]):
            yield {**doc, name: value}


def _outcome(resource, validated=None):
    try:
        return check_structure(copy.deepcopy(resource), validated=validated)
    except BadRequest as exc:
        return [(i.diagnostics, i.expression) for i in exc.all_issues()]


@pytest.mark.parametrize("doc", [OBSERVATION, PATIENT], ids=["Observation", "Patient"])
def test_validated_elements_never_change_an_outcome(doc):
    """Every element of a record replaced by values of every JSON type, removed, or given an unknown
    sibling: the same answer, the same issues at the same paths, with and without ``Validated`` --
    while it holds the original's elements, and again once it holds every mutant's it accepted."""
    validated = Validated()
    assert _outcome(doc, validated) == doc["resourceType"]
    mutants = list(_mutants(doc))
    assert len(mutants) > 400
    plain = [_outcome(m) for m in mutants]
    assert any(p == doc["resourceType"] for p in plain) and any(p != doc["resourceType"] for p in plain)
    for _ in range(2):
        assert [_outcome(m, validated) for m in mutants] == plain


def test_an_element_seen_before_is_the_model_it_became():
    from fhir.resources.R4B import get_fhir_model_class

    model = get_fhir_model_class("Observation")
    validated = Validated()
    first = validated.model_validate(model, "Observation", OBSERVATION)
    other = {**OBSERVATION, "valueQuantity": {"value": 7.2, "unit": "mmol/L"}}
    second = validated.model_validate(model, "Observation", other)
    assert second.code is first.code and second.referenceRange[0] is first.referenceRange[0]
    assert second.valueQuantity is not first.valueQuantity and second.valueQuantity.value == decimal.Decimal(
        "7.2"
    )
    assert model.model_validate(other) == second


@pytest.mark.parametrize(
    "a, b",
    [(5, 5.0), (5.0, decimal.Decimal("5.0")), (decimal.Decimal("5.0"), decimal.Decimal("5.00")), (1, True)],
)
def test_numbers_of_another_json_type_or_text_are_other_elements(a, b):
    from fhir.resources.R4B import get_fhir_model_class

    model = get_fhir_model_class("Observation")
    validated = Validated()
    first = validated.model_validate(model, "Observation", {**OBSERVATION, "valueQuantity": {"value": a}})
    try:
        second = validated.model_validate(
            model, "Observation", {**OBSERVATION, "valueQuantity": {"value": b}}
        )
    except ValueError:  # refused (True is no decimal): then certainly not the element seen before
        return
    assert second.valueQuantity is not first.valueQuantity


def test_past_its_limit_it_keeps_what_repeats():
    from fhir.resources.R4B import get_fhir_model_class

    model = get_fhir_model_class("Observation")
    validated = Validated(limit=16)
    first = validated.model_validate(model, "Observation", OBSERVATION)
    for n in range(40):  # the same code, a value of its own each time
        other = validated.model_validate(model, "Observation", {**OBSERVATION, "valueQuantity": {"value": n}})
        assert other.code is first.code
        assert len(validated._elements) <= 16


def test_it_forgets_past_its_limit():
    from fhir.resources.R4B import get_fhir_model_class

    model = get_fhir_model_class("Observation")
    validated = Validated(limit=8)
    for n in range(20):
        validated.model_validate(model, "Observation", {**OBSERVATION, "valueQuantity": {"value": n}})
        assert len(validated._elements) <= 8
