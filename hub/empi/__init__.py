"""The master patient index (EMPI): one hub Patient per person across the alliance's institutions.

``hub.empi.resolve(conn, hub, incoming_patient, source_org) -> Resolution`` finds (or makes) the
hub Patient an institution's record is about, inside the caller's write transaction.
"""

from __future__ import annotations


def __getattr__(name: str):
    # Lazy: hub.models imports hub.empi.tables, and the resolver needs the store (which needs hub.models).
    if name in ("resolve", "Resolution"):
        from hub.empi import resolver

        return getattr(resolver, name)
    raise AttributeError(name)
