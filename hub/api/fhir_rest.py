"""The FHIR REST blueprint: parse the request, call one service method, shape the response."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, request

from hub.api.auth import fhir_base_url, smart_security
from hub.api.security import protect
from hub.errors import BadRequest, MethodNotAllowed, UnsupportedMediaType
from hub.fhir import bundles, operations, transaction
from hub.fhir.capability import capability_statement
from hub.fhir.parse import parse_json
from hub.fhir.service import FhirService
from hub.fhir.store import Stored

bp = Blueprint("fhir", __name__, url_prefix="/fhir")
protect(bp)

FHIR_JSON = "application/fhir+json"
JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")


def service() -> FhirService:
    return current_app.extensions["xietong"].fhir


def base_url() -> str:
    return fhir_base_url()


def fhir_response(payload, status: int = 200, headers: dict | None = None) -> Response:
    body = payload if isinstance(payload, bytes | str) else bundles.dumps(payload)
    return Response(body, status=status, headers=headers or {}, content_type=f"{FHIR_JSON}; charset=utf-8")


def _body() -> dict:
    ctype = (request.mimetype or "").lower()
    if ctype not in JSON_TYPES:
        raise UnsupportedMediaType(
            f"the request body must be {FHIR_JSON} (got '{request.content_type or 'no Content-Type'}')"
        )
    return parse_json(request.get_data(cache=False))


def _prefer() -> dict[str, str]:
    out = {}
    for part in request.headers.get("Prefer", "").split(";"):
        for item in part.split(","):
            k, _, v = item.strip().partition("=")
            if k:
                out[k.lower()] = v.strip().strip('"').lower()
    return out


def _if_match() -> int | None:
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    v = raw.strip()
    v = v[2:] if v.startswith("W/") else v
    v = v.strip('"')
    if not v.isdigit():
        raise BadRequest(f"If-Match '{raw}' is not an ETag of a version (W/\"3\")", ["If-Match"])
    return int(v)


def _written(stored: Stored, created: bool) -> Response:
    status = 201 if created else 200
    headers = {
        "ETag": stored.etag,
        "Last-Modified": _http_date(stored),
        "Location": f"{base_url()}/{stored.type}/{stored.id}/_history/{stored.version}",
    }
    ret = _prefer().get("return", "representation")
    if ret == "minimal":
        return Response(status=status, headers=headers)
    if ret == "operationoutcome":
        oo = {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "information",
                    "code": "informational",
                    "diagnostics": f"{stored.type}/{stored.id} version {stored.version} "
                    f"{'created' if created else 'stored'}",
                }
            ],
        }
        return fhir_response(oo, status, headers)
    return fhir_response(stored.body, status, headers)


def _read(stored: Stored) -> Response:
    return fhir_response(stored.body, 200, {"ETag": stored.etag, "Last-Modified": _http_date(stored)})


def _http_date(stored: Stored) -> str:
    return stored.last_updated.strftime("%a, %d %b %Y %H:%M:%S GMT")


def _search_params() -> list[tuple[str, str]]:
    params = list(request.args.items(multi=True))
    if request.method == "POST":
        if request.mimetype != "application/x-www-form-urlencoded":
            raise UnsupportedMediaType("POST _search takes application/x-www-form-urlencoded parameters")
        params += list(request.form.items(multi=True))
    return params


@bp.get("/metadata")
def metadata():
    ext = current_app.extensions["xietong"]
    routed = {**ext.operations, **operations.registered()}
    return fhir_response(capability_statement(base_url(), routed, smart_security()))


@bp.post("")
@bp.post("/")
def bundle():
    return fhir_response(transaction.process(service(), g.principal, _body(), base_url()))


@bp.get("/_history")
def system_history():
    page, more, count, offset = service().history(g.principal, None, None, request.args)
    return fhir_response(bundles.history(page, more, base_url(), "_history", count, offset))


@bp.get("/<rtype>")
@bp.post("/<rtype>/_search")
def search(rtype: str):
    lenient = _prefer().get("handling") == "lenient"
    result = service().search(g.principal, rtype, _search_params(), lenient)
    return fhir_response(bundles.searchset(result, base_url(), rtype))


@bp.post("/<rtype>")
def create(rtype: str):
    if request.args:
        raise BadRequest(
            f"POST /fhir/{rtype} takes no query; for a conditional create send the criteria "
            "in the If-None-Exist header",
            ["If-None-Exist"],
        )
    stored, created = service().create(g.principal, rtype, _body(), request.headers.get("If-None-Exist"))
    return _written(stored, created)


@bp.put("/<rtype>")
def conditional_update(rtype: str):
    if not request.query_string:
        raise MethodNotAllowed(
            "PUT needs an id (/fhir/Type/id) or search criteria (/fhir/Type?identifier=...)"
        )
    stored, created = service().conditional_update(g.principal, rtype, request.query_string.decode(), _body())
    return _written(stored, created)


@bp.get("/<rtype>/_history")
def type_history(rtype: str):
    page, more, count, offset = service().history(g.principal, rtype, None, request.args)
    return fhir_response(bundles.history(page, more, base_url(), f"{rtype}/_history", count, offset))


@bp.get("/<rtype>/<fid>")
def read(rtype: str, fid: str):
    return _read(service().read(g.principal, rtype, fid))


@bp.put("/<rtype>/<fid>")
def update(rtype: str, fid: str):
    stored, created = service().update(g.principal, rtype, fid, _body(), _if_match())
    return _written(stored, created)


@bp.delete("/<rtype>/<fid>")
def delete(rtype: str, fid: str):
    stored = service().delete(g.principal, rtype, fid)
    return Response(status=204, headers={"ETag": stored.etag})


@bp.delete("/<rtype>")
@bp.patch("/<rtype>/<fid>")
def refused(rtype: str, fid: str | None = None):
    raise MethodNotAllowed(f"{request.method} is not supported on {request.path}")


@bp.get("/<rtype>/<fid>/_history")
def instance_history(rtype: str, fid: str):
    page, more, count, offset = service().history(g.principal, rtype, fid, request.args)
    return fhir_response(bundles.history(page, more, base_url(), f"{rtype}/{fid}/_history", count, offset))


@bp.get("/<rtype>/<fid>/_history/<vid>")
def vread(rtype: str, fid: str, vid: str):
    return _read(service().vread(g.principal, rtype, fid, vid))


@bp.route("/<rtype>/$<name>", methods=["GET", "POST"])
@bp.route("/<rtype>/<fid>/$<name>", methods=["GET", "POST"])
def operation(rtype: str, name: str, fid: str | None = None):
    op = operations.find(rtype, name, fid is not None, request.method)
    hub = current_app.extensions["xietong"]
    from hub.auth.tenancy import Policy

    Policy(g.principal).require(rtype, op.interaction)
    body = None
    if request.method == "POST" and op.body != "none" and request.content_length != 0:
        body = _body()
        if op.body == "parameters" and body.get("resourceType") != "Parameters":
            raise BadRequest(
                f"${name} takes a Parameters resource (got {body.get('resourceType')!r})",
                ["Parameters"],
            )
    call = operations.Call(
        hub,
        g.principal,
        rtype,
        fid,
        name,
        request.method,
        body,
        list(request.args.items(multi=True)),
        {k: v for k, v in request.headers.items()},
    )
    out = op.handler(call)
    if isinstance(out, Response):
        return out
    if isinstance(out, tuple):
        return fhir_response(*out)
    return fhir_response(out)
