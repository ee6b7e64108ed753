"""Intake fixtures: the demo alliance loaded (its institutions are the ones with mapping files)."""

from __future__ import annotations

import pytest

from hub.auth.principal import system
from hub.fhir import transaction
from hub.seed import demo_alliance_bundle


@pytest.fixture
def hub(app):
    h = app.extensions["xietong"]
    transaction.process(h.fhir, system("seed"), demo_alliance_bundle(), "urn:test")
    return h


def count(hub, rtype: str, tenant: str | None = None) -> int:
    from sqlalchemy import func, select

    from hub.models import resource_tables

    t = resource_tables[rtype]
    q = select(func.count()).select_from(t).where(t.c.deleted.is_(False))
    if tenant is not None:
        q = q.where(t.c.tenant == tenant)
    with hub.db.read() as conn:
        return conn.execute(q).scalar_one()


def resources(hub, rtype: str) -> list[dict]:
    import orjson
    from sqlalchemy import select

    from hub.models import resource_tables

    t = resource_tables[rtype]
    with hub.db.read() as conn:
        return [
            orjson.loads(b) for b in conn.execute(select(t.c.body).where(t.c.deleted.is_(False))).scalars()
        ]
