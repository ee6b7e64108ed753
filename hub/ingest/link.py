"""The link step: which hub Patient an incoming patient is. The EMPI decides (``hub.empi.resolve``);
until it is installed, a deterministic match on the resident ID card number or this institution's
MRN stands in, so that intake works on its own."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import orjson

from adapters.mapping import RESIDENT_ID_SYSTEM, SID
from hub.auth.principal import system
from hub.auth.tenancy import SYSTEM_POLICY
from hub.fhir import search
from hub.fhir.registry import TYPES


def criteria(ident: dict) -> str:
    """``identifier=system|value``, escaped as FHIR search and the query string need."""
    value = ident["value"].replace("\\", "\\\\").replace(",", "\\,").replace("|", "\\|").replace("$", "\\$")
    return urlencode({"identifier": f"{ident['system']}|{value}"})


@dataclass(frozen=True)
class Resolution:
    patient_id: str
    outcome: str  # matched | linked | new | review
    score: float = 1.0


def resolve(conn, hub, incoming: dict, source_org: str):
    """The hub Patient this incoming patient is, written or updated in the caller's transaction."""
    try:
        from hub.empi import resolve as empi_resolve
    except ImportError:
        return _deterministic(conn, hub, incoming, source_org)
    return empi_resolve(conn, hub, incoming, source_org)


def _deterministic(conn, hub, incoming: dict, source_org: str) -> Resolution:
    rt = TYPES["Patient"]
    keys = [
        i
        for i in incoming.get("identifier") or []
        if i.get("value")
        and (i.get("system") == RESIDENT_ID_SYSTEM or (i.get("system") or "").startswith(f"{SID}/mrn/"))
    ]
    store = hub.fhir.store(conn, system("empi"))
    for ident in keys:
        found = search.resolve_conditional(conn, rt, criteria(ident), SYSTEM_POLICY)
        if found:
            stored = store.read(rt, found[0].id)
            current = orjson.loads(stored.body)
            have = {(i.get("system"), i.get("value")) for i in current.get("identifier") or []}
            extra = [
                i for i in incoming.get("identifier") or [] if (i.get("system"), i.get("value")) not in have
            ]
            if extra:
                current["identifier"] = [*(current.get("identifier") or []), *extra]
                store.update(rt, found[0].id, current)
            return Resolution(found[0].id, "matched")
    stored = store.create(rt, incoming, tenant=source_org)
    return Resolution(stored.id, "new")
