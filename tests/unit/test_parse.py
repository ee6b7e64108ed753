"""``hub.fhir.parse.parse_json``: which numbers come back as ``Decimal``, and how fast it decides.

``precise`` must find exactly the bodies the one-pattern ``_PRECISE_NUMBER`` finds (the primitive
checks rely on which numbers are ``Decimal``); ``parse_json`` must give what it gave when it parsed
every body with orjson first and then again with ``json.loads`` when the pattern matched.
"""

from __future__ import annotations

import decimal
import json
import random

import orjson
import pytest

from hub.errors import BadRequest
from hub.fhir.parse import _PRECISE_NUMBER, parse_json, precise

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
