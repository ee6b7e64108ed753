"""Response Bundles: searchset, history, transaction-response and batch-response.

Stored bodies are already FHIR JSON text: they are embedded as ``orjson.Fragment`` so that no
resource is parsed or serialised again on the way out.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import orjson

from hub.fhir import dates
from hub.fhir.search import Result
from hub.fhir.store import Stored, _decimal

STATUS_TEXT = {
    200: "200 OK",
    201: "201 Created",
    204: "204 No Content",
    400: "400 Bad Request",
    403: "403 Forbidden",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    409: "409 Conflict",
    410: "410 Gone",
    412: "412 Precondition Failed",
    413: "413 Payload Too Large",
    415: "415 Unsupported Media Type",
    422: "422 Unprocessable Entity",
    500: "500 Internal Server Error",
}


def fragment(body: str) -> orjson.Fragment:
    return orjson.Fragment(body.encode() if isinstance(body, str) else body)


def dumps(value) -> bytes:
    return orjson.dumps(value, default=_decimal)


def _bundle(btype: str) -> dict:
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": dates.instant(dates.now_utc())},
        "type": btype,
    }


def searchset(result: Result, base: str, path: str) -> dict:
    """``base`` is the FHIR base URL; ``path`` the searched type (e.g. ``Observation``)."""
    q = result.query
    b = _bundle("searchset")
    if result.total is not None:
        b["total"] = result.total
    params = list(q.used)
    self_params = params + ([("_offset", str(q.offset))] if q.offset else [])
    links = [{"relation": "self", "url": _url(base, path, self_params)}]
    if result.has_next:
        links.append(
            {"relation": "next", "url": _url(base, path, params + [("_offset", str(q.offset + q.count))])}
        )
    if q.offset > 0:
        prev = max(0, q.offset - q.count)
        links.append(
            {
                "relation": "previous",
                "url": _url(base, path, params + ([("_offset", str(prev))] if prev else [])),
            }
        )
    b["link"] = links
    entries = [
        {"fullUrl": f"{base}/{m.type}/{m.id}", "resource": fragment(m.body), "search": {"mode": m.mode}}
        for m in result.matches + result.includes
    ]
    if entries:
        b["entry"] = entries
    if q.ignored:
        b["entry"] = b.get("entry", []) + [
            {
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {
                            "severity": "warning",
                            "code": "not-supported",
                            "diagnostics": f"search parameter '{n}' was ignored (unknown or unsupported)",
                        }
                        for n in q.ignored
                    ],
                },
                "search": {"mode": "outcome"},
            }
        ]
    return b


def _url(base: str, path: str, params: list[tuple[str, str]]) -> str:
    return f"{base}/{path}" + (f"?{urlencode(params)}" if params else "")


def history(page: list[Stored], more: bool, base: str, path: str, count: int, offset: int) -> dict:
    b = _bundle("history")
    links = [
        {
            "relation": "self",
            "url": _url(
                base, path, [("_count", str(count))] + ([("_offset", str(offset))] if offset else [])
            ),
        }
    ]
    if more:
        links.append(
            {
                "relation": "next",
                "url": _url(base, path, [("_count", str(count)), ("_offset", str(offset + count))]),
            }
        )
    if offset:
        links.append(
            {
                "relation": "previous",
                "url": _url(base, path, [("_count", str(count)), ("_offset", str(max(0, offset - count)))]),
            }
        )
    b["link"] = links
    entries = []
    for s in page:
        e = {"fullUrl": f"{base}/{s.type}/{s.id}"}
        if s.body:
            e["resource"] = fragment(s.body)
        method = {"POST": "POST", "PUT": "PUT", "DELETE": "DELETE"}[s.method]
        e["request"] = {"method": method, "url": s.type if method == "POST" else f"{s.type}/{s.id}"}
        e["response"] = {
            "status": "204 No Content" if s.deleted else ("201 Created" if s.version == 1 else "200 OK"),
            "etag": s.etag,
            "lastModified": dates.instant(s.last_updated),
        }
        entries.append(e)
    if entries:
        b["entry"] = entries
    if offset == 0 and not more:
        b["total"] = len(entries)
    return b


def write_response(stored: Stored, status: int, include_resource: bool = True) -> dict:
    resp = {
        "status": STATUS_TEXT.get(status, str(status)),
        "location": f"{stored.type}/{stored.id}/_history/{stored.version}",
        "etag": stored.etag,
        "lastModified": dates.instant(stored.last_updated),
    }
    entry: dict = {"response": resp}
    if include_resource and stored.body:
        entry["resource"] = fragment(stored.body)
    return entry
