"""The CapabilityStatement, generated from what is registered: the registry's types and search
parameters, and the interactions and operations the FHIR blueprint really routes."""

from __future__ import annotations

from hub.auth.tenancy import READ_ONLY
from hub.fhir import dates
from hub.fhir.registry import COMMON_PARAMS, TYPES
from hub.fhir.search import CONTROL
from hub.fhir.service import DELETABLE

SOFTWARE = {"name": "Xietong 协同", "version": "0.1.0"}


def capability_statement(
    base: str, operations: dict[str, list[str]] | None = None, security: dict | None = None
) -> dict:
    """``operations``: type -> operation names the app has routed (added by later blueprints)."""
    operations = operations or {}
    resources = []
    for name, rt in sorted(TYPES.items()):
        interactions = [
            "read",
            "vread",
            "update",
            "history-instance",
            "history-type",
            "create",
            "search-type",
        ]
        if name in DELETABLE:
            interactions.append("delete")
        if name in READ_ONLY:
            interactions = [i for i in interactions if i not in ("create", "update")]
        params = [
            {"name": p.name, "type": p.type, "definition": _definition(name, p.name)}
            for p in list(COMMON_PARAMS.values()) + list(rt.params.values())
        ]
        ref_params = [p.name for p in rt.params.values() if p.type == "reference"]
        res = {
            "type": name,
            "profile": f"http://hl7.org/fhir/StructureDefinition/{name}",
            "interaction": [{"code": c} for c in interactions],
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalUpdate": True,
            "conditionalDelete": "not-supported",
            "referencePolicy": ["literal", "local"],
            "searchInclude": [f"{name}:{p}" for p in ref_params] + ([f"{name}:*"] if ref_params else []),
            "searchRevInclude": sorted(
                {
                    f"{src.name}:{p.name}"
                    for src in TYPES.values()
                    for p in src.params.values()
                    if p.type == "reference" and (not p.targets or name in p.targets)
                }
            ),
            "searchParam": params,
        }
        if name in operations:
            res["operation"] = [
                {"name": op, "definition": f"{base}/OperationDefinition/{name}-{op}"}
                for op in operations[name]
            ]
        resources.append(res)
    rest = {
        "mode": "server",
        "documentation": "Xietong regional medical alliance referral hub",
        "resource": resources,
        "interaction": [{"code": "transaction"}, {"code": "batch"}, {"code": "history-system"}],
        "searchParam": [
            {
                "name": n,
                "type": "special" if n.startswith("_") else "string",
                "documentation": "search result control",
            }
            for n in sorted(CONTROL)
        ],
    }
    if security:
        rest["security"] = security
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": dates.instant(dates.now_utc()),
        "kind": "instance",
        "software": SOFTWARE,
        "implementation": {"description": "Xietong FHIR API", "url": base},
        "fhirVersion": "4.3.0",
        "format": ["application/fhir+json", "json"],
        "rest": [rest],
    }


def _definition(rtype: str, pname: str) -> str:
    if pname.startswith("_"):
        return f"http://hl7.org/fhir/SearchParameter/Resource-{pname[1:]}"
    return f"http://hl7.org/fhir/SearchParameter/{rtype}-{pname}"
