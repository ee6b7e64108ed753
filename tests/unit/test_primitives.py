"""hub.fhir.primitives: the JSON types fhir.resources coerces are refused, real records pass."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from pydantic import ValidationError

from hub.errors import Issue
from hub.fhir.primitives import check_json_types, spec_for

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
EXAMPLES = DATA / "fhir-r4-examples"
SYNTHEA = DATA / "synthea"


def exprs(resource: dict) -> list[str]:
    return [e for issue in check_json_types(resource) for e in issue.expression]


def obs(**elements) -> dict:
    return {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, **elements}


def qty(value) -> dict:
    return {"value": value, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}


# -- what fhir.resources lets through ---------------------------------------------------------------


def test_the_models_coerce_what_this_module_refuses():
    """The reason for the module: each of these validates with fhir.resources.R4B."""
    for resource in (
        {"resourceType": "Patient", "active": "yes"},
        {"resourceType": "Patient", "multipleBirthInteger": "2"},
        {"resourceType": "Patient", "multipleBirthInteger": True},
        obs(valueQuantity=qty("1.5")),
    ):
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert check_json_types(resource), resource


def test_boolean_as_string_is_refused_with_expression_and_diagnostics():
    issues = check_json_types({"resourceType": "Patient", "active": "yes"})
    assert issues == [
        Issue(
            "Patient.active must be a JSON boolean, not the string 'yes'",
            code="structure",
            expression=("Patient.active",),
        )
    ]
    assert issues[0].as_fhir()["expression"] == ["Patient.active"]


def test_echoed_values_are_truncated_to_40_characters():
    (issue,) = check_json_types({"resourceType": "Patient", "active": "y" * 100})
    assert f"'{'y' * 40}...'" in issue.diagnostics
    assert "y" * 41 not in issue.diagnostics


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"resourceType": "Patient", "active": "true"}, ["Patient.active"]),
        ({"resourceType": "Patient", "active": 1}, ["Patient.active"]),
        ({"resourceType": "Patient", "active": None}, ["Patient.active"]),
        ({"resourceType": "Patient", "deceasedBoolean": "false"}, ["Patient.deceasedBoolean"]),
        ({"resourceType": "Patient", "multipleBirthInteger": "2"}, ["Patient.multipleBirthInteger"]),
        ({"resourceType": "Patient", "birthDate": 19700101}, ["Patient.birthDate"]),
        ({"resourceType": "Patient", "id": 5}, ["Patient.id"]),
        ({"resourceType": "Patient", "gender": True}, ["Patient.gender"]),
        ({"resourceType": "Patient", "name": [{"given": ["Ann", 3]}]}, ["Patient.name[0].given[1]"]),
        (
            {"resourceType": "Patient", "name": [{"family": "A"}, {"id": 7, "family": ["B"]}]},
            ["Patient.name[1].id", "Patient.name[1].family"],
        ),
        (
            {"resourceType": "Patient", "telecom": [{"system": "phone", "value": 5551234, "rank": "1"}]},
            ["Patient.telecom[0].value", "Patient.telecom[0].rank"],
        ),
        (
            {"resourceType": "Patient", "text": {"status": "generated", "div": {"p": "x"}}},
            ["Patient.text.div"],
        ),
        (obs(valueQuantity=qty("1.5")), ["Observation.valueQuantity.value"]),
        (obs(valueBoolean="true"), ["Observation.valueBoolean"]),
        (obs(valueInteger=1.5), ["Observation.valueInteger"]),
        (obs(valueString=42), ["Observation.valueString"]),
        (obs(valueQuantity="1.5 mmHg"), ["Observation.valueQuantity"]),
        (obs(referenceRange=[{"low": qty("1")}]), ["Observation.referenceRange[0].low.value"]),
        (
            obs(
                component=[
                    {"code": {"text": "a"}, "valueQuantity": qty(1)},
                    {"code": {"text": "b"}, "valueQuantity": qty("2")},
                ]
            ),
            ["Observation.component[1].valueQuantity.value"],
        ),
        (
            {
                "resourceType": "Patient",
                "extension": [
                    {
                        "url": "http://x",
                        "extension": [{"url": "a", "valueCode": "c"}, {"url": "b", "valueInteger": "3"}],
                    }
                ],
            },
            ["Patient.extension[0].extension[1].valueInteger"],
        ),
        ({"resourceType": "Patient", "resourceType_": 1, "unknownElement": "ignored"}, []),
    ],
)
def test_wrong_json_types_are_refused(resource, expected):
    assert exprs(resource) == expected
    assert all(i.code == "structure" and i.severity == "error" for i in check_json_types(resource))


# -- arrays versus single values ----------------------------------------------------------------------


def test_repeating_element_as_a_bare_object_is_refused():
    (issue,) = check_json_types({"resourceType": "Patient", "name": {"family": "Chalmers"}})
    assert issue.expression == ("Patient.name",)
    assert issue.diagnostics == "Patient.name must be a JSON array, not an object"


def test_single_element_as_an_array_is_refused():
    (issue,) = check_json_types({"resourceType": "Patient", "gender": ["male"]})
    assert issue.expression == ("Patient.gender",)
    assert "not an array" in issue.diagnostics


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"resourceType": "Patient", "name": [{"given": "Peter"}]}, ["Patient.name[0].given"]),
        ({"resourceType": "Patient", "maritalStatus": [{"text": "M"}]}, ["Patient.maritalStatus"]),
        ({"resourceType": "Patient", "name": ["Peter"]}, ["Patient.name[0]"]),
        ({"resourceType": "Patient", "name": [None]}, ["Patient.name[0]"]),
        (
            {"resourceType": "Patient", "identifier": [{"value": "1"}], "managingOrganization": []},
            ["Patient.managingOrganization"],
        ),
    ],
)
def test_cardinality_shapes(resource, expected):
    assert exprs(resource) == expected


# -- numbers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (2, True),
        (0, True),
        (-1, True),
        (2.5, False),
        (2.0, False),
        ("2", False),
        (True, False),
        (False, False),
        (None, False),
    ],
)
def test_integer(value, ok):
    resource = {"resourceType": "Patient", "multipleBirthInteger": value}
    assert exprs(resource) == ([] if ok else ["Patient.multipleBirthInteger"])


def test_boolean_is_not_an_integer_even_though_python_says_so():
    (issue,) = check_json_types({"resourceType": "Patient", "multipleBirthInteger": True})
    assert issue.diagnostics == (
        "Patient.multipleBirthInteger must be a JSON number without fraction, not the boolean true"
    )


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (1, True),
        (1.5, True),
        (0, True),
        (-3.25, True),
        (1e-3, True),
        ("1.5", False),
        ("1", False),
        (True, False),
        (None, False),
        ([1.5], False),
        ({"value": 1}, False),
    ],
)
def test_decimal(value, ok):
    assert exprs(obs(valueQuantity=qty(value))) == ([] if ok else ["Observation.valueQuantity.value"])


def test_decimal_objects_from_json_loads_parse_float_count_as_numbers_but_not_integers():
    from decimal import Decimal

    assert exprs(obs(valueQuantity=qty(Decimal("1.50")))) == []
    assert exprs({"resourceType": "Patient", "multipleBirthInteger": Decimal("2.0")}) == [
        "Patient.multipleBirthInteger"
    ]


def test_positive_and_unsigned_ints_are_integers():
    resource = {
        "resourceType": "Patient",
        "telecom": [{"system": "phone", "value": "1", "rank": 1.0}],
        "photo": [{"contentType": "image/png", "size": "12"}],
    }
    assert exprs(resource) == ["Patient.telecom[0].rank", "Patient.photo[0].size"]
    resource["telecom"][0]["rank"] = 1
    resource["photo"][0]["size"] = 12
    assert exprs(resource) == []


# -- primitive extensions (_element) ----------------------------------------------------------------


def test_primitive_extension_object_is_fine():
    resource = {
        "resourceType": "Patient",
        "birthDate": "1974-12-25",
        "_birthDate": {
            "extension": [
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                    "valueDateTime": "1974-12-25T14:35:45-05:00",
                }
            ]
        },
    }
    assert check_json_types(resource) == []
    resource["_active"] = {"id": "a1"}
    assert check_json_types(resource) == []


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"resourceType": "Patient", "_birthDate": "1974-12-25"}, ["Patient._birthDate"]),
        ({"resourceType": "Patient", "_birthDate": [{"id": "x"}]}, ["Patient._birthDate"]),
        ({"resourceType": "Patient", "_birthDate": {"id": 1}}, ["Patient._birthDate.id"]),
        (
            {"resourceType": "Patient", "_birthDate": {"extension": [{"url": "u", "valueBoolean": "true"}]}},
            ["Patient._birthDate.extension[0].valueBoolean"],
        ),
        ({"resourceType": "Patient", "name": [{"_given": {"id": "x"}}]}, ["Patient.name[0]._given"]),
        ({"resourceType": "Patient", "name": [{"_given": ["x"]}]}, ["Patient.name[0]._given[0]"]),
    ],
)
def test_bad_primitive_extensions(resource, expected):
    assert exprs(resource) == expected


def test_null_pads_a_repeating_primitive_only_where_its_extension_is():
    ext = {
        "extension": [
            {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}
        ]
    }
    padded = {"resourceType": "Patient", "name": [{"given": [None, "Bo"], "_given": [ext, None]}]}
    assert check_json_types(padded) == []
    unpadded = {"resourceType": "Patient", "name": [{"given": ["Al", None], "_given": [ext, None]}]}
    assert exprs(unpadded) == ["Patient.name[0].given[1]"]
    assert exprs({"resourceType": "Patient", "name": [{"given": [None]}]}) == ["Patient.name[0].given[0]"]


# -- resources inside resources -------------------------------------------------------------------------


def test_contained_resources_are_checked_by_their_own_type():
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "contained": [
            {"resourceType": "Practitioner", "id": "p", "active": "yes"},
            {"resourceType": "Patient", "id": "q", "multipleBirthInteger": 2},
            {
                "resourceType": "Observation",
                "id": "o",
                "status": "final",
                "code": {"text": "y"},
                "valueQuantity": qty("1.5"),
            },
        ],
    }
    assert exprs(resource) == [
        "Observation.contained[0].active",
        "Observation.contained[2].valueQuantity.value",
    ]


def test_bundle_entries_are_checked_by_their_own_type():
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:1",
                "resource": {"resourceType": "Patient", "active": True},
                "request": {"method": "POST", "url": "Patient"},
            },
            {"resource": obs(valueQuantity=qty(1.5)), "request": {"method": "POST", "url": "Observation"}},
            {
                "resource": {"resourceType": "Patient", "active": "yes"},
                "request": {"method": "POST", "url": 5},
            },
            {
                "resource": {
                    "resourceType": "Bundle",
                    "type": "collection",
                    "total": "1",
                    "entry": [{"resource": {"resourceType": "Patient", "gender": ["male"]}}],
                }
            },
        ],
    }
    assert exprs(bundle) == [
        "Bundle.entry[2].resource.active",
        "Bundle.entry[2].request.url",
        "Bundle.entry[3].resource.total",
        "Bundle.entry[3].resource.entry[0].resource.gender",
    ]


def test_bundle_entry_resource_must_be_an_object():
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": ["x"]}]}
    assert exprs(bundle) == ["Bundle.entry[0].resource"]


def test_parameters_resource_is_checked_by_its_own_type():
    params = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "a", "valueBoolean": True},
            {"name": "b", "resource": {"resourceType": "Patient", "active": "no"}},
            {"name": "c", "part": [{"name": "d", "valueInteger": "4"}]},
        ],
    }
    assert exprs(params) == [
        "Parameters.parameter[1].resource.active",
        "Parameters.parameter[2].part[0].valueInteger",
    ]


def test_resource_type_itself():
    assert exprs({"resourceType": ["Patient"]}) == ["resourceType"]
    assert exprs({"resourceType": "NoSuchType", "active": "yes"}) == []  # the model validation refuses it
    assert exprs({"resourceType": "HumanName", "family": 1}) == []  # a datatype is no resource
    assert exprs({"resourceType": "Patient", "contained": [{"resourceType": 7}]}) == [
        "Patient.contained[0].resourceType"
    ]


def test_unknown_resource_types_do_not_grow_the_cache():
    from hub.fhir import primitives

    before = len(primitives._RESOURCES)
    for i in range(50):
        check_json_types({"resourceType": f"Nope{i}"})
    assert len(primitives._RESOURCES) == before


# -- the map --------------------------------------------------------------------------------------------


def _all_models() -> list[type]:
    import fhir.resources.R4B as r4b

    found = set()
    for info in pkgutil.iter_modules(r4b.__path__):
        module = importlib.import_module(f"fhir.resources.R4B.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, FHIRAbstractModel)
                and value.__module__ == module.__name__
            ):
                found.add(value)
    return sorted(found, key=lambda c: c.__module__ + "." + c.__name__)


def test_every_field_of_every_r4b_model_has_a_json_kind():
    """A field the map cannot type would go unchecked: every FHIR element must compile."""
    missing = []
    for model in _all_models():
        spec = spec_for(model)
        for name, field in model.model_fields.items():
            key = field.alias or name
            if key != "fhir_comments" and key not in spec:
                missing.append(f"{model.__name__}.{key}: {field.annotation}")
    assert missing == []


def test_map_entries():
    patient = spec_for(get_fhir_model_class("Patient"))
    human_name = get_fhir_model_class("HumanName")
    assert patient["active"][:3] == ("boolean", False, None)
    assert patient["multipleBirthInteger"][:3] == ("integer", False, None)
    assert patient["birthDate"][:3] == ("string", False, None)
    assert patient["name"][:3] == ("object", True, human_name)
    assert patient["contained"][:2] == ("resource", True)
    assert patient["_birthDate"][:2] == ("primitive-extension", False)
    assert "fhir_comments" not in patient and "resourceType" not in patient
    assert spec_for(human_name)["given"][:3] == ("string", True, None)
    assert spec_for(human_name)["_given"][:2] == ("primitive-extension", True)
    assert spec_for(get_fhir_model_class("Quantity"))["value"][:3] == ("decimal", False, None)
    assert spec_for(get_fhir_model_class("ContactPoint"))["rank"][:3] == ("integer", False, None)
    assert spec_for(get_fhir_model_class("Attachment"))["data"][:3] == ("base64Binary", False, None)
    assert spec_for(get_fhir_model_class("Narrative"))["div"][:3] == ("string", False, None)
    extension = spec_for(get_fhir_model_class("Extension"))
    assert extension["valueUuid"][0] == "string" and extension["valueUnsignedInt"][0] == "integer"
    assert extension["valueDecimal"][0] == "decimal" and extension["valueBase64Binary"][0] == "base64Binary"
    primitive_ext = spec_for(patient["_birthDate"][2])
    assert primitive_ext["id"][:2] == ("string", False) and primitive_ext["extension"][:2] == ("object", True)


# -- real records -----------------------------------------------------------------------------------


@pytest.mark.interop
@pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"{EXAMPLES} is not present")
def test_hl7_examples_the_models_accept_have_no_issues():
    """All but the three whose base64 holds white space (the data README names them as invalid)."""
    checked, reported = 0, {}
    for path in sorted(EXAMPLES.glob("*.json")):
        resource = orjson.loads(path.read_bytes())
        if not isinstance(resource, dict) or "resourceType" not in resource:
            continue  # package.json
        try:
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        except (ValidationError, ValueError, TypeError):
            continue  # refused before the type check (Questionnaire-qs1)
        checked += 1
        issues = check_json_types(resource)
        if issues:
            reported[path.name] = [i.diagnostics for i in issues[:3]]
    assert checked > 300
    assert sorted(reported) == [
        "Binary-example.json",
        "DiagnosticReport-gingival-mass.json",
        "Media-example.json",
    ]
    assert all("base64" in d for diags in reported.values() for d in diags)


@pytest.mark.interop
@pytest.mark.skipif(not SYNTHEA.is_dir(), reason=f"{SYNTHEA} is not present")
def test_synthea_entries_have_no_issues():
    checked, reported = 0, {}
    for path in sorted(SYNTHEA.glob("*.json")):
        bundle = orjson.loads(path.read_bytes())
        for i, entry in enumerate(bundle["entry"]):
            checked += 1
            issues = check_json_types(entry["resource"])
            if issues:
                reported[f"{path.name} entry {i}"] = [x.diagnostics for x in issues[:3]]
        issues = check_json_types(bundle)  # the Bundle's own elements (request, fullUrl) too
        if issues:
            reported[path.name] = [x.diagnostics for x in issues[:3]]
    assert checked > 1000
    assert reported == {}
