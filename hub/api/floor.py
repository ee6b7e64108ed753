"""The benchmark floor: the cheapest create the same server stack can do (``bench/fhir_core.py``).

``POST /bench/floor`` stores the request body as it came, with ONE SQL statement, into the bare table
``bench_floor(id text primary key, body text)``, and answers 201 with the body, like a create. No
parsing, no validation, no index rows, no history. It goes through the same gunicorn, Flask app,
engine, pool and transaction helper as the FHIR API, so hub create ÷ floor is what the FHIR work
costs on top of a request that writes a row.

Registered only when ``XIETONG_BENCH_FLOOR=1`` (never in a deployment). The table is created by the
benchmark script, not by a migration.
"""

from __future__ import annotations

import os
import uuid

from flask import Blueprint, Response, current_app, request
from sqlalchemy import text

from hub.api.security import protect

ENV = "XIETONG_BENCH_FLOOR"
TABLE = "bench_floor"
CREATE_TABLE = f"CREATE TABLE IF NOT EXISTS {TABLE} (id text PRIMARY KEY, body text NOT NULL)"
_INSERT = text(f"INSERT INTO {TABLE} (id, body) VALUES (:id, :body)")

bp = Blueprint("bench_floor", __name__, url_prefix="/bench")
protect(bp)  # the floor pays for the same authentication as the hub's endpoints


def enabled() -> bool:
    return os.environ.get(ENV) == "1"


@bp.post("/floor")
def floor():
    data = request.get_data(cache=False)
    fid = str(uuid.uuid4())
    with current_app.extensions["xietong"].db.write() as conn:
        conn.execute(_INSERT, {"id": fid, "body": data.decode()})
    return Response(
        data,
        status=201,
        headers={"Location": f"{request.url_root}bench/floor/{fid}"},
        content_type="application/fhir+json; charset=utf-8",
    )
