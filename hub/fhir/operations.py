"""FHIR operations (``$name``): a registry the REST blueprint dispatches to.

A workflow module registers each of its operations once, with the type it acts on, whether it
is called on the type (``/fhir/Patient/$match``) or on one instance (``/fhir/Task/1/$accept``),
the HTTP methods it answers and the SMART interaction its caller's scopes must grant. The view
stays thin: it authenticates, parses the ``Parameters`` body, looks the operation up and calls
the handler with an :class:`Call`. The CapabilityStatement lists what is registered.

    from hub.fhir.operations import operation

    @operation("Task", "accept", instance=True, interaction="update")
    def accept(call: Call) -> dict | tuple[dict, int]:
        ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hub.errors import BadRequest, MethodNotAllowed, NotFound


@dataclass(frozen=True)
class Call:
    """One operation request, as its handler sees it."""

    hub: object  # hub.Hub: config, db, fhir service
    principal: object  # hub.auth.principal.Principal
    rtype: str
    fid: str | None
    name: str
    method: str
    body: dict | None  # the request body (usually a Parameters resource), None for GET
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def params(self) -> dict[str, list]:
        """``Parameters.parameter`` by name (each a list of the parameter entries), plus the query."""
        out: dict[str, list] = {}
        for k, v in self.query:
            out.setdefault(k, []).append({"name": k, "valueString": v})
        body = self.body or {}
        if body.get("resourceType") == "Parameters":
            for p in body.get("parameter") or []:
                out.setdefault(p.get("name"), []).append(p)
        return out


Handler = Callable[[Call], "dict | tuple[dict, int] | tuple[dict, int, dict]"]


@dataclass(frozen=True)
class Operation:
    rtype: str
    name: str
    instance: bool
    handler: Handler
    methods: tuple[str, ...]
    interaction: str  # the SMART interaction the caller's scopes must grant on rtype
    body: str  # "parameters": a Parameters resource; "resource": any FHIR resource; "none"


_REGISTRY: dict[tuple[str, str, bool], Operation] = {}


def operation(
    rtype: str,
    name: str,
    *,
    instance: bool,
    methods: tuple[str, ...] = ("POST",),
    interaction: str = "update",
    body: str = "parameters",
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        key = (rtype, name, instance)
        if key in _REGISTRY and _REGISTRY[key].handler is not fn:
            raise RuntimeError(f"operation {rtype}/${name} registered twice")
        _REGISTRY[key] = Operation(rtype, name, instance, fn, tuple(methods), interaction, body)
        return fn

    return register


def find(rtype: str, name: str, instance: bool, method: str) -> Operation:
    op = _REGISTRY.get((rtype, name, instance))
    if op is None:
        other = _REGISTRY.get((rtype, name, not instance))
        if other is not None:
            where = f"/fhir/{rtype}/{{id}}/${name}" if other.instance else f"/fhir/{rtype}/${name}"
            raise BadRequest(f"${name} is called as {where}")
        known = sorted(f"${o.name}" for o in _REGISTRY.values() if o.rtype == rtype)
        raise NotFound(
            f"{rtype} has no operation ${name}"
            + (f" (it has: {', '.join(known)})" if known else " (it has no operations)")
        )
    if method not in op.methods:
        raise MethodNotAllowed(f"${name} answers {' and '.join(op.methods)}, not {method}")
    return op


def registered() -> dict[str, list[str]]:
    """type -> operation names, for the CapabilityStatement."""
    out: dict[str, list[str]] = {}
    for op in _REGISTRY.values():
        out.setdefault(op.rtype, [])
        if op.name not in out[op.rtype]:
            out[op.rtype].append(op.name)
    return {k: sorted(v) for k, v in out.items()}


def all_operations() -> list[Operation]:
    return list(_REGISTRY.values())
