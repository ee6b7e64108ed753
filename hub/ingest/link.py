"""The link step: which hub Patient an incoming patient is. The EMPI decides (``hub.empi.resolve``),
in the intake's transaction; the intake only asks."""

from __future__ import annotations

from urllib.parse import urlencode


def criteria(ident: dict) -> str:
    """``identifier=system|value``, escaped as FHIR search and the query string need."""
    value = ident["value"].replace("\\", "\\\\").replace(",", "\\,").replace("|", "\\|").replace("$", "\\$")
    return urlencode({"identifier": f"{ident['system']}|{value}"})


def resolve(conn, hub, incoming: dict, source_org: str):
    """The hub Patient this incoming patient is, written or updated in the caller's transaction."""
    from hub.empi import resolve as empi_resolve

    return empi_resolve(conn, hub, incoming, source_org)
