"""The front page: what this hub is and where its interfaces are (the web UI comes later)."""

from __future__ import annotations

import orjson
from flask import Blueprint, current_app, render_template_string, request
from sqlalchemy import func, select

from hub.models import resource_tables

bp = Blueprint("home", __name__)

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>协同 Xietong · 医联体转诊平台</title>
<style>body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;max-width:46rem;margin:2rem auto;
padding:0 1rem;color:#222}table{border-collapse:collapse}
td,th{padding:.2rem .8rem;border-bottom:1px solid #ddd;
text-align:left}code{background:#f4f4f4;padding:0 .2rem}</style></head><body>
<h1>协同 Xietong</h1>
<p>医联体双向转诊与协同平台 · Regional medical alliance referral hub</p>
<h2>接口 Interfaces</h2>
<ul><li>FHIR R4B API: <a href="{{ base }}/fhir/metadata"><code>{{ base }}/fhir</code></a>
(CapabilityStatement at <code>/fhir/metadata</code>)</li></ul>
<h2>成员机构 Alliance members</h2>
<table><tr><th>机构 Institution</th><th>id</th></tr>
{% for org in orgs %}<tr><td>{{ org.name }}</td><td><code>{{ org.id }}</code></td></tr>{% endfor %}
</table>
<h2>记录 Records</h2>
<table>{% for t, n in counts %}<tr><td>{{ t }}</td><td>{{ n }}</td></tr>{% endfor %}</table>
</body></html>"""


@bp.get("/")
def index():
    db = current_app.extensions["xietong"].db
    org_table = resource_tables["Organization"]
    with db.read() as conn:
        orgs = [
            orjson.loads(b)
            for b in conn.execute(
                select(org_table.c.body)
                .where(org_table.c.deleted.is_(False))
                .order_by(org_table.c.pid)
                .limit(50)
            ).scalars()
        ]
        counts = []
        for name in ("Patient", "Organization", "Practitioner", "ServiceRequest", "Task", "Observation"):
            t = resource_tables[name]
            counts.append(
                (
                    name,
                    conn.execute(
                        select(func.count()).select_from(t).where(t.c.deleted.is_(False))
                    ).scalar_one(),
                )
            )
    return render_template_string(PAGE, base=request.url_root.rstrip("/"), orgs=orgs, counts=counts)
